//! The body of the `router` fuzz target, here so that `cargo test` replays its corpus
//! (`tests/fuzz_corpus.rs`).
//!
//! The router: interfaces `a` and `b` and the VLAN sub-interface `a.100`, IPv4 and IPv6
//! addresses on each, routes through resolved and unresolved next hops, a blackhole and
//! an unreachable route; `ip4-local`/`ip6-local` hand TCP/UDP to a sink standing in for
//! the daemon's `stack-input`. The fuzz input is a sequence of records, each an Ethernet
//! frame received on an interface; frames are batched into one graph frame (up to 256)
//! until a record advances the clock, then dispatched until quiet.
//!
//! Checked: no panic; no buffer leaks (while running, the buffers in use are only the
//! packets waiting for a neighbour or a reassembly; once the graph is dropped, none);
//! no buffer is left in a frame by a node, dropped without an error code, or caught in a
//! loop; the sinks get only packets for real interfaces.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use buf::{BufferCache, BufferPool, Frame, PoolConfig};
use graph::{Ctx, Graph, GraphBuilder, Node, NodeInfo, NodeKind};
use wire::ethernet::EthernetAddress;
use wire::EtherType;

use crate::ip4::local::Ip4Local;
use crate::ip6::local::Ip6Local;
use crate::{IfIndex, SubTags, Vnet};

/// Interface `a`'s MAC.
pub const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
/// Interface `b`'s MAC.
pub const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];
/// The resolved next hop's MAC on `b`.
pub const PEER_B: [u8; 6] = [0x02, 0, 0, 0, 0xbb, 0x02];
/// Buffers in the pool.
const POOL: u32 = 8192;

/// Record flag: recompute the IPv4 header checksum and the transport checksum.
pub const FIX_CHECKSUMS: u8 = 0x04;

/// Counts and frees what it gets: a device's output node or the L4 hand-off.
struct Sink {
    name: &'static str,
    got: Arc<AtomicU64>,
    max_if: u32,
}

impl Node for Sink {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: self.name,
            kind: NodeKind::Internal,
            next_nodes: &[],
            errors: &[],
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, frame: &mut Frame) {
        for b in frame.drain() {
            let m = cx.pool().meta(&b);
            if self.name != "fuzz-l4" {
                assert!(
                    m.tx_if <= self.max_if,
                    "{} got tx_if {}",
                    self.name,
                    m.tx_if
                );
            }
            self.got.fetch_add(1, Ordering::Relaxed);
            cx.free(b);
        }
    }
}

/// The records of the input (`wire::fuzz_input`): `ctl & 3` picks `rx_if` (`a`, `b`,
/// `a.100`'s parent `a` again, or an interface that does not exist), `ctl & 4` asks for
/// checksums to be fixed, `ctl >> 3` advances the clock by that many 100 ms (dispatching
/// the frames batched so far first).
pub use wire::fuzz_input::{encode, Records};

/// The router's state, built once per process: a `Vnet` holds two 2^24-entry FIB roots,
/// too big to build per input. Each input gets a fresh graph (with empty caches); what it taught the
/// router (neighbours, their host routes) ages out at its end, on the router's own clock.
struct Shared {
    vnet: Vnet,
    rx_ifs: [IfIndex; 3],
    now: u64,
    neighbors: usize,
    /// Shared too: populating a pool's memory costs more than the rest of an input.
    pool: Arc<BufferPool>,
}

/// The router under test for one input.
struct Lab<'a> {
    vnet: &'a Vnet,
    graph: Graph,
    pool: Arc<BufferPool>,
    rx_ifs: [IfIndex; 3],
    now: u64,
    batch: Frame,
}

fn shared() -> Shared {
    let vnet = Vnet::new();
    let (a, b, v100);
    {
        let mut ifs = vnet.interfaces_mut();
        a = ifs
            .add_hw("a", EthernetAddress(MAC_A), "fuzz-tx-a")
            .expect("a");
        b = ifs
            .add_hw("b", EthernetAddress(MAC_B), "fuzz-tx-b")
            .expect("b");
        let tags = SubTags {
            outer: (EtherType::Vlan, 100),
            inner: None,
        };
        v100 = ifs.add_sub(a, 100, tags).expect("a.100");
        for i in [a, b, v100] {
            ifs.set_admin_up(i, true).expect("up");
        }
    }
    let cidr4 = |s: &str| s.parse().expect("cidr");
    let cidr6 = |s: &str| s.parse().expect("cidr");
    for (i, c4, c6) in [
        (a, "10.0.0.1/24", "fd01::1/64"),
        (b, "10.1.0.1/24", "fd02::1/64"),
        (v100, "10.100.0.1/24", "fd64::1/64"),
    ] {
        vnet.ip4_add_address(i, cidr4(c4)).expect("ipv4 address");
        vnet.ip6_add_address(i, cidr6(c6)).expect("ipv6 address");
    }
    // 10.1.0.2 and fd02::2 static; 10.0.0.2 and fd01::2 left to ARP/ND (packets wait).
    {
        let ifs = vnet.interfaces();
        let mut adj = vnet.adjacencies_mut();
        for nh in ["10.1.0.2", "fd02::2"] {
            let ip = nh.parse().expect("ip");
            vnet.neighbors().add_static(b, ip, EthernetAddress(PEER_B));
            adj.resolve(&ifs, b, ip, EthernetAddress(PEER_B))
                .expect("adjacency");
        }
    }
    let v4 = |s: &str| Some(s.parse().expect("ipv4"));
    let v6 = |s: &str| Some(s.parse().expect("ipv6"));
    vnet.ip4_add_route(cidr4("192.0.2.0/24"), v4("10.1.0.2"), Some(b))
        .expect("route");
    vnet.ip4_add_route(cidr4("198.51.100.0/24"), v4("10.0.0.2"), Some(a))
        .expect("route");
    vnet.ip4_add_route(cidr4("0.0.0.0/0"), v4("10.1.0.2"), None)
        .expect("route");
    vnet.ip4_add_blackhole(cidr4("203.0.113.0/25"))
        .expect("blackhole");
    vnet.ip4_add_unreachable(cidr4("203.0.113.128/25"))
        .expect("unreachable");
    vnet.ip6_add_route(cidr6("2001:db8:1::/48"), v6("fd02::2"), Some(b))
        .expect("route");
    vnet.ip6_add_route(cidr6("2001:db8:2::/48"), v6("fd01::2"), Some(a))
        .expect("route");
    vnet.ip6_add_route(cidr6("::/0"), v6("fd02::2"), None)
        .expect("route");
    vnet.ip6_add_unreachable(cidr6("2001:db8:dead::/48"))
        .expect("unreachable");
    let neighbors = vnet.neighbors().len();
    Shared {
        vnet,
        rx_ifs: [a, b, a],
        now: 1_000_000_000,
        neighbors,
        pool: BufferPool::new(&PoolConfig::new(POOL)).expect("pool"),
    }
}

fn build(s: &Shared) -> Lab<'_> {
    let vnet = &s.vnet;
    let pool = s.pool.clone();
    let mut gb = GraphBuilder::new();
    crate::register(&mut gb, vnet);
    let got = Arc::new(AtomicU64::new(0));
    let max_if = vnet.interfaces().iter().map(|i| i.index).max().unwrap_or(0);
    for name in ["fuzz-tx-a", "fuzz-tx-b", "fuzz-l4"] {
        gb.add(Sink {
            name,
            got: got.clone(),
            max_if,
        });
    }
    let mut graph = gb.build(BufferCache::new(pool.clone())).expect("graph");
    crate::attach_interfaces(&mut graph, vnet).expect("attach");
    Ip4Local::attach_l4(&mut graph, "fuzz-l4").expect("l4");
    Ip6Local::attach_l4(&mut graph, "fuzz-l4").expect("l4");
    Lab {
        vnet,
        graph,
        pool,
        rx_ifs: s.rx_ifs,
        now: s.now,
        batch: Frame::new(),
    }
}

impl Lab<'_> {
    fn run(&mut self) {
        if !self.batch.is_empty() {
            let node = self
                .graph
                .node_index("ethernet-input")
                .expect("ethernet-input");
            self.graph.inject(node, &mut self.batch);
        }
        for _ in 0..100 {
            self.graph.dispatch(self.now);
            if !self.graph.has_pending() {
                break;
            }
        }
        assert!(!self.graph.has_pending(), "frames still pending");
        self.check();
    }

    fn add(&mut self, ctl: u8, bytes: &[u8]) {
        let Some(mut b) = self.graph.cache().alloc() else {
            return;
        };
        let mut p = self.pool.get_mut(&mut b);
        let ok = p.copy_from(bytes);
        if ok && ctl & FIX_CHECKSUMS != 0 {
            wire::fuzz_input::fix_frame_checksums(p.data_mut());
        }
        p.meta_mut().rx_if = match ctl & 3 {
            3 => 7,
            i => self.rx_ifs[usize::from(i)],
        };
        if !ok {
            // Longer than a buffer: the device would not have delivered it.
            self.graph.cache().free(b);
            return;
        }
        if let Err(b) = self.batch.push(b) {
            self.run();
            assert!(self.batch.push(b).is_ok(), "an empty frame takes a buffer");
        }
    }

    fn check(&self) {
        let stats = self.graph.stats();
        for name in ["Unspecified", "Leftover", "Loop"] {
            let n = stats.error_count(graph::DROP_NODE, name).unwrap_or(0);
            assert_eq!(n, 0, "error-drop {name}");
        }
        // What the router may hold between dispatches: packets waiting for a neighbour
        // and fragments being reassembled (bounded per family by datagrams × fragments).
        let p4 = self.vnet.ip4().params();
        let p6 = self.vnet.ip6().params();
        let reass = p4.reassembly_max_datagrams * p4.reassembly_max_fragments
            + p6.reassembly_max_datagrams * p6.reassembly_max_fragments;
        let pending = self.vnet.neighbors().pending_len();
        let held = self.pool.in_use() as usize;
        assert!(
            held <= pending + reass,
            "{held} buffers in use, {pending} waiting for a neighbour"
        );
    }
}

/// `router`: the input's Ethernet frames through the router graph.
pub fn router(data: &[u8]) {
    static SHARED: OnceLock<Mutex<Shared>> = OnceLock::new();
    let mut s = SHARED
        .get_or_init(|| Mutex::new(shared()))
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let mut lab = build(&s);
    lab.run();
    for (ctl, frame) in Records(data) {
        let advance = u64::from(ctl >> 3) * 100_000_000;
        if advance > 0 {
            lab.run();
            lab.now += advance;
        }
        lab.add(ctl, frame);
    }
    lab.run();
    // Long after: the neighbour process drops what still waits and ages out what the
    // input taught (the next input starts from the same router): it probes each aged
    // neighbour `neighbor_probes` times, an interval apart, then removes it.
    lab.now += 3_600_000_000_000;
    lab.run();
    let params = s.vnet.ip4().params();
    for _ in 0..params.neighbor_probes {
        lab.now += params.neighbor_probe_interval_ns;
        lab.run();
    }
    let now = lab.now;
    let Lab { graph, pool, .. } = lab;
    drop(graph);
    assert_eq!(pool.in_use(), 0, "buffers leaked");
    s.now = now + 1_000_000_000;
    let n = s.vnet.neighbors().len();
    assert_eq!(n, s.neighbors, "learned neighbours outlived their age");
}
