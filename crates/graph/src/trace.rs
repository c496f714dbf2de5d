//! Packet trace: the first N packets an input node receives, followed through every node.

use std::fmt::Write as _;

/// Most packets traced at once (VPP's default trace buffer is similar in spirit).
pub(crate) const MAX_TRACED: usize = 10_000;

#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) node: u32,
    pub(crate) tsc: u64,
    pub(crate) text: String,
}

/// Trace state of one graph.
///
/// Allocation happens only for traced packets, which are few by construction.
#[derive(Debug)]
pub(crate) struct Tracer {
    /// Per node: packets still to mark when that input node receives them.
    quota: Vec<u32>,
    /// True while any quota is left or any record exists.
    active: bool,
    /// Per traced packet: its lines, in the order the nodes ran.
    records: Vec<Vec<Entry>>,
    start_tsc: u64,
}

impl Tracer {
    pub(crate) fn new(nodes: usize) -> Tracer {
        Tracer {
            quota: vec![0; nodes],
            active: false,
            records: Vec::new(),
            start_tsc: sys::tsc::now(),
        }
    }

    /// True if some packet may be traced: nodes check this once per frame.
    #[inline(always)]
    pub(crate) fn active(&self) -> bool {
        self.active
    }

    pub(crate) fn add_quota(&mut self, node: usize, count: u32) {
        let room = MAX_TRACED.saturating_sub(self.records.len()) as u32;
        self.quota[node] = self.quota[node].saturating_add(count).min(room);
        self.active = true;
    }

    /// Takes one unit of `node`'s quota and opens a record; returns its id.
    #[inline]
    pub(crate) fn mark(&mut self, node: usize) -> Option<u32> {
        let q = self.quota.get_mut(node)?;
        if *q == 0 || self.records.len() >= MAX_TRACED {
            return None;
        }
        *q -= 1;
        self.records.push(Vec::with_capacity(8));
        Some(self.records.len() as u32 - 1)
    }

    pub(crate) fn push(&mut self, id: u32, node: u32, text: String) {
        if let Some(r) = self.records.get_mut(id as usize) {
            r.push(Entry {
                node,
                tsc: sys::tsc::now(),
                text,
            });
        }
    }

    pub(crate) fn clear(&mut self) {
        self.records.clear();
        self.quota.iter_mut().for_each(|q| *q = 0);
        self.active = false;
    }

    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    /// `show trace`: every record, VPP's layout (time since the graph started, node name,
    /// then the node's own lines indented).
    pub(crate) fn format(&self, names: &[&'static str], tsc_hz: u64) -> String {
        let mut out = String::new();
        let hz = tsc_hz.max(1) as f64;
        for (i, rec) in self.records.iter().enumerate() {
            let _ = writeln!(out, "Packet {}\n", i + 1);
            for e in rec {
                let secs = e.tsc.saturating_sub(self.start_tsc) as f64 / hz;
                let whole = secs as u64;
                let (h, m, s) = (whole / 3600, (whole / 60) % 60, whole % 60);
                let us = ((secs - whole as f64) * 1e6) as u64;
                let name = names.get(e.node as usize).copied().unwrap_or("?");
                let _ = writeln!(out, "{h:02}:{m:02}:{s:02}:{us:06}: {name}");
                for line in e.text.lines() {
                    let _ = writeln!(out, "  {line}");
                }
            }
            out.push('\n');
        }
        out
    }
}
