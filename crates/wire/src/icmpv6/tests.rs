//! The ICMPv6 in /work/shared/pcaps is absent (zeek_wikipedia.pcap's IPv6 frames are UDP),
//! so these vectors were generated with scapy 2.8.0, an independent implementation (its
//! checksums included). The addresses are in each vector's comment.

use super::*;
use crate::ndisc::*;
use proptest::prelude::*;

fn a(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

/// scapy 2.8.0, 2001:db8::1 -> 2001:db8::2: `ICMPv6EchoRequest(id=0x1234, seq=7, data="uplane-ping-data")`
const ECHO_REQUEST: [u8; 24] = [
    0x80, 0x00, 0xea, 0xf6, 0x12, 0x34, 0x00, 0x07, 0x75, 0x70, 0x6c, 0x61, 0x6e, 0x65, 0x2d, 0x70,
    0x69, 0x6e, 0x67, 0x2d, 0x64, 0x61, 0x74, 0x61,
];

/// scapy 2.8.0, 2001:db8::2 -> 2001:db8::1: `ICMPv6EchoReply(id=0x1234, seq=7, data="uplane-ping-data")`
const ECHO_REPLY: [u8; 24] = [
    0x81, 0x00, 0xe9, 0xf6, 0x12, 0x34, 0x00, 0x07, 0x75, 0x70, 0x6c, 0x61, 0x6e, 0x65, 0x2d, 0x70,
    0x69, 0x6e, 0x67, 0x2d, 0x64, 0x61, 0x74, 0x61,
];

/// scapy 2.8.0, 2001:db8::2 -> 2001:db8::1: `ICMPv6DestUnreach(code=4)/<IPv6 hlim 1 UDP 33434 -> 33435>`
const PORT_UNREACH: [u8; 60] = [
    0x01, 0x04, 0x32, 0x20, 0x00, 0x00, 0x00, 0x00, 0x60, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x11, 0x01,
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
    0x82, 0x9a, 0x82, 0x9b, 0x00, 0x0c, 0x9f, 0x2b, 0x00, 0x00, 0x00, 0x00,
];

/// scapy 2.8.0, 2001:db8::fe -> 2001:db8::1: `ICMPv6PacketTooBig(mtu=1280)/<IPv6 UDP>`
const PKT_TOO_BIG: [u8; 60] = [
    0x02, 0x00, 0x2b, 0x28, 0x00, 0x00, 0x05, 0x00, 0x60, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x11, 0x01,
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
    0x82, 0x9a, 0x82, 0x9b, 0x00, 0x0c, 0x9f, 0x2b, 0x00, 0x00, 0x00, 0x00,
];

/// scapy 2.8.0, 2001:db8::fe -> 2001:db8::1: `ICMPv6TimeExceeded(code=0)/<IPv6 UDP>`
const TIME_EXCEEDED: [u8; 60] = [
    0x03, 0x00, 0x2f, 0x28, 0x00, 0x00, 0x00, 0x00, 0x60, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x11, 0x01,
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
    0x82, 0x9a, 0x82, 0x9b, 0x00, 0x0c, 0x9f, 0x2b, 0x00, 0x00, 0x00, 0x00,
];

/// scapy 2.8.0, 2001:db8::2 -> 2001:db8::1: `ICMPv6ParamProblem(code=1, ptr=6)/<IPv6 UDP>`
const PARAM_PROBLEM: [u8; 60] = [
    0x04, 0x01, 0x2f, 0x1d, 0x00, 0x00, 0x00, 0x06, 0x60, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x11, 0x01,
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
    0x82, 0x9a, 0x82, 0x9b, 0x00, 0x0c, 0x9f, 0x2b, 0x00, 0x00, 0x00, 0x00,
];

/// scapy 2.8.0, fe80::2 -> ff02::2: `ICMPv6ND_RS()/ICMPv6NDOptSrcLLAddr(lladdr=66:77:88:99:aa:bb)`
const ROUTER_SOLICIT: [u8; 16] = [
    0x85, 0x00, 0xe2, 0x5f, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
];

/// scapy 2.8.0, fe80::1 -> ff02::1: `ICMPv6ND_RA(chlim=64, O=1, routerlifetime=1800, reachabletime=30000, retranstimer=1000)/SrcLLAddr(00:11:22:33:44:55)/MTU(1500)/PrefixInfo(2001:db8:1::/64 L A 86400 14400)`
const ROUTER_ADVERT: [u8; 64] = [
    0x86, 0x00, 0x4d, 0xdf, 0x40, 0x48, 0x07, 0x08, 0x00, 0x00, 0x75, 0x30, 0x00, 0x00, 0x03, 0xe8,
    0x01, 0x01, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x05, 0x01, 0x00, 0x00, 0x00, 0x00, 0x05, 0xdc,
    0x03, 0x04, 0x40, 0xc0, 0x00, 0x01, 0x51, 0x80, 0x00, 0x00, 0x38, 0x40, 0x00, 0x00, 0x00, 0x00,
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];

/// scapy 2.8.0, fe80::2 -> ff02::1:ff00:1: `ICMPv6ND_NS(tgt=fe80::1)/ICMPv6NDOptSrcLLAddr(lladdr=66:77:88:99:aa:bb)`
const NEIGHBOR_SOLICIT: [u8; 32] = [
    0x87, 0x00, 0xe2, 0xcc, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x01, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
];

/// scapy 2.8.0, fe80::1 -> fe80::2: `ICMPv6ND_NA(R=1, S=1, O=1, tgt=fe80::1)/ICMPv6NDOptDstLLAddr(lladdr=00:11:22:33:44:55)`
const NEIGHBOR_ADVERT: [u8; 32] = [
    0x88, 0x00, 0x33, 0x83, 0xe0, 0x00, 0x00, 0x00, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x01, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
];

/// scapy 2.8.0, fe80::1 -> fe80::2: `ICMPv6ND_Redirect(tgt=fe80::3, dst=2001:db8:5::9)/DstLLAddr(00:11:22:33:44:66)/RedirectedHdr(<IPv6 fe80::2 -> 2001:db8:5::9 UDP 1 -> 2>)`
const REDIRECT: [u8; 104] = [
    0x89, 0x00, 0x6f, 0x2b, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x05, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x02, 0x01, 0x00, 0x11, 0x22, 0x33, 0x44, 0x66,
    0x04, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x60, 0x00, 0x00, 0x00, 0x00, 0x08, 0x11, 0x40,
    0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09,
    0x00, 0x01, 0x00, 0x02, 0x00, 0x08, 0xd3, 0x91,
];

fn round_trip_bytes(bytes: &[u8], src: Ipv6Addr, dst: Ipv6Addr) -> Icmpv6Repr<'_> {
    let p = Icmpv6Packet::new_checked(bytes).unwrap();
    assert!(p.verify_checksum(src, dst));
    let r = Icmpv6Repr::parse(&p, src, dst).unwrap();
    assert_eq!(r.buffer_len(), bytes.len());
    let mut out = vec![0xaau8; r.buffer_len()];
    r.emit(&mut Icmpv6Packet::new_unchecked(&mut out[..]), src, dst);
    assert_eq!(out, bytes, "emit reproduces the vector");
    r
}

#[test]
fn echo() {
    let r = round_trip_bytes(&ECHO_REQUEST, a("2001:db8::1"), a("2001:db8::2"));
    assert_eq!(
        r,
        Icmpv6Repr::EchoRequest {
            ident: 0x1234,
            seq_no: 7,
            data: b"uplane-ping-data"
        }
    );
    let r = round_trip_bytes(&ECHO_REPLY, a("2001:db8::2"), a("2001:db8::1"));
    assert_eq!(
        r,
        Icmpv6Repr::EchoReply {
            ident: 0x1234,
            seq_no: 7,
            data: b"uplane-ping-data"
        }
    );
    let p = Icmpv6Packet::new_checked(&ECHO_REQUEST[..]).unwrap();
    assert_eq!(
        (p.msg_type(), p.msg_code(), p.echo_ident(), p.echo_seq_no()),
        (Icmpv6Message::EchoRequest, 0, 0x1234, 7)
    );
    assert!(!p.msg_type().is_error());
    assert_eq!(
        Icmpv6Repr::parse(&p, a("2001:db8::1"), a("2001:db8::3")),
        Err(Error::BadChecksum)
    );
}

#[test]
fn errors() {
    let (s, d) = (a("2001:db8::2"), a("2001:db8::1"));
    let r = round_trip_bytes(&PORT_UNREACH, s, d);
    assert_eq!(
        r,
        Icmpv6Repr::DstUnreachable {
            reason: Icmpv6DstUnreachable::PortUnreachable,
            invoking: &PORT_UNREACH[8..]
        }
    );
    let Icmpv6Repr::DstUnreachable { invoking, .. } = r else {
        unreachable!()
    };
    assert_eq!(invoking[0] >> 4, 6);
    assert_eq!(invoking.len(), 52);

    let r = round_trip_bytes(&PKT_TOO_BIG, a("2001:db8::fe"), d);
    assert_eq!(
        r,
        Icmpv6Repr::PktTooBig {
            mtu: 1280,
            invoking: &PKT_TOO_BIG[8..]
        }
    );
    assert_eq!(
        Icmpv6Packet::new_checked(&PKT_TOO_BIG[..])
            .unwrap()
            .pkt_too_big_mtu(),
        1280
    );

    let r = round_trip_bytes(&TIME_EXCEEDED, a("2001:db8::fe"), d);
    assert_eq!(
        r,
        Icmpv6Repr::TimeExceeded {
            reason: Icmpv6TimeExceeded::HopLimitExceeded,
            invoking: &TIME_EXCEEDED[8..]
        }
    );

    let r = round_trip_bytes(&PARAM_PROBLEM, s, d);
    assert_eq!(
        r,
        Icmpv6Repr::ParamProblem {
            reason: Icmpv6ParamProblem::UnrecognizedNxtHdr,
            pointer: 6,
            invoking: &PARAM_PROBLEM[8..]
        }
    );
    assert!(Icmpv6Message::ParamProblem.is_error());
}

#[test]
fn router_solicit() {
    let r = round_trip_bytes(&ROUTER_SOLICIT, a("fe80::2"), a("ff02::2"));
    let Icmpv6Repr::Ndisc(nd @ NdiscRepr::RouterSolicit { .. }) = r else {
        panic!("{r:?}")
    };
    assert_eq!(
        nd.options().source_lladdr(),
        Some(&[0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb][..])
    );
}

#[test]
fn router_advert() {
    let r = round_trip_bytes(&ROUTER_ADVERT, a("fe80::1"), a("ff02::1"));
    let Icmpv6Repr::Ndisc(nd) = r else {
        panic!("{r:?}")
    };
    let NdiscRepr::RouterAdvert {
        hop_limit,
        flags,
        router_lifetime,
        reachable_time,
        retrans_time,
        options,
    } = nd
    else {
        panic!("{nd:?}")
    };
    assert_eq!(
        (hop_limit, router_lifetime, reachable_time, retrans_time),
        (64, 1800, 30000, 1000)
    );
    assert!(flags.contains(RouterFlags::OTHER) && !flags.contains(RouterFlags::MANAGED));
    let opts: Vec<_> = NdiscOptions::new(options).collect();
    assert_eq!(
        opts,
        [
            Ok(NdiscOption::SourceLinkLayerAddr(&[
                0x00, 0x11, 0x22, 0x33, 0x44, 0x55
            ])),
            Ok(NdiscOption::Mtu(1500)),
            Ok(NdiscOption::PrefixInformation(PrefixInfo {
                prefix_len: 64,
                flags: PrefixFlags(0xc0),
                valid_lifetime: 86400,
                preferred_lifetime: 14400,
                prefix: a("2001:db8:1::"),
            })),
        ]
    );
    let p = Icmpv6Packet::new_checked(&ROUTER_ADVERT[..]).unwrap();
    assert_eq!(
        (
            p.cur_hop_limit(),
            p.router_lifetime(),
            p.reachable_time(),
            p.retrans_time()
        ),
        (64, 1800, 30000, 1000)
    );
    assert_eq!(p.options().count(), 3);
    // Options built with NdiscOption::emit reproduce scapy's bytes.
    let mut buf = [0u8; 48];
    let mut at = 0;
    for o in opts {
        at += o.unwrap().emit(&mut buf[at..]);
    }
    assert_eq!(&buf[..at], &ROUTER_ADVERT[16..]);
}

#[test]
fn neighbor_solicit_and_advert() {
    let r = round_trip_bytes(&NEIGHBOR_SOLICIT, a("fe80::2"), a("ff02::1:ff00:1"));
    let Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit {
        target_addr,
        options,
    }) = r
    else {
        panic!("{r:?}")
    };
    assert_eq!(target_addr, a("fe80::1"));
    assert_eq!(
        NdiscOptions::new(options).source_lladdr(),
        Some(&[0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb][..])
    );

    let r = round_trip_bytes(&NEIGHBOR_ADVERT, a("fe80::1"), a("fe80::2"));
    let Icmpv6Repr::Ndisc(NdiscRepr::NeighborAdvert {
        flags,
        target_addr,
        options,
    }) = r
    else {
        panic!("{r:?}")
    };
    assert_eq!(
        flags,
        NeighborFlags::ROUTER | NeighborFlags::SOLICITED | NeighborFlags::OVERRIDE
    );
    assert_eq!(target_addr, a("fe80::1"));
    assert_eq!(
        NdiscOptions::new(options).target_lladdr(),
        Some(&[0x00, 0x11, 0x22, 0x33, 0x44, 0x55][..])
    );
    let p = Icmpv6Packet::new_checked(&NEIGHBOR_ADVERT[..]).unwrap();
    assert!(p.neighbor_flags().contains(NeighborFlags::SOLICITED));
    assert_eq!(p.target_addr(), a("fe80::1"));
}

#[test]
fn redirect() {
    let r = round_trip_bytes(&REDIRECT, a("fe80::1"), a("fe80::2"));
    let Icmpv6Repr::Ndisc(NdiscRepr::Redirect {
        target_addr,
        dest_addr,
        options,
    }) = r
    else {
        panic!("{r:?}")
    };
    assert_eq!((target_addr, dest_addr), (a("fe80::3"), a("2001:db8:5::9")));
    let opts: Vec<_> = NdiscOptions::new(options).collect();
    assert_eq!(
        opts[0],
        Ok(NdiscOption::TargetLinkLayerAddr(&[
            0x00, 0x11, 0x22, 0x33, 0x44, 0x66
        ]))
    );
    let Ok(NdiscOption::RedirectedHeader(h)) = opts[1] else {
        panic!("{:?}", opts[1])
    };
    assert_eq!(h.len(), 48);
    assert_eq!(h[0] >> 4, 6);
    assert_eq!(&h[40..44], &[0, 1, 0, 2]);
}

#[test]
fn truncated_at_every_length() {
    // Below the fixed part: a view error. Cut inside the options: the option walk reports
    // Truncated (the checksum is fixed up so parse gets that far).
    for (bytes, fixed) in [
        (&ROUTER_ADVERT[..], 16),
        (&NEIGHBOR_SOLICIT[..], 24),
        (&REDIRECT[..], 40),
        (&ROUTER_SOLICIT[..], 8),
    ] {
        for n in 0..bytes.len() {
            let r = Icmpv6Packet::new_checked(&bytes[..n]);
            if n < fixed {
                assert_eq!(r.unwrap_err(), Error::Truncated, "len {n}");
                continue;
            }
            let mut b = bytes[..n].to_vec();
            Icmpv6Packet::new_unchecked(&mut b[..])
                .fill_checksum(Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST);
            let p = Icmpv6Packet::new_checked(&b[..]).unwrap();
            let got = Icmpv6Repr::parse(&p, Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST);
            let full = Icmpv6Packet::new_checked(bytes).unwrap();
            let mut boundary = fixed;
            let mut boundaries = vec![fixed];
            for o in full.options() {
                boundary += o.unwrap().buffer_len();
                boundaries.push(boundary);
            }
            if boundaries.contains(&n) {
                assert!(got.is_ok(), "len {n}: {got:?}");
            } else {
                assert_eq!(got, Err(Error::Truncated), "len {n}");
            }
        }
    }
}

#[test]
fn option_length_zero_is_malformed() {
    let mut b = NEIGHBOR_SOLICIT;
    b[25] = 0; // the source link-layer address option's length
    let (s, d) = (a("fe80::2"), a("ff02::1:ff00:1"));
    Icmpv6Packet::new_unchecked(&mut b[..]).fill_checksum(s, d);
    let p = Icmpv6Packet::new_checked(&b[..]).unwrap();
    let mut it = p.options();
    assert_eq!(it.next(), Some(Err(Error::Malformed)));
    assert_eq!(it.next(), None);
    assert_eq!(Icmpv6Repr::parse(&p, s, d), Err(Error::Malformed));
}

#[test]
fn option_overrunning_is_truncated() {
    let mut b = NEIGHBOR_SOLICIT;
    b[25] = 2; // claims 16 bytes, 8 remain
    let (s, d) = (a("fe80::2"), a("ff02::1:ff00:1"));
    Icmpv6Packet::new_unchecked(&mut b[..]).fill_checksum(s, d);
    let p = Icmpv6Packet::new_checked(&b[..]).unwrap();
    assert_eq!(p.options().next(), Some(Err(Error::Truncated)));
    assert_eq!(Icmpv6Repr::parse(&p, s, d), Err(Error::Truncated));
}

#[test]
fn bad_known_option_lengths_and_codes() {
    assert_eq!(
        NdiscOptions::new(&[
            3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
        ])
        .next(),
        Some(Err(Error::Malformed))
    );
    assert_eq!(
        NdiscOptions::new(&[5, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).next(),
        Some(Err(Error::Malformed))
    );
    assert_eq!(NdiscOptions::new(&[1]).next(), Some(Err(Error::Truncated)));
    let u: Vec<_> = NdiscOptions::new(&[25, 1, 9, 9, 9, 9, 9, 9]).collect();
    assert_eq!(
        u,
        [Ok(NdiscOption::Unknown {
            kind: 25,
            data: &[9; 6]
        })]
    );
    // ND with a non-zero code is dropped (RFC 4861 §7.1.1).
    let mut b = NEIGHBOR_SOLICIT;
    b[1] = 1;
    Icmpv6Packet::new_unchecked(&mut b[..]).fill_checksum(Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST);
    let p = Icmpv6Packet::new_checked(&b[..]).unwrap();
    assert_eq!(
        Icmpv6Repr::parse(&p, Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST),
        Err(Error::Malformed)
    );
}

#[test]
fn nd_accessors_on_short_other_types_do_not_panic() {
    let p = Icmpv6Packet::new_checked(&[128u8, 0, 0, 0, 0, 0, 0, 0][..]).unwrap();
    assert_eq!(p.target_addr(), Ipv6Addr::UNSPECIFIED);
    assert_eq!(p.dest_addr(), Ipv6Addr::UNSPECIFIED);
    assert_eq!((p.reachable_time(), p.retrans_time()), (0, 0));
    assert_eq!(p.options().count(), 0);
}

#[allow(clippy::too_many_arguments)]
fn make_repr<'a>(
    k: u8,
    x: u32,
    y: u16,
    f: u8,
    t: [u8; 16],
    u: [u8; 16],
    body: &'a [u8],
    opts: &'a [u8],
) -> Icmpv6Repr<'a> {
    match k {
        0 => Icmpv6Repr::DstUnreachable {
            reason: f.into(),
            invoking: body,
        },
        1 => Icmpv6Repr::PktTooBig {
            mtu: x,
            invoking: body,
        },
        2 => Icmpv6Repr::TimeExceeded {
            reason: f.into(),
            invoking: body,
        },
        3 => Icmpv6Repr::ParamProblem {
            reason: f.into(),
            pointer: x,
            invoking: body,
        },
        4 => Icmpv6Repr::EchoRequest {
            ident: y,
            seq_no: x as u16,
            data: body,
        },
        5 => Icmpv6Repr::EchoReply {
            ident: y,
            seq_no: x as u16,
            data: body,
        },
        6 => Icmpv6Repr::Ndisc(NdiscRepr::RouterSolicit { options: opts }),
        7 => Icmpv6Repr::Ndisc(NdiscRepr::RouterAdvert {
            hop_limit: f,
            flags: RouterFlags(y as u8),
            router_lifetime: y,
            reachable_time: x,
            retrans_time: x.rotate_left(7),
            options: opts,
        }),
        8 => Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit {
            target_addr: t.into(),
            options: opts,
        }),
        9 => Icmpv6Repr::Ndisc(NdiscRepr::NeighborAdvert {
            flags: NeighborFlags(f),
            target_addr: t.into(),
            options: opts,
        }),
        _ => Icmpv6Repr::Ndisc(NdiscRepr::Redirect {
            target_addr: t.into(),
            dest_addr: u.into(),
            options: opts,
        }),
    }
}

proptest! {
    #[test]
    fn round_trip(k in 0u8..11, x: u32, y: u16, f: u8, t: [u8; 16], u: [u8; 16], s: [u8; 16], d: [u8; 16],
                  body in proptest::collection::vec(any::<u8>(), 0..64),
                  mac: [u8; 6], mtu: u32, plen in 0u8..=128, pf: u8, hdr in proptest::collection::vec(any::<u8>(), 0..6)) {
        // A valid options area built with NdiscOption::emit.
        let mut opts = [0u8; 128];
        let mut at = 0;
        at += NdiscOption::SourceLinkLayerAddr(&mac).emit(&mut opts[at..]);
        at += NdiscOption::Mtu(mtu).emit(&mut opts[at..]);
        at += NdiscOption::PrefixInformation(PrefixInfo {
            prefix_len: plen, flags: PrefixFlags(pf), valid_lifetime: x, preferred_lifetime: mtu, prefix: u.into(),
        }).emit(&mut opts[at..]);
        let mut rh = [0u8; 48];
        rh[..hdr.len()].copy_from_slice(&hdr);
        at += NdiscOption::RedirectedHeader(&rh[..hdr.len().next_multiple_of(8)]).emit(&mut opts[at..]);
        let repr = make_repr(k, x, y, f, t, u, &body, &opts[..at]);
        let (s, d) = (Ipv6Addr::from(s), Ipv6Addr::from(d));
        let mut buf = vec![0u8; repr.buffer_len()];
        repr.emit(&mut Icmpv6Packet::new_unchecked(&mut buf[..]), s, d);
        let p = Icmpv6Packet::new_checked(&buf[..]).unwrap();
        prop_assert!(p.verify_checksum(s, d));
        prop_assert_eq!(Icmpv6Repr::parse(&p, s, d), Ok(repr));
    }

    #[test]
    fn fuzz_never_panics(data in proptest::collection::vec(any::<u8>(), 0..100)) {
        fuzz(&data);
    }

    #[test]
    fn options_never_panic(data in proptest::collection::vec(any::<u8>(), 0..64)) {
        let mut n = 0;
        for o in NdiscOptions::new(&data) {
            if let Ok(o) = o { n += o.buffer_len() } else { break }
        }
        prop_assert!(n <= data.len());
    }
}
