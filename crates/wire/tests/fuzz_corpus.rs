//! Replays every seed and every saved crash input of the cargo-fuzz targets in `fuzz/`
//! through the same entry points, so `cargo test` keeps them from regressing on stable.

use std::path::Path;

type Entry = fn(&[u8]);

const TARGETS: &[(&str, Entry)] = &[
    ("ethernet", wire::ethernet::fuzz),
    ("arp", wire::arp::fuzz),
    ("ipv4", wire::ipv4::fuzz),
    ("ipv6", wire::ipv6::fuzz),
    ("icmpv4", wire::icmpv4::fuzz),
    ("icmpv6", wire::icmpv6::fuzz),
    ("udp", wire::udp::fuzz),
    ("tcp", wire::tcp::fuzz),
    ("vxlan", wire::vxlan::fuzz),
    ("gre", wire::gre::fuzz),
];

#[test]
fn replay_fuzz_corpora() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    for (name, entry) in TARGETS {
        let mut seen = 0;
        for sub in ["corpus", "regressions"] {
            let dir = root.join(sub).join(name);
            let Ok(files) = std::fs::read_dir(&dir) else {
                continue;
            };
            for f in files {
                let path = f.unwrap().path();
                let bytes = std::fs::read(&path).unwrap();
                entry(&bytes);
                seen += 1;
            }
        }
        assert!(
            seen > 0,
            "fuzz target {name} has no seed corpus in fuzz/corpus/{name}"
        );
    }
}

/// Every entry point on every short input and on a spread of longer pseudo-random inputs:
/// a stable-toolchain backstop for the coverage-guided runs.
#[test]
fn generated_inputs_never_panic() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut buf = [0u8; 512];
    for (_, entry) in TARGETS {
        for len in 0..=64 {
            for fill in [0x00, 0xff, 0x45, 0x60] {
                entry(&vec![fill; len]);
            }
        }
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 512) as usize;
            for b in buf.iter_mut().take(len) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            entry(&buf[..len]);
        }
    }
}
