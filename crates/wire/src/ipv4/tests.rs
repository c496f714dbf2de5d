//! Tests for [`super`]: byte vectors from real captures, malformed cases, properties.

use super::*;
use proptest::prelude::*;

/// zeek_wikipedia.pcap frame 1, from the IPv4 header: mDNS query 141.142.220.202 ->
/// 224.0.0.251, DF, TTL 255, UDP, 73 bytes.
const WIKI_MDNS: [u8; 73] = [
    0x45, 0x00, 0x00, 0x49, 0x00, 0x00, 0x40, 0x00, 0xff, 0x11, 0x30, 0x4f, 0x8d, 0x8e, 0xdc, 0xca,
    0xe0, 0x00, 0x00, 0xfb, 0x14, 0xe9, 0x14, 0xe9, 0x00, 0x35, 0x7f, 0x62, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0x67, 0x65, 0x6d, 0x69, 0x6e, 0x69, 0x09,
    0x5f, 0x73, 0x66, 0x74, 0x70, 0x2d, 0x73, 0x73, 0x68, 0x04, 0x5f, 0x74, 0x63, 0x70, 0x05, 0x6c,
    0x6f, 0x63, 0x61, 0x6c, 0x00, 0x00, 0x21, 0x00, 0x01,
];

/// zeek_http-bro.org.pcap frame 2, from the IPv4 header: SYN-ACK 192.150.187.43 ->
/// 10.0.2.15, total length 44 in a 46-byte Ethernet payload (2 bytes of padding).
const BRO_SYNACK_PADDED: [u8; 46] = [
    0x45, 0x00, 0x00, 0x2c, 0x57, 0xf4, 0x00, 0x00, 0x40, 0x06, 0x9b, 0x07, 0xc0, 0x96, 0xbb, 0x2b,
    0x0a, 0x00, 0x02, 0x0f, 0x00, 0x50, 0xd7, 0x27, 0x42, 0xae, 0x50, 0x01, 0xe9, 0xfd, 0xc7, 0xea,
    0x60, 0x12, 0xff, 0xff, 0xf4, 0x35, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x00, 0x00,
];

/// zeek_ipv4-fragmented-tcp.pcap frame 1, the IPv4 header only (total length 1500):
/// first fragment, DF+MF, offset 0, ident 0x4bc5.
const FRAG1_HDR: [u8; 20] = [
    0x45, 0x00, 0x05, 0xdc, 0x4b, 0xc5, 0x60, 0x00, 0x33, 0x06, 0xa9, 0x2b, 0xd2, 0x36, 0xd5, 0xf7,
    0x83, 0xf3, 0x01, 0x0a,
];

/// zeek_ipv4-fragmented-tcp.pcap frame 2, the IPv4 header only: offset 1480, MF.
const FRAG2_HDR: [u8; 20] = [
    0x45, 0x00, 0x05, 0xdc, 0x4b, 0xc5, 0x60, 0xb9, 0x33, 0x06, 0xa8, 0x72, 0xd2, 0x36, 0xd5, 0xf7,
    0x83, 0xf3, 0x01, 0x0a,
];

/// A fragment header from a capture with a zero payload of the right length appended.
fn with_payload(hdr: &[u8]) -> Vec<u8> {
    let total = usize::from(u16::from_be_bytes([hdr[2], hdr[3]]));
    let mut v = hdr.to_vec();
    v.resize(total, 0);
    v
}

#[test]
fn wikipedia_mdns() {
    let p = Ipv4Packet::new_checked(&WIKI_MDNS[..]).unwrap();
    assert_eq!(p.version(), 4);
    assert_eq!(p.header_len(), 20);
    assert_eq!((p.dscp(), p.ecn()), (0, 0));
    assert_eq!(p.total_len(), 73);
    assert_eq!(p.ident(), 0);
    assert!(p.dont_frag() && !p.more_frags() && !p.reserved_flag());
    assert_eq!(p.frag_offset(), 0);
    assert!(!p.is_fragment());
    assert_eq!(p.ttl(), 255);
    assert_eq!(p.protocol(), IpProtocol::Udp);
    assert_eq!(p.checksum(), 0x304f);
    assert!(p.verify_checksum());
    assert_eq!(p.src_addr(), Ipv4Addr::new(141, 142, 220, 202));
    assert_eq!(p.dst_addr(), Ipv4Addr::new(224, 0, 0, 251));
    assert!(p.options().is_empty());
    assert_eq!(p.options_iter().count(), 0);
    assert_eq!(p.payload().len(), 53);
    assert_eq!(&p.payload()[..4], &[0x14, 0xe9, 0x14, 0xe9]); // UDP 5353 -> 5353

    let r = Ipv4Repr::parse(&p, true).unwrap();
    assert_eq!(
        r,
        Ipv4Repr {
            src_addr: Ipv4Addr::new(141, 142, 220, 202),
            dst_addr: Ipv4Addr::new(224, 0, 0, 251),
            protocol: IpProtocol::Udp,
            payload_len: 53,
            ttl: 255,
            dscp: 0,
            ecn: 0,
            ident: 0,
            dont_frag: true,
            more_frags: false,
            frag_offset: 0,
            options: Ipv4Options::EMPTY,
        }
    );
    let mut out = [0u8; 20];
    r.emit(&mut Ipv4Packet::new_unchecked(&mut out[..]));
    assert_eq!(out, WIKI_MDNS[..20]);
    assert_eq!(
        p.to_string(),
        "IPv4 src=141.142.220.202 dst=224.0.0.251 proto=Udp len=73 ttl=255 id=0x0000"
    );
}

#[test]
fn payload_clips_ethernet_padding() {
    let p = Ipv4Packet::new_checked(&BRO_SYNACK_PADDED[..]).unwrap();
    assert_eq!(p.total_len(), 44);
    assert_eq!(p.ident(), 0x57f4);
    assert!(!p.dont_frag());
    assert_eq!(p.ttl(), 64);
    assert_eq!(p.protocol(), IpProtocol::Tcp);
    assert!(p.verify_checksum());
    assert_eq!(p.src_addr(), Ipv4Addr::new(192, 150, 187, 43));
    assert_eq!(p.dst_addr(), Ipv4Addr::new(10, 0, 2, 15));
    // 24 bytes of TCP (20 + MSS option), not the 26 bytes left in the frame.
    assert_eq!(p.payload().len(), 24);
    assert_eq!(&p.payload()[20..], &[0x02, 0x04, 0x05, 0xb4]);
    assert_eq!(Ipv4Repr::parse(&p, true).unwrap().payload_len, 24);
}

#[test]
fn real_fragments() {
    let b1 = with_payload(&FRAG1_HDR);
    let p = Ipv4Packet::new_checked(&b1[..]).unwrap();
    assert_eq!(p.total_len(), 1500);
    assert_eq!(p.ident(), 0x4bc5);
    assert!(p.dont_frag() && p.more_frags() && p.is_fragment());
    assert_eq!(p.frag_offset(), 0);
    assert_eq!(p.ttl(), 51);
    assert_eq!(p.protocol(), IpProtocol::Tcp);
    assert!(p.verify_checksum());
    assert_eq!(p.src_addr(), Ipv4Addr::new(210, 54, 213, 247));
    assert_eq!(p.dst_addr(), Ipv4Addr::new(131, 243, 1, 10));
    assert_eq!(p.payload().len(), 1480);

    let b2 = with_payload(&FRAG2_HDR);
    let p = Ipv4Packet::new_checked(&b2[..]).unwrap();
    assert!(p.more_frags() && p.is_fragment());
    assert_eq!(p.frag_offset(), 1480);
    assert!(p.verify_checksum());
    let r = Ipv4Repr::parse(&p, true).unwrap();
    assert_eq!(
        (r.more_frags, r.frag_offset, r.dont_frag, r.payload_len),
        (true, 1480, true, 1480)
    );
    let mut out = [0u8; 20];
    r.emit(&mut Ipv4Packet::new_unchecked(&mut out[..]));
    assert_eq!(out, FRAG2_HDR);
    assert!(p.to_string().ends_with("frag off=1480 mf=true"));
}

#[test]
fn truncated_at_every_length() {
    for n in 0..WIKI_MDNS.len() {
        assert_eq!(
            Ipv4Packet::new_checked(&WIKI_MDNS[..n]).err(),
            Some(Error::Truncated),
            "len {n}"
        );
    }
    // The header alone of a 1500-byte fragment: total length > buffer.
    assert_eq!(
        Ipv4Packet::new_checked(&FRAG1_HDR[..]).err(),
        Some(Error::Truncated)
    );
}

#[test]
fn ihl_below_five_is_malformed() {
    for ihl in 0..5u8 {
        let mut b = WIKI_MDNS;
        b[0] = 0x40 | ihl;
        assert_eq!(
            Ipv4Packet::new_checked(&b[..]).err(),
            Some(Error::Malformed),
            "ihl {ihl}"
        );
    }
}

#[test]
fn header_longer_than_buffer() {
    let mut b = [0u8; 40];
    b[..20].copy_from_slice(&WIKI_MDNS[..20]);
    b[0] = 0x4f; // 60-byte header in a 40-byte buffer
    b[2..4].copy_from_slice(&40u16.to_be_bytes());
    assert_eq!(
        Ipv4Packet::new_checked(&b[..]).err(),
        Some(Error::Truncated)
    );
}

#[test]
fn total_len_checks() {
    let mut b = WIKI_MDNS;
    b[2..4].copy_from_slice(&74u16.to_be_bytes()); // one more than the buffer
    assert_eq!(
        Ipv4Packet::new_checked(&b[..]).err(),
        Some(Error::Truncated)
    );
    b[2..4].copy_from_slice(&19u16.to_be_bytes()); // below the header
    assert_eq!(
        Ipv4Packet::new_checked(&b[..]).err(),
        Some(Error::Malformed)
    );
    b[2..4].copy_from_slice(&0u16.to_be_bytes()); // BIG TCP / TSO style zero length
    assert_eq!(
        Ipv4Packet::new_checked(&b[..]).err(),
        Some(Error::Malformed)
    );
    b[2..4].copy_from_slice(&20u16.to_be_bytes()); // header only: empty payload
    assert!(Ipv4Packet::new_checked(&b[..])
        .unwrap()
        .payload()
        .is_empty());
}

#[test]
fn bad_checksum_and_version() {
    let mut b = WIKI_MDNS;
    b[10] ^= 0x01;
    let p = Ipv4Packet::new_checked(&b[..]).unwrap();
    assert!(!p.verify_checksum());
    assert_eq!(Ipv4Repr::parse(&p, true), Err(Error::BadChecksum));
    assert!(Ipv4Repr::parse(&p, false).is_ok());
    let mut b = WIKI_MDNS;
    b[0] = 0x65;
    assert_eq!(
        Ipv4Repr::parse(&Ipv4Packet::new_checked(&b[..]).unwrap(), false),
        Err(Error::BadVersion)
    );
}

/// An IGMPv2 membership report as Linux sends it: IHL 6 with a Router Alert option
/// (RFC 2113), TTL 1, DSCP CS6. Built here (no capture in /work/shared/pcaps has IPv4
/// options); checksum filled by `fill_checksum`.
fn igmp_with_router_alert() -> [u8; 32] {
    let mut b = [
        0x46, 0xc0, 0x00, 0x20, 0x00, 0x00, 0x40, 0x00, 0x01, 0x02, 0x00, 0x00, 0xc0, 0xa8, 0x01,
        0x47, 0xe0, 0x00, 0x00, 0xfb, 0x94, 0x04, 0x00, 0x00, 0x16, 0x00, 0x09, 0x04, 0xe0, 0x00,
        0x00, 0xfb,
    ];
    Ipv4Packet::new_unchecked(&mut b[..]).fill_checksum();
    b
}

#[test]
fn router_alert_option() {
    let b = igmp_with_router_alert();
    let p = Ipv4Packet::new_checked(&b[..]).unwrap();
    assert!(p.verify_checksum());
    assert_eq!(p.header_len(), 24);
    assert_eq!((p.dscp(), p.ecn()), (48, 0));
    assert_eq!(p.options(), &[0x94, 0x04, 0x00, 0x00]);
    let opts: Vec<_> = p.options_iter().collect();
    assert_eq!(
        opts,
        [Ok(Ipv4Option::Other {
            kind: option_kind::ROUTER_ALERT,
            data: &[0, 0]
        })]
    );
    assert!(option_kind::is_copied(option_kind::ROUTER_ALERT));
    assert_eq!(
        p.payload(),
        &[0x16, 0x00, 0x09, 0x04, 0xe0, 0x00, 0x00, 0xfb]
    );
    let r = Ipv4Repr::parse(&p, true).unwrap();
    assert_eq!(r.options.as_bytes(), &[0x94, 0x04, 0x00, 0x00]);
    assert_eq!(r.buffer_len(), 24);
    let mut out = [0u8; 24];
    r.emit(&mut Ipv4Packet::new_unchecked(&mut out[..]));
    assert_eq!(out, b[..24]);
}

#[test]
fn option_iterator_nop_eol_and_rr() {
    // NOP, Record Route with one slot, EOL, then padding that must not be read.
    let o = [
        0x01, 0x07, 0x07, 0x04, 0x0a, 0x00, 0x00, 0x01, 0x00, 0xff, 0xff, 0xff,
    ];
    let v: Vec<_> = Ipv4OptionIter::new(&o).collect();
    assert_eq!(
        v,
        [
            Ok(Ipv4Option::Nop),
            Ok(Ipv4Option::Other {
                kind: option_kind::RECORD_ROUTE,
                data: &[0x04, 0x0a, 0x00, 0x00, 0x01]
            }),
            Ok(Ipv4Option::EndOfList),
        ]
    );
    assert_eq!(v[1].unwrap().len(), 7);
    assert!(Ipv4Options::new(&o).is_ok());
}

#[test]
fn option_overrunning_its_header() {
    // Length 8 in a 4-byte options area.
    assert_eq!(
        Ipv4OptionIter::new(&[0x94, 0x08, 0, 0]).collect::<Vec<_>>(),
        [Err(Error::Malformed)]
    );
    // Length below 2.
    assert_eq!(
        Ipv4OptionIter::new(&[0x01, 0x94, 0x01, 0]).collect::<Vec<_>>(),
        [Ok(Ipv4Option::Nop), Err(Error::Malformed)]
    );
    // Length byte missing.
    assert_eq!(
        Ipv4OptionIter::new(&[0x01, 0x01, 0x01, 0x94]).last(),
        Some(Err(Error::Malformed))
    );
    // In a packet: Repr::parse says Malformed, the view still reads everything.
    let mut b = igmp_with_router_alert();
    b[21] = 0x06;
    let mut p = Ipv4Packet::new_unchecked(&mut b[..]);
    p.fill_checksum();
    let p = Ipv4Packet::new_checked(&b[..]).unwrap();
    assert_eq!(Ipv4Repr::parse(&p, true), Err(Error::Malformed));
    assert_eq!(p.payload().len(), 8);
    // Options whose length is not a multiple of 4 cannot go into a Repr.
    assert_eq!(Ipv4Options::new(&[0x01]), Err(Error::Malformed));
    assert_eq!(Ipv4Options::new(&[0x01; 44]), Err(Error::Malformed));
}

#[test]
fn setters_and_ttl_decrement() {
    let mut b = WIKI_MDNS;
    let mut p = Ipv4Packet::new_checked(&mut b[..]).unwrap();
    assert_eq!(p.decrement_ttl(), 254);
    assert!(p.verify_checksum());
    let inc = p.checksum();
    p.fill_checksum();
    assert_eq!(p.checksum(), inc);
    p.set_dscp(46);
    p.set_ecn(3);
    p.set_more_frags(true);
    p.set_dont_frag(false);
    p.set_frag_offset(8 * 100);
    p.set_ident(0xbeef);
    p.set_src_addr(Ipv4Addr::new(10, 0, 0, 1));
    p.set_dst_addr(Ipv4Addr::new(10, 0, 0, 2));
    p.set_protocol(IpProtocol::Tcp);
    p.set_ttl(1);
    assert_eq!(
        (p.dscp(), p.ecn(), p.more_frags(), p.dont_frag()),
        (46, 3, true, false)
    );
    assert_eq!((p.frag_offset(), p.ident(), p.ttl()), (800, 0xbeef, 1));
    assert_eq!(
        (p.src_addr(), p.dst_addr()),
        (Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2))
    );
    p.fill_checksum();
    assert_eq!(p.decrement_ttl(), 0);
    assert!(p.verify_checksum());
    assert_eq!(p.decrement_ttl(), 0);
    p.payload_mut()[0] = 0xaa;
    assert_eq!(p.payload()[0], 0xaa);
}

#[test]
fn cidr() {
    let c: Ipv4Cidr = "192.168.1.77/24".parse().unwrap();
    assert_eq!(c.netmask(), Ipv4Addr::new(255, 255, 255, 0));
    assert_eq!(c.network().to_string(), "192.168.1.0/24");
    assert_eq!(c.broadcast(), Some(Ipv4Addr::new(192, 168, 1, 255)));
    assert!(c.contains_addr(&Ipv4Addr::new(192, 168, 1, 3)));
    assert!(!c.contains_addr(&Ipv4Addr::new(192, 168, 2, 3)));
    assert!(c.contains_subnet(&"192.168.1.128/25".parse().unwrap()));
    assert!(!c.contains_subnet(&"192.168.0.0/16".parse().unwrap()));
    let all = Ipv4Cidr::new(Ipv4Addr::UNSPECIFIED, 0).unwrap();
    assert!(all.contains_addr(&Ipv4Addr::BROADCAST));
    assert_eq!(all.netmask(), Ipv4Addr::UNSPECIFIED);
    let host = Ipv4Cidr::new(Ipv4Addr::new(10, 1, 1, 1), 32).unwrap();
    assert_eq!(host.broadcast(), None);
    assert!(host.contains_addr(&Ipv4Addr::new(10, 1, 1, 1)));
    assert!(!host.contains_addr(&Ipv4Addr::new(10, 1, 1, 2)));
    assert_eq!(
        Ipv4Cidr::new(Ipv4Addr::UNSPECIFIED, 33),
        Err(Error::Malformed)
    );
    assert_eq!("10.0.0.0".parse::<Ipv4Cidr>(), Err(Error::Malformed));
    assert_eq!("10.0.0.0/x".parse::<Ipv4Cidr>(), Err(Error::Malformed));
}

#[test]
fn fuzz_entry_on_vectors() {
    fuzz(&WIKI_MDNS);
    fuzz(&BRO_SYNACK_PADDED);
    fuzz(&with_payload(&FRAG2_HDR));
    fuzz(&igmp_with_router_alert());
}

/// Well-formed option areas: a run of NOPs, Router Alerts and short TLVs, padded with EOL
/// to a multiple of 4 bytes.
fn options_strategy() -> impl Strategy<Value = Ipv4Options> {
    proptest::collection::vec(
        prop_oneof![
            Just(vec![option_kind::NOP]),
            Just(vec![option_kind::ROUTER_ALERT, 4, 0, 0]),
            (2u8..=8, any::<u8>()).prop_map(|(len, kind)| {
                let kind = if kind < 2 { kind + 2 } else { kind };
                let mut v = vec![kind, len];
                v.resize(usize::from(len), 0x5a);
                v
            }),
        ],
        0..5,
    )
    .prop_map(|parts| {
        let mut v: Vec<u8> = parts.concat();
        v.truncate(MAX_OPTIONS_LEN - 4);
        // Keep only whole options after truncation: re-walk and cut at the last good one.
        let mut good = 0;
        for o in Ipv4OptionIter::new(&v) {
            match o {
                Ok(o) => good += o.len(),
                Err(_) => break,
            }
        }
        v.truncate(good);
        while !v.len().is_multiple_of(4) {
            v.push(option_kind::END_OF_LIST);
        }
        Ipv4Options::new(&v).unwrap()
    })
}

proptest! {
    #[test]
    fn repr_round_trip(src in any::<u32>(), dst in any::<u32>(), proto in any::<u8>(),
                       payload_len in 0u16..2000, ttl in any::<u8>(), dscp in 0u8..64, ecn in 0u8..4,
                       ident in any::<u16>(), dont_frag in any::<bool>(), more_frags in any::<bool>(),
                       frag in 0u16..8192, options in options_strategy()) {
        let r = Ipv4Repr {
            src_addr: Ipv4Addr::from_bits(src),
            dst_addr: Ipv4Addr::from_bits(dst),
            protocol: IpProtocol::from(proto),
            payload_len,
            ttl, dscp, ecn, ident, dont_frag, more_frags,
            frag_offset: frag * 8,
            options,
        };
        let mut buf = vec![0u8; r.buffer_len() + usize::from(payload_len)];
        r.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));
        // The checksum emit computes from the values equals the one over the bytes.
        let mut again = buf.clone();
        Ipv4Packet::new_unchecked(&mut again[..]).fill_checksum();
        prop_assert_eq!(&again, &buf);
        let p = Ipv4Packet::new_checked(&buf[..]).unwrap();
        prop_assert!(p.verify_checksum());
        prop_assert_eq!(p.payload().len(), usize::from(payload_len));
        prop_assert_eq!(Ipv4Repr::parse(&p, true), Ok(r));
    }

    #[test]
    fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..120)) {
        fuzz(&data);
    }

    #[test]
    fn never_panics_plausible(mut data in proptest::collection::vec(any::<u8>(), 20..120), ihl in 5u8..16) {
        data[0] = 0x40 | ihl;
        let n = data.len() as u16;
        data[2..4].copy_from_slice(&n.to_be_bytes());
        fuzz(&data);
    }

    #[test]
    fn cidr_contains_matches_mask(a in any::<u32>(), b in any::<u32>(), len in 0u8..=32) {
        let c = Ipv4Cidr::new(Ipv4Addr::from_bits(a), len).unwrap();
        let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
        prop_assert_eq!(c.contains_addr(&Ipv4Addr::from_bits(b)), a & mask == b & mask);
    }
}
