//! What the IPv4 and IPv6 labs (`ip4_lab`, `ip6_lab`) share: a two-interface router (plus
//! a VLAN sub-interface) built with `vnet::register`, capture sinks as the devices' output
//! nodes, and the family-neutral frame helpers. Included by each lab with `#[path]`.
#![allow(dead_code)]

use crate::common::{Lab, Seen, Sink};
use buf::{BufferCache, BufferPool, Frame, PoolConfig};
use graph::GraphBuilder;
use vnet::{IfIndex, SubTags, Vnet};
use wire::ethernet::EthernetAddress;
use wire::EtherType;

pub const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
pub const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];
pub const PEER_A: [u8; 6] = [0x02, 0, 0, 0, 0xaa, 0x02];
pub const PEER_B: [u8; 6] = [0x02, 0, 0, 0, 0xbb, 0x02];

pub struct Router {
    pub lab: Lab,
    pub vnet: Vnet,
    pub a: u32,
    pub b: u32,
    pub v100: u32,
}

/// Interfaces `a` (sink `tx-a`), `b` (sink `tx-b`) and `a.100` (VLAN 100), all up, given
/// their addresses by `addresses(vnet, a, b, a.100)`; then `tweak` may change parameters
/// before the nodes are built. The graph has run once (the neighbour process's gratuitous
/// ARPs) and what it sent is forgotten.
pub fn build(
    addresses: impl FnOnce(&Vnet, IfIndex, IfIndex, IfIndex),
    tweak: impl FnOnce(&Vnet),
) -> Router {
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
    addresses(&vnet, a, b, v100);
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

/// Splits an Ethernet frame into (dst, src, tags, ethertype, payload), skipping 802.1Q
/// and 802.1ad tags.
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
