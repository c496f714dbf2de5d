//! What a node sees while it runs.

use crate::error::NodeError;
use crate::node::Next;
use crate::queues::Queues;
use crate::stats::GraphStats;
use crate::trace::Tracer;
use buf::{Buf, BufFlags, BufferCache, BufferPool, Frame};

/// The running node's handle on the graph: where its packets go, its counters, its trace.
///
/// Call order inside one node call is free; every buffer the node was given or allocated
/// must leave through [`Ctx::enqueue`], [`Ctx::enqueue_frame`], [`Ctx::enqueue_to_next`],
/// [`Ctx::drop`] or [`Ctx::free`].
#[derive(Debug)]
pub struct Ctx<'a> {
    pub(crate) pool: &'a BufferPool,
    pub(crate) cache: &'a mut BufferCache,
    pub(crate) queues: &'a mut Queues,
    pub(crate) tracer: &'a mut Tracer,
    pub(crate) stats: &'a GraphStats,
    pub(crate) nexts: &'a [u32],
    pub(crate) node: u32,
    pub(crate) error_base: u16,
    pub(crate) drop_node: u32,
    pub(crate) now: u64,
}

impl<'a> Ctx<'a> {
    /// The buffer pool: reach packet bytes and metadata with `pool().get_mut(&mut buf)`.
    #[inline(always)]
    pub fn pool(&self) -> &'a BufferPool {
        self.pool
    }

    /// This thread's buffer cache, to allocate (input nodes, ICMP replies) and free.
    #[inline(always)]
    pub fn cache(&mut self) -> &mut BufferCache {
        self.cache
    }

    /// The graph's clock, in nanoseconds, as given to [`crate::Graph::dispatch`].
    #[inline(always)]
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Sends a buffer to the running node's next node `next`.
    ///
    /// # Panics
    ///
    /// If `next` is not a slot of the node's registration (a bug in the node).
    #[inline(always)]
    pub fn enqueue(&mut self, next: Next, b: Buf) {
        let target = self.nexts[usize::from(next.0)];
        self.queues.enqueue(target as usize, b);
    }

    /// Sends every buffer of `frame` to next node `next`, leaving `frame` empty.
    #[inline]
    pub fn enqueue_frame(&mut self, next: Next, frame: &mut Frame) {
        let target = self.nexts[usize::from(next.0)];
        self.queues.enqueue_frame(target as usize, frame);
    }

    /// Sends buffer `i` of `frame` to next node `nexts[i]` (a slot, or [`Next::DROP`]) for
    /// every `i`, leaving `frame` empty: VPP's `vlib_buffer_enqueue_to_next`. Each target
    /// receives its packets in frame order, exactly as per-packet [`Ctx::enqueue`] calls
    /// would leave them. When every packet goes to the same next the frame moves as a
    /// whole (a block swap, no per-packet bookkeeping); otherwise the target is looked up
    /// once per run of equal nexts.
    ///
    /// The usual node shape: walk `frame.as_mut_slice()` filling `nexts`, then call this
    /// once.
    ///
    /// # Panics
    ///
    /// If `nexts` is shorter than the frame, or a next is neither a slot of the node's
    /// registration nor [`Next::DROP`] (bugs in the node).
    #[inline]
    pub fn enqueue_to_next(&mut self, frame: &mut Frame, nexts: &[Next]) {
        let nexts = &nexts[..frame.len()];
        let Some(&first) = nexts.first() else {
            return;
        };
        if nexts.iter().all(|&n| n.0 == first.0) {
            let target = self.target(first);
            self.queues.enqueue_frame(target, frame);
            return;
        }
        let (mut cur, mut target) = (first, self.target(first));
        for (b, &next) in frame.drain().zip(nexts) {
            if next.0 != cur.0 {
                cur = next;
                target = self.target(next);
            }
            self.queues.enqueue(target, b);
        }
    }

    #[inline(always)]
    fn target(&self, next: Next) -> usize {
        if next == Next::DROP {
            self.drop_node as usize
        } else {
            self.nexts[usize::from(next.0)] as usize
        }
    }

    /// Records the running node's error `err` in `b` and returns [`Next::DROP`]: the
    /// [`Ctx::enqueue_to_next`] form of [`Ctx::drop`].
    #[inline(always)]
    pub fn drop_next<E: NodeError>(&mut self, b: &mut Buf, err: E) -> Next {
        self.pool.meta_mut(b).error = self.error_base + err.code();
        Next::DROP
    }

    /// Drops a packet: records the running node's error `err` in it and sends it to
    /// `error-drop`, which counts it under that error and frees it.
    #[inline(always)]
    pub fn drop<E: NodeError>(&mut self, mut b: Buf, err: E) {
        self.pool.meta_mut(&mut b).error = self.error_base + err.code();
        self.queues.enqueue(self.drop_node as usize, b);
    }

    /// Drops a packet under a graph-level [`crate::DropError`] (`error-drop` has error base 0).
    #[inline]
    pub(crate) fn drop_graph_error(&mut self, mut b: Buf, err: crate::DropError) {
        self.pool.meta_mut(&mut b).error = err.code();
        self.queues.enqueue(self.drop_node as usize, b);
    }

    /// Frees a packet without counting it anywhere (it was consumed: transmitted, copied).
    #[inline(always)]
    pub fn free(&mut self, b: Buf) {
        self.cache.free(b);
    }

    /// Adds `n` to the running node's error counter `err` without dropping anything.
    #[inline(always)]
    pub fn count<E: NodeError>(&mut self, err: E, n: u64) {
        self.stats.error_counters[usize::from(self.error_base + err.code())].add(n);
    }

    /// True if some packets are being traced. Nodes test this once per frame and only then
    /// look at each buffer's trace flag (VPP's `node->flags & VLIB_NODE_FLAG_TRACE`).
    #[inline(always)]
    pub fn tracing(&self) -> bool {
        self.tracer.active()
    }

    /// Input nodes: marks `b` for tracing if `trace add` asked for more packets from this
    /// node. Returns true if it did.
    #[inline]
    pub fn trace_mark(&mut self, b: &mut Buf) -> bool {
        if !self.tracer.active() {
            return false;
        }
        match self.tracer.mark(self.node as usize) {
            Some(id) => {
                let m = self.pool.meta_mut(b);
                m.flags.insert(BufFlags::TRACED);
                m.trace_id = id;
                true
            }
            None => false,
        }
    }

    /// Appends the running node's line to `b`'s trace if `b` is traced. The arguments are
    /// formatted only then.
    #[inline]
    pub fn trace(&mut self, b: &Buf, args: std::fmt::Arguments<'_>) {
        let m = self.pool.meta(b);
        if m.is_traced() {
            self.tracer.push(m.trace_id, self.node, args.to_string());
        }
    }

    /// The node and message of a global error code (what `error-drop` prints).
    pub fn error_text(&self, code: u16) -> (&'static str, &'static str) {
        self.stats
            .errors
            .get(usize::from(code))
            .map_or(("?", "unknown error"), |e| (e.node, e.message))
    }

    /// Counts a packet under a global error code (for `error-drop`).
    #[inline(always)]
    pub(crate) fn count_code(&mut self, code: u16) {
        if let Some(c) = self.stats.error_counters.get(usize::from(code)) {
            c.add(1);
        }
    }
}
