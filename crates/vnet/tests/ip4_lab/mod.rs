//! The IPv4 lab: the shared router (`router_lab`) with IPv4 addresses, and IPv4 / ICMP /
//! ARP packet builders.
#![allow(dead_code)]

#[path = "../router_lab/mod.rs"]
mod router_lab;

pub use router_lab::*;

use core::net::Ipv4Addr;
use vnet::Vnet;
use wire::arp::{ArpPacket, ArpRepr, Operation};
use wire::ethernet::EthernetAddress;
use wire::icmpv4::{Icmpv4Packet, Icmpv4Repr};
use wire::ipv4::{Ipv4Options, Ipv4Packet, Ipv4Repr};
use wire::IpProtocol;

pub const A_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const B_IP: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 1);
pub const V_IP: Ipv4Addr = Ipv4Addr::new(10, 100, 0, 1);
pub const PEER_A_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
pub const PEER_B_IP: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 2);

/// Interfaces `a` (10.0.0.1/24, sink `tx-a`), `b` (10.1.0.1/24, sink `tx-b`) and `a.100`
/// (VLAN 100, 10.100.0.1/24). `tweak` may change parameters before the nodes are built.
pub fn router_with(tweak: impl FnOnce(&Vnet)) -> Router {
    let addresses = |vnet: &Vnet, a, b, v100| {
        for (i, c) in [
            (a, "10.0.0.1/24"),
            (b, "10.1.0.1/24"),
            (v100, "10.100.0.1/24"),
        ] {
            vnet.ip4_add_address(i, c.parse().unwrap()).unwrap();
        }
    };
    router_lab::build(addresses, tweak)
}

pub fn router() -> Router {
    router_with(|_| {})
}

impl Router {
    /// Teaches the router a neighbour by an ARP reply to us.
    pub fn learn(
        &mut self,
        rx: u32,
        peer_mac: [u8; 6],
        peer_ip: Ipv4Addr,
        our_ip: Ipv4Addr,
        our_mac: [u8; 6],
    ) {
        let f = arp_frame(
            our_mac,
            &[],
            Operation::Reply,
            peer_mac,
            peer_ip,
            our_mac,
            our_ip,
        );
        self.inject(&[(f, rx)]);
    }
}

/// An IPv4 packet (header + payload) with a correct checksum.
pub struct Ip {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub proto: IpProtocol,
    pub ttl: u8,
    pub df: bool,
    pub mf: bool,
    pub frag_offset: u16,
    pub ident: u16,
}

impl Ip {
    pub fn new(src: Ipv4Addr, dst: Ipv4Addr, proto: IpProtocol) -> Ip {
        Ip {
            src,
            dst,
            proto,
            ttl: 64,
            df: false,
            mf: false,
            frag_offset: 0,
            ident: 7,
        }
    }

    pub fn bytes(&self, payload: &[u8]) -> Vec<u8> {
        let repr = Ipv4Repr {
            src_addr: self.src,
            dst_addr: self.dst,
            protocol: self.proto,
            payload_len: payload.len() as u16,
            ttl: self.ttl,
            dscp: 0,
            ecn: 0,
            ident: self.ident,
            dont_frag: self.df,
            more_frags: self.mf,
            frag_offset: self.frag_offset,
            options: Ipv4Options::EMPTY,
        };
        let mut v = vec![0; repr.buffer_len() + payload.len()];
        repr.emit(&mut Ipv4Packet::new_unchecked(&mut v[..]));
        v[repr.buffer_len()..].copy_from_slice(payload);
        v
    }
}

pub fn echo_request(ident: u16, seq: u16, data: &[u8]) -> Vec<u8> {
    let r = Icmpv4Repr::EchoRequest {
        ident,
        seq_no: seq,
        data,
    };
    let mut v = vec![0; r.buffer_len()];
    r.emit(&mut Icmpv4Packet::new_unchecked(&mut v[..]));
    v
}

pub fn arp_frame(
    dst: [u8; 6],
    tags: &[u16],
    op: Operation,
    sha: [u8; 6],
    spa: Ipv4Addr,
    tha: [u8; 6],
    tpa: Ipv4Addr,
) -> Vec<u8> {
    let r = ArpRepr {
        operation: op,
        source_hardware_addr: EthernetAddress(sha),
        source_protocol_addr: spa,
        target_hardware_addr: EthernetAddress(tha),
        target_protocol_addr: tpa,
    };
    let mut v = vec![0; r.buffer_len()];
    r.emit(&mut ArpPacket::new_unchecked(&mut v[..]));
    // Minimum Ethernet frame: pad to 60 bytes like a real NIC.
    let mut f = eth(dst, sha, tags, 0x0806, &v);
    f.resize(f.len().max(60), 0);
    f
}

/// Checks an IPv4 header with etherparse (an independent implementation): returns it.
pub fn check_ipv4(l3: &[u8]) -> etherparse::Ipv4Header {
    let (h, _) = etherparse::Ipv4Header::from_slice(l3).expect("etherparse parses the header");
    assert_eq!(
        h.header_checksum,
        h.calc_header_checksum(),
        "header checksum verified by etherparse"
    );
    h
}
