//! The graph and its dispatcher.

use crate::builder::GraphError;
use crate::ctx::Ctx;
use crate::drop_node::DropError;
use crate::node::{Next, Node, NodeKind, Wake};
use crate::queues::Queues;
use crate::stats::GraphStats;
use crate::trace::Tracer;
use crate::NodeError;
use buf::{BufferCache, BufferPool, Frame};
use std::fmt::Write as _;
use std::sync::Arc;

/// Position of a node in its graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeIndex(pub u32);

pub(crate) struct Slot {
    pub(crate) node: Box<dyn Node>,
    pub(crate) kind: NodeKind,
    pub(crate) nexts: Vec<u32>,
    pub(crate) error_base: u16,
    /// Process nodes: when to run next (`None`: suspended until signalled).
    pub(crate) wake: Option<u64>,
}

/// What one [`Graph::dispatch`] round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dispatch {
    /// Packets the input nodes brought in.
    pub polled: usize,
    /// Internal node calls made.
    pub calls: usize,
}

/// A built graph of nodes: one per worker thread.
pub struct Graph {
    slots: Vec<Slot>,
    queues: Queues,
    tracer: Tracer,
    cache: BufferCache,
    pool: Arc<BufferPool>,
    stats: Arc<GraphStats>,
    names: Vec<&'static str>,
    inputs: Vec<u32>,
    processes: Vec<u32>,
}

impl std::fmt::Debug for Graph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Graph").field("nodes", &self.names).finish()
    }
}

/// Internal node calls one dispatch round may make before it yields: bounds the time a
/// loop between nodes (a misconfiguration) can hold the thread.
const MAX_CALLS_PER_ROUND: usize = 4096;

impl Graph {
    pub(crate) fn from_parts(
        slots: Vec<Slot>,
        queues: Queues,
        tracer: Tracer,
        cache: BufferCache,
        stats: Arc<GraphStats>,
    ) -> Graph {
        let names = stats.nodes.iter().map(|n| n.name).collect();
        let of_kind = |k| {
            (0..slots.len() as u32)
                .filter(|&i| slots[i as usize].kind == k)
                .collect()
        };
        let inputs = of_kind(NodeKind::Input);
        let processes = of_kind(NodeKind::Process);
        let pool = Arc::clone(cache.pool());
        Graph {
            slots,
            queues,
            tracer,
            cache,
            pool,
            stats,
            names,
            inputs,
            processes,
        }
    }

    /// The counters, shareable with other threads.
    pub fn stats(&self) -> &Arc<GraphStats> {
        &self.stats
    }

    /// This graph's buffer cache.
    pub fn cache(&mut self) -> &mut BufferCache {
        &mut self.cache
    }

    /// The index of the node called `name`.
    pub fn node_index(&self, name: &str) -> Option<NodeIndex> {
        self.names
            .iter()
            .position(|n| *n == name)
            .map(|i| NodeIndex(i as u32))
    }

    /// Node names, in index order.
    pub fn node_names(&self) -> &[&'static str] {
        &self.names
    }

    /// The node at `index` as its concrete type (for configuration and tests).
    pub fn node_mut<T: Node>(&mut self, index: NodeIndex) -> Option<&mut T> {
        let node: &mut dyn std::any::Any = self.slots.get_mut(index.0 as usize)?.node.as_mut();
        node.downcast_mut::<T>()
    }

    /// One round: poll every input node that wants it ([`Node::wants_poll`]), run every
    /// process that is due, then run pending frames until none is left (or the round
    /// limit is hit).
    pub fn dispatch(&mut self, now: u64) -> Dispatch {
        let mut report = Dispatch::default();
        for k in 0..self.inputs.len() {
            let i = self.inputs[k] as usize;
            // An input with nothing attached costs a call here, not ~40 clocks of context,
            // clock reads and counters (2% of uplane's CPU in veth_forward, 5 such nodes).
            if !self.slots[i].node.wants_poll() {
                continue;
            }
            let t0 = sys::tsc::now();
            let n = self.with_ctx(i, now, |node, cx| node.poll(cx));
            let c = &self.stats.node_counters[i];
            c.calls.add(1);
            c.vectors.add(n as u64);
            c.clocks.add(sys::tsc::now().wrapping_sub(t0));
            report.polled += n;
        }
        for k in 0..self.processes.len() {
            let i = self.processes[k] as usize;
            if self.slots[i].wake.is_some_and(|t| t <= now) {
                let t0 = sys::tsc::now();
                let wake = self.with_ctx(i, now, |node, cx| node.run(cx));
                let c = &self.stats.node_counters[i];
                c.calls.add(1);
                c.suspends.add(1);
                c.clocks.add(sys::tsc::now().wrapping_sub(t0));
                self.slots[i].wake = match wake {
                    Wake::At(t) => Some(t),
                    Wake::Suspend => None,
                };
            }
        }
        while let Some((i, mut frame)) = self.queues.next_frame() {
            if report.calls == MAX_CALLS_PER_ROUND {
                // Put it back at the head of the line and stop: the next round resumes.
                self.requeue(i, frame);
                break;
            }
            report.calls += 1;
            let n = frame.len() as u64;
            let t0 = sys::tsc::now();
            self.with_ctx(i, now, |node, cx| {
                node.process(cx, &mut frame);
                if !frame.is_empty() {
                    for b in frame.drain() {
                        cx.drop_graph_error(b, DropError::Leftover);
                    }
                }
            });
            let c = &self.stats.node_counters[i];
            c.calls.add(1);
            c.vectors.add(n);
            c.clocks.add(sys::tsc::now().wrapping_sub(t0));
            self.queues.recycle(frame);
        }
        report
    }

    fn requeue(&mut self, node: usize, frame: Box<Frame>) {
        self.stats.error_counters[usize::from(DropError::Loop.code())].add(1);
        self.queues.unshift(node, frame);
    }

    /// True if frames are waiting (a round stopped at its limit).
    pub fn has_pending(&self) -> bool {
        self.queues.has_pending()
    }

    fn with_ctx<R>(
        &mut self,
        i: usize,
        now: u64,
        f: impl FnOnce(&mut dyn Node, &mut Ctx<'_>) -> R,
    ) -> R {
        let Graph {
            slots,
            queues,
            tracer,
            cache,
            stats,
            pool,
            ..
        } = self;
        let slot = &mut slots[i];
        let mut cx = Ctx {
            pool,
            cache,
            queues,
            tracer,
            stats,
            nexts: &slot.nexts,
            node: i as u32,
            error_base: slot.error_base,
            drop_node: 0,
            now,
        };
        f(slot.node.as_mut(), &mut cx)
    }

    /// Hands a frame of buffers to `node` as if a previous node had enqueued them (tests,
    /// and packets arriving from another thread).
    pub fn inject(&mut self, node: NodeIndex, frame: &mut Frame) {
        self.queues.enqueue_frame(node.0 as usize, frame);
    }

    /// Adds an arc from `node` to the node called `target` after the graph is built (VPP's
    /// `vlib_node_add_next`), returning its slot; an existing arc returns its slot again.
    /// This is how a packet-generator stream or a new interface picks its next node.
    pub fn add_next(&mut self, node: NodeIndex, target: &str) -> Result<Next, GraphError> {
        let t = self
            .node_index(target)
            .ok_or_else(|| GraphError::NoSuchNode(target.to_string()))?;
        let slot = self
            .slots
            .get_mut(node.0 as usize)
            .ok_or_else(|| GraphError::NoSuchNode(format!("#{}", node.0)))?;
        if let Some(p) = slot.nexts.iter().position(|&n| n == t.0) {
            return Ok(Next(p as u16));
        }
        slot.nexts.push(t.0);
        Ok(Next(slot.nexts.len() as u16 - 1))
    }

    /// Installs (or with `None` removes) the observer that sees every frame reaching
    /// `error-drop` before it is counted and freed (`pcap trace drop`).
    pub fn set_drop_observer(&mut self, observer: Option<Box<dyn crate::DropObserver>>) {
        let i = self
            .node_index(crate::DROP_NODE)
            .map_or(0, |i| i.0 as usize);
        if let Some(slot) = self.slots.get_mut(i) {
            let node: &mut dyn std::any::Any = slot.node.as_mut();
            if let Some(d) = node.downcast_mut::<crate::drop_node::DropNode>() {
                d.observer = observer;
            }
        }
    }

    /// Wakes a suspended process node at the next dispatch.
    pub fn signal(&mut self, node: NodeIndex) {
        if let Some(s) = self.slots.get_mut(node.0 as usize) {
            if s.kind == NodeKind::Process {
                s.wake = Some(0);
            }
        }
    }

    /// `trace add NODE COUNT`: trace the next `count` packets entering at input node `node`.
    pub fn trace_add(&mut self, node: &str, count: u32) -> Result<(), GraphError> {
        let i = self
            .node_index(node)
            .ok_or_else(|| GraphError::NoSuchNode(node.to_string()))?;
        if self.slots[i.0 as usize].kind != NodeKind::Input {
            return Err(GraphError::NotInput(node.to_string()));
        }
        self.tracer.add_quota(i.0 as usize, count);
        Ok(())
    }

    /// `show trace`.
    pub fn format_trace(&self) -> String {
        self.tracer.format(&self.names, self.stats.tsc_hz())
    }

    /// Packets traced so far.
    pub fn traced(&self) -> usize {
        self.tracer.len()
    }

    /// `clear trace`.
    pub fn clear_trace(&mut self) {
        self.tracer.clear();
    }

    /// `show graph`: the nodes and arcs in Graphviz dot.
    pub fn to_dot(&self) -> String {
        let mut out = String::from("digraph uplane {\n  rankdir=LR;\n");
        for (i, s) in self.slots.iter().enumerate() {
            let shape = match s.kind {
                NodeKind::Input => "invhouse",
                NodeKind::Internal => "box",
                NodeKind::Process => "ellipse",
            };
            let _ = writeln!(out, "  \"{}\" [shape={shape}];", self.names[i]);
            for &n in s.nexts.iter() {
                let _ = writeln!(
                    out,
                    "  \"{}\" -> \"{}\";",
                    self.names[i], self.names[n as usize]
                );
            }
        }
        out.push_str("}\n");
        out
    }
}

impl Drop for Graph {
    fn drop(&mut self) {
        // Give back buffers still waiting in frames so the pool stays whole.
        while let Some((_, mut frame)) = self.queues.next_frame() {
            self.cache.free_frame(&mut frame);
            self.queues.recycle(frame);
        }
        for s in &mut self.slots {
            s.node.release(&mut self.cache);
        }
    }
}
