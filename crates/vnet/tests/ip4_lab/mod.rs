//! A two-interface router (plus a VLAN sub-interface) built with `vnet::register`, with
//! capture sinks as the devices' output nodes, and packet builders.
#![allow(dead_code)]

use crate::common::{Lab, Seen, Sink};
use buf::{BufferCache, BufferPool, Frame, PoolConfig};
use core::net::Ipv4Addr;
use graph::GraphBuilder;
use vnet::{SubTags, Vnet};
use wire::arp::{ArpPacket, ArpRepr, Operation};
use wire::ethernet::EthernetAddress;
use wire::icmpv4::{Icmpv4Packet, Icmpv4Repr};
use wire::ipv4::{Ipv4Options, Ipv4Packet, Ipv4Repr};
use wire::{EtherType, IpProtocol};

pub const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
pub const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];
pub const PEER_A: [u8; 6] = [0x02, 0, 0, 0, 0xaa, 0x02];
pub const PEER_B: [u8; 6] = [0x02, 0, 0, 0, 0xbb, 0x02];
pub const A_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const B_IP: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 1);
pub const V_IP: Ipv4Addr = Ipv4Addr::new(10, 100, 0, 1);
pub const PEER_A_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
pub const PEER_B_IP: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 2);

pub struct Router {
    pub lab: Lab,
    pub vnet: Vnet,
    pub a: u32,
    pub b: u32,
    pub v100: u32,
}

/// Interfaces `a` (10.0.0.1/24, sink `tx-a`), `b` (10.1.0.1/24, sink `tx-b`) and `a.100`
/// (VLAN 100, 10.100.0.1/24). `tweak` may change parameters before the nodes are built.
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
    vnet.ip4_add_address(a, "10.0.0.1/24".parse().unwrap())
        .unwrap();
    vnet.ip4_add_address(b, "10.1.0.1/24".parse().unwrap())
        .unwrap();
    vnet.ip4_add_address(v100, "10.100.0.1/24".parse().unwrap())
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
    // Let the neighbour process send its gratuitous ARPs, then forget them.
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

/// Splits an Ethernet frame into (dst, src, ethertype, payload), skipping 802.1Q tags.
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
