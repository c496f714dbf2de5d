use super::*;
use core::net::{Ipv4Addr, Ipv6Addr};
use proptest::prelude::*;

/// zeek_http-bro.org.pcap frame 1: 10.0.2.15 -> 192.150.187.43
const BRO_SYN: [u8; 40] = [
    0xd7, 0x27, 0x00, 0x50, 0xe9, 0xfd, 0xc7, 0xe9, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0x39, 0x08,
    0x1a, 0x3f, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x00, 0x1f, 0xe3, 0x69,
    0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
];

/// zeek_http-bro.org.pcap frame 2: 192.150.187.43 -> 10.0.2.15
const BRO_SYNACK: [u8; 24] = [
    0x00, 0x50, 0xd7, 0x27, 0x42, 0xae, 0x50, 0x01, 0xe9, 0xfd, 0xc7, 0xea, 0x60, 0x12, 0xff, 0xff,
    0xf4, 0x35, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4,
];

/// suricata_tcp-empty-sack-rawip.pcap frame 1: 192.168.0.54 -> 17.173.66.179
const SACK_SYN: [u8; 44] = [
    0xc1, 0x62, 0x01, 0xbb, 0xdf, 0x10, 0x24, 0x1c, 0x00, 0x00, 0x00, 0x00, 0xb0, 0x02, 0xff, 0xff,
    0x2d, 0x3d, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x01, 0x03, 0x03, 0x07, 0x01, 0x01, 0x08, 0x0a,
    0x32, 0xa1, 0xfb, 0x93, 0x00, 0x00, 0x00, 0x00, 0x04, 0x02, 0x00, 0x00,
];

/// suricata_tcp-empty-sack-rawip.pcap frame 24: 17.173.66.179 -> 192.168.0.54
const EMPTY_SACK: [u8; 24] = [
    0x01, 0xbb, 0xc1, 0x62, 0xeb, 0x4e, 0x1a, 0x02, 0xdf, 0x10, 0x2c, 0x40, 0x60, 0x10, 0xff, 0x5f,
    0xb1, 0x6f, 0x00, 0x00, 0x01, 0x01, 0x05, 0x02,
];

/// suricata_tcp-empty-sack-rawip.pcap frame 25: 17.173.66.179 -> 192.168.0.54
const ONE_SACK: [u8; 32] = [
    0x01, 0xbb, 0xc1, 0x62, 0xeb, 0x4e, 0x1a, 0x02, 0xdf, 0x10, 0x2c, 0x40, 0x80, 0x10, 0xff, 0x5f,
    0x73, 0x83, 0x00, 0x00, 0x01, 0x01, 0x05, 0x0a, 0xdf, 0x10, 0x2e, 0xa0, 0xdf, 0x10, 0x31, 0x1a,
];

/// zeek_tcp-window-scale-range.pcap frame 1: 10.0.0.1 -> 10.0.0.2
const WS255_SYN: [u8; 28] = [
    0x9c, 0x40, 0x00, 0x50, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x00, 0x00, 0x70, 0x02, 0x20, 0x00,
    0xb1, 0xa3, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x03, 0x03, 0xff, 0x00,
];

/// zeek_tcp-window-scale-range.pcap frame 4: 10.0.0.1 -> 10.0.0.2
const WS_DATA: [u8; 25] = [
    0x9c, 0x40, 0x00, 0x50, 0x00, 0x00, 0x03, 0xe9, 0x00, 0x00, 0x13, 0x89, 0x50, 0x18, 0xff, 0xff,
    0xa3, 0xf0, 0x00, 0x00, 0x68, 0x65, 0x6c, 0x6c, 0x6f,
];

/// zeek_ftp-ipv6.pcap frame 2: 2001:470:4867:99::21 -> 2001:470:1f11:81f:c999:d94:aa7c:2e3e
const FTP6_SYNACK: [u8; 44] = [
    0x00, 0x15, 0xc0, 0x21, 0x06, 0x72, 0xf8, 0x24, 0x26, 0x8a, 0x7e, 0x60, 0xb0, 0x12, 0x10, 0x00,
    0x34, 0xda, 0x00, 0x00, 0x02, 0x04, 0x05, 0xa0, 0x01, 0x03, 0x03, 0x06, 0x01, 0x01, 0x08, 0x0a,
    0x00, 0x00, 0x00, 0x01, 0x3a, 0x01, 0xea, 0x4e, 0x04, 0x02, 0x01, 0x01,
];

fn v4(a: [u8; 4], b: [u8; 4]) -> PseudoHeader {
    PseudoHeader::from((Ipv4Addr::from(a), Ipv4Addr::from(b)))
}

fn opts(p: &TcpPacket<&[u8]>) -> Vec<Result<TcpOption<'static>>> {
    // The vectors are 'static, so the options borrow nothing shorter.
    p.options()
        .map(|o| {
            o.map(|o| match o {
                TcpOption::Unknown { .. } => panic!("unexpected unknown option"),
                TcpOption::EndOfList => TcpOption::EndOfList,
                TcpOption::NoOperation => TcpOption::NoOperation,
                TcpOption::MaxSegmentSize(v) => TcpOption::MaxSegmentSize(v),
                TcpOption::WindowScale(v) => TcpOption::WindowScale(v),
                TcpOption::SackPermitted => TcpOption::SackPermitted,
                TcpOption::SackRange(r) => TcpOption::SackRange(r),
                TcpOption::Timestamp(a, b) => TcpOption::Timestamp(a, b),
            })
        })
        .collect()
}

#[test]
fn real_syn_with_all_options() {
    let p = TcpPacket::new_checked(&BRO_SYN[..]).unwrap();
    assert_eq!((p.src_port(), p.dst_port()), (55079, 80));
    assert_eq!(p.seq_number(), TcpSeqNumber::from_u32(0xe9fd_c7e9));
    assert_eq!(p.ack_number().to_u32(), 0);
    assert_eq!(p.header_len(), 40);
    assert_eq!(p.flags(), TcpFlags::SYN);
    assert!(p.syn() && !p.ack() && !p.fin() && !p.rst() && !p.psh() && !p.urg());
    assert_eq!(
        (p.window_len(), p.checksum(), p.urgent_at()),
        (14600, 0x1a3f, 0)
    );
    assert_eq!(p.payload_len(), 0);
    assert_eq!(p.segment_len(), 1);
    use TcpOption::*;
    assert_eq!(
        opts(&p),
        [
            Ok(MaxSegmentSize(1460)),
            Ok(SackPermitted),
            Ok(Timestamp(0x001f_e369, 0)),
            Ok(NoOperation),
            Ok(WindowScale(7))
        ]
    );
    let ph = v4([10, 0, 2, 15], [192, 150, 187, 43]);
    assert!(p.verify_checksum(&ph));
    let r = TcpRepr::parse(&p, Some(&ph)).unwrap();
    assert_eq!(r.max_seg_size, Some(1460));
    assert_eq!(r.window_scale, Some(7));
    assert!(r.sack_permitted);
    assert_eq!(r.timestamp, Some((0x001f_e369, 0)));
    assert_eq!(r.sack_ranges, [None; 4]);
    // Linux's layout is the one emit chooses: the capture comes back byte for byte.
    let mut out = [0u8; 40];
    r.emit(&mut TcpPacket::new_unchecked(&mut out[..]), Some(&ph));
    assert_eq!(out, BRO_SYN);
}

#[test]
fn real_synack_mss_only() {
    let p = TcpPacket::new_checked(&BRO_SYNACK[..]).unwrap();
    assert_eq!(p.flags(), TcpFlags::SYN | TcpFlags::ACK);
    assert_eq!(p.ack_number(), TcpSeqNumber::from_u32(0xe9fd_c7e9) + 1);
    assert_eq!(p.window_len(), 0xffff);
    let ph = v4([192, 150, 187, 43], [10, 0, 2, 15]);
    let r = TcpRepr::parse(&p, Some(&ph)).unwrap();
    assert_eq!(
        (
            r.max_seg_size,
            r.window_scale,
            r.sack_permitted,
            r.timestamp
        ),
        (Some(1460), None, false, None)
    );
    let mut out = [0u8; 24];
    r.emit(&mut TcpPacket::new_unchecked(&mut out[..]), Some(&ph));
    assert_eq!(out, BRO_SYNACK);
}

#[test]
fn real_macos_syn_trailing_eol() {
    let p = TcpPacket::new_checked(&SACK_SYN[..]).unwrap();
    use TcpOption::*;
    assert_eq!(
        opts(&p),
        [
            Ok(MaxSegmentSize(1460)),
            Ok(NoOperation),
            Ok(WindowScale(7)),
            Ok(NoOperation),
            Ok(NoOperation),
            Ok(Timestamp(0x32a1_fb93, 0)),
            Ok(SackPermitted),
            Ok(EndOfList)
        ]
    );
    assert!(TcpRepr::parse(&p, Some(&v4([192, 168, 0, 54], [17, 173, 66, 179]))).is_ok());
}

#[test]
fn real_one_sack_block() {
    let p = TcpPacket::new_checked(&ONE_SACK[..]).unwrap();
    let ph = v4([17, 173, 66, 179], [192, 168, 0, 54]);
    assert!(p.verify_checksum(&ph));
    let r = TcpRepr::parse(&p, Some(&ph)).unwrap();
    assert_eq!(
        r.sack_ranges,
        [Some((0xdf10_2ea0, 0xdf10_311a)), None, None, None]
    );
    assert_eq!(r.flags, TcpFlags::ACK);
    let mut out = [0u8; 32];
    r.emit(&mut TcpPacket::new_unchecked(&mut out[..]), Some(&ph));
    assert_eq!(out, ONE_SACK);
}

#[test]
fn real_empty_sack_is_malformed() {
    // The capture's point: a SACK option with length 2 (no blocks).
    let p = TcpPacket::new_checked(&EMPTY_SACK[..]).unwrap();
    let ph = v4([17, 173, 66, 179], [192, 168, 0, 54]);
    assert!(p.verify_checksum(&ph));
    let mut it = p.options();
    assert_eq!(it.next(), Some(Ok(TcpOption::NoOperation)));
    assert_eq!(it.next(), Some(Ok(TcpOption::NoOperation)));
    assert_eq!(it.next(), Some(Err(Error::Malformed)));
    assert_eq!(it.next(), None);
    assert_eq!(TcpRepr::parse(&p, Some(&ph)), Err(Error::Malformed));
}

#[test]
fn real_window_scale_255_passed_through() {
    let p = TcpPacket::new_checked(&WS255_SYN[..]).unwrap();
    let ph = v4([10, 0, 0, 1], [10, 0, 0, 2]);
    assert!(p.verify_checksum(&ph));
    let r = TcpRepr::parse(&p, Some(&ph)).unwrap();
    assert_eq!(r.window_scale, Some(255));
    assert_eq!(r.max_seg_size, Some(1460));
}

#[test]
fn real_data_segment() {
    let p = TcpPacket::new_checked(&WS_DATA[..]).unwrap();
    let ph = v4([10, 0, 0, 1], [10, 0, 0, 2]);
    assert!(p.verify_checksum(&ph));
    assert_eq!(p.payload(), b"hello");
    assert_eq!(p.flags(), TcpFlags::PSH | TcpFlags::ACK);
    assert_eq!(p.ack_number().to_u32(), 5001);
    let r = TcpRepr::parse(&p, Some(&ph)).unwrap();
    assert_eq!(r.payload_len, 5);
    let mut out = [0u8; 25];
    out[20..].copy_from_slice(b"hello");
    r.emit(&mut TcpPacket::new_unchecked(&mut out[..]), Some(&ph));
    assert_eq!(out, WS_DATA);
}

#[test]
fn real_ipv6_synack() {
    let ph = PseudoHeader::V6 {
        src: "2001:470:4867:99::21".parse::<Ipv6Addr>().unwrap(),
        dst: "2001:470:1f11:81f:c999:d94:aa7c:2e3e"
            .parse::<Ipv6Addr>()
            .unwrap(),
    };
    let p = TcpPacket::new_checked(&FTP6_SYNACK[..]).unwrap();
    assert!(p.verify_checksum(&ph));
    let r = TcpRepr::parse(&p, Some(&ph)).unwrap();
    assert_eq!((r.src_port, r.dst_port), (21, 49185));
    assert_eq!(r.timestamp, Some((1, 0x3a01_ea4e)));
    assert_eq!(
        (r.max_seg_size, r.window_scale, r.sack_permitted),
        (Some(1440), Some(6), true)
    );
}

#[test]
fn truncated_at_every_length() {
    for n in 0..BRO_SYN.len() {
        assert_eq!(
            TcpPacket::new_checked(&BRO_SYN[..n]).unwrap_err(),
            Error::Truncated,
            "len {n}"
        );
    }
}

#[test]
fn data_offset_below_five_is_malformed() {
    for off in 0..5u8 {
        let mut b = WS_DATA;
        b[12] = off << 4;
        assert_eq!(
            TcpPacket::new_checked(&b[..]).unwrap_err(),
            Error::Malformed
        );
    }
}

#[test]
fn bad_checksum() {
    let mut b = BRO_SYN;
    b[4] ^= 0x80;
    let p = TcpPacket::new_checked(&b[..]).unwrap();
    let ph = v4([10, 0, 2, 15], [192, 150, 187, 43]);
    assert_eq!(TcpRepr::parse(&p, Some(&ph)), Err(Error::BadChecksum));
    assert!(TcpRepr::parse(&p, None).is_ok());
}

#[test]
fn bad_option_lengths() {
    let cases: &[&[u8]] = &[
        &[2],                                   // length byte missing
        &[2, 0],                                // length 0
        &[2, 1],                                // length 1
        &[2, 5, 0, 0],                          // MSS with wrong length (and overrun)
        &[2, 3, 0, 1],                          // MSS length 3
        &[3, 4, 7, 1],                          // WS length 4
        &[4, 3, 0, 1],                          // SACK-permitted length 3
        &[8, 8, 0, 0, 0, 0, 0, 0],              // timestamps length 8
        &[5, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], // SACK not 2 + 8n
        &[30, 9, 0, 0],                         // unknown option overrunning the header
    ];
    for c in cases {
        let mut it = TcpOptions::new(c);
        assert_eq!(it.next(), Some(Err(Error::Malformed)), "{c:?}");
        assert_eq!(it.next(), None);
    }
    let big = [5u8, 42, 0, 0]; // five SACK blocks would need 42 bytes
    assert_eq!(TcpOptions::new(&big).next(), Some(Err(Error::Malformed)));
}

#[test]
fn option_overrunning_header_in_packet() {
    let mut b = BRO_SYN;
    b[38] = 4; // window scale length 4 runs past the 40-byte header
    let p = TcpPacket::new_checked(&b[..]).unwrap();
    assert_eq!(TcpRepr::parse(&p, None), Err(Error::Malformed));
}

#[test]
fn unknown_options_are_skipped() {
    let o = [30u8, 4, 0xab, 0xcd, 1, 0];
    let v: Vec<_> = TcpOptions::new(&o).collect();
    assert_eq!(
        v,
        [
            Ok(TcpOption::Unknown {
                kind: 30,
                data: &[0xab, 0xcd][..]
            }),
            Ok(TcpOption::NoOperation),
            Ok(TcpOption::EndOfList)
        ]
    );
}

#[test]
fn four_sack_blocks_with_timestamps_drops_one() {
    let r = TcpRepr {
        flags: TcpFlags::ACK,
        timestamp: Some((1, 2)),
        sack_ranges: [Some((1, 2)), Some((3, 4)), Some((5, 6)), Some((7, 8))],
        ..TcpRepr::default()
    };
    assert_eq!(r.header_len(), 60);
    let mut out = [0u8; 60];
    r.emit(&mut TcpPacket::new_unchecked(&mut out[..]), None);
    let back = TcpRepr::parse(&TcpPacket::new_checked(&out[..]).unwrap(), None).unwrap();
    assert_eq!(
        back.sack_ranges,
        [Some((1, 2)), Some((3, 4)), Some((5, 6)), None]
    );
    assert_eq!(back.timestamp, Some((1, 2)));
}

#[test]
fn seq_number_wraps() {
    let a = TcpSeqNumber::from_u32(0xffff_fff0);
    let b = a + 0x20;
    assert_eq!(b.to_u32(), 0x10);
    assert!(a < b);
    assert!(b > a);
    assert_eq!(b - a, 0x20);
    assert_eq!(a - b, -0x20);
    assert_eq!(b - 0x20usize, a);
    assert_eq!(a.max(b), b);
    assert_eq!(a.min(b), a);
    assert_eq!(format!("{:?}", TcpFlags::SYN | TcpFlags::ACK), "SYN|ACK");
}

fn arb_repr() -> impl Strategy<Value = TcpRepr> {
    (
        (
            any::<u16>(),
            any::<u16>(),
            any::<u32>(),
            any::<u32>(),
            any::<u8>(),
            any::<u16>(),
            any::<u16>(),
        ),
        (
            proptest::option::of(any::<u16>()),
            proptest::option::of(any::<u8>()),
            any::<bool>(),
            proptest::collection::vec((any::<u32>(), any::<u32>()), 0..=4),
            proptest::option::of((any::<u32>(), any::<u32>())),
            0usize..200,
        ),
    )
        .prop_map(
            |((sp, dp, seq, ack, fl, win, urg), (mss, ws, sp_ok, sacks, ts, pl))| {
                let mut sack_ranges = [None; 4];
                for (s, r) in sack_ranges.iter_mut().zip(sacks) {
                    *s = Some(r);
                }
                let mut r = TcpRepr {
                    src_port: sp,
                    dst_port: dp,
                    seq_number: TcpSeqNumber::from_u32(seq),
                    ack_number: TcpSeqNumber::from_u32(ack),
                    flags: TcpFlags(fl),
                    window_len: win,
                    urgent_at: urg,
                    max_seg_size: mss,
                    window_scale: ws,
                    sack_permitted: sp_ok,
                    sack_ranges,
                    timestamp: ts,
                    payload_len: pl,
                };
                // Keep only the SACK blocks emit can fit, so the round trip is exact.
                let n = r.layout().sack_blocks;
                for s in r.sack_ranges.iter_mut().skip(n) {
                    *s = None;
                }
                r
            },
        )
}

/// The one-step NOP, NOP, timestamps path of `emit` and `parse` agrees with the option
/// iterator, byte for byte and field for field.
#[test]
fn timestamp_only_segment_fast_path_matches_the_general_one() {
    let repr = TcpRepr {
        src_port: 80,
        dst_port: 40000,
        seq_number: TcpSeqNumber::from_u32(7),
        ack_number: TcpSeqNumber::from_u32(9),
        flags: TcpFlags::ACK,
        window_len: 512,
        timestamp: Some((0x0102_0304, 0xa0b0_c0d0)),
        payload_len: 3,
        ..TcpRepr::default()
    };
    let ph = v4([10, 0, 0, 1], [10, 0, 0, 2]);
    let mut buf = vec![0xee; repr.buffer_len()];
    repr.emit(&mut TcpPacket::new_unchecked(&mut buf[..]), Some(&ph));
    let p = TcpPacket::new_checked(&buf[..]).unwrap();
    assert_eq!(
        p.options_raw(),
        &[1, 1, 8, 10, 1, 2, 3, 4, 0xa0, 0xb0, 0xc0, 0xd0]
    );
    assert_eq!(
        opts(&p),
        vec![
            Ok(TcpOption::NoOperation),
            Ok(TcpOption::NoOperation),
            Ok(TcpOption::Timestamp(0x0102_0304, 0xa0b0_c0d0))
        ]
    );
    assert!(p.verify_checksum(&ph));
    assert_eq!(TcpRepr::parse(&p, Some(&ph)), Ok(repr));
}

proptest! {
    #[test]
    fn round_trip(repr in arb_repr(), s6: [u8; 16], d6: [u8; 16], v6: bool, fill: u8) {
        let ph = if v6 {
            PseudoHeader::V6 { src: Ipv6Addr::from(s6), dst: Ipv6Addr::from(d6) }
        } else {
            v4([s6[0], s6[1], s6[2], s6[3]], [d6[0], d6[1], d6[2], d6[3]])
        };
        let mut buf = vec![fill; repr.buffer_len()];
        repr.emit(&mut TcpPacket::new_unchecked(&mut buf[..]), Some(&ph));
        let p = TcpPacket::new_checked(&buf[..]).unwrap();
        prop_assert!(p.header_len() <= MAX_HEADER_LEN);
        prop_assert!(p.options().all(|o| o.is_ok()));
        prop_assert_eq!(TcpRepr::parse(&p, Some(&ph)), Ok(repr));
    }

    #[test]
    fn emit_with_payload_sum_equals_emit(repr in arb_repr(), s6: [u8; 16], d6: [u8; 16], v6: bool,
                                         payload in proptest::collection::vec(any::<u8>(), 0..200),
                                         cut in 0usize..200) {
        // The payload copied in two pieces (a ring buffer's halves, the first of any
        // length) and summed on the way gives the bytes and checksum of the plain emit.
        let ph = if v6 {
            PseudoHeader::V6 { src: Ipv6Addr::from(s6), dst: Ipv6Addr::from(d6) }
        } else {
            v4([s6[0], s6[1], s6[2], s6[3]], [d6[0], d6[1], d6[2], d6[3]])
        };
        let repr = TcpRepr { payload_len: payload.len(), ..repr };
        let hl = repr.header_len();
        let mut plain = vec![0; repr.buffer_len()];
        plain[hl..].copy_from_slice(&payload);
        repr.emit(&mut TcpPacket::new_unchecked(&mut plain[..]), Some(&ph));
        let mut fused = vec![0x5a; repr.buffer_len()];
        let (a, b) = payload.split_at(cut.min(payload.len()));
        let (fa, fb) = fused[hl..].split_at_mut(a.len());
        let sa = checksum::copy_and_sum(fa, a);
        let mut sb = checksum::copy_and_sum(fb, b);
        if a.len() % 2 == 1 {
            sb = checksum::at_odd_offset(sb);
        }
        repr.emit_with_payload_sum(
            &mut TcpPacket::new_unchecked(&mut fused[..]),
            &ph,
            checksum::combine(&[sa, sb]),
        );
        prop_assert_eq!(&fused, &plain);
        prop_assert!(TcpPacket::new_checked(&fused[..]).unwrap().verify_checksum(&ph));
    }

    #[test]
    fn seq_order_matches_distance(a: u32, d in 1u32..0x8000_0000) {
        let x = TcpSeqNumber::from_u32(a);
        let y = x + d as usize;
        prop_assert!(x < y);
        prop_assert_eq!(y - x, d as i32);
    }

    #[test]
    fn fuzz_never_panics(data in proptest::collection::vec(any::<u8>(), 0..100)) {
        fuzz(&data);
    }

    #[test]
    fn options_never_panic(data in proptest::collection::vec(any::<u8>(), 0..48)) {
        let mut n = 0;
        for o in TcpOptions::new(&data) {
            if let Ok(o) = o { n += o.buffer_len() } else { break }
        }
        prop_assert!(n <= data.len());
    }
}
