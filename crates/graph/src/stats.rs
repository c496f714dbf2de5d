//! Runtime and error counters, written by the graph's thread and read by anyone.

use crate::node::NodeKind;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// A counter with one writer (the graph's thread) and any number of readers.
///
/// The writer adds with a plain load and store, not a locked read-modify-write: there is no
/// other writer to race with, and readers see a value that is at most one update old.
#[derive(Debug, Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    #[inline(always)]
    pub(crate) fn add(&self, n: u64) {
        self.0.store(
            self.0.load(Ordering::Relaxed).wrapping_add(n),
            Ordering::Relaxed,
        );
    }
    #[inline(always)]
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Debug, Default)]
pub(crate) struct NodeCounters {
    pub(crate) calls: Counter,
    pub(crate) vectors: Counter,
    pub(crate) suspends: Counter,
    pub(crate) clocks: Counter,
}

#[derive(Debug)]
pub(crate) struct NodeMeta {
    pub(crate) name: &'static str,
    pub(crate) kind: NodeKind,
}

#[derive(Debug)]
pub(crate) struct ErrorMeta {
    pub(crate) node: &'static str,
    pub(crate) name: &'static str,
    pub(crate) message: &'static str,
}

/// The counters of one graph. Share it (`Arc`) with whoever shows them; reading never stops
/// or slows the graph.
///
/// "Clear" is a reader-side baseline, as in VPP: the counters themselves only grow.
#[derive(Debug)]
pub struct GraphStats {
    pub(crate) nodes: Vec<NodeMeta>,
    pub(crate) node_counters: Vec<NodeCounters>,
    pub(crate) errors: Vec<ErrorMeta>,
    pub(crate) error_counters: Vec<Counter>,
    runtime_base: Mutex<Vec<[u64; 4]>>,
    error_base: Mutex<Vec<u64>>,
    tsc_hz: u64,
}

/// One line of `show runtime`.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeRow {
    /// Node name.
    pub node: &'static str,
    /// `polling`, `active` or `event wait`.
    pub state: &'static str,
    /// Times the node was called.
    pub calls: u64,
    /// Packets it handled.
    pub vectors: u64,
    /// Times a process node went to sleep.
    pub suspends: u64,
    /// TSC clocks spent in it.
    pub clocks: u64,
}

impl RuntimeRow {
    /// Clocks per packet (per call when it handled no packets).
    pub fn clocks_per_packet(&self) -> f64 {
        if self.vectors > 0 {
            self.clocks as f64 / self.vectors as f64
        } else if self.calls > 0 {
            self.clocks as f64 / self.calls as f64
        } else {
            0.0
        }
    }
    /// Average packets per call.
    pub fn vectors_per_call(&self) -> f64 {
        if self.calls > 0 {
            self.vectors as f64 / self.calls as f64
        } else {
            0.0
        }
    }
}

/// One line of `show errors`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorRow {
    /// The node that owns the counter.
    pub node: &'static str,
    /// The counter's variant name.
    pub name: &'static str,
    /// What it means.
    pub reason: &'static str,
    /// Its value.
    pub count: u64,
}

impl GraphStats {
    pub(crate) fn new(nodes: Vec<NodeMeta>, errors: Vec<ErrorMeta>) -> GraphStats {
        let n = nodes.len();
        let e = errors.len();
        GraphStats {
            node_counters: (0..n).map(|_| NodeCounters::default()).collect(),
            nodes,
            error_counters: (0..e).map(|_| Counter::default()).collect(),
            errors,
            runtime_base: Mutex::new(vec![[0; 4]; n]),
            error_base: Mutex::new(vec![0; e]),
            tsc_hz: sys::tsc::frequency(),
        }
    }

    /// TSC ticks per second, to turn clocks into time.
    pub fn tsc_hz(&self) -> u64 {
        self.tsc_hz
    }

    /// Per-node runtime since the last [`GraphStats::clear_runtime`], in node order.
    pub fn runtime(&self) -> Vec<RuntimeRow> {
        let base = self.runtime_base.lock().unwrap_or_else(|e| e.into_inner());
        self.nodes
            .iter()
            .zip(&self.node_counters)
            .zip(base.iter())
            .map(|((m, c), b)| RuntimeRow {
                node: m.name,
                state: m.kind.state_name(),
                calls: c.calls.get().wrapping_sub(b[0]),
                vectors: c.vectors.get().wrapping_sub(b[1]),
                suspends: c.suspends.get().wrapping_sub(b[2]),
                clocks: c.clocks.get().wrapping_sub(b[3]),
            })
            .collect()
    }

    /// `clear runtime`.
    pub fn clear_runtime(&self) {
        let mut base = self.runtime_base.lock().unwrap_or_else(|e| e.into_inner());
        for (b, c) in base.iter_mut().zip(&self.node_counters) {
            *b = [
                c.calls.get(),
                c.vectors.get(),
                c.suspends.get(),
                c.clocks.get(),
            ];
        }
    }

    /// Every non-zero error counter since the last [`GraphStats::clear_errors`].
    pub fn errors(&self) -> Vec<ErrorRow> {
        let base = self.error_base.lock().unwrap_or_else(|e| e.into_inner());
        self.errors
            .iter()
            .zip(&self.error_counters)
            .zip(base.iter())
            .filter_map(|((m, c), b)| {
                let count = c.get().wrapping_sub(*b);
                (count > 0).then_some(ErrorRow {
                    node: m.node,
                    name: m.name,
                    reason: m.message,
                    count,
                })
            })
            .collect()
    }

    /// The count of one error counter, by node and variant name (for tests and metrics).
    pub fn error_count(&self, node: &str, name: &str) -> Option<u64> {
        let base = self.error_base.lock().unwrap_or_else(|e| e.into_inner());
        self.errors
            .iter()
            .position(|m| m.node == node && m.name == name)
            .map(|i| self.error_counters[i].get().wrapping_sub(base[i]))
    }

    /// `clear errors`.
    pub fn clear_errors(&self) {
        let mut base = self.error_base.lock().unwrap_or_else(|e| e.into_inner());
        for (b, c) in base.iter_mut().zip(&self.error_counters) {
            *b = c.get();
        }
    }

    /// `show runtime` as VPP prints it. Rows that never ran are left out.
    pub fn format_runtime(&self) -> String {
        let rows = self.runtime();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<28}{:>12}{:>14}{:>14}{:>10}{:>12}{:>14}",
            "Name", "State", "Calls", "Vectors", "Suspends", "Clocks", "Vectors/Call"
        );
        for r in rows.iter().filter(|r| r.calls > 0) {
            let _ = writeln!(
                out,
                "{:<28}{:>12}{:>14}{:>14}{:>10}{:>12.2e}{:>14.2}",
                r.node,
                r.state,
                r.calls,
                r.vectors,
                r.suspends,
                r.clocks_per_packet(),
                r.vectors_per_call()
            );
        }
        out
    }

    /// `show errors` as VPP prints it.
    pub fn format_errors(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{:>12}  {:<24}Reason", "Count", "Node");
        for e in self.errors() {
            let _ = writeln!(out, "{:>12}  {:<24}{}", e.count, e.node, e.reason);
        }
        out
    }
}
