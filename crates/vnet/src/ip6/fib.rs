//! The IPv6 forwarding table as the nodes see it: prefix → [`DpoIndex`] leaf, backed by
//! `crates/fib`'s [`fib::Lpm6`] (24-bit first stride, then 8-bit strides).
//!
//! Like [`crate::ip4::Ip4Fib`], the writer's handle lives inside [`super::Ip6`] and
//! `ip6-lookup` reads the tables lock-free through [`super::Ip6Data::fib`]. A miss returns
//! [`fib::NO_ROUTE`], which [`crate::Dpos::get`] reads as `Unreachable`.

use crate::dpo::DpoIndex;
use core::net::Ipv6Addr;

/// Prefix → leaf table with longest-prefix-match lookups.
#[derive(Debug)]
pub struct Ip6Fib {
    lpm: fib::Lpm6,
    table: fib::Lpm6Table,
}

impl Default for Ip6Fib {
    fn default() -> Self {
        Ip6Fib::new()
    }
}

impl Ip6Fib {
    /// An empty table: every lookup misses.
    pub fn new() -> Ip6Fib {
        Ip6Fib::with_qsbr(fib::Qsbr::new())
    }

    /// An empty table whose freed groups wait for the readers of `qsbr`.
    pub fn with_qsbr(qsbr: std::sync::Arc<fib::Qsbr>) -> Ip6Fib {
        let lpm = match fib::Lpm6::with_qsbr(fib::DEFAULT_GROUPS6, qsbr) {
            Ok(l) => l,
            Err(e) => unreachable!("the default group count is valid: {e}"),
        };
        let table = lpm.table();
        Ip6Fib { lpm, table }
    }

    /// Sets the leaf of `network/len` (`len` ≤ 128; host bits are cleared); returns the
    /// leaf it replaced.
    pub fn insert(
        &mut self,
        network: u128,
        len: u8,
        leaf: DpoIndex,
    ) -> Result<Option<DpoIndex>, fib::RouteError> {
        let len = len.min(128);
        let net = fib::mask6(Ipv6Addr::from(network), len);
        self.lpm.insert(net, len, leaf)
    }

    /// The read side, for the lookup nodes.
    pub fn table(&self) -> fib::Lpm6Table {
        self.table.clone()
    }

    /// Removes `network/len`; returns its leaf if it existed.
    pub fn remove(&mut self, network: u128, len: u8) -> Option<DpoIndex> {
        let len = len.min(128);
        let net = fib::mask6(Ipv6Addr::from(network), len);
        self.lpm.remove(net, len).ok().flatten()
    }

    /// The leaf of the longest prefix containing `addr`, [`fib::NO_ROUTE`] if none.
    #[inline]
    pub fn lookup(&self, addr: u128) -> DpoIndex {
        self.table.lookup_raw(addr)
    }

    /// [`Self::lookup`] for each of `addrs` into `leaves` (the shorter length counts).
    #[inline]
    pub fn lookup_bulk(&self, addrs: &[u128], leaves: &mut [DpoIndex]) {
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
