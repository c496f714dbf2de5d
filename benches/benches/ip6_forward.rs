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

use buf::{BufferCache, BufferPool, PoolConfig};
use core::net::{IpAddr, Ipv6Addr};
use graph::GraphBuilder;
use io::null::NullOutput;
use io::pg::{Ip6Range, IpSpec, PacketSpec, PgInput, Source, StreamSpec};
use vnet::Vnet;
use wire::ethernet::EthernetAddress;

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

/// Runs `packets` through the chain; returns (chain clocks/packet, runtime table).
fn run(vnet: &Vnet, packets: u64) -> uplane_benches::ChainFigures {
    let pool = BufferPool::new(&PoolConfig::new(16 * 1024)).expect("buffer pool");
    let null = NullOutput::new();
    let sink = null.stats();
    let mut b = GraphBuilder::new();
    vnet::register(&mut b, vnet);
    b.add(PgInput::new()).add(null);
    let mut g = b.build(BufferCache::new(pool)).expect("graph");
    vnet::attach_interfaces(&mut g, vnet).expect("attach");
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
    let s = StreamSpec {
        name: "ip6".into(),
        source: Source::Generate(spec),
        count: None,
        rate_pps: None,
        rx_if: 0,
    };
    PgInput::add_stream(&mut g, s, "ethernet-input").expect("stream");
    let pg = g.node_index("pg-input").expect("pg");
    g.node_mut::<PgInput>(pg).expect("pg").enable();
    uplane_benches::measure_chain(&mut g, &sink, packets, &CHAIN)
}

fn main() {
    let packets: u64 = std::env::var("PG_PACKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let vnet = router();
    let (chain, table, nodes) = run(&vnet, packets);
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
}
