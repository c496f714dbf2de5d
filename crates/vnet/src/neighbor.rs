//! The neighbour table (ARP and ND results) and the bounded queue of packets waiting for a
//! neighbour to resolve.
//!
//! Learning a neighbour completes its adjacency (the caller does that with
//! [`crate::AdjTable::resolve`]); aging ([`NeighborTable::age`]) first probes a dynamic
//! entry not refreshed within `max_age` at its known MAC, a few times (VPP's and Linux's
//! way: an answer refreshes it while its adjacency stays complete, so traffic to a quiet
//! but present neighbour never stops), and removes it only when no probe was answered. Packets for an unresolved neighbour wait here, at most
//! [`NeighborTable::PENDING_PER_NEIGHBOR`] per neighbour and
//! [`NeighborTable::PENDING_TOTAL`] in all; past either bound the caller drops and counts.

use crate::interface::IfIndex;
use buf::{Buf, BufferCache, Frame};
use core::net::IpAddr;
use std::collections::HashMap;
use wire::ethernet::EthernetAddress;

/// One resolved neighbour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbor {
    /// The interface it was learned on.
    pub if_index: IfIndex,
    /// Its address.
    pub ip: IpAddr,
    /// Its MAC.
    pub mac: EthernetAddress,
    /// Configured, never aged.
    pub is_static: bool,
    /// Graph time (ns) it was last confirmed.
    pub updated_ns: u64,
    /// Probes sent since it was last confirmed (0 while fresh).
    pub probes: u8,
    /// Graph time (ns) of the last probe.
    pub probed_ns: u64,
}

/// How [`NeighborTable::age`] re-checks an aged neighbour before removing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbePolicy {
    /// Unanswered probes after which the neighbour is removed (0: remove at once).
    pub probes: u8,
    /// Time allowed for an answer to each probe (ns).
    pub interval_ns: u64,
}

/// What [`NeighborTable::age`] found.
#[derive(Debug, Default)]
pub struct Aged {
    /// Neighbours to probe now (their entry and adjacency stay).
    pub probe: Vec<Neighbor>,
    /// Neighbours removed (their adjacencies must be marked incomplete).
    pub removed: Vec<Neighbor>,
}

/// What [`NeighborTable::learn`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Learned {
    /// A new neighbour.
    New,
    /// A known neighbour with a new MAC.
    Changed,
    /// A known neighbour, same MAC, timestamp refreshed.
    Refreshed,
}

#[derive(Debug, Default)]
struct Pending {
    bufs: Vec<Buf>,
    since_ns: u64,
}

/// Neighbours by (interface, address), and the packets waiting for unresolved ones.
#[derive(Debug, Default)]
pub struct NeighborTable {
    map: HashMap<(IfIndex, IpAddr), Neighbor>,
    pending: HashMap<(IfIndex, IpAddr), Pending>,
    pending_total: usize,
}

impl NeighborTable {
    /// Most packets held for one unresolved neighbour.
    pub const PENDING_PER_NEIGHBOR: usize = 4;
    /// Most packets held in all.
    pub const PENDING_TOTAL: usize = 1024;

    /// An empty table.
    pub fn new() -> NeighborTable {
        NeighborTable::default()
    }

    /// Records that `ip` on `if_index` is at `mac` (a static entry stays static).
    pub fn learn(
        &mut self,
        if_index: IfIndex,
        ip: IpAddr,
        mac: EthernetAddress,
        now_ns: u64,
    ) -> Learned {
        match self.map.get_mut(&(if_index, ip)) {
            Some(n) => {
                n.updated_ns = now_ns;
                n.probes = 0;
                if n.mac == mac {
                    Learned::Refreshed
                } else {
                    n.mac = mac;
                    Learned::Changed
                }
            }
            None => {
                self.map.insert(
                    (if_index, ip),
                    Neighbor {
                        if_index,
                        ip,
                        mac,
                        is_static: false,
                        updated_ns: now_ns,
                        probes: 0,
                        probed_ns: 0,
                    },
                );
                Learned::New
            }
        }
    }

    /// Adds a static entry (configured; never aged).
    pub fn add_static(&mut self, if_index: IfIndex, ip: IpAddr, mac: EthernetAddress) {
        self.map.insert(
            (if_index, ip),
            Neighbor {
                if_index,
                ip,
                mac,
                is_static: true,
                updated_ns: 0,
                probes: 0,
                probed_ns: 0,
            },
        );
    }

    /// The neighbour `ip` on `if_index`.
    pub fn lookup(&self, if_index: IfIndex, ip: IpAddr) -> Option<&Neighbor> {
        self.map.get(&(if_index, ip))
    }

    /// Removes a neighbour; returns it if it existed.
    pub fn remove(&mut self, if_index: IfIndex, ip: IpAddr) -> Option<Neighbor> {
        self.map.remove(&(if_index, ip))
    }

    /// Ages the dynamic neighbours not confirmed within `max_age_ns` of `now_ns`: each is
    /// probed up to `policy.probes` times, `policy.interval_ns` apart, then removed if none
    /// was answered (a confirmation, [`NeighborTable::learn`], makes it fresh again).
    pub fn age(&mut self, now_ns: u64, max_age_ns: u64, policy: ProbePolicy) -> Aged {
        let mut aged = Aged::default();
        self.map.retain(|_, n| {
            if n.is_static || now_ns.saturating_sub(n.updated_ns) <= max_age_ns {
                return true;
            }
            if n.probes > 0 && now_ns.saturating_sub(n.probed_ns) < policy.interval_ns {
                return true; // waiting for the answer to the last probe
            }
            if n.probes < policy.probes {
                n.probes += 1;
                n.probed_ns = now_ns;
                aged.probe.push(n.clone());
                return true;
            }
            aged.removed.push(n.clone());
            false
        });
        aged
    }

    /// Every neighbour (for `show ip neighbors`), in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Neighbor> {
        self.map.values()
    }

    /// Number of neighbours.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Holds `b` until `ip` on `if_index` resolves. Gives it back when a bound is reached
    /// (the caller drops it and counts). Returns `Ok(true)` if this is the first packet
    /// waiting for that neighbour (the caller should send a request now).
    pub fn hold(
        &mut self,
        if_index: IfIndex,
        ip: IpAddr,
        b: Buf,
        now_ns: u64,
    ) -> Result<bool, Buf> {
        if self.pending_total >= Self::PENDING_TOTAL {
            return Err(b);
        }
        let p = self.pending.entry((if_index, ip)).or_default();
        if p.bufs.len() >= Self::PENDING_PER_NEIGHBOR {
            return Err(b);
        }
        let first = p.bufs.is_empty();
        if first {
            p.since_ns = now_ns;
        }
        p.bufs.push(b);
        self.pending_total += 1;
        Ok(first)
    }

    /// Moves the packets waiting for `ip` on `if_index` into `out` (as many as fit; the rest
    /// keep waiting). Returns how many moved.
    pub fn take_pending(&mut self, if_index: IfIndex, ip: IpAddr, out: &mut Frame) -> usize {
        let Some(p) = self.pending.get_mut(&(if_index, ip)) else {
            return 0;
        };
        let mut moved = 0;
        while out.room() > 0 {
            let Some(b) = p.bufs.pop() else { break };
            // Cannot fail: we checked the room.
            let _ = out.push(b);
            moved += 1;
        }
        self.pending_total -= moved;
        if p.bufs.is_empty() {
            self.pending.remove(&(if_index, ip));
        }
        moved
    }

    /// Frees packets that waited longer than `timeout_ns`; returns how many (to count).
    pub fn expire_pending(
        &mut self,
        now_ns: u64,
        timeout_ns: u64,
        cache: &mut BufferCache,
    ) -> usize {
        let old: Vec<_> = self
            .pending
            .iter()
            .filter(|(_, p)| now_ns.saturating_sub(p.since_ns) > timeout_ns)
            .map(|(k, _)| *k)
            .collect();
        let mut n = 0;
        for k in old {
            if let Some(p) = self.pending.remove(&k) {
                n += p.bufs.len();
                for b in p.bufs {
                    cache.free(b);
                }
            }
        }
        self.pending_total -= n;
        n
    }

    /// Packets waiting in all.
    pub fn pending_len(&self) -> usize {
        self.pending_total
    }

    /// Frees every waiting packet (shutdown; see `graph::Node::release`).
    pub fn release(&mut self, cache: &mut BufferCache) {
        for (_, p) in self.pending.drain() {
            for b in p.bufs {
                cache.free(b);
            }
        }
        self.pending_total = 0;
    }
}
