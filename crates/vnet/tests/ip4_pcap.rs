//! Real peers' bytes: captures from other projects' test suites forwarded through the
//! router; every forwarded packet is checked with etherparse (an independent parser).

mod common;
mod ip4_lab;

use ip4_lab::*;
use std::path::PathBuf;

fn capture(name: &str) -> Option<Vec<Vec<u8>>> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/pcaps")
        .join(name);
    let mut r = io::pcap::PcapReader::open(&p).ok()?;
    let macs = io::pcap::MacPair {
        src: PEER_A,
        dst: MAC_A,
    };
    let mut out = Vec::new();
    while let Ok(Some(rec)) = r.next_record() {
        if let Ok(n) = rec.to_ethernet(&macs) {
            let mut v = vec![0; n.len()];
            if n.copy_to(&mut v).is_ok() {
                out.push(v);
            }
        }
    }
    Some(out)
}

fn forward_capture(name: &str) {
    let Some(frames) = capture(name) else {
        eprintln!("note: {name} missing; skipped");
        return;
    };
    let mut r = router();
    r.vnet.interfaces_mut().get_mut(r.a).unwrap().promiscuous = true;
    r.learn(r.b, PEER_B, PEER_B_IP, B_IP, MAC_B);
    r.vnet
        .ip4_add_route("0.0.0.0/0".parse().unwrap(), Some(PEER_B_IP), None)
        .unwrap();
    r.clear();
    // The IPv4 frames of the capture, untagged.
    let ip4: Vec<&Vec<u8>> = frames
        .iter()
        .filter(|f| f.len() >= 14 && f[12..14] == [0x08, 0x00])
        .collect();
    assert!(!ip4.is_empty(), "{name} has IPv4 frames");
    for chunk in ip4.chunks(200) {
        let batch: Vec<_> = chunk.iter().map(|f| ((*f).clone(), r.a)).collect();
        r.inject(&batch);
    }
    let out = r.got("tx-b");
    assert_eq!(out.len(), ip4.len(), "{name}: every IPv4 frame forwarded");
    for (sent, got) in ip4.iter().zip(&out) {
        let (dst, src, _, et, l3) = split_eth(got);
        assert_eq!((dst, src, et), (PEER_B, MAC_B, 0x0800));
        let h = check_ipv4(l3);
        let (orig, _) = etherparse::Ipv4Header::from_slice(&sent[14..]).unwrap();
        assert_eq!(h.time_to_live, orig.time_to_live - 1);
        assert_eq!(h.source, orig.source);
        assert_eq!(h.destination, orig.destination);
        let total = usize::from(orig.total_len);
        assert_eq!(l3.len(), total, "padding trimmed to the total length");
        assert_eq!(&l3[20..], &sent[14 + 20..14 + total], "payload untouched");
    }
}

#[test]
fn http_capture_is_forwarded_intact() {
    forward_capture("zeek_http-bro.org.pcap");
}

#[test]
fn fragmented_capture_is_forwarded_intact() {
    forward_capture("zeek_ipv4-fragmented-tcp.pcap");
}
