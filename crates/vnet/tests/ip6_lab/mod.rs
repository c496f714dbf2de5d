//! The IPv6 lab: the shared router (`router_lab`) with IPv6 addresses, and IPv6 / ICMPv6 /
//! ND packet builders (wire's emitters; what comes out is checked with etherparse).
#![allow(dead_code)]

#[path = "../router_lab/mod.rs"]
mod router_lab;

pub use router_lab::*;

use core::net::Ipv6Addr;
use vnet::Vnet;
use wire::icmpv6::{Icmpv6Packet, Icmpv6Repr};
use wire::ipv6::{Ipv6Packet, Ipv6Repr};
use wire::ndisc::{NdiscOption, NdiscRepr, NeighborFlags};
use wire::IpProtocol;

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

/// Interfaces `a` (fd01::1/64, sink `tx-a`), `b` (fd02::1/64, sink `tx-b`) and `a.100`
/// (VLAN 100, fd64::1/64). `tweak` may change parameters before the nodes are built.
pub fn router_with(tweak: impl FnOnce(&Vnet)) -> Router {
    let addresses = |vnet: &Vnet, a, b, v100| {
        for (i, c) in [(a, "fd01::1/64"), (b, "fd02::1/64"), (v100, "fd64::1/64")] {
            vnet.ip6_add_address(i, c.parse().unwrap()).unwrap();
        }
    };
    router_lab::build(addresses, tweak)
}

pub fn router() -> Router {
    router_with(|_| {})
}

impl Router {
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
