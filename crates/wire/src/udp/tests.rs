use super::*;
use core::net::{Ipv4Addr, Ipv6Addr};
use proptest::prelude::*;

/// zeek_wikipedia.pcap frame 1: IPv4 mDNS query 141.142.220.202:5353 -> 224.0.0.251:5353.
const MDNS_V4: [u8; 53] = [
    0x14, 0xe9, 0x14, 0xe9, 0x00, 0x35, 0x7f, 0x62, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x06, 0x67, 0x65, 0x6d, 0x69, 0x6e, 0x69, 0x09, 0x5f, 0x73, 0x66, 0x74,
    0x70, 0x2d, 0x73, 0x73, 0x68, 0x04, 0x5f, 0x74, 0x63, 0x70, 0x05, 0x6c, 0x6f, 0x63, 0x61, 0x6c,
    0x00, 0x00, 0x21, 0x00, 0x01,
];

fn ph_mdns_v4() -> PseudoHeader {
    PseudoHeader::V4 {
        src: Ipv4Addr::new(141, 142, 220, 202),
        dst: Ipv4Addr::new(224, 0, 0, 251),
    }
}

/// zeek_wikipedia.pcap frame 2: IPv6 mDNS response fe80::217:f2ff:fed7:cf65 -> ff02::fb.
const MDNS_V6: [u8; 159] = [
    0x14, 0xe9, 0x14, 0xe9, 0x00, 0x9f, 0x44, 0xe9, 0x00, 0x00, 0x84, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x04, 0x06, 0x67, 0x65, 0x6d, 0x69, 0x6e, 0x69, 0x09, 0x5f, 0x73, 0x66, 0x74,
    0x70, 0x2d, 0x73, 0x73, 0x68, 0x04, 0x5f, 0x74, 0x63, 0x70, 0x05, 0x6c, 0x6f, 0x63, 0x61, 0x6c,
    0x00, 0x00, 0x21, 0x80, 0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 0x0f, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x16, 0x06, 0x67, 0x65, 0x6d, 0x69, 0x6e, 0x69, 0xc0, 0x22, 0xc0, 0x39, 0x00, 0x1c, 0x80, 0x01,
    0x00, 0x00, 0x00, 0x78, 0x00, 0x10, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x17,
    0xf2, 0xff, 0xfe, 0xd7, 0xcf, 0x65, 0xc0, 0x39, 0x00, 0x01, 0x80, 0x01, 0x00, 0x00, 0x00, 0x78,
    0x00, 0x04, 0x8d, 0x8e, 0xdc, 0x32, 0xc0, 0x0c, 0x00, 0x2f, 0x80, 0x01, 0x00, 0x00, 0x00, 0x78,
    0x00, 0x09, 0xc0, 0x0c, 0x00, 0x05, 0x00, 0x00, 0x80, 0x00, 0x40, 0xc0, 0x39, 0x00, 0x2f, 0x80,
    0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 0x08, 0xc0, 0x39, 0x00, 0x04, 0x40, 0x00, 0x00, 0x08,
];

fn ph_mdns_v6() -> PseudoHeader {
    PseudoHeader::V6 {
        src: "fe80::217:f2ff:fed7:cf65".parse().unwrap(),
        dst: "ff02::fb".parse().unwrap(),
    }
}

/// zeek_nmap-vsn-scan.pcap frame 536: DNS PTR query 192.168.1.71:64480 -> 192.168.1.1:53.
const DNS_V4: [u8; 50] = [
    0xfb, 0xe0, 0x00, 0x35, 0x00, 0x32, 0xe1, 0xa0, 0x11, 0xbf, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x01, 0x31, 0x01, 0x31, 0x03, 0x31, 0x36, 0x38, 0x03, 0x31, 0x39, 0x32,
    0x07, 0x69, 0x6e, 0x2d, 0x61, 0x64, 0x64, 0x72, 0x04, 0x61, 0x72, 0x70, 0x61, 0x00, 0x00, 0x0c,
    0x00, 0x01,
];

#[test]
fn real_mdns_v4() {
    let p = UdpPacket::new_checked(&MDNS_V4[..]).unwrap();
    assert_eq!(p.src_port(), 5353);
    assert_eq!(p.dst_port(), 5353);
    assert_eq!(p.len(), 53);
    assert_eq!(p.checksum(), 0x7f62);
    assert_eq!(p.payload().len(), 45);
    assert_eq!(&p.payload()[13..19], b"gemini");
    assert!(p.verify_checksum(&ph_mdns_v4()));
    let r = UdpRepr::parse(&p, Some(&ph_mdns_v4())).unwrap();
    assert_eq!(
        r,
        UdpRepr {
            src_port: 5353,
            dst_port: 5353,
            payload_len: 45
        }
    );
}

#[test]
fn real_mdns_v6() {
    let p = UdpPacket::new_checked(&MDNS_V6[..]).unwrap();
    assert_eq!(
        (p.src_port(), p.dst_port(), p.len(), p.checksum()),
        (5353, 5353, 159, 0x44e9)
    );
    assert!(p.verify_checksum(&ph_mdns_v6()));
    assert!(!p.verify_checksum(&ph_mdns_v4()));
    assert_eq!(
        UdpRepr::parse(&p, Some(&ph_mdns_v6())).unwrap().payload_len,
        151
    );
}

#[test]
fn real_dns_v4() {
    let ph = PseudoHeader::from((
        Ipv4Addr::new(192, 168, 1, 71),
        Ipv4Addr::new(192, 168, 1, 1),
    ));
    let p = UdpPacket::new_checked(&DNS_V4[..]).unwrap();
    assert_eq!(
        (p.src_port(), p.dst_port(), p.len(), p.checksum()),
        (64480, 53, 50, 0xe1a0)
    );
    assert!(p.verify_checksum(&ph));
    let r = UdpRepr::parse(&p, Some(&ph)).unwrap();
    // Emit into a fresh buffer reproduces the capture byte for byte.
    let mut out = [0u8; 50];
    out[8..].copy_from_slice(p.payload());
    r.emit(&mut UdpPacket::new_unchecked(&mut out[..]), Some(&ph));
    assert_eq!(out, DNS_V4);
}

#[test]
fn payload_clipped_to_length_field() {
    let mut padded = [0u8; 60];
    padded[..50].copy_from_slice(&DNS_V4);
    padded[50..].fill(0xee);
    let p = UdpPacket::new_checked(&padded[..]).unwrap();
    assert_eq!(p.payload(), &DNS_V4[8..]);
    let ph = PseudoHeader::from((
        Ipv4Addr::new(192, 168, 1, 71),
        Ipv4Addr::new(192, 168, 1, 1),
    ));
    assert!(p.verify_checksum(&ph));
}

#[test]
fn truncated_at_every_length() {
    for n in 0..MDNS_V4.len() {
        assert_eq!(
            UdpPacket::new_checked(&MDNS_V4[..n]).unwrap_err(),
            Error::Truncated,
            "len {n}"
        );
    }
}

#[test]
fn length_field_below_header_is_malformed() {
    for l in 0..8u16 {
        let mut b = DNS_V4;
        b[4..6].copy_from_slice(&l.to_be_bytes());
        assert_eq!(
            UdpPacket::new_checked(&b[..]).unwrap_err(),
            Error::Malformed
        );
    }
}

#[test]
fn bad_checksum_rejected() {
    let mut b = MDNS_V4;
    b[10] ^= 1;
    let p = UdpPacket::new_checked(&b[..]).unwrap();
    assert_eq!(
        UdpRepr::parse(&p, Some(&ph_mdns_v4())),
        Err(Error::BadChecksum)
    );
    assert!(UdpRepr::parse(&p, None).is_ok());
}

#[test]
fn zero_checksum_means_none_on_v4_only() {
    let mut b = MDNS_V4;
    b[6..8].fill(0);
    let p = UdpPacket::new_checked(&b[..]).unwrap();
    assert!(p.verify_checksum(&ph_mdns_v4()));
    let mut b = MDNS_V6;
    b[6..8].fill(0);
    let p = UdpPacket::new_checked(&b[..]).unwrap();
    assert!(!p.verify_checksum(&ph_mdns_v6()));
}

#[test]
fn computed_zero_is_sent_as_ffff() {
    // Search a source port that makes the sum come out at zero.
    let ph = PseudoHeader::from((Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2)));
    let mut found = false;
    for sp in 0..=u16::MAX {
        let mut b = [0u8; 8];
        let r = UdpRepr {
            src_port: sp,
            dst_port: 9,
            payload_len: 0,
        };
        let mut p = UdpPacket::new_unchecked(&mut b[..]);
        r.emit(&mut p, None);
        p.set_checksum(0);
        let sum = checksum::combine(&[ph.sum(IpProtocol::Udp, 8), checksum::data(&b)]);
        if checksum::finish(sum) == 0 {
            let mut p = UdpPacket::new_unchecked(&mut b[..]);
            p.fill_checksum(&ph);
            assert_eq!(p.checksum(), 0xffff);
            assert!(p.verify_checksum(&ph));
            found = true;
            break;
        }
    }
    assert!(found);
}

proptest! {
    #[test]
    fn round_trip(src_port: u16, dst_port: u16, payload in proptest::collection::vec(any::<u8>(), 0..300),
                  s6: [u8; 16], d6: [u8; 16], v6: bool) {
        let ph = if v6 {
            PseudoHeader::V6 { src: Ipv6Addr::from(s6), dst: Ipv6Addr::from(d6) }
        } else {
            PseudoHeader::V4 { src: Ipv4Addr::from(u32::from_be_bytes([s6[0], s6[1], s6[2], s6[3]])),
                               dst: Ipv4Addr::from(u32::from_be_bytes([d6[0], d6[1], d6[2], d6[3]])) }
        };
        let repr = UdpRepr { src_port, dst_port, payload_len: payload.len() };
        let mut buf = vec![0u8; repr.buffer_len()];
        buf[HEADER_LEN..].copy_from_slice(&payload);
        repr.emit(&mut UdpPacket::new_unchecked(&mut buf[..]), Some(&ph));
        let p = UdpPacket::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(UdpRepr::parse(&p, Some(&ph)), Ok(repr));
        prop_assert_eq!(p.payload(), &payload[..]);
    }

    #[test]
    fn fuzz_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        fuzz(&data);
    }
}
