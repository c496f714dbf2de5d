//! IPv6: the forwarding state, its control plane and the IPv6 nodes (RFC 8200, RFC 4443),
//! mirroring [`crate::ip4`].
//!
//! ```text
//! ethernet-input ─▶ ip6-input ─▶ ip6-lookup ─┬▶ ip6-rewrite ─┬▶ interface-output
//!                                            │               ├▶ ip6-discover-neighbor (incomplete)
//!                                            │               └▶ ip6-icmp-error (hop limit, packet too big)
//!                                            ├▶ ip6-local ─┬▶ ip6-lookup (echo reply)
//!                                            │             ├▶ ip6-nd (NS, NA, RS, RA, redirect)
//!                                            │             ├▶ <ip6-local-l4> (the stack, when attached)
//!                                            │             └▶ ip6-icmp-error (port unreachable, parameter problem)
//!                                            ├▶ ip6-discover-neighbor (glean)
//!                                            └▶ ip6-icmp-error (unreachable) ─▶ ip6-lookup
//! ```
//!
//! [`Ip6`] is the writer's side: the FIB (prefix → [`DpoIndex`], on `crates/fib`'s
//! [`fib::Lpm6`]), the [`DpoTable`] and the route entries, behind the writer `Mutex` of
//! [`crate::Vnet::ip6_mut`]; [`Ip6Data`] is what `ip6-lookup` reads without a lock
//! ([`crate::Vnet::ip6`]), as IPv4's. The control plane is the `ip6_*` methods of
//! [`crate::Vnet`], in [`config`].
//!
//! Link-local (`fe80::/10`) and multicast (`ff00::/8`) destinations never reach the FIB:
//! they are scoped to an interface, so `ip6-lookup` decides them from the interface table
//! (ours on the arrival interface → `ip6-local`; otherwise dropped, as a router must not
//! forward them). Packets uplane originates (echo replies, ICMPv6 errors) carry
//! `rx_if == IF_NONE` and, for a link-local destination, the interface to send on in
//! `tx_if`.

pub mod config;
pub mod fib;
pub mod icmp_error;
pub mod input;
pub mod local;
pub mod lookup;
pub mod reassembly;
pub mod rewrite;

/// Per-packet outcome codes of a frame, so that the common case — every packet to the same
/// next node — moves the whole frame with one `enqueue_frame` (VPP's speculative
/// enqueue). A copy of the IPv4 path's helper, kept here so the two paths can change
/// independently.
pub(crate) mod nexts {
    use buf::{Frame, FRAME_SIZE};
    use graph::{Ctx, Next, NodeError};

    /// Codes at or above this are drops: `DROP + error code`.
    pub(crate) const DROP: u16 = 0x8000;

    /// A frame's codes.
    #[derive(Debug)]
    pub(crate) struct Codes {
        pub(crate) code: Box<[u16; FRAME_SIZE]>,
    }

    impl Codes {
        pub(crate) fn new() -> Codes {
            Codes {
                code: Box::new([0; FRAME_SIZE]),
            }
        }

        /// Sends every packet of `frame` where its code says. `err` turns a drop code back
        /// into the node's error.
        #[inline(always)]
        pub(crate) fn dispatch<E: NodeError>(
            &self,
            cx: &mut Ctx<'_>,
            frame: &mut Frame,
            err: impl Fn(u16) -> E,
        ) {
            let n = frame.len();
            let codes = &self.code[..n];
            let Some(&first) = codes.first() else { return };
            if first < DROP && codes.iter().all(|&c| c == first) {
                cx.enqueue_frame(Next(first), frame);
                return;
            }
            for (b, &c) in frame.drain().zip(codes) {
                if c < DROP {
                    cx.enqueue(Next(c), b);
                } else {
                    cx.drop(b, err(c - DROP));
                }
            }
        }
    }
}

pub use config::{Ip6ConfigError, Path6, Route6};
pub use fib::Ip6Fib;

use crate::dpo::{Dpo, DpoIndex, DpoTable, Dpos};
use crate::ip4::RouteSource;
use crate::routes::RouteTable;
use crate::state::Snapshot;
use crate::writer::{Tunables, WriterGuard};
use arc_swap::ArcSwap;
use core::net::Ipv6Addr;
use std::sync::Arc;

/// Node names of the IPv6 path.
pub mod names {
    /// IPv6 header validation and extension-header walk.
    pub const IP6_INPUT: &str = "ip6-input";
    /// FIB lookup.
    pub const IP6_LOOKUP: &str = "ip6-lookup";
    /// Hop limit, MTU and L2 rewrite.
    pub const IP6_REWRITE: &str = "ip6-rewrite";
    /// Delivery to our own addresses.
    pub const IP6_LOCAL: &str = "ip6-local";
    /// ICMPv6 error generation.
    pub const IP6_ICMP_ERROR: &str = "ip6-icmp-error";
    /// Neighbor Discovery input (NS, NA, RS, RA, redirect).
    pub const IP6_ND: &str = "ip6-nd";
    /// Neighbour resolution (glean and incomplete adjacencies): sends NS.
    pub const IP6_DISCOVER_NEIGHBOR: &str = "ip6-discover-neighbor";
}

/// `Meta::opaque[opaque::ADJ]` value meaning "glean: resolve the destination itself on
/// `Meta::tx_if`" (the same value as IPv4's).
pub const ADJ_GLEAN: u32 = crate::ip4::ADJ_GLEAN;

/// Tunables of the IPv6 path, read by the nodes when they are created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ip6Params {
    /// ICMPv6 errors each interface may send per second (RFC 4443 §2.4(f)).
    pub icmp_rate_per_sec: u64,
    /// ICMPv6 errors each interface may send in a burst.
    pub icmp_burst: u64,
    /// At most one neighbor solicitation per neighbour per this interval (ns).
    pub ns_interval_ns: u64,
    /// A datagram being reassembled is dropped after this long (ns).
    pub reassembly_timeout_ns: u64,
    /// Most datagrams reassembled at once.
    pub reassembly_max_datagrams: usize,
    /// Most fragments per datagram.
    pub reassembly_max_fragments: usize,
    /// Learn the sender of router advertisements (off: they are counted and ignored).
    pub accept_ra: bool,
}

impl Default for Ip6Params {
    fn default() -> Self {
        Ip6Params {
            icmp_rate_per_sec: 100,
            icmp_burst: 50,
            ns_interval_ns: 1_000_000_000,
            reassembly_timeout_ns: 2_000_000_000,
            reassembly_max_datagrams: 64,
            reassembly_max_fragments: 32,
            accept_ra: false,
        }
    }
}

/// The IPv6 forwarding state, the writer's side. Change it through the `ip6_*` methods of
/// [`crate::Vnet`].
#[derive(Debug)]
pub struct Ip6 {
    /// The FIB, the DPO table and the route entries.
    pub(crate) table: RouteTable<config::Ip6Family>,
    /// Tunables (published to [`Ip6Data::params`] when the writer's guard drops).
    pub params: Ip6Params,
    data: Arc<Ip6Data>,
}

/// The IPv6 state as the data path reads it: no lock, while the writer changes routes.
#[derive(Debug)]
pub struct Ip6Data {
    /// The FIB's read handle (lock-free; leaves are [`DpoIndex`]es). Look up only inside a
    /// [`crate::StateReader::enter`] section.
    pub fib: ::fib::Lpm6Table,
    dpos: Arc<ArcSwap<Dpos>>,
    params: ArcSwap<Ip6Params>,
}

impl Ip6Data {
    /// The DPOs the leaves index; load it after the lookups of a frame (as IPv4's).
    #[inline]
    pub fn dpos(&self) -> Snapshot<Dpos> {
        self.dpos.load()
    }

    /// The tunables.
    pub fn params(&self) -> Ip6Params {
        **self.params.load()
    }
}

/// The writer's hold on [`Ip6`] ([`crate::Vnet::ip6_mut`]); publishes changed tunables
/// when dropped.
pub type Ip6Guard<'a> = WriterGuard<'a, Ip6>;

impl Tunables for Ip6 {
    type Params = Ip6Params;
    fn params(&self) -> Ip6Params {
        self.params
    }
    fn published(&self) -> &ArcSwap<Ip6Params> {
        &self.data.params
    }
}

impl Default for Ip6 {
    fn default() -> Self {
        Ip6::new()
    }
}

impl Ip6 {
    /// State with the special prefixes every router has: `::/128`, `::1/128`, `fe80::/10`
    /// and `ff00::/8` drop (link-local and multicast are decided before the FIB; their
    /// entries are for `show ip6 fib`).
    pub fn new() -> Ip6 {
        Ip6::with_qsbr(::fib::Qsbr::new())
    }

    /// [`Ip6::new`] whose freed FIB groups and DPO indices wait for the readers of `qsbr`.
    pub fn with_qsbr(qsbr: Arc<::fib::Qsbr>) -> Ip6 {
        let fib = Ip6Fib::with_qsbr(qsbr.clone());
        let dpos = DpoTable::new(qsbr);
        let data = Arc::new(Ip6Data {
            fib: fib.table(),
            dpos: dpos.published(),
            params: ArcSwap::from_pointee(Ip6Params::default()),
        });
        let mut ip6 = Ip6 {
            table: RouteTable::new(fib, dpos),
            params: Ip6Params::default(),
            data,
        };
        for (net, len) in [
            (Ipv6Addr::UNSPECIFIED, 128),
            (Ipv6Addr::LOCALHOST, 128),
            (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10),
            (Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8),
        ] {
            // Four prefixes in an empty table cannot exhaust it.
            let _ = ip6.set_source(u128::from(net), len, RouteSource::Special, Some(Dpo::Drop));
        }
        ip6
    }

    /// The data path's side.
    pub fn data(&self) -> &Arc<Ip6Data> {
        &self.data
    }

    /// The leaf for `dst` (longest-prefix match).
    #[inline]
    pub fn lookup(&self, dst: Ipv6Addr) -> DpoIndex {
        self.table.fib.lookup(u128::from(dst))
    }

    /// The DPO table the leaves index.
    #[inline]
    pub fn dpos(&self) -> &DpoTable {
        &self.table.dpos
    }

    /// Sets (or with `None` clears) what `source` says about `net/len`, then re-derives
    /// the entry's DPO and writes the FIB.
    pub(crate) fn set_source(
        &mut self,
        net: u128,
        len: u8,
        source: RouteSource,
        dpo: Option<Dpo>,
    ) -> Result<(), Ip6ConfigError> {
        self.table.set_source(net, len, source, dpo)
    }
}

/// True for `fe80::/10`.
#[inline(always)]
pub fn is_link_local(a: &Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// The solicited-node multicast group of `a` (RFC 4291 §2.7.1): `ff02::1:ffXX:XXXX`.
pub fn solicited_node(a: Ipv6Addr) -> Ipv6Addr {
    let o = a.octets();
    Ipv6Addr::from([
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, o[13], o[14], o[15],
    ])
}

/// The Ethernet address of IPv6 multicast group `g` (RFC 2464 §7): `33:33` and its last
/// four bytes.
pub fn multicast_mac(g: Ipv6Addr) -> wire::ethernet::EthernetAddress {
    let o = g.octets();
    wire::ethernet::EthernetAddress([0x33, 0x33, o[12], o[13], o[14], o[15]])
}

/// The link-local address made from `mac` by modified EUI-64 (RFC 4291 App. A):
/// `fe80::` + MAC with the U/L bit flipped and `ff:fe` in the middle.
pub fn link_local_from_mac(mac: wire::ethernet::EthernetAddress) -> Ipv6Addr {
    let m = mac.0;
    Ipv6Addr::from([
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        m[0] ^ 0x02,
        m[1],
        m[2],
        0xff,
        0xfe,
        m[3],
        m[4],
        m[5],
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::ethernet::EthernetAddress;

    #[test]
    fn eui64_and_groups() {
        let ll = link_local_from_mac(EthernetAddress([0x02, 0, 0, 0, 0, 0x0a]));
        assert_eq!(ll, "fe80::ff:fe00:a".parse::<Ipv6Addr>().unwrap());
        assert!(is_link_local(&ll));
        let sn = solicited_node("fd01::1:2:3".parse().unwrap());
        assert_eq!(sn, "ff02::1:ff02:3".parse::<Ipv6Addr>().unwrap());
        assert_eq!(multicast_mac(sn).0, [0x33, 0x33, 0xff, 0x02, 0, 3]);
    }
}
