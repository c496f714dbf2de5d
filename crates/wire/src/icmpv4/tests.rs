//! No capture in /work/shared/pcaps carries ICMPv4, so these vectors were generated with
//! scapy 2.8.0, an independent implementation (its checksums included).

use super::*;
use proptest::prelude::*;

/// scapy 2.8.0: `ICMP(type=8, id=0x1c46, seq=1)/(32 bytes a-w,a-i)`
const ECHO_REQUEST: [u8; 40] = [
    0x08, 0x00, 0x31, 0x15, 0x1c, 0x46, 0x00, 0x01, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
    0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x61,
    0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
];

/// scapy 2.8.0: `ICMP(type=0, id=0x1c46, seq=1)/(32 bytes a-w,a-i)`
const ECHO_REPLY: [u8; 40] = [
    0x00, 0x00, 0x39, 0x15, 0x1c, 0x46, 0x00, 0x01, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
    0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x61,
    0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
];

/// scapy 2.8.0: `ICMP(type=3, code=3)/<IP 192.168.1.10 -> 198.51.100.7 UDP 33434 -> 33435>`
const PORT_UNREACH: [u8; 36] = [
    0x03, 0x03, 0xe9, 0x07, 0x00, 0x00, 0x00, 0x00, 0x45, 0x00, 0x00, 0x20, 0x12, 0x34, 0x00, 0x00,
    0x01, 0x11, 0xbb, 0xac, 0xc0, 0xa8, 0x01, 0x0a, 0xc6, 0x33, 0x64, 0x07, 0x82, 0x9a, 0x82, 0x9b,
    0x00, 0x0c, 0x0e, 0xb3,
];

/// scapy 2.8.0: `ICMP(type=3, code=4, nexthopmtu=1400)/<IP DF len 1492 TCP 40000 -> 443>`
const FRAG_NEEDED: [u8; 36] = [
    0x03, 0x04, 0x59, 0x87, 0x00, 0x00, 0x05, 0x78, 0x45, 0x00, 0x05, 0xd4, 0x43, 0x21, 0x40, 0x00,
    0x40, 0x06, 0x06, 0x16, 0xc0, 0xa8, 0x01, 0x0a, 0xc6, 0x33, 0x64, 0x07, 0x9c, 0x40, 0x01, 0xbb,
    0x00, 0x00, 0x00, 0x01,
];

/// scapy 2.8.0: `ICMP(type=11, code=0)/<IP ttl 1 UDP 33434 -> 33435>`
const TTL_EXCEEDED: [u8; 36] = [
    0x0b, 0x00, 0xe1, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x45, 0x00, 0x00, 0x20, 0x12, 0x34, 0x00, 0x00,
    0x01, 0x11, 0xbb, 0xac, 0xc0, 0xa8, 0x01, 0x0a, 0xc6, 0x33, 0x64, 0x07, 0x82, 0x9a, 0x82, 0x9b,
    0x00, 0x0c, 0x0e, 0xb3,
];

/// scapy 2.8.0: `ICMP(type=12, code=0, ptr=8)/<IP UDP>`
const PARAM_PROBLEM: [u8; 36] = [
    0x0c, 0x00, 0xd8, 0x0a, 0x08, 0x00, 0x00, 0x00, 0x45, 0x00, 0x00, 0x20, 0x12, 0x34, 0x00, 0x00,
    0x01, 0x11, 0xbb, 0xac, 0xc0, 0xa8, 0x01, 0x0a, 0xc6, 0x33, 0x64, 0x07, 0x82, 0x9a, 0x82, 0x9b,
    0x00, 0x0c, 0x0e, 0xb3,
];

/// scapy 2.8.0: `ICMP(type=5, code=1, gw=192.168.1.254)/<IP UDP>`
const REDIRECT_HOST: [u8; 36] = [
    0x05, 0x01, 0x24, 0x63, 0xc0, 0xa8, 0x01, 0xfe, 0x45, 0x00, 0x00, 0x20, 0x12, 0x34, 0x00, 0x00,
    0x01, 0x11, 0xbb, 0xac, 0xc0, 0xa8, 0x01, 0x0a, 0xc6, 0x33, 0x64, 0x07, 0x82, 0x9a, 0x82, 0x9b,
    0x00, 0x0c, 0x0e, 0xb3,
];

#[test]
fn echo_request_and_reply() {
    for (bytes, request) in [(&ECHO_REQUEST, true), (&ECHO_REPLY, false)] {
        let p = Icmpv4Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(
            p.msg_type(),
            if request {
                Icmpv4Message::EchoRequest
            } else {
                Icmpv4Message::EchoReply
            }
        );
        assert_eq!(
            (p.msg_code(), p.echo_ident(), p.echo_seq_no()),
            (0, 0x1c46, 1)
        );
        assert!(p.verify_checksum());
        assert_eq!(p.data(), b"abcdefghijklmnopqrstuvwabcdefghi");
        let r = Icmpv4Repr::parse(&p).unwrap();
        let data = &bytes[8..];
        let want = if request {
            Icmpv4Repr::EchoRequest {
                ident: 0x1c46,
                seq_no: 1,
                data,
            }
        } else {
            Icmpv4Repr::EchoReply {
                ident: 0x1c46,
                seq_no: 1,
                data,
            }
        };
        assert_eq!(r, want);
        let mut out = [0u8; 40];
        r.emit(&mut Icmpv4Packet::new_unchecked(&mut out[..]));
        assert_eq!(&out, bytes);
    }
}

#[test]
fn port_unreachable() {
    let p = Icmpv4Packet::new_checked(&PORT_UNREACH[..]).unwrap();
    assert_eq!(p.msg_type(), Icmpv4Message::DstUnreachable);
    assert_eq!(
        Icmpv4DstUnreachable::from(p.msg_code()),
        Icmpv4DstUnreachable::PortUnreachable
    );
    let r = Icmpv4Repr::parse(&p).unwrap();
    let Icmpv4Repr::DstUnreachable {
        reason,
        next_hop_mtu,
        invoking,
    } = r
    else {
        panic!("{r:?}")
    };
    assert_eq!(
        (reason, next_hop_mtu),
        (Icmpv4DstUnreachable::PortUnreachable, 0)
    );
    assert_eq!(invoking.len(), 28);
    assert_eq!(invoking[0], 0x45);
    assert_eq!(&invoking[20..24], &[0x82, 0x9a, 0x82, 0x9b]); // UDP 33434 -> 33435
    let mut out = [0u8; 36];
    r.emit(&mut Icmpv4Packet::new_unchecked(&mut out[..]));
    assert_eq!(out, PORT_UNREACH);
}

#[test]
fn fragmentation_needed_carries_mtu() {
    let p = Icmpv4Packet::new_checked(&FRAG_NEEDED[..]).unwrap();
    assert_eq!(p.next_hop_mtu(), 1400);
    let r = Icmpv4Repr::parse(&p).unwrap();
    assert_eq!(
        r,
        Icmpv4Repr::DstUnreachable {
            reason: Icmpv4DstUnreachable::FragRequired,
            next_hop_mtu: 1400,
            invoking: &FRAG_NEEDED[8..]
        }
    );
    let mut out = [0u8; 36];
    r.emit(&mut Icmpv4Packet::new_unchecked(&mut out[..]));
    assert_eq!(out, FRAG_NEEDED);
}

#[test]
fn time_exceeded_param_problem_redirect() {
    let p = Icmpv4Packet::new_checked(&TTL_EXCEEDED[..]).unwrap();
    let r = Icmpv4Repr::parse(&p).unwrap();
    assert_eq!(
        r,
        Icmpv4Repr::TimeExceeded {
            reason: Icmpv4TimeExceeded::TtlExpired,
            invoking: &TTL_EXCEEDED[8..]
        }
    );
    let mut out = [0u8; 36];
    r.emit(&mut Icmpv4Packet::new_unchecked(&mut out[..]));
    assert_eq!(out, TTL_EXCEEDED);

    let p = Icmpv4Packet::new_checked(&PARAM_PROBLEM[..]).unwrap();
    assert_eq!(p.pointer(), 8);
    let r = Icmpv4Repr::parse(&p).unwrap();
    assert_eq!(
        r,
        Icmpv4Repr::ParamProblem {
            reason: Icmpv4ParamProblem::AtPointer,
            pointer: 8,
            invoking: &PARAM_PROBLEM[8..]
        }
    );
    r.emit(&mut Icmpv4Packet::new_unchecked(&mut out[..]));
    assert_eq!(out, PARAM_PROBLEM);

    let p = Icmpv4Packet::new_checked(&REDIRECT_HOST[..]).unwrap();
    assert_eq!(p.gateway(), Ipv4Addr::new(192, 168, 1, 254));
    let r = Icmpv4Repr::parse(&p).unwrap();
    assert_eq!(
        r,
        Icmpv4Repr::Redirect {
            reason: Icmpv4Redirect::Host,
            gateway: Ipv4Addr::new(192, 168, 1, 254),
            invoking: &REDIRECT_HOST[8..]
        }
    );
    r.emit(&mut Icmpv4Packet::new_unchecked(&mut out[..]));
    assert_eq!(out, REDIRECT_HOST);
}

#[test]
fn truncated_at_every_length() {
    for n in 0..HEADER_LEN {
        assert_eq!(
            Icmpv4Packet::new_checked(&ECHO_REQUEST[..n]).unwrap_err(),
            Error::Truncated
        );
    }
    // A cut echo still checks as a view but no longer verifies.
    for n in HEADER_LEN..ECHO_REQUEST.len() {
        let p = Icmpv4Packet::new_checked(&ECHO_REQUEST[..n]).unwrap();
        assert_eq!(Icmpv4Repr::parse(&p), Err(Error::BadChecksum), "len {n}");
    }
}

#[test]
fn bad_checksum_and_unsupported() {
    let mut b = ECHO_REQUEST;
    b[9] ^= 1;
    assert_eq!(
        Icmpv4Repr::parse(&Icmpv4Packet::new_checked(&b[..]).unwrap()),
        Err(Error::BadChecksum)
    );
    let mut b = [13u8, 0, 0, 0, 0, 0, 0, 0]; // timestamp request
    Icmpv4Packet::new_unchecked(&mut b[..]).fill_checksum();
    let p = Icmpv4Packet::new_checked(&b[..]).unwrap();
    assert_eq!(p.msg_type(), Icmpv4Message::Timestamp);
    assert_eq!(Icmpv4Repr::parse(&p), Err(Error::Unsupported));
    assert_eq!(Icmpv4Message::from(200), Icmpv4Message::Unknown(200));
}

fn make_repr(k: u8, a: u16, b: u16, c: u8, g: u32, body: &[u8]) -> Icmpv4Repr<'_> {
    match k {
        0 => Icmpv4Repr::EchoRequest {
            ident: a,
            seq_no: b,
            data: body,
        },
        1 => Icmpv4Repr::EchoReply {
            ident: a,
            seq_no: b,
            data: body,
        },
        2 => Icmpv4Repr::DstUnreachable {
            reason: c.into(),
            next_hop_mtu: a,
            invoking: body,
        },
        3 => Icmpv4Repr::TimeExceeded {
            reason: c.into(),
            invoking: body,
        },
        4 => Icmpv4Repr::ParamProblem {
            reason: c.into(),
            pointer: (a >> 8) as u8,
            invoking: body,
        },
        _ => Icmpv4Repr::Redirect {
            reason: c.into(),
            gateway: Ipv4Addr::from(g),
            invoking: body,
        },
    }
}

proptest! {
    #[test]
    fn round_trip(body in proptest::collection::vec(any::<u8>(), 0..100),
                  k in 0u8..6, a: u16, b: u16, c: u8, g: u32) {
        let repr = make_repr(k, a, b, c, g, &body);
        let mut buf = vec![0u8; repr.buffer_len()];
        repr.emit(&mut Icmpv4Packet::new_unchecked(&mut buf[..]));
        let p = Icmpv4Packet::new_checked(&buf[..]).unwrap();
        prop_assert!(p.verify_checksum());
        prop_assert_eq!(Icmpv4Repr::parse(&p), Ok(repr));
    }

    #[test]
    fn fuzz_never_panics(data in proptest::collection::vec(any::<u8>(), 0..100)) {
        fuzz(&data);
    }
}
