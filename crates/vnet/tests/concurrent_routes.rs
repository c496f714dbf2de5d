//! Routes and neighbours change while a graph forwards on another thread (issue 3: "route
//! add and delete while traffic flows, without stopping forwarding or exposing a
//! half-written entry").
//!
//! One thread dispatches a graph whose `pg-input` sends UDP to 20.0.0.0–20.0.0.63. Another
//! adds and deletes, in a loop, `/32` routes to those hosts via one or two next hops (ECMP),
//! the covering `/24`, and learns and ages out the next hops' ARP entries. Next hop
//! 192.168.`j`.`k` has MAC 02:00:00:00:`j`:`k` and is only ever a path of 20.0.0.`k`; the
//! `/24` goes via 192.168.3.99. Every packet leaving on `b` must carry the MAC of a next hop
//! its destination's routes could have named, our MAC as source, TTL 63 and a valid
//! checksum; every drop must be one of the expected reasons (no route, waiting for ARP).
//! A DPO index reused before the readers' grace period, an adjacency named before it is
//! published, or a half-written rewrite shows up as a wrong MAC or a bad-adjacency drop.

use buf::{BufferCache, BufferPool, Frame, PoolConfig};
use core::net::{IpAddr, Ipv4Addr};
use graph::{Ctx, GraphBuilder, Node, NodeInfo, NodeKind};
use io::pg::{Ip4Range, IpSpec, PacketSpec, PgInput, Source, StreamSpec, PG_INPUT};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use vnet::Vnet;
use wire::ethernet::EthernetAddress;
use wire::ipv4::{Ipv4Cidr, Ipv4Packet};

const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];
const HOSTS: u8 = 64;
/// Changes the writer makes (each one or a few route or neighbour operations).
const OPS: u32 = 20_000;

fn nh(j: u8, k: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 168, j, k)
}

fn nh_mac(j: u8, k: u8) -> EthernetAddress {
    EthernetAddress([0x02, 0, 0, 0, j, k])
}

/// What `tx-b` saw.
#[derive(Default)]
struct Checked {
    ok: AtomicU64,
    bad: AtomicU64,
    first_bad: Mutex<Vec<String>>,
}

/// Stands in for `b`'s device output: checks every IPv4 packet it gets.
struct CheckB(Arc<Checked>);

impl Node for CheckB {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: "tx-b",
            kind: NodeKind::Internal,
            next_nodes: &[],
            errors: &[],
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, frame: &mut Frame) {
        for b in frame.drain() {
            let d = cx.pool().get(&b).data();
            if d.len() >= 14 && d[12..14] == [0x08, 0x00] {
                if let Err(why) = check(d) {
                    self.0.bad.fetch_add(1, Ordering::Relaxed);
                    let mut v = self.0.first_bad.lock().unwrap();
                    if v.len() < 5 {
                        v.push(why);
                    }
                } else {
                    self.0.ok.fetch_add(1, Ordering::Relaxed);
                }
            }
            cx.free(b);
        }
    }
}

fn check(d: &[u8]) -> Result<(), String> {
    let p = Ipv4Packet::new_checked(&d[14..]).map_err(|e| format!("unreadable: {e:?}"))?;
    let dst = p.dst_addr().octets();
    let (k, mac) = (dst[3], &d[0..6]);
    let allowed = [nh_mac(1, k), nh_mac(2, k), nh_mac(3, 99)];
    if !allowed.iter().any(|m| m.as_bytes() == mac) {
        return Err(format!("{} sent to {mac:02x?}", p.dst_addr()));
    }
    if d[6..12] != MAC_B {
        return Err(format!("{} from {:02x?}", p.dst_addr(), &d[6..12]));
    }
    if p.ttl() != 63 || !p.verify_checksum() {
        return Err(format!("{}: ttl {} or bad checksum", p.dst_addr(), p.ttl()));
    }
    Ok(())
}

/// Drop and counter reasons this churn may produce: no route (ICMP unreachable, rate
/// limited), neighbours being resolved (held, requests, full queues).
const EXPECTED: &[(&str, &str)] = &[
    ("ip4-lookup", "Unreachable"),
    ("ip4-icmp-error", "Sent"),
    ("ip4-icmp-error", "RateLimited"),
    ("ip4-arp", "Held"),
    ("ip4-arp", "PendingFull"),
    ("ip4-arp", "RequestsSent"),
    ("ip4-arp", "RequestsThrottled"),
    ("ip4-neighbor-process", "GratuitousSent"),
    ("ip4-neighbor-process", "PendingExpired"),
];

use testkit::rng;

#[test]
fn routes_and_neighbours_change_while_a_graph_forwards() {
    let vnet = Vnet::new();
    let (a, b) = {
        let mut ifs = vnet.interfaces_mut();
        let a = ifs.add_hw("a", EthernetAddress(MAC_A), "tx-a").unwrap();
        let b = ifs.add_hw("b", EthernetAddress(MAC_B), "tx-b").unwrap();
        ifs.set_admin_up(a, true).unwrap();
        ifs.set_admin_up(b, true).unwrap();
        (a, b)
    };
    vnet.ip4_add_address(a, "10.0.0.1/24".parse().unwrap())
        .unwrap();
    vnet.ip4_add_address(b, "192.168.0.1/16".parse().unwrap())
        .unwrap();
    // The sender on `a` is known, so ICMP errors to it leave without ARP.
    vnet.neighbors().add_static(
        a,
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
        EthernetAddress([2; 6]),
    );
    {
        let ifs = vnet.interfaces();
        let mut adjs = vnet.adjacencies_mut();
        adjs.resolve(
            &ifs,
            a,
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            EthernetAddress([2; 6]),
        );
    }
    let pool = BufferPool::new(&PoolConfig::new(8192)).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let checked = Arc::new(Checked::default());

    let forwarder = {
        let (vnet, pool, stop, checked) =
            (vnet.clone(), pool.clone(), stop.clone(), checked.clone());
        std::thread::spawn(move || {
            let mut gb = GraphBuilder::new();
            vnet::register(&mut gb, &vnet);
            gb.add(PgInput::new());
            gb.add(CheckB(checked));
            gb.add(Sink("tx-a"));
            let mut graph = gb.build(BufferCache::new(pool)).unwrap();
            vnet::attach_interfaces(&mut graph, &vnet).unwrap();
            let spec = StreamSpec {
                name: "churn".into(),
                source: Source::Generate(PacketSpec {
                    src_mac: EthernetAddress([2; 6]),
                    dst_mac: EthernetAddress(MAC_A),
                    ip: IpSpec::V4 {
                        src: Ip4Range {
                            first: Ipv4Addr::new(10, 0, 0, 2),
                            count: 1,
                        },
                        dst: Ip4Range {
                            first: Ipv4Addr::new(20, 0, 0, 0),
                            count: u32::from(HOSTS),
                        },
                    },
                    flows: u32::from(HOSTS),
                    ..PacketSpec::default()
                }),
                count: None,
                rate_pps: None,
                rx_if: a,
            };
            PgInput::add_stream(&mut graph, spec, "ethernet-input").unwrap();
            let pg = graph.node_index(PG_INPUT).unwrap();
            graph.node_mut::<PgInput>(pg).unwrap().enable();
            let mut now = 0u64;
            while !stop.load(Ordering::Relaxed) {
                now += 1_000_000;
                graph.dispatch(now);
            }
            graph.node_mut::<PgInput>(pg).unwrap().disable();
            for _ in 0..100 {
                graph.dispatch(now);
            }
            graph.stats().errors()
        })
    };

    // The writer: the control plane and ARP learning/aging, as fast as it can.
    let mut r = rng(7);
    let mut scratch = Frame::new();
    let mut cache = BufferCache::new(pool.clone());
    let mut released = 0u64;
    for op in 0..OPS {
        let x = r();
        let k = (x % u64::from(HOSTS)) as u8;
        let host = Ipv4Cidr::new(Ipv4Addr::new(20, 0, 0, k), 32).unwrap();
        match (x >> 8) % 8 {
            0 | 1 => {
                let j = 1 + ((x >> 16) & 1) as u8;
                let _ = vnet.ip4_add_route(host, Some(nh(j, k)), Some(b));
            }
            2 => {
                // A second path: ECMP over both next hops of k.
                let _ = vnet.ip4_add_route(host, Some(nh(1, k)), Some(b));
                let _ = vnet.ip4_add_route(host, Some(nh(2, k)), Some(b));
            }
            3 | 4 => {
                let _ = vnet.ip4_remove_route(host);
            }
            5 => {
                let j = 1 + ((x >> 16) & 1) as u8;
                let ifs = vnet.interfaces();
                vnet::arp::learn(
                    &vnet,
                    &ifs,
                    &pool,
                    b,
                    nh(j, k),
                    nh_mac(j, k),
                    u64::from(op),
                    &mut scratch,
                );
                released += scratch.len() as u64;
                cache.free_frame(&mut scratch);
            }
            6 => {
                // Aging: the neighbour and its rewrite go away.
                let j = 1 + ((x >> 16) & 1) as u8;
                vnet.neighbors().remove(b, IpAddr::V4(nh(j, k)));
                vnet.adjacencies_mut().unresolve(b, IpAddr::V4(nh(j, k)));
            }
            _ => {
                let net = Ipv4Cidr::new(Ipv4Addr::new(20, 0, 0, 0), 24).unwrap();
                if x >> 20 & 1 == 0 {
                    let _ = vnet.ip4_add_route(net, Some(nh(3, 99)), Some(b));
                    let ifs = vnet.interfaces();
                    vnet::arp::learn(
                        &vnet,
                        &ifs,
                        &pool,
                        b,
                        nh(3, 99),
                        nh_mac(3, 99),
                        0,
                        &mut scratch,
                    );
                    released += scratch.len() as u64;
                    cache.free_frame(&mut scratch);
                } else {
                    let _ = vnet.ip4_remove_route(net);
                }
            }
        }
        if op % 256 == 0 {
            // Let the forwarder run a little on a machine with few cores.
            std::thread::yield_now();
        }
    }
    stop.store(true, Ordering::Relaxed);
    let errors = forwarder.join().unwrap();

    let bad = checked.bad.load(Ordering::Relaxed);
    let ok = checked.ok.load(Ordering::Relaxed);
    assert_eq!(
        bad,
        0,
        "misrouted or half-written: {:?}",
        checked.first_bad.lock().unwrap()
    );
    assert!(ok > 0, "nothing was forwarded");
    let unexpected: Vec<_> = errors
        .iter()
        .filter(|e| !EXPECTED.contains(&(e.node, e.name)))
        .map(|e| format!("{}/{}: {}", e.node, e.name, e.count))
        .collect();
    assert!(unexpected.is_empty(), "unexpected drops: {unexpected:?}");
    println!("forwarded {ok} checked packets while making {OPS} changes; {released} held packets released by learning; counters {:?}",
        errors.iter().map(|e| format!("{}/{}={}", e.node, e.name, e.count)).collect::<Vec<_>>());
}

/// Frees what it gets (`a`'s device output: ICMP errors and ARP).
struct Sink(&'static str);

impl Node for Sink {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: self.0,
            kind: NodeKind::Internal,
            next_nodes: &[],
            errors: &[],
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, frame: &mut Frame) {
        for b in frame.drain() {
            cx.free(b);
        }
    }
}

/// The lookup nodes' read protocol (enter, bulk lookup, then the DPO and adjacency
/// snapshots) against a writer that deletes and re-adds routes as fast as it can, with the
/// reader's frame stretched by a yield between reading the leaves and reading what they
/// name: the window in which a DPO index reused too early would name another host's
/// next hop.
#[test]
fn a_slow_reader_never_sees_a_reused_dpo() {
    let vnet = Vnet::new();
    let b = {
        let mut ifs = vnet.interfaces_mut();
        let b = ifs.add_hw("b", EthernetAddress(MAC_B), "tx-b").unwrap();
        ifs.set_admin_up(b, true).unwrap();
        b
    };
    vnet.ip4_add_address(b, "192.168.0.1/16".parse().unwrap())
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (vnet, stop) = (vnet.clone(), stop.clone());
        std::thread::spawn(move || {
            let state = vnet.reader();
            let addrs: Vec<u32> = (0..HOSTS)
                .map(|k| u32::from(Ipv4Addr::new(20, 0, 0, k)))
                .collect();
            let mut leaves = vec![0; addrs.len()];
            let (mut frames, mut routed, mut wrong) = (0u64, 0u64, Vec::new());
            while !stop.load(Ordering::Relaxed) {
                let section = state.enter();
                let ip4 = vnet.ip4();
                ip4.fib.lookup_bulk(&addrs, &mut leaves);
                std::thread::yield_now();
                let dpos = ip4.dpos();
                let adjs = vnet.adjacencies();
                for (k, &leaf) in leaves.iter().enumerate() {
                    match dpos.get(leaf) {
                        vnet::Dpo::Unreachable => {}
                        vnet::Dpo::Adjacency(ai) => {
                            let hop = adjs.get(*ai).map(|a| a.next_hop);
                            if hop == Some(IpAddr::V4(nh(1, k as u8))) {
                                routed += 1;
                            } else if wrong.len() < 5 {
                                wrong.push(format!("20.0.0.{k} -> adjacency {ai} {hop:?}"));
                            }
                        }
                        other => wrong.push(format!("20.0.0.{k} -> {other:?}")),
                    }
                }
                drop(section);
                frames += 1;
                if !wrong.is_empty() {
                    break;
                }
            }
            (frames, routed, wrong)
        })
    };
    let mut r = rng(11);
    for _ in 0..OPS * 5 {
        let k = (r() % u64::from(HOSTS)) as u8;
        let host = Ipv4Cidr::new(Ipv4Addr::new(20, 0, 0, k), 32).unwrap();
        if vnet.ip4_remove_route(host).is_err() {
            vnet.ip4_add_route(host, Some(nh(1, k)), Some(b)).unwrap();
        }
    }
    stop.store(true, Ordering::Relaxed);
    let (frames, routed, wrong) = reader.join().unwrap();
    assert!(
        wrong.is_empty(),
        "a leaf named another route's DPO: {wrong:?}"
    );
    assert!(frames > 0 && routed > 0, "the reader never ran");
    println!("{frames} reader frames, {routed} routed answers checked");
}
