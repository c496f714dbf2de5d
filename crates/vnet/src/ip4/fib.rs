//! The IPv4 forwarding table as the nodes see it: prefix → [`DpoIndex`] leaf, backed by
//! `crates/fib`'s DIR-24-8 [`fib::Lpm4`].
//!
//! The table lives inside [`super::Ip4`], behind the `RwLock` `ip4-lookup` reads once per
//! frame, so a change never overlaps a lookup and freed groups are reusable at once (no
//! QSBR reader needs to be registered). A miss returns [`fib::NO_ROUTE`], which
//! [`crate::DpoTable::get`] reads as `Unreachable`.

use crate::dpo::DpoIndex;
use core::net::Ipv4Addr;

/// Prefix → leaf table with longest-prefix-match lookups.
#[derive(Debug)]
pub struct Ip4Fib {
    lpm: fib::Lpm4,
    table: fib::Lpm4Table,
}

impl Default for Ip4Fib {
    fn default() -> Self {
        Ip4Fib::new()
    }
}

impl Ip4Fib {
    /// An empty table: every lookup misses.
    pub fn new() -> Ip4Fib {
        let lpm = match fib::Lpm4::new(fib::DEFAULT_GROUPS4) {
            Ok(l) => l,
            Err(e) => unreachable!("the default group count is valid: {e}"),
        };
        let table = lpm.table();
        Ip4Fib { lpm, table }
    }

    /// Sets the leaf of `network/len` (`len` ≤ 32; host bits are cleared).
    pub fn insert(&mut self, network: u32, len: u8, leaf: DpoIndex) -> Result<(), fib::RouteError> {
        let len = len.min(32);
        let net = fib::mask4(Ipv4Addr::from(network), len);
        self.lpm.insert(net, len, leaf).map(|_| ())
    }

    /// Removes `network/len`; returns its leaf if it existed.
    pub fn remove(&mut self, network: u32, len: u8) -> Option<DpoIndex> {
        let len = len.min(32);
        let net = fib::mask4(Ipv4Addr::from(network), len);
        self.lpm.remove(net, len).ok().flatten()
    }

    /// The leaf of the longest prefix containing `addr`, [`fib::NO_ROUTE`] if none.
    #[inline]
    pub fn lookup(&self, addr: u32) -> DpoIndex {
        self.table.lookup_raw(addr)
    }

    /// [`Self::lookup`] for each of `addrs` into `leaves` (the shorter length counts).
    #[inline]
    pub fn lookup_bulk(&self, addrs: &[u32], leaves: &mut [DpoIndex]) {
        self.table.lookup_bulk(addrs, leaves);
    }

    /// Prefixes held.
    pub fn len(&self) -> usize {
        self.lpm.len()
    }

    /// True if no prefix is held.
    pub fn is_empty(&self) -> bool {
        self.lpm.is_empty()
    }
}
