//! `null-output`: the sink. Frees every packet it is given and counts packets and bytes.

use buf::Frame;
use graph::{Ctx, Node, NodeError, NodeInfo, NodeKind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The node's name.
pub const NULL_OUTPUT: &str = "null-output";

graph::node_errors! {
    /// Counters of `null-output`.
    pub enum NullCounter {
        /// Every packet the sink discarded.
        Discarded = "packets discarded by the null sink",
    }
}

/// Packets and bytes a [`NullOutput`] consumed; share it to read them.
#[derive(Debug, Default)]
pub struct NullStats {
    packets: AtomicU64,
    bytes: AtomicU64,
}

impl NullStats {
    /// Packets consumed.
    pub fn packets(&self) -> u64 {
        self.packets.load(Ordering::Relaxed)
    }
    /// Bytes consumed.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

/// `null-output`: see the module documentation.
#[derive(Debug, Default)]
pub struct NullOutput {
    stats: Arc<NullStats>,
}

impl NullOutput {
    /// A sink with its own counters.
    pub fn new() -> NullOutput {
        NullOutput::default()
    }

    /// The counters, to read from anywhere.
    pub fn stats(&self) -> Arc<NullStats> {
        self.stats.clone()
    }
}

impl Node for NullOutput {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: NULL_OUTPUT,
            kind: NodeKind::Internal,
            next_nodes: &[],
            errors: NullCounter::ALL,
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, frame: &mut Frame) {
        let n = frame.len() as u64;
        let tracing = cx.tracing();
        let mut bytes = 0;
        for b in frame.drain() {
            bytes += cx.pool().chain_len(&b) as u64;
            if tracing {
                cx.trace(&b, format_args!("discarded"));
            }
            cx.free(b);
        }
        cx.count(NullCounter::Discarded, n);
        // Single writer: plain load and store.
        let st = &self.stats;
        st.packets
            .store(st.packets.load(Ordering::Relaxed) + n, Ordering::Relaxed);
        st.bytes
            .store(st.bytes.load(Ordering::Relaxed) + bytes, Ordering::Relaxed);
    }
}
