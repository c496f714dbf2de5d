//! The IPv4 forwarding table as the nodes see it: prefix → [`DpoIndex`] leaf, backed by
//! `crates/fib`'s DIR-24-8 [`fib::Lpm4`].
//!
//! The writer's handle lives inside [`super::Ip4`]; `ip4-lookup` reads the same tables
//! through [`super::Ip4Data::fib`] without a lock while routes change, and freed groups
//! wait for the vnet [`fib::Qsbr`] domain's readers. A miss returns [`fib::NO_ROUTE`],
//! which [`crate::Dpos::get`] reads as `Unreachable`.

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
        Ip4Fib::with_qsbr(fib::Qsbr::new())
    }

    /// An empty table whose freed groups wait for the readers of `qsbr`.
    pub fn with_qsbr(qsbr: std::sync::Arc<fib::Qsbr>) -> Ip4Fib {
        let lpm = match fib::Lpm4::with_qsbr(fib::DEFAULT_GROUPS4, qsbr) {
            Ok(l) => l,
            Err(e) => unreachable!("the default group count is valid: {e}"),
        };
        let table = lpm.table();
        Ip4Fib { lpm, table }
    }

    /// Sets the leaf of `network/len` (`len` ≤ 32; host bits are cleared); returns the
    /// leaf it replaced.
    pub fn insert(
        &mut self,
        network: u32,
        len: u8,
        leaf: DpoIndex,
    ) -> Result<Option<DpoIndex>, fib::RouteError> {
        let len = len.min(32);
        let net = fib::mask4(Ipv4Addr::from(network), len);
        self.lpm.insert(net, len, leaf)
    }

    /// The read side, for the lookup nodes.
    pub fn table(&self) -> fib::Lpm4Table {
        self.table.clone()
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
