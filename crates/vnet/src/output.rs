//! `interface-output`: hands each packet to the output node of its `tx_if`'s device.
//!
//! The L2 header is already in place (the rewrite nodes put it there). Each hardware
//! interface's output node is an arc of this node, added by [`InterfaceOutput::attach`]
//! when the interface is created.

use crate::interface::IfIndex;
use crate::names;
use crate::Vnet;
use buf::Frame;
use graph::{Ctx, Graph, GraphError, Next, Nexts, Node, NodeError, NodeInfo, NodeKind};

graph::node_errors! {
    /// Errors of `interface-output`.
    pub enum InterfaceOutputError {
        /// `tx_if` names no interface with an output node.
        NoOutput = "no output node for the tx interface",
        /// The interface is administratively down.
        InterfaceDown = "interface is down",
    }
}

/// `interface-output`: see the module documentation.
#[derive(Debug)]
pub struct InterfaceOutput {
    vnet: Vnet,
    /// By hardware interface index: the arc to its output node.
    tx_next: Vec<Option<Next>>,
    /// Per-frame scratch: each packet's next.
    nexts: Nexts,
}

impl InterfaceOutput {
    /// The node, reading interfaces from `vnet`.
    pub fn new(vnet: &Vnet) -> InterfaceOutput {
        InterfaceOutput {
            vnet: vnet.clone(),
            tx_next: Vec::new(),
            nexts: Nexts::default(),
        }
    }

    /// Adds the arc from `interface-output` to hardware interface `hw`'s output node
    /// `tx_node` in `graph`.
    pub fn attach(graph: &mut Graph, hw: IfIndex, tx_node: &str) -> Result<(), GraphError> {
        let me = graph
            .node_index(names::INTERFACE_OUTPUT)
            .ok_or_else(|| GraphError::NoSuchNode(names::INTERFACE_OUTPUT.into()))?;
        let next = graph.add_next(me, tx_node)?;
        let node = graph
            .node_mut::<InterfaceOutput>(me)
            .ok_or_else(|| GraphError::NoSuchNode(names::INTERFACE_OUTPUT.into()))?;
        let i = hw as usize;
        if node.tx_next.len() <= i {
            node.tx_next.resize(i + 1, None);
        }
        node.tx_next[i] = Some(next);
        Ok(())
    }
}

impl Node for InterfaceOutput {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: names::INTERFACE_OUTPUT,
            kind: NodeKind::Internal,
            next_nodes: &[],
            errors: InterfaceOutputError::ALL,
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, frame: &mut Frame) {
        let ifs = self.vnet.interfaces();
        let tracing = cx.tracing();
        let pool = cx.pool();
        let resolve = |tx: u32| match ifs.get(tx) {
            None => Err(InterfaceOutputError::NoOutput),
            Some(i) if !i.admin_up => Err(InterfaceOutputError::InterfaceDown),
            Some(i) => self
                .tx_next
                .get(i.hw_index() as usize)
                .copied()
                .flatten()
                .ok_or(InterfaceOutputError::NoOutput),
        };
        // The usual frame leaves by one interface: one pass over the tx_if fields, one
        // resolve, and the frame moves whole.
        if !tracing {
            if let Some(first) = frame.as_slice().first() {
                let tx = pool.meta(first).tx_if;
                if frame.as_slice().iter().all(|b| pool.meta(b).tx_if == tx) {
                    if let Ok(n) = resolve(tx) {
                        cx.enqueue_frame(n, frame);
                        return;
                    }
                }
            }
        }
        // Consecutive packets mostly share their tx interface: resolve once per run.
        let mut last: Option<(u32, Result<Next, InterfaceOutputError>)> = None;
        for (b, next) in frame.as_mut_slice().iter_mut().zip(self.nexts.iter_mut()) {
            let tx = pool.meta(b).tx_if;
            let target = match last {
                Some((t, r)) if t == tx => r,
                _ => {
                    let r = resolve(tx);
                    last = Some((tx, r));
                    r
                }
            };
            if tracing {
                let name = ifs.get(tx).map_or("?", |i| i.name.as_str());
                cx.trace(b, format_args!("tx-if {tx} ({name})"));
            }
            *next = match target {
                Ok(n) => n,
                Err(e) => cx.drop_next(b, e),
            };
        }
        cx.enqueue_to_next(frame, &self.nexts[..]);
    }
}
