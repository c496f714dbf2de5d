//! Test harness: a graph with vnet nodes, sinks standing in for nodes not under test, and
//! helpers to inject frames and read what came out where.
#![allow(dead_code)]

use buf::{BufferCache, BufferPool, Frame, PoolConfig};
use graph::{Ctx, Graph, GraphBuilder, Node, NodeInfo, NodeKind};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Packets each sink received: node name → (rx_if, tx_if, bytes).
pub type Seen = Arc<Mutex<HashMap<&'static str, Vec<(u32, u32, Vec<u8>)>>>>;

/// A node that records and frees what it gets, registered under any name.
pub struct Sink {
    pub name: &'static str,
    pub seen: Seen,
}

impl Node for Sink {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: self.name,
            kind: NodeKind::Internal,
            next_nodes: &[],
            errors: &[],
        }
    }
    fn process(&mut self, cx: &mut Ctx<'_>, frame: &mut Frame) {
        for b in frame.drain() {
            let p = cx.pool().get(&b);
            let rec = (p.meta().rx_if, p.meta().tx_if, p.data().to_vec());
            self.seen
                .lock()
                .unwrap()
                .entry(self.name)
                .or_default()
                .push(rec);
            cx.trace(&b, format_args!("sink {}", self.name));
            cx.free(b);
        }
    }
}

pub struct Lab {
    pub graph: Graph,
    pub pool: Arc<BufferPool>,
    pub seen: Seen,
}

impl Lab {
    /// Builds a graph of `nodes` plus a sink for each name in `sinks`.
    pub fn new(nodes: Vec<Box<dyn Node>>, sinks: &[&'static str]) -> Lab {
        let pool = BufferPool::new(&PoolConfig::new(4096)).unwrap();
        let seen: Seen = Arc::default();
        let mut b = GraphBuilder::new();
        for n in nodes {
            b.add_boxed(n);
        }
        for &name in sinks {
            b.add(Sink {
                name,
                seen: seen.clone(),
            });
        }
        let graph = b.build(BufferCache::new(pool.clone())).unwrap();
        Lab { graph, pool, seen }
    }

    /// Injects `frames` (bytes, rx_if) at node `at` and dispatches until quiet.
    pub fn inject(&mut self, at: &str, frames: &[(Vec<u8>, u32)]) {
        let node = self.graph.node_index(at).unwrap();
        let mut f = Frame::new();
        for (bytes, rx) in frames {
            let mut b = self.graph.cache().alloc().unwrap();
            let mut p = self.pool.get_mut(&mut b);
            assert!(p.copy_from(bytes));
            p.meta_mut().rx_if = *rx;
            if f.push(b).is_err() {
                panic!("inject at most 256 frames at once");
            }
        }
        self.graph.inject(node, &mut f);
        for t in 0..100 {
            self.graph.dispatch(t);
            if !self.graph.has_pending() {
                break;
            }
        }
    }

    /// What sink `name` received.
    pub fn got(&self, name: &str) -> Vec<(u32, u32, Vec<u8>)> {
        self.seen
            .lock()
            .unwrap()
            .get(name)
            .cloned()
            .unwrap_or_default()
    }

    /// Count of error `name` of node `node`.
    pub fn err(&self, node: &str, name: &str) -> u64 {
        self.graph
            .stats()
            .error_count(node, name)
            .unwrap_or_else(|| panic!("no counter {node}/{name}"))
    }
}
