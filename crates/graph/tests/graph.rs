//! The dispatcher end to end with small test nodes: arcs, frames, counters, trace.

use buf::{BufferCache, BufferPool, Frame, PoolConfig};
use graph::{
    Ctx, DropError, Graph, GraphBuilder, GraphError, Next, Node, NodeError, NodeInfo, NodeKind,
    Wake,
};
use std::sync::{Arc, Mutex};

/// Emits `per_poll` packets per poll, each holding its sequence number, until `total`.
struct Source {
    sent: u32,
    total: u32,
    per_poll: usize,
}

impl Node for Source {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: "test-src",
            kind: NodeKind::Input,
            next_nodes: &["test-classify"],
            errors: &[],
        }
    }
    fn poll(&mut self, cx: &mut Ctx<'_>) -> usize {
        let mut n = 0;
        while n < self.per_poll && self.sent < self.total {
            let Some(mut b) = cx.cache().alloc() else {
                break;
            };
            cx.pool()
                .get_mut(&mut b)
                .copy_from(&self.sent.to_be_bytes());
            cx.trace_mark(&mut b);
            cx.trace(&b, format_args!("seq {}", self.sent));
            cx.enqueue(Next(0), b);
            self.sent += 1;
            n += 1;
        }
        n
    }
}

graph::node_errors! {
    enum ClassifyError {
        Odd = "odd sequence number",
        Seen = "packets classified",
    }
}

/// Even packets to the sink, odd ones dropped.
struct Classify;

impl Node for Classify {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: "test-classify",
            kind: NodeKind::Internal,
            next_nodes: &["test-sink"],
            errors: ClassifyError::ALL,
        }
    }
    fn process(&mut self, cx: &mut Ctx<'_>, frame: &mut Frame) {
        cx.count(ClassifyError::Seen, frame.len() as u64);
        for b in frame.drain() {
            let d = cx.pool().get(&b).data();
            let seq = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
            if seq % 2 == 0 {
                cx.trace(&b, format_args!("even {seq} -> sink"));
                cx.enqueue(Next(0), b);
            } else {
                cx.trace(&b, format_args!("odd {seq} -> drop"));
                cx.drop(b, ClassifyError::Odd);
            }
        }
    }
}

/// Records sequence numbers and frame sizes, frees.
struct Sink {
    seen: Arc<Mutex<Vec<u32>>>,
    frame_sizes: Arc<Mutex<Vec<usize>>>,
}

impl Node for Sink {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: "test-sink",
            kind: NodeKind::Internal,
            next_nodes: &[],
            errors: &[],
        }
    }
    fn process(&mut self, cx: &mut Ctx<'_>, frame: &mut Frame) {
        self.frame_sizes.lock().unwrap().push(frame.len());
        for b in frame.drain() {
            let d = cx.pool().get(&b).data();
            self.seen
                .lock()
                .unwrap()
                .push(u32::from_be_bytes([d[0], d[1], d[2], d[3]]));
            cx.trace(&b, format_args!("consumed"));
            cx.free(b);
        }
    }
}

struct Lab {
    graph: Graph,
    pool: Arc<BufferPool>,
    seen: Arc<Mutex<Vec<u32>>>,
    frame_sizes: Arc<Mutex<Vec<usize>>>,
}

fn lab(total: u32, per_poll: usize) -> Lab {
    let pool = BufferPool::new(&PoolConfig::new(4096)).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let frame_sizes = Arc::new(Mutex::new(Vec::new()));
    let mut b = GraphBuilder::new();
    b.add(Source {
        sent: 0,
        total,
        per_poll,
    })
    .add(Classify)
    .add(Sink {
        seen: seen.clone(),
        frame_sizes: frame_sizes.clone(),
    });
    let graph = b.build(BufferCache::new(pool.clone())).unwrap();
    Lab {
        graph,
        pool,
        seen,
        frame_sizes,
    }
}

#[test]
fn packets_follow_arcs_and_drops_are_counted_by_error() {
    let mut l = lab(1000, 256);
    let mut rounds = 0;
    while l.graph.dispatch(rounds).polled > 0 {
        rounds += 1;
    }
    let seen = l.seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        (0..1000).filter(|s| s % 2 == 0).collect::<Vec<_>>(),
        "in order, evens only"
    );
    let st = l.graph.stats();
    assert_eq!(st.error_count("test-classify", "Odd"), Some(500));
    assert_eq!(st.error_count("test-classify", "Seen"), Some(1000));
    let errs = st.errors();
    assert!(errs
        .iter()
        .any(|e| e.node == "test-classify" && e.reason == "odd sequence number" && e.count == 500));
    assert_eq!(l.pool.in_use(), 0, "every buffer went back");
}

/// `test-classify` in the bulk shape: one `nexts` array, one `enqueue_to_next` call.
/// With `keep_all`, every packet goes to the sink (the whole-frame path).
struct ClassifyBulk {
    keep_all: bool,
    nexts: Vec<Next>,
}

impl Node for ClassifyBulk {
    fn info(&self) -> NodeInfo {
        Classify.info()
    }
    fn process(&mut self, cx: &mut Ctx<'_>, frame: &mut Frame) {
        cx.count(ClassifyError::Seen, frame.len() as u64);
        self.nexts.clear();
        for b in frame.as_mut_slice() {
            let d = cx.pool().get(b).data();
            let seq = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
            let next = if self.keep_all || seq % 2 == 0 {
                Next(0)
            } else {
                cx.drop_next(b, ClassifyError::Odd)
            };
            self.nexts.push(next);
        }
        cx.enqueue_to_next(frame, &self.nexts);
    }
}

#[test]
fn enqueue_to_next_keeps_order_per_next_and_counts_drops() {
    for keep_all in [false, true] {
        let pool = BufferPool::new(&PoolConfig::new(4096)).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let frame_sizes = Arc::new(Mutex::new(Vec::new()));
        let mut b = GraphBuilder::new();
        b.add(Source {
            sent: 0,
            total: 1000,
            per_poll: 300,
        })
        .add(ClassifyBulk {
            keep_all,
            nexts: Vec::new(),
        })
        .add(Sink {
            seen: seen.clone(),
            frame_sizes: frame_sizes.clone(),
        });
        let mut g = b.build(BufferCache::new(pool.clone())).unwrap();
        let mut rounds = 0;
        while g.dispatch(rounds).polled > 0 {
            rounds += 1;
        }
        let want: Vec<u32> = (0..1000).filter(|s| keep_all || s % 2 == 0).collect();
        assert_eq!(*seen.lock().unwrap(), want, "in order");
        let odd = if keep_all { 0 } else { 500 };
        assert_eq!(g.stats().error_count("test-classify", "Odd"), Some(odd));
        assert!(frame_sizes.lock().unwrap().iter().all(|&n| n <= 256));
        drop(g);
        assert_eq!(pool.in_use(), 0, "every buffer went back");
    }
}

#[test]
fn runtime_counts_calls_vectors_and_clocks() {
    let mut l = lab(1000, 256);
    for t in 0..10 {
        l.graph.dispatch(t);
    }
    let rt = l.graph.stats().runtime();
    let row = |name: &str| rt.iter().find(|r| r.node == name).unwrap().clone();
    assert_eq!(row("test-src").calls, 10);
    assert_eq!(row("test-src").vectors, 1000);
    assert_eq!(row("test-classify").vectors, 1000);
    assert_eq!(row("test-classify").calls, 4, "256+256+256+232");
    assert_eq!(row("test-sink").vectors, 500);
    assert_eq!(row("error-drop").vectors, 500);
    assert!(row("test-classify").clocks > 0);
    assert!((row("test-classify").vectors_per_call() - 250.0).abs() < 1e-9);
    let text = l.graph.stats().format_runtime();
    assert!(
        text.contains("test-classify") && text.contains("Vectors/Call"),
        "{text}"
    );
    l.graph.stats().clear_runtime();
    assert_eq!(
        l.graph
            .stats()
            .runtime()
            .iter()
            .map(|r| r.vectors)
            .sum::<u64>(),
        0
    );
}

/// An input node that has something to poll only while `armed`.
struct Gated {
    armed: bool,
    polls: u32,
}

impl Node for Gated {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: "test-gated",
            kind: NodeKind::Input,
            next_nodes: &[],
            errors: &[],
        }
    }
    fn wants_poll(&self) -> bool {
        self.armed
    }
    fn poll(&mut self, _cx: &mut Ctx<'_>) -> usize {
        self.polls += 1;
        0
    }
}

/// An input node with nothing to poll is skipped: not called, no call counted in
/// `show runtime`; once it wants polling it is polled every dispatch.
#[test]
fn inputs_with_nothing_to_poll_are_skipped() {
    let pool = BufferPool::new(&PoolConfig::new(1024)).unwrap();
    let mut b = GraphBuilder::new();
    b.add(Gated {
        armed: false,
        polls: 0,
    });
    let mut g = b.build(BufferCache::new(pool)).unwrap();
    let me = g.node_index("test-gated").unwrap();
    let calls = |g: &Graph| {
        g.stats()
            .runtime()
            .iter()
            .find(|r| r.node == "test-gated")
            .map_or(0, |r| r.calls)
    };
    for t in 0..5 {
        g.dispatch(t);
    }
    assert_eq!(g.node_mut::<Gated>(me).unwrap().polls, 0);
    assert_eq!(calls(&g), 0);
    g.node_mut::<Gated>(me).unwrap().armed = true;
    for t in 5..8 {
        g.dispatch(t);
    }
    assert_eq!(g.node_mut::<Gated>(me).unwrap().polls, 3);
    assert_eq!(calls(&g), 3);
}

#[test]
fn frames_never_exceed_256_and_big_polls_split() {
    let mut l = lab(2000, 1000);
    l.graph.dispatch(0);
    l.graph.dispatch(1);
    let sizes = l.frame_sizes.lock().unwrap().clone();
    assert!(sizes.iter().all(|&s| s <= 256), "{sizes:?}");
    assert_eq!(sizes.iter().sum::<usize>(), 1000);
    assert_eq!(
        *l.seen.lock().unwrap(),
        (0..2000).filter(|s| s % 2 == 0).collect::<Vec<_>>()
    );
}

#[test]
fn trace_follows_marked_packets_through_every_node() {
    let mut l = lab(10, 10);
    l.graph.trace_add("test-src", 3).unwrap();
    l.graph.dispatch(0);
    assert_eq!(l.graph.traced(), 3);
    let t = l.graph.format_trace();
    assert!(
        t.contains("Packet 1") && t.contains("Packet 3") && !t.contains("Packet 4"),
        "{t}"
    );
    let p1 = t.split("Packet 2").next().unwrap();
    let order: Vec<_> = [
        "test-src",
        "seq 0",
        "test-classify",
        "even 0 -> sink",
        "test-sink",
        "consumed",
    ]
    .iter()
    .map(|s| p1.find(s).unwrap_or_else(|| panic!("{s} missing in {p1}")))
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{p1}");
    let p2 = t.split("Packet 2").nth(1).unwrap();
    assert!(
        p2.contains("odd 1 -> drop")
            && p2.contains("error-drop")
            && p2.contains("test-classify: odd sequence number"),
        "{p2}"
    );
    l.graph.clear_trace();
    assert_eq!(l.graph.traced(), 0);
    assert!(matches!(
        l.graph.trace_add("test-sink", 1),
        Err(GraphError::NotInput(_))
    ));
    assert!(matches!(
        l.graph.trace_add("nope", 1),
        Err(GraphError::NoSuchNode(_))
    ));
}

#[test]
fn build_rejects_unknown_next_and_duplicates() {
    let pool = BufferPool::new(&PoolConfig::new(16)).unwrap();
    let mut b = GraphBuilder::new();
    b.add(Source {
        sent: 0,
        total: 0,
        per_poll: 1,
    });
    assert_eq!(
        b.build(BufferCache::new(pool.clone())).unwrap_err(),
        GraphError::UnknownNext {
            node: "test-src",
            next: "test-classify"
        }
    );
    let mut b = GraphBuilder::new();
    b.add(Classify).add(Classify);
    assert!(matches!(
        b.build(BufferCache::new(pool)),
        Err(GraphError::DuplicateNode("test-classify"))
    ));
}

/// Forgets to handle its frame.
struct Lazy;
impl Node for Lazy {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: "test-classify",
            kind: NodeKind::Internal,
            next_nodes: &[],
            errors: &[],
        }
    }
}

#[test]
fn buffers_left_in_a_frame_are_dropped_and_counted() {
    let pool = BufferPool::new(&PoolConfig::new(64)).unwrap();
    let mut b = GraphBuilder::new();
    b.add(Source {
        sent: 0,
        total: 5,
        per_poll: 5,
    })
    .add(Lazy);
    let mut g = b.build(BufferCache::new(pool.clone())).unwrap();
    g.dispatch(0);
    assert_eq!(g.stats().error_count("error-drop", "Leftover"), Some(5));
    assert_eq!(pool.in_use(), 0);
    assert_eq!(DropError::ALL.len(), 3);
}

/// Sends every packet back to itself.
struct Looper;
impl Node for Looper {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: "test-classify",
            kind: NodeKind::Internal,
            next_nodes: &["test-classify"],
            errors: &[],
        }
    }
    fn process(&mut self, cx: &mut Ctx<'_>, frame: &mut Frame) {
        cx.enqueue_frame(Next(0), frame);
    }
}

#[test]
fn a_loop_between_nodes_cannot_hold_the_thread() {
    let pool = BufferPool::new(&PoolConfig::new(64)).unwrap();
    let mut b = GraphBuilder::new();
    b.add(Source {
        sent: 0,
        total: 5,
        per_poll: 5,
    })
    .add(Looper);
    let mut g = b.build(BufferCache::new(pool.clone())).unwrap();
    g.dispatch(0);
    assert!(g.has_pending());
    assert_eq!(g.stats().error_count("error-drop", "Loop"), Some(1));
    drop(g);
    assert_eq!(pool.in_use(), 0, "dropping the graph frees queued buffers");
}

/// Wakes every 100 ns and counts its runs.
struct Ticker {
    runs: Arc<Mutex<Vec<u64>>>,
}
impl Node for Ticker {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: "test-ticker",
            kind: NodeKind::Process,
            next_nodes: &[],
            errors: &[],
        }
    }
    fn run(&mut self, cx: &mut Ctx<'_>) -> Wake {
        self.runs.lock().unwrap().push(cx.now());
        if cx.now() >= 300 {
            Wake::Suspend
        } else {
            Wake::At(cx.now() + 100)
        }
    }
}

#[test]
fn process_nodes_run_on_their_timer_and_on_signal() {
    let pool = BufferPool::new(&PoolConfig::new(16)).unwrap();
    let runs = Arc::new(Mutex::new(Vec::new()));
    let mut b = GraphBuilder::new();
    b.add(Ticker { runs: runs.clone() });
    let mut g = b.build(BufferCache::new(pool)).unwrap();
    for t in (0..=500).step_by(50) {
        g.dispatch(t);
    }
    assert_eq!(*runs.lock().unwrap(), vec![0, 100, 200, 300]);
    let idx = g.node_index("test-ticker").unwrap();
    g.signal(idx);
    g.dispatch(600);
    assert_eq!(runs.lock().unwrap().last(), Some(&600));
    let row = g
        .stats()
        .runtime()
        .into_iter()
        .find(|r| r.node == "test-ticker")
        .unwrap();
    assert_eq!((row.calls, row.suspends), (5, 5));
}

#[test]
fn counters_are_readable_from_another_thread_while_dispatching() {
    let mut l = lab(200_000, 256);
    let stats = l.graph.stats().clone();
    let reader = std::thread::spawn(move || {
        let mut last = 0;
        for _ in 0..1000 {
            let v = stats
                .runtime()
                .iter()
                .find(|r| r.node == "test-src")
                .unwrap()
                .vectors;
            assert!(v >= last, "counters only grow");
            last = v;
        }
    });
    let mut t = 0;
    while l.graph.dispatch(t).polled > 0 {
        t += 1;
    }
    reader.join().unwrap();
    assert_eq!(
        l.graph.stats().error_count("test-classify", "Seen"),
        Some(200_000)
    );
}

#[test]
fn dot_lists_nodes_and_arcs() {
    let l = lab(0, 1);
    let dot = l.graph.to_dot();
    assert!(dot.contains("\"test-src\" -> \"test-classify\""), "{dot}");
    assert!(dot.contains("\"test-classify\" -> \"test-sink\""), "{dot}");
}

#[test]
fn arcs_can_be_added_after_build() {
    let pool = BufferPool::new(&PoolConfig::new(64)).unwrap();
    let mut b = GraphBuilder::new();
    b.add(Source {
        sent: 0,
        total: 0,
        per_poll: 1,
    })
    .add(Classify)
    .add(Sink {
        seen: Default::default(),
        frame_sizes: Default::default(),
    });
    let mut g = b.build(BufferCache::new(pool)).unwrap();
    let src = g.node_index("test-src").unwrap();
    assert_eq!(
        g.add_next(src, "test-classify").unwrap(),
        Next(0),
        "existing arc reused"
    );
    assert_eq!(g.add_next(src, "test-sink").unwrap(), Next(1));
    assert!(g.to_dot().contains("\"test-src\" -> \"test-sink\""));
    assert!(matches!(
        g.add_next(src, "nope"),
        Err(GraphError::NoSuchNode(_))
    ));
}

/// Holds packets between calls and gives them back on release.
struct Holder(Vec<buf::Buf>);
impl Node for Holder {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: "test-classify",
            kind: NodeKind::Internal,
            next_nodes: &[],
            errors: &[],
        }
    }
    fn process(&mut self, _cx: &mut Ctx<'_>, frame: &mut Frame) {
        self.0.extend(frame.drain());
    }
    fn release(&mut self, cache: &mut BufferCache) {
        for b in self.0.drain(..) {
            cache.free(b);
        }
    }
}

#[test]
fn nodes_release_held_buffers_when_the_graph_drops() {
    let pool = BufferPool::new(&PoolConfig::new(64)).unwrap();
    let mut b = GraphBuilder::new();
    b.add(Source {
        sent: 0,
        total: 7,
        per_poll: 7,
    })
    .add(Holder(Vec::new()));
    let mut g = b.build(BufferCache::new(pool.clone())).unwrap();
    g.dispatch(0);
    assert_eq!(pool.in_use(), 7);
    drop(g);
    assert_eq!(pool.in_use(), 0);
}
