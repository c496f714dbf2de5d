//! Shared helpers of uplane's benchmarks.
//!
//! Every benchmark prints one line per figure:
//! `BENCH <name>: uplane <value> <unit>; <peer> <value> <unit>; ratio <r>`
//! where the ratio is uplane's figure over the peer's, oriented so that above 1 means
//! uplane is better. Figures are the best of several runs (the least disturbed by the rest
//! of the machine), measured with the monotonic clock.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Instant;

/// Best-of-`runs` time of `f`, in seconds.
pub fn best_of(runs: usize, mut f: impl FnMut()) -> f64 {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// Prints a BENCH line for a throughput figure (higher is better).
pub fn report_rate(name: &str, unit: &str, ours: f64, peer: Option<(&str, f64)>) {
    match peer {
        Some((peer, theirs)) => println!(
            "BENCH {name}: uplane {ours:.2} {unit}; {peer} {theirs:.2} {unit}; ratio {:.2}",
            ours / theirs
        ),
        None => println!("BENCH {name}: uplane {ours:.2} {unit}"),
    }
}

/// `../shared/pcaps/NAME` from the repository root, if that folder exists.
pub fn shared_pcap(name: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/pcaps")
        .join(name);
    if p.exists() {
        Some(p)
    } else {
        eprintln!(
            "note: {} is missing; this figure uses generated packets only",
            p.display()
        );
        None
    }
}

/// Every record of a capture as an Ethernet frame.
pub fn load_ethernet(path: &std::path::Path) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let Ok(mut r) = io::pcap::PcapReader::open(path) else {
        return out;
    };
    let macs = io::pcap::MacPair {
        src: [2, 0, 0, 0, 0, 1],
        dst: [2, 0, 0, 0, 0, 2],
    };
    while let Ok(Some(rec)) = r.next_record() {
        if let Ok(n) = rec.to_ethernet(&macs) {
            let mut v = vec![0; n.len()];
            if n.copy_to(&mut v).is_ok() {
                out.push(v);
            }
        }
    }
    out
}

/// Per-node figures of a forwarding chain: (sum over the chain, the `show runtime` table,
/// clocks/packet of each node in `chain` order).
pub type ChainFigures = (f64, String, Vec<(String, f64)>);

/// Runs `graph` (whose pg-input stream is enabled and feeds `chain`, ending in a sink
/// counted by `sink`) for `packets` packets: a tenth to warm up, then 40 windows, keeping
/// each node's best window (on a shared machine a window in which the thread was preempted
/// is an outlier, not the figure). Panics if the chain dropped packets.
pub fn measure_chain(
    graph: &mut graph::Graph,
    sink: &io::null::NullStats,
    packets: u64,
    chain: &[&str],
) -> ChainFigures {
    let warm = packets / 10;
    let mut now = 1;
    while sink.packets() < warm {
        graph.dispatch(now);
        now += 1;
    }
    let windows = 40;
    let per_window = (packets - warm) / windows;
    let mut best = vec![f64::INFINITY; chain.len()];
    for _ in 0..windows {
        graph.stats().clear_runtime();
        let start = sink.packets();
        while sink.packets() < start + per_window {
            graph.dispatch(now);
            now += 1;
        }
        let measured = (sink.packets() - start) as f64;
        let rt = graph.stats().runtime();
        for (i, n) in chain.iter().enumerate() {
            if let Some(r) = rt.iter().find(|r| r.node == *n) {
                best[i] = best[i].min(r.clocks as f64 / measured);
            }
        }
    }
    let per_node: Vec<(String, f64)> = chain
        .iter()
        .zip(best)
        .map(|(n, c)| (n.to_string(), c))
        .collect();
    let sum = per_node.iter().map(|(_, c)| c).sum();
    // Every packet that entered the chain in the last window left it: no drops.
    let rt = graph.stats().runtime();
    let vectors = |n: &str| rt.iter().find(|r| r.node == n).map_or(0, |r| r.vectors);
    assert_eq!(
        vectors(chain[0]),
        vectors(chain[chain.len() - 1]),
        "drops on the forwarding path:\n{}",
        graph.stats().format_errors()
    );
    (sum, graph.stats().format_runtime(), per_node)
}

/// Writes `n` Ethernet/UDP frames (02:..:01 to 02:..:02, ports 1234 to 5678, TTL or hop
/// limit 64, `payload` zero bytes) from `src` to the addresses `dst` yields, of `src`'s
/// family, to a temporary capture named after `name` for pg-input to replay; returns its
/// path (the caller removes it).
pub fn udp_capture(
    name: &str,
    n: usize,
    src: IpAddr,
    payload: usize,
    mut dst: impl FnMut() -> IpAddr,
) -> PathBuf {
    let path = std::env::temp_dir().join(format!("uplane-{name}-{}.pcap", std::process::id()));
    let file = std::fs::File::create(&path).expect("create capture");
    let mut w =
        io::pcap::PcapWriter::new(std::io::BufWriter::new(file), io::pcap::TsResolution::Nano)
            .expect("pcap header");
    let body = vec![0u8; payload];
    let mut frame = Vec::with_capacity(128);
    for i in 0..n {
        frame.clear();
        let eth = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
        let ip = match (src, dst()) {
            (IpAddr::V4(s), IpAddr::V4(d)) => eth.ipv4(s.octets(), d.octets(), 64),
            (IpAddr::V6(s), IpAddr::V6(d)) => eth.ipv6(s.octets(), d.octets(), 64),
            _ => panic!("udp_capture: source and destination families differ"),
        };
        ip.udp(1234, 5678)
            .write(&mut frame, &body)
            .expect("build frame");
        w.write_packet(i as u64, &frame).expect("write capture");
    }
    w.flush().expect("flush capture");
    path
}
