//! A two-interface IPv6 router built with `vnet::register` (plus a VLAN sub-interface),
//! capture sinks as the devices' output nodes, and IPv6 / ICMPv6 / ND packet builders
//! (wire's emitters; what comes out is checked with etherparse).
#![allow(dead_code)]

use crate::common::{Lab, Seen, Sink};
use buf::{BufferCache, BufferPool, Frame, PoolConfig};
use core::net::Ipv6Addr;
use graph::GraphBuilder;
use vnet::{SubTags, Vnet};
use wire::ethernet::EthernetAddress;
use wire::icmpv6::{Icmpv6Packet, Icmpv6Repr};
use wire::ipv6::{Ipv6Packet, Ipv6Repr};
use wire::ndisc::{NdiscOption, NdiscRepr, NeighborFlags};
use wire::{EtherType, IpProtocol};

pub const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
pub const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];
pub const PEER_A: [u8; 6] = [0x02, 0, 0, 0, 0xaa, 0x02];
pub const PEER_B: [u8; 6] = [0x02, 0, 0, 0, 0xbb, 0x02];

pub fn ip(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

pub fn a_ip() -> Ipv6Addr {
    ip("fd01::1")
}
pub fn b_ip() -> Ipv6Addr {
    ip("fd02::1")
}
pub fn peer_a_ip() -> Ipv6Addr {
    ip("fd01::2")
}
pub fn peer_b_ip() -> Ipv6Addr {
    ip("fd02::2")
}
/// Our link-local on `a` (EUI-64 of MAC_A).
pub fn a_ll() -> Ipv6Addr {
    ip("fe80::ff:fe00:a")
}
pub fn peer_a_ll() -> Ipv6Addr {
    ip("fe80::ff:fe00:aa02")
}

pub struct Router {
    pub lab: Lab,
    pub vnet: Vnet,
    pub a: u32,
    pub b: u32,
    pub v100: u32,
}

/// Interfaces `a` (fd01::1/64, sink `tx-a`), `b` (fd02::1/64, sink `tx-b`) and `a.100`
/// (VLAN 100, fd64::1/64). `tweak` may change parameters before the nodes are built.
pub fn router_with(tweak: impl FnOnce(&Vnet)) -> Router {
    let vnet = Vnet::new();
    let (a, b, v100);
    {
        let mut ifs = vnet.interfaces_mut();
        a = ifs.add_hw("a", EthernetAddress(MAC_A), "tx-a").unwrap();
        b = ifs.add_hw("b", EthernetAddress(MAC_B), "tx-b").unwrap();
        v100 = ifs
            .add_sub(
                a,
                100,
                SubTags {
                    outer: (EtherType::Vlan, 100),
                    inner: None,
                },
            )
            .unwrap();
        for i in [a, b, v100] {
            ifs.set_admin_up(i, true).unwrap();
        }
    }
    vnet.ip6_add_address(a, "fd01::1/64".parse().unwrap())
        .unwrap();
    vnet.ip6_add_address(b, "fd02::1/64".parse().unwrap())
        .unwrap();
    vnet.ip6_add_address(v100, "fd64::1/64".parse().unwrap())
        .unwrap();
    tweak(&vnet);
    let pool = BufferPool::new(&PoolConfig::new(4096)).unwrap();
    let seen: Seen = Seen::default();
    let mut gb = GraphBuilder::new();
    vnet::register(&mut gb, &vnet);
    for name in ["tx-a", "tx-b", "l4"] {
        gb.add(Sink {
            name,
            seen: seen.clone(),
        });
    }
    let mut graph = gb.build(BufferCache::new(pool.clone())).unwrap();
    vnet::attach_interfaces(&mut graph, &vnet).unwrap();
    let mut r = Router {
        lab: Lab { graph, pool, seen },
        vnet,
        a,
        b,
        v100,
    };
    r.run(0);
    r.clear();
    r
}

pub fn router() -> Router {
    router_with(|_| {})
}

impl Router {
    pub fn run(&mut self, now: u64) {
        for _ in 0..100 {
            self.lab.graph.dispatch(now);
            if !self.lab.graph.has_pending() {
                break;
            }
        }
    }

    /// Injects Ethernet frames at `ethernet-input` at time `now` and runs the graph.
    pub fn inject_at(&mut self, now: u64, frames: &[(Vec<u8>, u32)]) {
        let node = self.lab.graph.node_index("ethernet-input").unwrap();
        let mut f = Frame::new();
        for (bytes, rx) in frames {
            let mut b = self.lab.graph.cache().alloc().unwrap();
            let mut p = self.lab.pool.get_mut(&mut b);
            assert!(p.copy_from(bytes));
            p.meta_mut().rx_if = *rx;
            assert!(f.push(b).is_ok());
        }
        self.lab.graph.inject(node, &mut f);
        self.run(now);
    }

    pub fn inject(&mut self, frames: &[(Vec<u8>, u32)]) {
        self.inject_at(1, frames);
    }

    pub fn got(&self, sink: &str) -> Vec<Vec<u8>> {
        self.lab.got(sink).into_iter().map(|r| r.2).collect()
    }

    pub fn clear(&mut self) {
        self.lab.seen.lock().unwrap().clear();
    }

    pub fn err(&self, node: &str, name: &str) -> u64 {
        self.lab.err(node, name)
    }

    /// Teaches the router a neighbour with a solicited NA to `our_ip`.
    pub fn learn(
        &mut self,
        rx: u32,
        peer_mac: [u8; 6],
        peer_ip: Ipv6Addr,
        our_ip: Ipv6Addr,
        our_mac: [u8; 6],
    ) {
        let na = na(
            peer_ip,
            our_ip,
            NeighborFlags::SOLICITED | NeighborFlags::OVERRIDE,
            peer_ip,
            Some(peer_mac),
        );
        self.inject(&[(eth(our_mac, peer_mac, &[], 0x86dd, &na), rx)]);
    }
}

pub fn eth(dst: [u8; 6], src: [u8; 6], tags: &[u16], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    for &vid in tags {
        f.extend_from_slice(&0x8100u16.to_be_bytes());
        f.extend_from_slice(&vid.to_be_bytes());
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// An IPv6 packet: fixed header + `payload` (extension headers and upper layer).
pub fn ip6(src: Ipv6Addr, dst: Ipv6Addr, nh: IpProtocol, hop: u8, payload: &[u8]) -> Vec<u8> {
    let r = Ipv6Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: nh,
        payload_len: payload.len() as u16,
        hop_limit: hop,
        traffic_class: 0,
        flow_label: 0,
    };
    let mut v = vec![0; 40 + payload.len()];
    r.emit(&mut Ipv6Packet::new_unchecked(&mut v[..]));
    v[40..].copy_from_slice(payload);
    v
}

/// An ICMPv6 message with its checksum over `src`/`dst`.
pub fn icmp6(r: &Icmpv6Repr<'_>, src: Ipv6Addr, dst: Ipv6Addr) -> Vec<u8> {
    let mut v = vec![0; r.buffer_len()];
    r.emit(&mut Icmpv6Packet::new_unchecked(&mut v[..]), src, dst);
    v
}

/// A whole IPv6 echo request.
pub fn ping(src: Ipv6Addr, dst: Ipv6Addr, hop: u8, data: &[u8]) -> Vec<u8> {
    let e = icmp6(
        &Icmpv6Repr::EchoRequest {
            ident: 0x1234,
            seq_no: 7,
            data,
        },
        src,
        dst,
    );
    ip6(src, dst, IpProtocol::Icmpv6, hop, &e)
}

/// A UDP header and payload (checksum 0: not checked by the router).
pub fn udp(sport: u16, dport: u16, len: usize) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&sport.to_be_bytes());
    v.extend_from_slice(&dport.to_be_bytes());
    v.extend_from_slice(&((8 + len) as u16).to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend((0..len).map(|i| i as u8));
    v
}

fn lladdr_opt(source: bool, mac: [u8; 6]) -> [u8; 8] {
    let mut o = [0u8; 8];
    if source {
        NdiscOption::SourceLinkLayerAddr(&mac).emit(&mut o);
    } else {
        NdiscOption::TargetLinkLayerAddr(&mac).emit(&mut o);
    }
    o
}

/// A whole neighbor solicitation (hop limit 255).
pub fn ns(src: Ipv6Addr, dst: Ipv6Addr, target: Ipv6Addr, slla: Option<[u8; 6]>) -> Vec<u8> {
    let o = slla.map(|m| lladdr_opt(true, m));
    let r = Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit {
        target_addr: target,
        options: o.as_ref().map_or(&[][..], |o| &o[..]),
    });
    ip6(src, dst, IpProtocol::Icmpv6, 255, &icmp6(&r, src, dst))
}

/// A whole neighbor advertisement (hop limit 255).
pub fn na(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    flags: NeighborFlags,
    target: Ipv6Addr,
    tlla: Option<[u8; 6]>,
) -> Vec<u8> {
    let o = tlla.map(|m| lladdr_opt(false, m));
    let r = Icmpv6Repr::Ndisc(NdiscRepr::NeighborAdvert {
        flags,
        target_addr: target,
        options: o.as_ref().map_or(&[][..], |o| &o[..]),
    });
    ip6(src, dst, IpProtocol::Icmpv6, 255, &icmp6(&r, src, dst))
}

/// Splits an Ethernet frame into (dst, src, tags, ethertype, payload).
pub fn split_eth(f: &[u8]) -> ([u8; 6], [u8; 6], Vec<u16>, u16, &[u8]) {
    let dst = f[0..6].try_into().unwrap();
    let src = f[6..12].try_into().unwrap();
    let mut at = 12;
    let mut tags = Vec::new();
    loop {
        let et = u16::from_be_bytes([f[at], f[at + 1]]);
        if et == 0x8100 || et == 0x88a8 {
            tags.push(u16::from_be_bytes([f[at + 2], f[at + 3]]) & 0x0fff);
            at += 4;
        } else {
            return (dst, src, tags, et, &f[at + 2..]);
        }
    }
}

/// Parses an IPv6 packet with etherparse (an independent implementation) and, when it
/// carries ICMPv6 right after the header, verifies its checksum. Returns the header and the
/// ICMPv6 (type, code, bytes 4..8, payload) if any.
/// An ICMPv6 message as [`check_ipv6`] returns it: type, code, bytes 4..8, the rest.
pub type Icmp = (u8, u8, [u8; 4], Vec<u8>);

pub fn check_ipv6(l3: &[u8]) -> (etherparse::Ipv6Header, Option<Icmp>) {
    let (h, rest) = etherparse::Ipv6Header::from_slice(l3).expect("etherparse parses it");
    assert_eq!(usize::from(h.payload_length), rest.len(), "payload length");
    let icmp = (h.next_header == etherparse::IpNumber::IPV6_ICMP).then(|| {
        let s = etherparse::Icmpv6Slice::from_slice(rest).expect("icmpv6");
        assert!(
            s.is_checksum_valid(h.source, h.destination),
            "ICMPv6 checksum verified by etherparse"
        );
        (
            s.type_u8(),
            s.code_u8(),
            s.bytes5to8(),
            s.payload().to_vec(),
        )
    });
    (h, icmp)
}
