//! Data-path objects: what a FIB leaf points at (VPP's DPOs).
//!
//! The FIBs map a prefix to a `u32` leaf; the leaf is a [`DpoIndex`] into the
//! [`DpoTable`], and the [`Dpo`] says what the lookup node does with the packet.

use crate::adj::AdjIndex;
use crate::interface::IfIndex;
use arc_swap::ArcSwap;
use fib::Qsbr;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// Index of a [`Dpo`] in the [`DpoTable`]: the value stored in FIB leaves.
pub type DpoIndex = u32;

/// What to do with a packet whose destination matched a route.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Dpo {
    /// Drop silently, counted (a blackhole route).
    Drop,
    /// Drop and answer ICMP destination unreachable (an unreachable route, or no route).
    Unreachable,
    /// The destination is one of our addresses on this interface: local delivery.
    Receive {
        /// The interface owning the address.
        if_index: IfIndex,
    },
    /// The destination is on a connected subnet of this interface: resolve it (ARP/ND) and
    /// send it there directly.
    Glean {
        /// The connected interface.
        if_index: IfIndex,
    },
    /// Send to this neighbour.
    Adjacency(AdjIndex),
    /// Equal-cost multipath: pick one adjacency by flow hash (`hash % len`).
    LoadBalance(Box<[AdjIndex]>),
}

/// The DPOs as the lookup nodes see them: an immutable snapshot published by the
/// [`DpoTable`] (see [`crate::state`]).
#[derive(Debug, Clone, Default)]
pub struct Dpos {
    dpos: Vec<Dpo>,
}

impl Dpos {
    /// The DPO at `i` (`Unreachable` for an index never given out, such as
    /// [`fib::NO_ROUTE`]).
    #[inline(always)]
    pub fn get(&self, i: DpoIndex) -> &Dpo {
        self.dpos.get(i as usize).unwrap_or(&Dpo::Unreachable)
    }

    /// Slots in the snapshot (in use or free).
    pub fn len(&self) -> usize {
        self.dpos.len()
    }

    /// Never true: `Drop` and `Unreachable` are always present.
    pub fn is_empty(&self) -> bool {
        self.dpos.is_empty()
    }
}

/// Every DPO in use, the writer's side. Identical DPOs share one index, so a million routes
/// via one next hop cost one entry here.
///
/// An index is counted by the FIB leaves holding it ([`DpoTable::hold`] /
/// [`DpoTable::release`]); one no leaf holds is retired and reused only after every lookup
/// that could have read it has finished (a grace period of the [`fib::Qsbr`] domain). A new
/// DPO is published to the readers' snapshot before its index is returned, so a leaf never
/// names a DPO a reader cannot see.
#[derive(Debug)]
pub struct DpoTable {
    dpos: Vec<Dpo>,
    refs: Vec<u32>,
    /// Epoch at which an unheld index was retired (0: not retired).
    retired_at: Vec<u64>,
    index: HashMap<Dpo, DpoIndex>,
    retired: VecDeque<(DpoIndex, u64)>,
    free: Vec<DpoIndex>,
    published: Arc<ArcSwap<Dpos>>,
    qsbr: Arc<Qsbr>,
}

impl Default for DpoTable {
    fn default() -> Self {
        DpoTable::new(Qsbr::new())
    }
}

impl DpoTable {
    /// Index of [`Dpo::Drop`] in every table.
    pub const DROP: DpoIndex = 0;
    /// Index of [`Dpo::Unreachable`] in every table: the leaf of "no route".
    pub const UNREACHABLE: DpoIndex = 1;

    /// A table holding `Drop` and `Unreachable` at their fixed indices, whose freed indices
    /// wait for the readers of `qsbr`.
    pub fn new(qsbr: Arc<Qsbr>) -> DpoTable {
        let mut t = DpoTable {
            dpos: Vec::new(),
            refs: Vec::new(),
            retired_at: Vec::new(),
            index: HashMap::new(),
            retired: VecDeque::new(),
            free: Vec::new(),
            published: Arc::new(ArcSwap::from_pointee(Dpos::default())),
            qsbr,
        };
        t.intern(Dpo::Drop);
        t.intern(Dpo::Unreachable);
        t
    }

    /// The readers' side: the published snapshot.
    pub fn published(&self) -> Arc<ArcSwap<Dpos>> {
        self.published.clone()
    }

    /// The index of `dpo`, adding (and publishing) it if new. Hold it with
    /// [`DpoTable::hold`] once a leaf names it; an index nobody holds is left for
    /// [`DpoTable::release`] to retire.
    pub fn intern(&mut self, dpo: Dpo) -> DpoIndex {
        if let Some(&i) = self.index.get(&dpo) {
            return i;
        }
        self.reclaim();
        let i = match self.free.pop() {
            Some(i) => {
                self.dpos[i as usize] = dpo.clone();
                i
            }
            None => {
                self.dpos.push(dpo.clone());
                self.refs.push(0);
                self.retired_at.push(0);
                (self.dpos.len() - 1) as DpoIndex
            }
        };
        self.index.insert(dpo, i);
        // Before the index leaves this function: a leaf naming it is written after.
        self.published.store(Arc::new(Dpos {
            dpos: self.dpos.clone(),
        }));
        i
    }

    /// One more FIB leaf names `i`.
    pub fn hold(&mut self, i: DpoIndex) {
        if let Some(r) = self.refs.get_mut(i as usize) {
            *r += 1;
            self.retired_at[i as usize] = 0;
        }
    }

    /// One FIB leaf naming `i` is gone (already unlinked from the FIB); with none left,
    /// `i` is retired. Also call it for an index interned but never held.
    pub fn release(&mut self, i: DpoIndex) {
        if i <= Self::UNREACHABLE {
            return;
        }
        let Some(r) = self.refs.get_mut(i as usize) else {
            return;
        };
        *r = r.saturating_sub(1);
        if *r == 0 && self.retired_at[i as usize] == 0 {
            let epoch = self.qsbr.retire();
            self.retired_at[i as usize] = epoch;
            self.retired.push_back((i, epoch));
        }
    }

    /// Frees every retired index whose grace period has passed.
    fn reclaim(&mut self) {
        while let Some(&(i, epoch)) = self.retired.front() {
            let u = i as usize;
            if self.refs[u] != 0 || self.retired_at[u] != epoch {
                // Held again (or retired again later): this entry is stale.
                self.retired.pop_front();
                continue;
            }
            if !self.qsbr.is_safe(epoch) {
                break;
            }
            self.retired.pop_front();
            self.retired_at[u] = 0;
            self.index.remove(&self.dpos[u]);
            self.free.push(i);
        }
    }

    /// The DPO at `i` (`Unreachable` for an index this table never gave out).
    #[inline(always)]
    pub fn get(&self, i: DpoIndex) -> &Dpo {
        self.dpos.get(i as usize).unwrap_or(&Dpo::Unreachable)
    }

    /// Number of distinct DPOs held by a leaf or waiting for their grace period (plus
    /// `Drop` and `Unreachable`).
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Never true: `Drop` and `Unreachable` are always present.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_are_reused_only_after_a_grace_period() {
        let q = Qsbr::new();
        let mut t = DpoTable::new(q.clone());
        let snap = t.published();
        let a = t.intern(Dpo::Adjacency(7));
        assert_eq!(
            snap.load().get(a),
            &Dpo::Adjacency(7),
            "published before use"
        );
        t.hold(a);
        let reader = q.register();
        t.release(a);
        assert_eq!(
            t.intern(Dpo::Adjacency(7)),
            a,
            "unheld but not freed: same index"
        );
        t.hold(a);
        t.release(a);
        let b = t.intern(Dpo::Adjacency(8));
        assert_ne!(a, b, "the reader has not passed a quiescent point");
        t.hold(b);
        reader.quiesce();
        let c = t.intern(Dpo::Adjacency(9));
        assert_eq!(c, a, "reused after the grace period");
        assert_eq!(snap.load().get(c), &Dpo::Adjacency(9));
        assert_eq!(snap.load().get(b), &Dpo::Adjacency(8));
        assert_eq!(snap.load().get(fib::NO_ROUTE), &Dpo::Unreachable);
    }
}
