//! BENCH ip6-forward: the full IPv6 forwarding chain in memory at 256-packet frames —
//! pg-input → ethernet-input → ip6-input → ip6-lookup → ip6-rewrite → interface-output →
//! null-output — in clocks per packet per node (`show runtime`), beside VPP's published
//! per-node figures, as `ip4_forward.rs` does for IPv4.
//!
//! Each node's figure is its best of 40 measurement windows. The chain figure is the sum of
//! the five router nodes. The peer: the issue gives CSIT 19.04's Skylake per-node figures
//! for the IPv4 chain only (ethernet-input 15.9, ip4-input-no-checksum 22.3, ip4-lookup
//! 30.8, ip4-rewrite 24.7 = 93.7 clocks/packet); they stand in here for VPP's ip6-input,
//! ip6-lookup and ip6-rewrite. VPP's IPv6 lookup (a bihash per prefix length) costs more
//! than its IPv4 mtrie, so this peer is conservative: it favours VPP, as does leaving
//! interface-output out of its sum while ours includes it. Ratio = VPP / ours: above 1
//! means uplane spends fewer clocks. The route in use is a /48 via a resolved neighbour
//! (two strides of our 24-8-8… trie below the root).
//!
//! `ip6-forward` sends to 1024 destinations in that one /48, so ip6-lookup walks the same
//! few slots again and again (and answers every packet under the slot that answered the
//! frame's first, `Lpm6Table::lookup_slot`, without a walk): the best case. `ip6-forward-many-routes` is the
//! honest one: 200,000 prefixes (`ROUTES6`; today's global IPv6 table) clustered as RIR
//! allocations (random /32s under 2000::/3, each with ~30 more-specifics /36–/64), all via
//! the same neighbour, and 65,536 packets replayed in a loop, each to a random address
//! inside a random installed prefix (so consecutive packets share no slot and the walk
//! misses the caches; ip6-lookup walks them 64 at a time, `Lpm6Table::lookup_bulk_scattered`).
//! Its ratio is (1-route chain) / (many-route chain).

use buf::{BufferCache, BufferPool, PoolConfig};
use core::net::{IpAddr, Ipv6Addr};
use graph::GraphBuilder;
use io::null::NullOutput;
use io::pg::{Ip6Range, IpSpec, PacketSpec, PgInput, Source, StreamSpec, Timing};
use vnet::Vnet;
use wire::ethernet::EthernetAddress;
use wire::ipv6::Ipv6Cidr;

const CHAIN: [&str; 5] = [
    "ethernet-input",
    "ip6-input",
    "ip6-lookup",
    "ip6-rewrite",
    "interface-output",
];
const VPP: [(&str, f64); 4] = [
    ("ethernet-input", 15.9),
    ("ip4-input-no-checksum, standing in for ip6-input", 22.3),
    ("ip4-lookup, standing in for ip6-lookup", 30.8),
    ("ip4-rewrite, standing in for ip6-rewrite", 24.7),
];
const VPP_SUM: f64 = 93.7;

/// Two interfaces, both sending to `null-output`; 2001:db8:1::/48 via a resolved neighbour.
fn router() -> Vnet {
    let vnet = Vnet::new();
    let (rx, tx);
    {
        let mut ifs = vnet.interfaces_mut();
        rx = ifs
            .add_hw("rx0", EthernetAddress([2, 0, 0, 0, 0, 2]), "null-output")
            .expect("rx0");
        tx = ifs
            .add_hw("tx0", EthernetAddress([2, 0, 0, 0, 1, 2]), "null-output")
            .expect("tx0");
        ifs.set_admin_up(rx, true).expect("up");
        ifs.set_admin_up(tx, true).expect("up");
    }
    vnet.ip6_add_address(rx, "fd00::254/64".parse().expect("cidr"))
        .expect("addr");
    vnet.ip6_add_address(tx, "fd02::1/64".parse().expect("cidr"))
        .expect("addr");
    let nh: Ipv6Addr = "fd02::2".parse().expect("addr");
    {
        let ifs = vnet.interfaces();
        vnet.adjacencies_mut()
            .resolve(
                &ifs,
                tx,
                IpAddr::V6(nh),
                EthernetAddress([2, 0, 0, 0, 9, 9]),
            )
            .expect("adjacency");
    }
    vnet.ip6_add_route("2001:db8:1::/48".parse().expect("cidr"), Some(nh), Some(tx))
        .expect("route");
    vnet
}

use testkit::rng;

/// Installs `n` prefixes clustered as RIR allocations (as `lpm6-bulk` does) via the
/// router's neighbour; returns them as (address, length).
fn add_random_routes(vnet: &Vnet, n: usize) -> Vec<(u128, u8)> {
    let nh: Ipv6Addr = "fd02::2".parse().expect("addr");
    let mut r = rng(7);
    let mut rules = Vec::with_capacity(n);
    let mut tries = 0;
    'fill: while tries < 4 * n {
        let alloc = (0x2000_0000u128 | u128::from((r() >> 35) as u32)) << 96;
        for j in 0..31u128 {
            tries += 1;
            let y = r();
            let l: u8 = match (j, y % 100) {
                (0, _) => 32,
                (_, 0..=59) => 48,
                (_, 60..=69) => 44,
                (_, 70..=79) => 40,
                (_, 80..=84) => 36,
                (_, 85..=94) => 56,
                _ => 64,
            };
            let a = (alloc | (j + u128::from(y >> 60)) << (128 - u32::from(l)))
                & (u128::MAX << (128 - u32::from(l)));
            let p = Ipv6Cidr::new(Ipv6Addr::from(a), l).expect("len ≤ 128");
            if vnet.ip6_add_route(p, Some(nh), None).is_ok() {
                rules.push((a, l));
                if rules.len() == n {
                    break 'fill;
                }
            }
        }
    }
    rules
}

/// A capture of `n` 78-byte IPv6/UDP frames to the router, each to a random address inside
/// a random prefix of `rules`.
fn random_destinations(rules: &[(u128, u8)], n: usize) -> std::path::PathBuf {
    let mut r = rng(11);
    let src = IpAddr::V6("fd00::1".parse().expect("addr"));
    uplane_benches::udp_capture("ip6-many", n, src, 16, || {
        let (k, l) = rules[r() as usize % rules.len()];
        let dst = k | (u128::from(r()) << 64 | u128::from(r())) >> l;
        IpAddr::V6(Ipv6Addr::from(dst))
    })
}

/// Runs `packets` through the chain; returns (chain clocks/packet, runtime table).
fn run(vnet: &Vnet, packets: u64, source: Source) -> uplane_benches::ChainFigures {
    let pool = BufferPool::new(&PoolConfig::new(16 * 1024)).expect("buffer pool");
    let null = NullOutput::new();
    let sink = null.stats();
    let mut b = GraphBuilder::new();
    vnet::register(&mut b, vnet);
    b.add(PgInput::new()).add(null);
    let mut g = b.build(BufferCache::new(pool)).expect("graph");
    vnet::attach_interfaces(&mut g, vnet).expect("attach");
    let s = StreamSpec {
        name: "ip6".into(),
        source,
        count: None,
        rate_pps: None,
        rx_if: 0,
    };
    PgInput::add_stream(&mut g, s, "ethernet-input").expect("stream");
    let pg = g.node_index("pg-input").expect("pg");
    g.node_mut::<PgInput>(pg).expect("pg").enable();
    uplane_benches::measure_chain(&mut g, &sink, packets, &CHAIN)
}

/// 1024 destinations in 2001:db8:1::/48.
fn one_prefix() -> Source {
    let spec = PacketSpec {
        ip: IpSpec::V6 {
            src: Ip6Range {
                first: "fd00::1".parse().expect("addr"),
                count: 1,
            },
            dst: Ip6Range {
                first: "2001:db8:1::1".parse().expect("addr"),
                count: 1024,
            },
        },
        flows: 1024,
        // 14 + 40 + 8 bytes of headers: the smallest IPv6/UDP frame (VPP's 78-byte test
        // frames carry 16 bytes of payload).
        frame_size: (78, 78),
        ..PacketSpec::default()
    };
    Source::Generate(spec)
}

fn main() {
    let packets: u64 = std::env::var("PG_PACKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let vnet = router();
    let (chain, table, nodes) = run(&vnet, packets, one_prefix());
    print!("{table}");
    println!("per node, clocks/packet (uplane | VPP CSIT 19.04 Skylake):");
    for (i, (n, c)) in nodes.iter().enumerate() {
        let vpp = VPP
            .get(i)
            .map_or("-".to_string(), |(vn, v)| format!("{v} ({vn})"));
        println!("  {n:<18} {c:>7.1} | {vpp}");
    }
    println!("ip6-forward: chain {chain:.1} clocks/packet (target < 60)");
    println!(
        "BENCH ip6-forward: uplane {chain:.1} clocks/packet; vpp-csit-19.04 {VPP_SUM:.1} clocks/packet; ratio {:.2}",
        VPP_SUM / chain
    );
    let routes = std::env::var("ROUTES6")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000usize);
    let t = std::time::Instant::now();
    let rules = add_random_routes(&vnet, routes);
    let secs = t.elapsed().as_secs_f64();
    println!(
        "installed {} of {routes} clustered prefixes in {secs:.1} s",
        rules.len()
    );
    let path = random_destinations(&rules, 65_536);
    let source = Source::Replay {
        path: path.clone(),
        timing: Timing::FullSpeed,
    };
    let figures =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&vnet, packets, source)));
    let _ = std::fs::remove_file(&path);
    let (many, table, nodes) = figures.unwrap_or_else(|e| std::panic::resume_unwind(e));
    print!("{table}");
    println!(
        "per node, clocks/packet, {} routes, random destinations:",
        rules.len()
    );
    for (n, c) in &nodes {
        println!("  {n:<18} {c:>7.1}");
    }
    println!(
        "BENCH ip6-forward-many-routes: uplane {many:.1} clocks/packet; uplane-1-route {chain:.1} clocks/packet; ratio {:.2}",
        chain / many
    );
}
