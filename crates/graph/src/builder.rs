//! Registering nodes and resolving their next-node names.

use crate::drop_node::DropNode;
use crate::graph::{Graph, Slot};
use crate::node::{Node, NodeKind};
use crate::queues::Queues;
use crate::stats::{ErrorMeta, GraphStats, NodeMeta};
use crate::trace::Tracer;
use buf::BufferCache;
use std::sync::Arc;

/// Why a graph could not be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GraphError {
    /// Two nodes registered the same name.
    #[error("node {0:?} is registered twice")]
    DuplicateNode(&'static str),
    /// A node names a next node nobody registered.
    #[error("node {node:?}: next node {next:?} is not registered")]
    UnknownNext {
        /// The node with the bad arc.
        node: &'static str,
        /// The missing name.
        next: &'static str,
    },
    /// More error counters than a buffer's 16-bit error code can name.
    #[error("too many error counters ({0}); at most 65535")]
    TooManyErrors(usize),
    /// A name given at run time matches no node.
    #[error("no node named {0:?}")]
    NoSuchNode(String),
    /// Tracing starts at input nodes only.
    #[error("node {0:?} is not an input node; packets are marked for trace where they enter")]
    NotInput(String),
}

/// Collects nodes, then [`GraphBuilder::build`]s a graph. `error-drop` is always present.
pub struct GraphBuilder {
    nodes: Vec<Box<dyn Node>>,
}

impl std::fmt::Debug for GraphBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.nodes.iter().map(|n| n.info().name))
            .finish()
    }
}

impl Default for GraphBuilder {
    fn default() -> Self {
        GraphBuilder::new()
    }
}

impl GraphBuilder {
    /// A builder holding only `error-drop`.
    pub fn new() -> GraphBuilder {
        GraphBuilder {
            nodes: vec![Box::new(DropNode::default())],
        }
    }

    /// Registers a node.
    pub fn add(&mut self, node: impl Node) -> &mut Self {
        self.nodes.push(Box::new(node));
        self
    }

    /// Registers a boxed node.
    pub fn add_boxed(&mut self, node: Box<dyn Node>) -> &mut Self {
        self.nodes.push(node);
        self
    }

    /// Resolves every next-node name, lays out the error counters and returns the graph,
    /// which allocates and frees through `cache`.
    pub fn build(self, cache: BufferCache) -> Result<Graph, GraphError> {
        let infos: Vec<_> = self.nodes.iter().map(|n| n.info()).collect();
        for (i, a) in infos.iter().enumerate() {
            if infos[..i].iter().any(|b| b.name == a.name) {
                return Err(GraphError::DuplicateNode(a.name));
            }
        }
        let mut slots = Vec::with_capacity(infos.len());
        let mut errors = Vec::new();
        for (node, info) in self.nodes.into_iter().zip(&infos) {
            let nexts = info
                .next_nodes
                .iter()
                .map(|next| {
                    infos
                        .iter()
                        .position(|i| i.name == *next)
                        .map(|p| p as u32)
                        .ok_or(GraphError::UnknownNext {
                            node: info.name,
                            next,
                        })
                })
                .collect::<Result<Vec<u32>, _>>()?;
            let error_base = errors.len();
            errors.extend(info.errors.iter().map(|e| ErrorMeta {
                node: info.name,
                name: e.name,
                message: e.message,
            }));
            if errors.len() > usize::from(u16::MAX) {
                return Err(GraphError::TooManyErrors(errors.len()));
            }
            slots.push(Slot {
                node,
                kind: info.kind,
                nexts,
                error_base: error_base as u16,
                wake: None,
            });
        }
        // Processes start due at once, so they can arm their own timers.
        for s in &mut slots {
            if s.kind == NodeKind::Process {
                s.wake = Some(0);
            }
        }
        let n = slots.len();
        let stats = GraphStats::new(
            infos
                .iter()
                .map(|i| NodeMeta {
                    name: i.name,
                    kind: i.kind,
                })
                .collect(),
            errors,
        );
        Ok(Graph::from_parts(
            slots,
            Queues::new(n),
            Tracer::new(n),
            cache,
            Arc::new(stats),
        ))
    }
}
