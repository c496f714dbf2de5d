//! Shared helpers of uplane's benchmarks.
//!
//! Every benchmark prints one line per figure:
//! `BENCH <name>: uplane <value> <unit>; <peer> <value> <unit>; ratio <r>`
//! where the ratio is uplane's figure over the peer's, oriented so that above 1 means
//! uplane is better. Figures are the best of several runs (the least disturbed by the rest
//! of the machine), measured with the monotonic clock.

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
