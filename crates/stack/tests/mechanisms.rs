//! One test per RFC mechanism, each written to fail when the mechanism is broken. Most
//! drive two `Connection`s directly (segments passed as `TcpRepr`), so the segments in
//! and out are exact; some use the `Pair` link.

mod common;

use std::sync::Arc;

use common::{LinkConfig, Pair};
use stack::isn::IsnGenerator;
use stack::tcp::{CloseReason, Connection, Event, State, TcpConfig};
use stack::{FourTuple, Instant, MILLIS, SECONDS};
use wire::tcp::{TcpFlags, TcpRepr, TcpSeqNumber};

fn tuple() -> FourTuple {
    FourTuple {
        local: "10.0.0.1:40000".parse().unwrap(),
        remote: "10.0.0.2:80".parse().unwrap(),
    }
}

/// Every segment `from` has now, as (repr, payload).
fn drain(c: &mut Connection, now: Instant) -> Vec<(TcpRepr, Vec<u8>)> {
    let mut out = Vec::new();
    let mut buf = Vec::new();
    while let Some(r) = c.poll_transmit(now, &mut buf) {
        out.push((r, buf.clone()));
    }
    out
}

fn deliver(c: &mut Connection, now: Instant, segs: &[(TcpRepr, Vec<u8>)]) {
    for (r, p) in segs {
        c.handle_segment(now, r, p);
    }
}

/// A (client) and B (server) through the handshake at t = 1 s, nothing lost.
fn established(ca: TcpConfig, cb: TcpConfig) -> (Connection, Connection, Instant) {
    let now = SECONDS;
    let g = IsnGenerator::new([3; 16]);
    let t = tuple();
    let mut a = Connection::connect(Arc::new(ca), now, t, g.isn(now, &t), 1000);
    let syn = drain(&mut a, now);
    assert_eq!(syn.len(), 1);
    let rt = t.reversed();
    let mut b = Connection::accept(Arc::new(cb), now, rt, &syn[0].0, g.isn(now, &rt), 5000);
    let synack = drain(&mut b, now);
    deliver(&mut a, now, &synack);
    let ack = drain(&mut a, now);
    deliver(&mut b, now, &ack);
    assert_eq!(a.state(), State::Established);
    assert_eq!(b.state(), State::Established);
    while a.poll_event().is_some() {}
    while b.poll_event().is_some() {}
    (a, b, now)
}

fn one(c: &mut Connection, now: Instant) -> (TcpRepr, Vec<u8>) {
    let mut v = drain(c, now);
    assert_eq!(v.len(), 1, "expected exactly one segment, got {v:?}");
    v.pop().unwrap()
}

#[test]
fn handshake_negotiates_mss_window_scale_and_timestamps() {
    let now = SECONDS;
    let t = tuple();
    let cfg = TcpConfig::default();
    let mut a = Connection::connect(Arc::new(cfg.clone()), now, t, TcpSeqNumber(7), 0);
    let (syn, _) = one(&mut a, now);
    assert!(syn.flags.contains(TcpFlags::SYN) && !syn.flags.contains(TcpFlags::ACK));
    assert_eq!(syn.max_seg_size, Some(1460));
    assert_eq!(syn.window_scale, Some(3), "256 KiB needs shift 3");
    assert_eq!(syn.window_len, 0xffff, "a SYN's window is never scaled");
    assert!(syn.timestamp.is_some());

    let mut b = Connection::accept(Arc::new(cfg), now, t.reversed(), &syn, TcpSeqNumber(99), 0);
    let (synack, _) = one(&mut b, now);
    assert_eq!(synack.ack_number, TcpSeqNumber(8));
    assert_eq!(synack.window_scale, Some(3));
    assert_eq!(
        synack.timestamp.unwrap().1,
        syn.timestamp.unwrap().0,
        "TSecr echoes"
    );
    a.handle_segment(now, &synack, &[]);
    assert_eq!(a.poll_event(), Some(Event::Connected));
    assert_eq!(
        a.send_mss(),
        1460 - 12,
        "TS option takes 12 bytes of each segment"
    );
    assert_eq!(a.window_scale(), Some((3, 3)));
    assert!(a.timestamps_enabled());

    // A peer that offers neither option gets neither back.
    let bare = TcpRepr {
        src_port: 1,
        dst_port: 80,
        seq_number: TcpSeqNumber(1),
        flags: TcpFlags::SYN,
        window_len: 1000,
        ..TcpRepr::default()
    };
    let mut c = Connection::accept(
        Arc::new(TcpConfig::default()),
        now,
        t.reversed(),
        &bare,
        TcpSeqNumber(5),
        0,
    );
    let (sa, _) = one(&mut c, now);
    assert_eq!(sa.window_scale, None);
    assert_eq!(sa.timestamp, None);
    assert_eq!(c.send_mss(), 536, "no MSS option: RFC 9293 default");
}

#[test]
fn window_scaling_math() {
    let (mut a, mut b, now) = established(TcpConfig::default(), TcpConfig::default());
    // The SYN-ACK's window is never scaled: A knows 65535 until B's next segment.
    assert_eq!(a.send_window(), 0xffff);
    a.send(&[1u8; 1000]).unwrap();
    let (data, payload) = one(&mut a, now);
    b.handle_segment(now, &data, &payload);
    b.handle_timeout(now + 40 * MILLIS);
    let (ack, _) = one(&mut b, now + 40 * MILLIS);
    assert_eq!(
        u32::from(ack.window_len),
        (256 * 1024 - 1000) >> 3,
        "window field = free space >> shift"
    );
    a.handle_segment(now + 40 * MILLIS, &ack, &[]);
    assert_eq!(a.send_window(), ((256 * 1024 - 1000) >> 3) << 3);
}

#[test]
fn paws_rejects_old_timestamps() {
    let (mut a, mut b, now) = established(TcpConfig::default(), TcpConfig::default());
    a.send(b"hello").unwrap();
    let (seg, payload) = one(&mut a, now);
    let mut old = seg;
    old.timestamp = Some((seg.timestamp.unwrap().0.wrapping_sub(10), 0));
    b.handle_segment(now, &old, &payload);
    assert_eq!(b.recv_queue_len(), 0, "old TSval accepted");
    assert_eq!(b.stats().paws_rejected, 1);
    let (ack, _) = one(&mut b, now);
    assert!(
        ack.flags.contains(TcpFlags::ACK),
        "PAWS drop is answered by an ACK"
    );
    // Without a timestamp at all, dropped too (RFC 7323 §3.2).
    let mut none = seg;
    none.timestamp = None;
    b.handle_segment(now, &none, &payload);
    assert_eq!(b.recv_queue_len(), 0);
    // The genuine segment is accepted.
    b.handle_segment(now, &seg, &payload);
    assert_eq!(b.recv_queue_len(), 5);
}

#[test]
fn rto_backs_off_exponentially_and_karn_ignores_retransmitted_samples() {
    let cfg = TcpConfig {
        min_rto: 200 * MILLIS,
        ..TcpConfig::default()
    };
    let (mut a, mut b, mut now) = established(cfg.clone(), cfg);
    // The handshake gave one sample (RTT 0): RTO is the minimum.
    assert_eq!(a.rto(), 200 * MILLIS);
    a.send(b"x").unwrap();
    let (first, p) = one(&mut a, now);
    let mut expiries = Vec::new();
    for _ in 0..4 {
        let t = a.poll_timeout().unwrap();
        expiries.push(t - now);
        now = t;
        a.handle_timeout(now);
        let (rtx, _) = one(&mut a, now);
        assert_eq!(
            rtx.seq_number, first.seq_number,
            "retransmits the same byte"
        );
    }
    assert_eq!(
        expiries,
        vec![200 * MILLIS, 400 * MILLIS, 800 * MILLIS, 1600 * MILLIS],
        "RTO doubles on each expiry"
    );
    assert_eq!(a.stats().timeouts, 4);
    // The ACK finally comes, 3 s after the first transmission: Karn says no sample.
    let srtt = a.smoothed_rtt();
    now += 10 * MILLIS;
    b.handle_segment(now, &first, &p);
    b.handle_timeout(now + SECONDS);
    let (ack, _) = one(&mut b, now + SECONDS);
    a.handle_segment(now, &ack, &[]);
    assert_eq!(
        a.smoothed_rtt(),
        srtt,
        "a retransmitted segment gave an RTT sample"
    );
    assert_eq!(a.rto(), 3200 * MILLIS, "backoff kept until a fresh sample");
    assert_eq!(a.poll_timeout(), None, "timer stopped: nothing in flight");
    // A new segment, acked at once, gives a sample and clears the backoff.
    a.send(b"y").unwrap();
    let (s2, p2) = one(&mut a, now);
    b.handle_segment(now + 30 * MILLIS, &s2, &p2);
    b.handle_timeout(now + 30 * MILLIS + SECONDS);
    let (ack2, _) = one(&mut b, now + 30 * MILLIS + SECONDS);
    a.handle_segment(now + 60 * MILLIS, &ack2, &[]);
    assert!(a.smoothed_rtt().is_some());
    // SRTT 7.5 ms (from 0 and 60 ms), 4 × RTTVAR 60 ms < the 200 ms minimum.
    assert_eq!(a.rto(), 207_500_000, "backoff cleared by the fresh sample");
}

#[test]
fn delayed_ack_timer_and_every_second_segment() {
    let (mut a, mut b, now) = established(TcpConfig::default(), TcpConfig::default());
    a.send(&[0u8; 100]).unwrap();
    let seg = one(&mut a, now);
    deliver(&mut b, now, &[seg]);
    assert!(
        drain(&mut b, now).is_empty(),
        "one small segment is not acked at once"
    );
    assert_eq!(b.poll_timeout(), Some(now + 40 * MILLIS));
    b.handle_timeout(now + 40 * MILLIS);
    assert_eq!(
        drain(&mut b, now + 40 * MILLIS).len(),
        1,
        "ACK when the timer fires"
    );

    // Two full segments: ACK at once.
    let t = now + 100 * MILLIS;
    a.handle_timeout(t); // nothing due
    a.send(&vec![0u8; 2 * 1448]).unwrap();
    let segs = drain(&mut a, t);
    assert_eq!(segs.len(), 2);
    deliver(&mut b, t, &segs[..1]);
    assert!(drain(&mut b, t).is_empty());
    deliver(&mut b, t, &segs[1..]);
    assert_eq!(
        drain(&mut b, t).len(),
        1,
        "second full segment is acked at once"
    );

    // Switched off: every segment is acked at once.
    let cfg = TcpConfig {
        delayed_ack: None,
        ..TcpConfig::default()
    };
    let (mut a, mut b, now) = established(TcpConfig::default(), cfg);
    a.send(&[0u8; 10]).unwrap();
    let seg = one(&mut a, now);
    deliver(&mut b, now, &[seg]);
    assert_eq!(drain(&mut b, now).len(), 1);
}

#[test]
fn out_of_order_queue_is_bounded() {
    let cfg = TcpConfig {
        max_ooo_ranges: 4,
        ..TcpConfig::default()
    };
    let (mut a, mut b, now) = established(TcpConfig::default(), cfg);
    a.send(&vec![7u8; 10 * 1448]).unwrap();
    // Make cwnd large enough: feed segments individually from A's buffer via repeated RTO
    // is slow; instead build them by hand from the first segment.
    let (first, p) = one_of_many(&mut a, now);
    let mss = p.len();
    for i in [2usize, 4, 6, 8, 10] {
        let mut s = first;
        s.seq_number = first.seq_number + i * mss;
        b.handle_segment(now, &s, &p);
    }
    assert_eq!(b.ooo_ranges(), 4);
    assert_eq!(b.stats().ooo_dropped, 1, "the fifth range is dropped");
    assert!(
        !drain(&mut b, now).is_empty(),
        "out-of-order data is acked at once"
    );
    // The in-order segment fills the first gap; the held range follows.
    b.handle_segment(now, &first, &p);
    let mut s = first;
    s.seq_number = first.seq_number + mss;
    b.handle_segment(now, &s, &p);
    assert_eq!(b.recv_queue_len(), 3 * mss);
    assert_eq!(b.ooo_ranges(), 3);
}

fn one_of_many(c: &mut Connection, now: Instant) -> (TcpRepr, Vec<u8>) {
    drain(c, now).into_iter().next().unwrap()
}

#[test]
fn fin_handshake_and_time_wait() {
    let (mut a, mut b, mut now) = established(TcpConfig::default(), TcpConfig::default());
    a.close(now).unwrap();
    assert_eq!(a.state(), State::FinWait1);
    let fin = drain(&mut a, now);
    assert!(fin[0].0.flags.contains(TcpFlags::FIN));
    deliver(&mut b, now, &fin);
    assert_eq!(b.state(), State::CloseWait);
    assert_eq!(b.poll_event(), Some(Event::Readable));
    assert_eq!(b.recv(&mut [0; 10]), Ok(None), "end of stream");
    let ack = drain(&mut b, now);
    deliver(&mut a, now, &ack);
    assert_eq!(a.state(), State::FinWait2);
    b.close(now).unwrap();
    assert_eq!(b.state(), State::LastAck);
    let bfin = drain(&mut b, now);
    deliver(&mut a, now, &bfin);
    assert_eq!(a.state(), State::TimeWait);
    let last = drain(&mut a, now);
    deliver(&mut b, now, &last);
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.poll_event(), Some(Event::Closed(CloseReason::Closed)));
    // A retransmitted FIN in TIME-WAIT is acked and restarts 2MSL.
    now += 30 * SECONDS;
    deliver(&mut a, now, &bfin);
    assert_eq!(drain(&mut a, now).len(), 1);
    assert_eq!(a.poll_timeout(), Some(now + 60 * SECONDS));
    a.handle_timeout(now + 60 * SECONDS - 1);
    assert_eq!(a.state(), State::TimeWait);
    a.handle_timeout(now + 60 * SECONDS);
    assert_eq!(a.state(), State::Closed);
    assert_eq!(a.heap_bytes(), 0);
}

#[test]
fn simultaneous_close_goes_through_closing() {
    let (mut a, mut b, now) = established(TcpConfig::default(), TcpConfig::default());
    a.close(now).unwrap();
    b.close(now).unwrap();
    let fa = drain(&mut a, now);
    let fb = drain(&mut b, now);
    deliver(&mut a, now, &fb);
    deliver(&mut b, now, &fa);
    assert_eq!(a.state(), State::Closing);
    let aa = drain(&mut a, now);
    let ab = drain(&mut b, now);
    deliver(&mut a, now, &ab);
    deliver(&mut b, now, &aa);
    assert_eq!(a.state(), State::TimeWait);
    assert_eq!(b.state(), State::TimeWait);
}

#[test]
fn rst_exact_resets_in_window_challenges_outside_ignored() {
    let (mut a, mut b, now) = established(TcpConfig::default(), TcpConfig::default());
    a.send(b"abc").unwrap();
    let (seg, _) = one(&mut a, now);
    let rcv_nxt = seg.seq_number; // B's RCV.NXT
    let rst = |seq: TcpSeqNumber| TcpRepr {
        src_port: 40000,
        dst_port: 80,
        seq_number: seq,
        flags: TcpFlags::RST,
        ..TcpRepr::default()
    };
    // Outside the window: silently ignored.
    b.handle_segment(now, &rst(rcv_nxt + 10_000_000), &[]);
    assert!(drain(&mut b, now).is_empty());
    assert_eq!(b.state(), State::Established);
    // In the window, not exact: challenge ACK (RFC 5961 §3.2).
    b.handle_segment(now, &rst(rcv_nxt + 100), &[]);
    let (ch, _) = one(&mut b, now);
    assert!(ch.flags.contains(TcpFlags::ACK) && !ch.flags.contains(TcpFlags::RST));
    assert_eq!(ch.ack_number, rcv_nxt);
    assert_eq!(b.state(), State::Established);
    assert_eq!(b.stats().challenge_acks, 1);
    // A SYN on an established connection: challenge ACK, no reset (RFC 5961 §4).
    let mut syn = rst(rcv_nxt + 5);
    syn.flags = TcpFlags::SYN;
    syn.timestamp = seg.timestamp;
    b.handle_segment(now, &syn, &[]);
    assert_eq!(drain(&mut b, now).len(), 1);
    assert_eq!(b.state(), State::Established);
    // An ACK for data never sent: dropped with an ACK; an ancient ACK: challenge.
    let mut bad = seg;
    bad.ack_number += 1_000_000;
    bad.payload_len = 0;
    b.handle_segment(now, &bad, &[]);
    assert_eq!(drain(&mut b, now).len(), 1);
    assert_eq!(b.recv_queue_len(), 0);
    // Exact: reset.
    b.handle_segment(now, &rst(rcv_nxt), &[]);
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.poll_event(), Some(Event::Readable));
    assert!(std::iter::from_fn(|| b.poll_event()).any(|e| e == Event::Closed(CloseReason::Reset)));
}

#[test]
fn challenge_acks_are_rate_limited() {
    let cfg = TcpConfig {
        challenge_ack_limit: 3,
        ..TcpConfig::default()
    };
    let (mut a, mut b, now) = established(TcpConfig::default(), cfg);
    a.send(b"a").unwrap();
    let (seg, _) = one(&mut a, now);
    let mut n = 0;
    for i in 0..10 {
        let r = TcpRepr {
            seq_number: seg.seq_number + (100 + i),
            flags: TcpFlags::RST,
            ..seg
        };
        b.handle_segment(now, &r, &[]);
        n += drain(&mut b, now).len();
    }
    assert_eq!(n, 3);
}

#[test]
fn isns_differ_per_tuple() {
    let g = IsnGenerator::new([9; 16]);
    let mut t2 = tuple();
    t2.local.set_port(40001);
    let d1 = g.isn(0, &tuple()).to_u32();
    let d2 = g.isn(0, &t2).to_u32();
    assert_ne!(d1, d2);
    assert!(
        d1.abs_diff(d2) > 1000,
        "ISNs of neighbouring ports are not close"
    );
}

#[test]
fn rst_answers_segments_for_no_connection() {
    let mut p = Pair::new(TcpConfig::default(), LinkConfig::default(), 1);
    // Nobody listens on B: the SYN gets RST+ACK and A's connect is refused.
    let ca = p.a.connect(p.now, p.a_addr, p.b_addr).unwrap();
    p.run_until(p.now + SECONDS);
    assert_eq!(p.b.stats().rst_sent, 1);
    assert!(p.a.connection(ca).is_none());
    let evs: Vec<_> = std::iter::from_fn(|| p.a.poll_event()).collect();
    assert!(
        evs.contains(&(ca, Event::Closed(CloseReason::Refused))),
        "{evs:?}"
    );
}

#[test]
fn syn_retransmitted_after_loss_and_backlog_bounds_syn_queue() {
    let mut p = Pair::new(TcpConfig::default(), LinkConfig::default(), 1);
    let mut dropped = 0;
    p.filter = Some(Box::new(move |from_a, r| {
        if from_a && r.flags.contains(TcpFlags::SYN) && dropped < 2 {
            dropped += 1;
            return true;
        }
        false
    }));
    let start = p.now;
    let (ca, _) = p.connect();
    // Two SYNs lost: 1 s + 2 s of backoff before the third gets through.
    assert!(p.now - start >= 3 * SECONDS);
    assert_eq!(p.a.connection(ca).unwrap().stats().timeouts, 2);

    // A listener with backlog 2 keeps at most 2 half-open connections (SYN cookies off:
    // the rest are dropped; `syn_cookies.rs` tests them on).
    let mut p = Pair::new(TcpConfig::default(), LinkConfig::default(), 1);
    p.b.set_syn_cookies(false);
    p.b.listen(p.b_addr, 2).unwrap();
    p.filter = Some(Box::new(|from_a, _| !from_a)); // B's SYN-ACKs never arrive
    for port in 0..5 {
        let local = std::net::SocketAddr::new(p.a_addr.ip(), 50000 + port);
        p.a.connect(p.now, local, p.b_addr).unwrap();
    }
    p.run_until(p.now + 100 * MILLIS);
    assert_eq!(p.b.connection_count(), 2);
    assert_eq!(p.b.stats().syn_dropped, 3);
}

#[test]
fn zero_window_then_reader_resumes() {
    let cfg = TcpConfig {
        recv_buffer: 8 * 1024,
        ..TcpConfig::default()
    };
    let mut p = Pair::new(cfg, LinkConfig::default(), 5);
    let (ca, cb) = p.connect();
    let data = common::pattern(64 * 1024, 5);
    let mut sent = 0;
    // Fill B's window without reading: the sender stops at 8 KiB.
    for _ in 0..50 {
        if let Ok(n) = p.a.send(ca, &data[sent..]) {
            sent += n;
        }
        p.run_until(p.now + 100 * MILLIS);
    }
    assert_eq!(p.b.connection(cb).unwrap().recv_queue_len(), 8 * 1024);
    // Let persist probes run for a while; then read everything.
    p.run_until(p.now + 30 * SECONDS);
    let mut got = Vec::new();
    let mut buf = vec![0u8; 4096];
    let limit = p.now + 600 * SECONDS;
    while got.len() < data.len() {
        while sent < data.len() {
            match p.a.send(ca, &data[sent..]) {
                Ok(n) => sent += n,
                Err(_) => break,
            }
        }
        while let Ok(Some(n)) = p.b.recv(cb, &mut buf) {
            got.extend_from_slice(&buf[..n]);
        }
        assert!(p.step(limit), "stalled at {}", got.len());
    }
    assert!(got == data);
}

#[test]
fn idle_connection_holds_no_buffers() {
    let mut p = Pair::new(TcpConfig::default(), LinkConfig::default(), 1);
    let (ca, cb) = p.connect();
    p.a.send(ca, &[1; 100_000]).unwrap();
    let mut buf = vec![0; 200_000];
    let mut n = 0;
    while n < 100_000 {
        p.step(p.now + 100 * SECONDS);
        if let Ok(Some(k)) = p.b.recv(cb, &mut buf) {
            n += k;
        }
    }
    p.run_until(p.now + 10 * SECONDS);
    assert_eq!(p.a.connection(ca).unwrap().heap_bytes(), 0);
    assert_eq!(p.b.connection(cb).unwrap().heap_bytes(), 0);
    let size = std::mem::size_of::<Connection>();
    println!("bytes per idle connection: Connection {size} + slot/table overhead");
    assert!(size <= 704, "Connection grew to {size} bytes");
}
