//! `error-drop`: where dropped packets are counted by their error and freed.

use crate::ctx::Ctx;
use crate::node::{Node, NodeInfo, NodeKind};
use crate::node_errors;
use crate::NodeError;
use buf::{Buf, BufferPool, Frame};

/// The drop node's name.
pub const DROP_NODE: &str = "error-drop";

node_errors! {
    /// Errors the graph itself assigns.
    pub enum DropError {
        /// Code 0: a packet reached `error-drop` with no error set.
        Unspecified = "dropped without an error code",
        /// A node returned with buffers still in its frame.
        Leftover = "buffers a node left unhandled in its frame",
        /// Dispatch stopped a runaway loop of frames between nodes.
        Loop = "frames still pending after the dispatch round limit",
    }
}

/// Sees every frame of packets that reaches `error-drop`, before they are counted and
/// freed (install with [`crate::Graph::set_drop_observer`]). `pcap trace drop` is one.
///
/// It is called once per frame, not per packet; an observer that is switched off should
/// return after one cheap test. It may read the packets but not keep them.
pub trait DropObserver: Send + std::fmt::Debug {
    /// Looks at the dropped packets `frame` (their error code is in `Meta::error`).
    fn observe(&mut self, pool: &BufferPool, frame: &[Buf]);
}

/// Counts each packet under the error code in its metadata, traces it, frees it.
#[derive(Debug, Default)]
pub(crate) struct DropNode {
    pub(crate) observer: Option<Box<dyn DropObserver>>,
}

impl Node for DropNode {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: DROP_NODE,
            kind: NodeKind::Internal,
            next_nodes: &[],
            errors: DropError::ALL,
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, frame: &mut Frame) {
        let tracing = cx.tracing();
        if let Some(o) = self.observer.as_mut() {
            o.observe(cx.pool(), frame.as_slice());
        }
        for b in frame.drain() {
            let code = cx.pool().meta(&b).error;
            cx.count_code(code);
            if tracing {
                let (node, why) = cx.error_text(code);
                cx.trace(&b, format_args!("{node}: {why}"));
            }
            cx.free(b);
        }
    }
}
