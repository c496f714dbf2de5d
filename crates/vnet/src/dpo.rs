//! Data-path objects: what a FIB leaf points at (VPP's DPOs).
//!
//! The FIBs map a prefix to a `u32` leaf; the leaf is a [`DpoIndex`] into the
//! [`DpoTable`], and the [`Dpo`] says what the lookup node does with the packet.

use crate::adj::AdjIndex;
use crate::interface::IfIndex;
use std::collections::HashMap;

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

/// Every DPO in use. Identical DPOs share one index, so a million routes via one next hop
/// cost one entry here.
#[derive(Debug, Clone)]
pub struct DpoTable {
    dpos: Vec<Dpo>,
    index: HashMap<Dpo, DpoIndex>,
}

impl Default for DpoTable {
    fn default() -> Self {
        DpoTable::new()
    }
}

impl DpoTable {
    /// Index of [`Dpo::Drop`] in every table.
    pub const DROP: DpoIndex = 0;
    /// Index of [`Dpo::Unreachable`] in every table: the leaf of "no route".
    pub const UNREACHABLE: DpoIndex = 1;

    /// A table holding `Drop` and `Unreachable` at their fixed indices.
    pub fn new() -> DpoTable {
        let mut t = DpoTable {
            dpos: Vec::new(),
            index: HashMap::new(),
        };
        t.intern(Dpo::Drop);
        t.intern(Dpo::Unreachable);
        t
    }

    /// The index of `dpo`, adding it if new.
    pub fn intern(&mut self, dpo: Dpo) -> DpoIndex {
        if let Some(&i) = self.index.get(&dpo) {
            return i;
        }
        let i = self.dpos.len() as DpoIndex;
        self.dpos.push(dpo.clone());
        self.index.insert(dpo, i);
        i
    }

    /// The DPO at `i` (`Unreachable` for an index this table never gave out).
    #[inline(always)]
    pub fn get(&self, i: DpoIndex) -> &Dpo {
        self.dpos.get(i as usize).unwrap_or(&Dpo::Unreachable)
    }

    /// Number of distinct DPOs.
    pub fn len(&self) -> usize {
        self.dpos.len()
    }

    /// Never true: `Drop` and `Unreachable` are always present.
    pub fn is_empty(&self) -> bool {
        self.dpos.is_empty()
    }
}
