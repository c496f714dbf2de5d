//! Replays the `router` fuzz target's seeds and saved crashes (what `cargo fuzz run
//! router` checks, without the fuzzer). The seeds are written by `write_seeds` (ignored;
//! `cargo test -p uplane-vnet --test fuzz_corpus -- --ignored write_seeds`): frames built
//! here with their checksums left to the record's fix-checksums flag.

use std::path::{Path, PathBuf};
use vnet::fuzz::{encode, router, FIX_CHECKSUMS, MAC_A, MAC_B};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

const PEER_A: [u8; 6] = [0x02, 0, 0, 0, 0xaa, 0x02];
const BCAST: [u8; 6] = [0xff; 6];

fn eth(dst: [u8; 6], src: [u8; 6], vlan: Option<u16>, et: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    if let Some(v) = vlan {
        f.extend_from_slice(&[0x81, 0x00]);
        f.extend_from_slice(&v.to_be_bytes());
    }
    f.extend_from_slice(&et.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// An IPv4 header (checksum left 0) and `l4`.
fn ip4(src: [u8; 4], dst: [u8; 4], proto: u8, ttl: u8, frag: u16, l4: &[u8]) -> Vec<u8> {
    let mut p = vec![0u8; 20];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
    p[4..6].copy_from_slice(&77u16.to_be_bytes());
    p[6..8].copy_from_slice(&frag.to_be_bytes());
    p[8] = ttl;
    p[9] = proto;
    p[12..16].copy_from_slice(&src);
    p[16..20].copy_from_slice(&dst);
    p.extend_from_slice(l4);
    p
}

/// An IPv6 header and `l4`.
fn ip6(src: &str, dst: &str, nh: u8, hops: u8, l4: &[u8]) -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&(l4.len() as u16).to_be_bytes());
    p.push(nh);
    p.push(hops);
    for a in [src, dst] {
        p.extend_from_slice(&a.parse::<std::net::Ipv6Addr>().unwrap().octets());
    }
    p.extend_from_slice(l4);
    p
}

fn udp(sport: u16, dport: u16, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&sport.to_be_bytes());
    v.extend_from_slice(&dport.to_be_bytes());
    v.extend_from_slice(&((8 + data.len()) as u16).to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(data);
    v
}

fn tcp_syn(sport: u16, dport: u16) -> Vec<u8> {
    let mut v = vec![0u8; 20];
    v[0..2].copy_from_slice(&sport.to_be_bytes());
    v[2..4].copy_from_slice(&dport.to_be_bytes());
    v[4..8].copy_from_slice(&1000u32.to_be_bytes());
    v[12] = 5 << 4;
    v[13] = 0x02;
    v[14..16].copy_from_slice(&65535u16.to_be_bytes());
    v
}

fn echo(v6: bool) -> Vec<u8> {
    let mut v = vec![if v6 { 128 } else { 8 }, 0, 0, 0, 0, 1, 0, 1];
    v.extend_from_slice(b"uplane fuzz seed");
    v
}

fn arp(op: u16, sha: [u8; 6], spa: [u8; 4], tha: [u8; 6], tpa: [u8; 4]) -> Vec<u8> {
    let mut v = vec![0, 1, 8, 0, 6, 4];
    v.extend_from_slice(&op.to_be_bytes());
    v.extend_from_slice(&sha);
    v.extend_from_slice(&spa);
    v.extend_from_slice(&tha);
    v.extend_from_slice(&tpa);
    v
}

/// A neighbour solicitation for `target` with a source link-layer option.
fn ns(target: &str) -> Vec<u8> {
    let mut v = vec![135, 0, 0, 0, 0, 0, 0, 0];
    v.extend_from_slice(&target.parse::<std::net::Ipv6Addr>().unwrap().octets());
    v.extend_from_slice(&[1, 1]);
    v.extend_from_slice(&PEER_A);
    v
}

const A4: u16 = 0x0800;
const A6: u16 = 0x86dd;
const ARP: u16 = 0x0806;
const PA: [u8; 4] = [10, 0, 0, 2];

/// Records of a seed: (ctl, frame).
type Records = Vec<(u8, Vec<u8>)>;

/// (name, [(ctl, frame)]): ctl's low bits pick the interface (0 = a, 1 = b).
fn seeds() -> Vec<(&'static str, Records)> {
    let fx = FIX_CHECKSUMS;
    let on_a = |et, p: Vec<u8>| eth(MAC_A, PEER_A, None, et, &p);
    vec![
        (
            "arp-learn-forward",
            vec![
                (
                    0,
                    eth(
                        BCAST,
                        PEER_A,
                        None,
                        ARP,
                        &arp(1, PEER_A, PA, [0; 6], [10, 0, 0, 1]),
                    ),
                ),
                (
                    fx | 8,
                    on_a(A4, ip4(PA, [198, 51, 100, 7], 17, 64, 0, &udp(1, 2, b"x"))),
                ),
                (
                    fx,
                    on_a(A4, ip4(PA, [192, 0, 2, 9], 17, 64, 0, &udp(1, 2, b"y"))),
                ),
            ],
        ),
        (
            "arp-pending",
            vec![
                (
                    fx,
                    on_a(
                        A4,
                        ip4(PA, [198, 51, 100, 8], 17, 64, 0, &udp(5, 6, b"wait")),
                    ),
                ),
                (8, on_a(ARP, arp(2, PEER_A, PA, MAC_A, [10, 0, 0, 1]))),
            ],
        ),
        (
            "echo4-vlan",
            vec![
                (fx, on_a(A4, ip4(PA, [10, 0, 0, 1], 1, 64, 0, &echo(false)))),
                (
                    fx,
                    eth(
                        MAC_A,
                        PEER_A,
                        Some(100),
                        A4,
                        &ip4([10, 100, 0, 2], [10, 100, 0, 1], 1, 64, 0, &echo(false)),
                    ),
                ),
            ],
        ),
        (
            "ttl-unreachable",
            vec![
                (
                    fx | 1,
                    eth(
                        MAC_B,
                        PEER_B,
                        None,
                        A4,
                        &ip4(
                            [10, 1, 0, 2],
                            [198, 51, 100, 1],
                            17,
                            1,
                            0,
                            &udp(1, 2, b"ttl"),
                        ),
                    ),
                ),
                (
                    fx,
                    on_a(A4, ip4(PA, [203, 0, 113, 200], 6, 64, 0, &tcp_syn(1, 80))),
                ),
                (
                    fx,
                    on_a(A4, ip4(PA, [203, 0, 113, 1], 6, 64, 0, &tcp_syn(1, 80))),
                ),
            ],
        ),
        (
            "frag4-local",
            vec![
                (
                    fx,
                    on_a(
                        A4,
                        ip4(PA, [10, 0, 0, 1], 17, 64, 0x2000, &udp(9, 7, &[1; 16])),
                    ),
                ),
                (
                    fx,
                    on_a(A4, ip4(PA, [10, 0, 0, 1], 17, 64, 3, b"tail of it")),
                ),
            ],
        ),
        (
            "tcp-udp-local",
            vec![
                (
                    fx,
                    on_a(A4, ip4(PA, [10, 0, 0, 1], 6, 64, 0, &tcp_syn(40000, 7))),
                ),
                (
                    fx,
                    on_a(A4, ip4(PA, [10, 0, 0, 1], 17, 64, 0, &udp(40000, 53, b"q"))),
                ),
            ],
        ),
        (
            "nd-echo6",
            vec![
                (
                    fx,
                    eth(
                        [0x33, 0x33, 0xff, 0, 0, 1],
                        PEER_A,
                        None,
                        A6,
                        &ip6("fd01::2", "ff02::1:ff00:1", 58, 255, &ns("fd01::1")),
                    ),
                ),
                (fx, on_a(A6, ip6("fd01::2", "fd01::1", 58, 64, &echo(true)))),
            ],
        ),
        (
            "forward6",
            vec![
                (
                    fx,
                    on_a(
                        A6,
                        ip6("fd01::2", "2001:db8:1::1", 17, 64, &udp(1, 2, b"six")),
                    ),
                ),
                (
                    fx,
                    on_a(
                        A6,
                        ip6("fd01::2", "2001:db8:1::1", 17, 1, &udp(1, 2, b"hop")),
                    ),
                ),
                (
                    fx | 16,
                    on_a(
                        A6,
                        ip6("fd02::9", "2001:db8:2::1", 17, 64, &udp(1, 2, b"wait")),
                    ),
                ),
                (
                    fx,
                    on_a(
                        A6,
                        ip6("fd01::2", "2001:db8:dead::1", 6, 64, &tcp_syn(3, 4)),
                    ),
                ),
            ],
        ),
        (
            "frag6-tcp6-local",
            vec![
                (
                    fx,
                    on_a(
                        A6,
                        ip6(
                            "fd01::2",
                            "fd01::1",
                            44,
                            64,
                            &[&[17, 0, 0, 1, 0, 0, 0, 9][..], &udp(5, 7, &[2; 16])].concat(),
                        ),
                    ),
                ),
                (
                    fx,
                    on_a(A6, ip6("fd01::2", "fd01::1", 6, 64, &tcp_syn(40000, 7))),
                ),
            ],
        ),
    ]
}

const PEER_B: [u8; 6] = [0x02, 0, 0, 0, 0xbb, 0x02];

fn encoded(frames: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut v = Vec::new();
    for (ctl, f) in frames {
        encode(*ctl, f, &mut v);
    }
    v
}

#[test]
#[ignore = "writes fuzz/corpus/router; run by hand after a format change"]
fn write_seeds() {
    let dir = fuzz_dir().join("corpus/router");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, frames) in seeds() {
        std::fs::write(dir.join(name), encoded(&frames)).unwrap();
    }
}

#[test]
fn replay_router_corpus() {
    let mut seen = 0;
    for sub in ["corpus/router", "regressions/router"] {
        let Ok(dir) = std::fs::read_dir(fuzz_dir().join(sub)) else {
            continue;
        };
        for f in dir {
            router(&std::fs::read(f.unwrap().path()).unwrap());
            seen += 1;
        }
    }
    assert!(seen >= 5, "the router seeds are missing (found {seen})");
}

#[test]
fn fuzz_body_holds_for_seeds_and_junk() {
    let mut all = Vec::new();
    for (_, frames) in seeds() {
        let e = encoded(&frames);
        router(&e);
        all.extend_from_slice(&e);
    }
    router(&all);
    for d in [&[][..], &[0], &[3, 0, 14], &[4, 0xff, 0xff, 1, 2, 3]] {
        router(d);
    }
    // More than a graph frame in one batch.
    let one = encoded(&seeds()[0].1[2..]);
    router(&one.repeat(300));
}
