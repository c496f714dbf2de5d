//! Bad input: malformed TCP options (zero-length, overlong, truncated, wrong length for
//! their kind), segments outside the window, RST storms (RFC 5961 challenge-ACK limit),
//! and a SYN flood while an established connection keeps transferring.

mod common;

use std::net::SocketAddr;

use common::{encode, pattern, pseudo, LinkConfig, Pair, Rng};
use stack::{ConnectionHandle, FourTuple, SegmentError, State, TcpConfig, MILLIS, SECONDS};
use wire::tcp::{TcpFlags, TcpPacket, TcpRepr};

/// A's next segment carrying `data`, taken from A's output (not sent), with its payload.
fn a_segment(p: &mut Pair, ca: ConnectionHandle, data: &[u8]) -> (FourTuple, TcpRepr, Vec<u8>) {
    p.a.send(ca, data).unwrap();
    let mut buf = Vec::new();
    let t = p.a.poll_transmit(p.now, &mut buf).unwrap();
    assert_eq!(t.repr.payload_len, data.len());
    (t.tuple, t.repr, buf)
}

/// `repr` + `payload` as bytes with the option area replaced by `options` (a multiple of
/// 4 bytes) and the checksum recomputed, so only the options are wrong.
fn with_options(tuple: FourTuple, repr: &TcpRepr, payload: &[u8], options: &[u8]) -> Vec<u8> {
    let plain = TcpRepr {
        timestamp: None,
        ..*repr
    };
    let mut bytes = vec![0u8; 20 + options.len() + payload.len()];
    bytes[20 + options.len()..].copy_from_slice(payload);
    let mut pkt = TcpPacket::new_unchecked(&mut bytes[..]);
    plain.emit(&mut pkt, None);
    pkt.set_header_len(20 + options.len());
    pkt.options_mut().copy_from_slice(options);
    pkt.fill_checksum(&pseudo(tuple.local, tuple.remote));
    bytes
}

fn ts_option(tsval: u32, tsecr: u32) -> Vec<u8> {
    let mut o = vec![1, 1, 8, 10];
    o.extend_from_slice(&tsval.to_be_bytes());
    o.extend_from_slice(&tsecr.to_be_bytes());
    o
}

#[test]
fn malformed_options_are_dropped_and_counted() {
    let mut p = Pair::new(TcpConfig::default(), LinkConfig::default(), 1);
    let (ca, cb) = p.connect();
    let (tuple, repr, payload) = a_segment(&mut p, ca, b"hello");
    let (tsval, tsecr) = repr.timestamp.unwrap();
    let at_b = tuple.reversed();
    let mut ts = ts_option(tsval, tsecr);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("zero-length MSS", [vec![2, 0, 0, 0], ts.clone()].concat()),
        (
            "zero-length unknown kind",
            [vec![30, 0, 1, 1], ts.clone()].concat(),
        ),
        (
            "overlong timestamps",
            [vec![1, 1, 8, 40], ts[4..].to_vec()].concat(),
        ),
        (
            "length byte missing",
            [ts.clone(), vec![1, 1, 1, 8]].concat(),
        ),
        (
            "SACK of 7 bytes",
            [ts.clone(), vec![5, 7, 0, 0, 0, 0, 0, 0]].concat(),
        ),
        (
            "SACK block truncated",
            [
                ts.clone(),
                vec![1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2][..8].to_vec(),
            ]
            .concat(),
        ),
        (
            "window scale of 4 bytes",
            [vec![3, 4, 7, 0], ts.clone()].concat(),
        ),
        (
            "timestamps of 8 bytes",
            [vec![8, 8, 0, 0, 0, 0, 0, 0], ts.clone()].concat(),
        ),
    ];
    for (i, (what, opts)) in cases.iter().enumerate() {
        let bytes = with_options(tuple, &repr, &payload, opts);
        assert_eq!(
            p.b.handle_segment_bytes(p.now, at_b, &bytes),
            Err(SegmentError::Malformed),
            "{what}"
        );
        assert_eq!(p.b.stats().malformed, i as u64 + 1);
    }
    // A data offset past the end of the segment, and below 5 words.
    let mut bytes = with_options(tuple, &repr, &[], &ts);
    TcpPacket::new_unchecked(&mut bytes[..]).set_header_len(60);
    assert!(p.b.handle_segment_bytes(p.now, at_b, &bytes).is_err());
    let mut bytes = with_options(tuple, &repr, &payload, &ts);
    TcpPacket::new_unchecked(&mut bytes[..]).set_header_len(16);
    assert!(p.b.handle_segment_bytes(p.now, at_b, &bytes).is_err());
    assert_eq!(
        p.b.handle_segment_bytes(p.now, at_b, &bytes[..12]),
        Err(SegmentError::Truncated)
    );
    // A bad checksum.
    let mut bytes = with_options(tuple, &repr, &payload, &ts);
    bytes[25] ^= 1;
    assert_eq!(
        p.b.handle_segment_bytes(p.now, at_b, &bytes),
        Err(SegmentError::BadChecksum)
    );
    assert_eq!(p.b.stats().bad_checksum, 1);
    let mut out = Vec::new();
    assert!(
        p.b.poll_transmit(p.now, &mut out).is_none(),
        "nothing answers them"
    );
    assert_eq!(p.b.connection(cb).unwrap().recv_queue_len(), 0);
    // The same segment with its options intact is taken: the harness is not the problem.
    ts = ts_option(tsval, tsecr);
    let bytes = with_options(tuple, &repr, &payload, &ts);
    assert_eq!(p.b.handle_segment_bytes(p.now, at_b, &bytes), Ok(()));
    assert_eq!(p.b.connection(cb).unwrap().recv_queue_len(), 5);
    assert_eq!(p.b.connection(cb).unwrap().state(), State::Established);
}

#[test]
fn segments_outside_the_window_are_dropped_with_an_ack() {
    let mut p = Pair::new(TcpConfig::default(), LinkConfig::default(), 2);
    let (ca, cb) = p.connect();
    let (tuple, repr, payload) = a_segment(&mut p, ca, &[7u8; 100]);
    let at_b = tuple.reversed();
    let before = p.b.connection(cb).unwrap().stats().unacceptable;
    let offsets: [i64; 5] = [
        10_000_000,          // far ahead
        -10_000_000,         // far behind
        256 * 1024,          // just past the right edge
        -100,                // entirely old
        i64::from(i32::MAX), // half the sequence space away
    ];
    let mut out = Vec::new();
    for off in offsets {
        let mut r = repr;
        r.seq_number =
            wire::tcp::TcpSeqNumber::from_u32((i64::from(repr.seq_number.to_u32()) + off) as u32);
        p.b.handle_segment_bytes(p.now, at_b, &encode(tuple, &r, &payload))
            .unwrap();
        let t =
            p.b.poll_transmit(p.now, &mut out)
                .expect("answered by an ACK");
        assert!(t.repr.flags.contains(TcpFlags::ACK) && t.repr.payload_len == 0);
        assert_eq!(t.repr.ack_number, repr.seq_number, "RCV.NXT unchanged");
    }
    let st = p.b.connection(cb).unwrap().stats();
    // RFC 9293 §3.10.7.4: an entirely old segment (SEG.SEQ + SEG.LEN - 1 < RCV.NXT) fails
    // the acceptability test like the others; each is answered by an ACK and dropped.
    assert_eq!(st.unacceptable - before, 5);
    assert_eq!(p.b.connection(cb).unwrap().recv_queue_len(), 0);
    // The genuine segment is still taken, and a transfer goes on.
    p.b.handle_segment_bytes(p.now, at_b, &encode(tuple, &repr, &payload))
        .unwrap();
    assert_eq!(p.b.connection(cb).unwrap().recv_queue_len(), 100);
}

/// Moves `data` A → B over `(ca, cb)`, calling `each_step` between steps.
fn transfer_with(
    p: &mut Pair,
    ca: ConnectionHandle,
    cb: ConnectionHandle,
    data: &[u8],
    mut each_step: impl FnMut(&mut Pair),
) {
    let mut sent = 0;
    let mut got = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    let limit = p.now + 600 * SECONDS;
    while got.len() < data.len() {
        if sent < data.len() {
            sent += p.a.send(ca, &data[sent..]).unwrap_or(0);
        }
        while let Ok(Some(n)) = p.b.recv(cb, &mut buf) {
            got.extend_from_slice(&buf[..n]);
        }
        each_step(p);
        assert!(p.step(limit), "stalled at {}", got.len());
    }
    assert!(got == data, "bytes differ");
}

/// Calls `inject` once per millisecond of virtual time that has passed since the last
/// call (injecting on every step instead would keep the link busy at one instant, and
/// virtual time would never move).
fn every_ms(mut inject: impl FnMut(&mut Pair)) -> impl FnMut(&mut Pair) {
    let mut next: Option<u64> = None;
    move |p: &mut Pair| {
        let at = next.get_or_insert(p.now);
        while *at <= p.now {
            inject(p);
            *at += MILLIS;
        }
    }
}

#[test]
fn rst_storm_is_answered_by_rate_limited_challenge_acks() {
    let cfg = TcpConfig::default();
    let mut p = Pair::new(cfg.clone(), LinkConfig::default(), 3);
    let (ca, cb) = p.connect();
    let data = pattern(2_000_000, 3);
    let mut rng = Rng::new(99);
    let start = p.now;
    let (mut injected, mut in_window) = (0u64, 0u64);
    let (a_addr, b_addr) = (p.a_addr, p.b_addr);
    let mut storm = every_ms(|p: &mut Pair| {
        let rcv_nxt = p.b.connection(cb).unwrap().receive_next();
        for _ in 0..20 {
            // Half in B's window (never exact: that would be a genuine reset), half
            // anywhere.
            let near = rng.chance(0.5);
            let seq = if near {
                rcv_nxt + (1 + rng.below(200_000) as usize)
            } else {
                wire::tcp::TcpSeqNumber::from_u32(rng.next_u64() as u32)
            };
            if seq == rcv_nxt {
                continue;
            }
            let rst = TcpRepr {
                src_port: a_addr.port(),
                dst_port: b_addr.port(),
                seq_number: seq,
                flags: TcpFlags::RST,
                ..TcpRepr::default()
            };
            let tuple = FourTuple {
                local: a_addr,
                remote: b_addr,
            };
            p.deliver(true, a_addr, b_addr, &encode(tuple, &rst, &[]));
            injected += 1;
            in_window += u64::from(near);
        }
    });
    transfer_with(&mut p, ca, cb, &data, &mut storm);
    // The storm goes on for 4 more seconds over the idle connection, so the limit's
    // one-second window is seen to reset.
    let end = p.now + 4 * SECONDS;
    while p.now < end {
        storm(&mut p);
        let t = p.now + MILLIS;
        p.run_until(t);
        p.now = p.now.max(t);
    }
    drop(storm);
    let b = p.b.connection(cb).unwrap();
    assert_eq!(b.state(), State::Established, "the storm did not reset it");
    assert_eq!(p.a.connection(ca).unwrap().state(), State::Established);
    let secs = (p.now - start) / SECONDS + 1;
    let limit = u64::from(cfg.challenge_ack_limit);
    let challenges = u64::from(b.stats().challenge_acks);
    println!(
        "{injected} RSTs ({in_window} in the window) in {secs} s: {challenges} challenge ACKs"
    );
    assert!(
        in_window > 100 * limit * secs,
        "the storm exceeds the limit"
    );
    assert!(
        challenges >= 4 * limit,
        "in-window RSTs get challenge ACKs, every second: {challenges}"
    );
    assert!(
        challenges <= secs * limit,
        "{challenges} challenge ACKs in {secs} s"
    );
}

#[test]
fn sack_blocks_outside_the_window_are_ignored_and_counted() {
    let cfg = TcpConfig {
        delayed_ack: None,
        ..TcpConfig::default()
    };
    let mut p = Pair::new(cfg, LinkConfig::default(), 7);
    let (ca, cb) = p.connect();
    // B has four segments in flight that A never gets.
    p.b.send(cb, &[9u8; 4 * 1448]).unwrap();
    let mut out = Vec::new();
    let mut lens = Vec::new();
    while let Some(t) = p.b.poll_transmit(p.now, &mut out) {
        lens.push(t.repr.payload_len);
    }
    let smss = lens[0];
    assert!(lens.iter().sum::<usize>() >= 2 * smss);
    let sack = |blocks: &[(wire::tcp::TcpSeqNumber, wire::tcp::TcpSeqNumber)]| {
        let mut o = vec![1, 1, 5, 2 + 8 * blocks.len() as u8];
        for (l, r) in blocks {
            o.extend_from_slice(&l.to_u32().to_be_bytes());
            o.extend_from_slice(&r.to_u32().to_be_bytes());
        }
        o
    };
    let b_sent = |p: &mut Pair| {
        let mut out = Vec::new();
        let mut data = 0;
        while let Some(t) = p.b.poll_transmit(p.now, &mut out) {
            data += t.repr.payload_len;
        }
        data
    };
    // A's data segment carries blocks that would mark SND.UNA lost if they were taken.
    let (tuple, repr, payload) = a_segment(&mut p, ca, b"bad");
    let una = repr.ack_number;
    let (tsval, tsecr) = repr.timestamp.unwrap();
    let at_b = tuple.reversed();
    let bad = [
        (una + smss, una + 100_000),          // runs past SND.MAX
        (una + 10_000_000, una + 10_001_000), // far ahead
        (una + 4 * smss, una + smss),         // reversed
    ];
    let opts = [ts_option(tsval, tsecr), sack(&bad)].concat();
    assert_eq!(opts.len(), 40);
    let bytes = with_options(tuple, &repr, &payload, &opts);
    assert_eq!(p.b.handle_segment_bytes(p.now, at_b, &bytes), Ok(()));
    let c = p.b.connection(cb).unwrap();
    assert_eq!(c.stats().sack_rejected, 3);
    assert_eq!(c.recv_queue_len(), 3, "the data is taken");
    assert!(!c.in_recovery());
    assert_eq!(b_sent(&mut p), 0, "nothing resent for bad blocks");
    // The control: blocks inside what B sent start recovery at once (IsLost(SND.UNA):
    // DupThresh discontiguous SACKed ranges above it), and the hole is resent.
    let (tuple, repr, payload) = a_segment(&mut p, ca, b"good");
    let (tsval, tsecr) = repr.timestamp.unwrap();
    let good = [
        (una + 100, una + 200),
        (una + 300, una + 400),
        (una + 500, una + 600),
    ];
    let opts = [ts_option(tsval, tsecr), sack(&good)].concat();
    let bytes = with_options(tuple, &repr, &payload, &opts);
    assert_eq!(p.b.handle_segment_bytes(p.now, at_b, &bytes), Ok(()));
    let c = p.b.connection(cb).unwrap();
    assert_eq!(c.stats().sack_rejected, 3);
    assert!(c.in_recovery());
    assert!(b_sent(&mut p) > 0, "the hole at SND.UNA is resent");
}

#[test]
fn syn_flood_while_established_connections_keep_transferring() {
    let mut p = Pair::new(TcpConfig::default(), LinkConfig::default(), 4);
    // B listens on b_addr with backlog 128.
    let (ca, cb) = p.connect();
    // B's answers to the flood go nowhere (the spoofed sources do not exist).
    let legit = [p.a_addr.port(), p.a_addr.port() + 1];
    p.filter = Some(Box::new(move |from_a, r| {
        !from_a && !legit.contains(&r.dst_port)
    }));
    let mut rng = Rng::new(5);
    let b_addr = p.b_addr;
    let mut flooded = 0u64;
    let mut flood = every_ms(|p: &mut Pair| {
        for _ in 0..20 {
            let src = SocketAddr::new(
                std::net::Ipv4Addr::new(198, 18, rng.below(256) as u8, rng.below(256) as u8).into(),
                1024 + rng.below(60000) as u16,
            );
            let syn = TcpRepr {
                src_port: src.port(),
                dst_port: b_addr.port(),
                seq_number: wire::tcp::TcpSeqNumber::from_u32(rng.next_u64() as u32),
                flags: TcpFlags::SYN,
                window_len: 65535,
                max_seg_size: Some(1460),
                timestamp: Some((rng.next_u64() as u32, 0)),
                ..TcpRepr::default()
            };
            let tuple = FourTuple {
                local: src,
                remote: b_addr,
            };
            p.deliver(true, src, b_addr, &encode(tuple, &syn, &[]));
            flooded += 1;
        }
    });
    let data = pattern(1_000_000, 4);
    transfer_with(&mut p, ca, cb, &data, &mut flood);
    // A new connection during the flood gets through (on a cookie: the queue is full).
    let local = SocketAddr::new(p.a_addr.ip(), p.a_addr.port() + 1);
    let c2 = p.a.connect(p.now, local, p.b_addr).unwrap();
    let limit = p.now + 30 * SECONDS;
    let c2b = loop {
        flood(&mut p);
        assert!(p.step(limit), "new connection starved by the flood");
        if let Some(h) = p.b.accept(p.b_addr) {
            break h;
        }
    };
    assert_eq!(p.a.connection(c2).unwrap().state(), State::Established);
    let more = pattern(100_000, 6);
    transfer_with(&mut p, c2, c2b, &more, &mut flood);
    drop(flood);
    let st = p.b.stats();
    println!("{flooded} SYNs: {st:?}");
    assert!(flooded > 5_000);
    assert!(st.syn_cookies_sent > 0);
    assert!(
        st.syn_cookies_accepted >= 1,
        "the new connection came on a cookie"
    );
    assert!(
        p.b.connection_count() <= 128 + 2,
        "half-open state bounded by the backlog: {}",
        p.b.connection_count()
    );
}
