//! SACK (RFC 2018) and SACK-based loss recovery (RFC 6675): negotiation, the receiver's
//! blocks (most recent first, as many as fit), the sender's recovery of several holes in
//! one round trip, the rescue retransmission, and bad blocks ignored and counted.

mod common;

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;
use std::sync::Arc;

use common::{LinkConfig, Pair};
use stack::isn::IsnGenerator;
use stack::tcp::{Connection, State, TcpConfig};
use stack::{FourTuple, Instant, MILLIS, SECONDS};
use wire::tcp::{TcpRepr, TcpSeqNumber};

fn tuple() -> FourTuple {
    FourTuple {
        local: "10.0.0.1:40000".parse().unwrap(),
        remote: "10.0.0.2:80".parse().unwrap(),
    }
}

fn drain(c: &mut Connection, now: Instant) -> Vec<(TcpRepr, Vec<u8>)> {
    let mut out = Vec::new();
    let mut buf = Vec::new();
    while let Some(r) = c.poll_transmit(now, &mut buf) {
        out.push((r, buf.clone()));
    }
    out
}

fn established(ca: TcpConfig, cb: TcpConfig) -> (Connection, Connection, Instant) {
    let now = SECONDS;
    let g = IsnGenerator::new([3; 16]);
    let t = tuple();
    let mut a = Connection::connect(Arc::new(ca), now, t, g.isn(now, &t), 1000);
    let syn = drain(&mut a, now);
    let rt = t.reversed();
    let mut b = Connection::accept(Arc::new(cb), now, rt, &syn[0].0, g.isn(now, &rt), 5000);
    for (r, p) in drain(&mut b, now) {
        a.handle_segment(now, &r, &p);
    }
    for (r, p) in drain(&mut a, now) {
        b.handle_segment(now, &r, &p);
    }
    assert_eq!(a.state(), State::Established);
    assert_eq!(b.state(), State::Established);
    (a, b, now)
}

fn blocks(r: &TcpRepr) -> Vec<(u32, u32)> {
    r.sack_ranges.iter().flatten().copied().collect()
}

#[test]
fn negotiated_only_when_both_offer() {
    let (a, b, _) = established(TcpConfig::default(), TcpConfig::default());
    assert!(a.sack_enabled() && b.sack_enabled());
    let off = TcpConfig {
        sack: false,
        ..TcpConfig::default()
    };
    let (a, b, _) = established(TcpConfig::default(), off.clone());
    assert!(!a.sack_enabled() && !b.sack_enabled());
    let (a, b, _) = established(off, TcpConfig::default());
    assert!(!a.sack_enabled() && !b.sack_enabled());
    // The SYN offers it, the SYN-ACK echoes it only if offered.
    let t = tuple();
    let mut c = Connection::connect(Arc::new(TcpConfig::default()), 0, t, TcpSeqNumber(1), 0);
    let syn = drain(&mut c, 0);
    assert!(syn[0].0.sack_permitted);
}

/// The receiver reports the block of the newest segment first, then the blocks it reported
/// most recently, 3 of them beside timestamps and 4 without.
fn receiver_blocks(timestamps: bool) {
    let cfg = TcpConfig {
        timestamps,
        delayed_ack: None,
        ..TcpConfig::default()
    };
    let (mut a, mut b, now) = established(cfg.clone(), cfg);
    // Make the segments by hand from one real one (A's cwnd is small).
    a.send(&[9u8; 1000]).unwrap();
    let (first, p) = drain(&mut a, now).remove(0);
    let base = first.seq_number;
    let seg = |i: usize| {
        let mut s = first;
        s.seq_number = base + i * 1000;
        s
    };
    let seq = |i: usize| (base + i * 1000).to_u32();
    let mut last_ack = None;
    for i in [2usize, 4, 6, 8] {
        b.handle_segment(now, &seg(i), &p);
        let out = drain(&mut b, now);
        assert_eq!(out.len(), 1, "out-of-order data is acked at once");
        last_ack = Some(out[0].0);
    }
    let ack = last_ack.unwrap();
    assert_eq!(ack.ack_number, base);
    let want_all = [(8, 9), (6, 7), (4, 5), (2, 3)];
    let n = if timestamps { 3 } else { 4 };
    let want: Vec<(u32, u32)> = want_all[..n]
        .iter()
        .map(|&(l, r)| (seq(l), seq(r)))
        .collect();
    assert_eq!(blocks(&ack), want, "newest first, as many as fit");
    // Segment 5 joins 4 and 6 into one block, which goes first.
    b.handle_segment(now, &seg(5), &p);
    let ack = drain(&mut b, now).remove(0).0;
    let mut want = vec![(seq(4), seq(7)), (seq(8), seq(9)), (seq(2), seq(3))];
    want.truncate(n);
    assert_eq!(blocks(&ack), want);
    // The hole at 0..2 is filled: everything to 3 is acked, two blocks left.
    b.handle_segment(now, &first, &p);
    b.handle_segment(now, &seg(1), &p);
    let acks = drain(&mut b, now);
    let ack = acks.last().unwrap().0;
    assert_eq!(ack.ack_number, base + 3000);
    assert_eq!(blocks(&ack), vec![(seq(4), seq(7)), (seq(8), seq(9))]);
    b.handle_segment(now, &seg(3), &p);
    let ack = drain(&mut b, now).remove(0).0;
    assert_eq!(ack.ack_number, base + 7000);
    assert_eq!(blocks(&ack), vec![(seq(8), seq(9))]);
    b.handle_segment(now, &seg(7), &p);
    let ack = drain(&mut b, now).remove(0).0;
    assert_eq!(ack.ack_number, base + 9000);
    assert!(
        blocks(&ack).is_empty(),
        "nothing out of order: no SACK option"
    );
}

#[test]
fn receiver_reports_newest_block_first_three_with_timestamps() {
    receiver_blocks(true);
}

#[test]
fn receiver_reports_four_blocks_without_timestamps() {
    receiver_blocks(false);
}

/// Drops the first transmission of A's data segments at the given indexes (in MSS units
/// from `skip_bytes` into the stream) and records when A retransmits them.
struct Dropper {
    base: Option<TcpSeqNumber>,
    drop: HashSet<u32>,
    seen: HashSet<u32>,
    retransmitted_at: Vec<(u32, Instant)>,
}

fn run_with_drops(
    cfg: TcpConfig,
    warmup: usize,
    indexes: &[u32],
    len: usize,
) -> (Pair, Rc<RefCell<Dropper>>, stack::ConnectionHandle) {
    let link = LinkConfig {
        latency: 10 * MILLIS,
        ..LinkConfig::default()
    };
    let mut p = Pair::new(cfg, link, 7);
    let (ca, cb) = p.connect();
    let mss = p.a.connection(ca).unwrap().send_mss() as usize;
    // Warm up: grow the window, then drain.
    let data = common::pattern(warmup + len, 3);
    let mut got = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut sent = p.a.send(ca, &data[..warmup]).unwrap();
    while got.len() < warmup {
        assert!(p.step(p.now + 60 * SECONDS));
        while let Ok(Some(n)) = p.b.recv(cb, &mut buf) {
            got.extend_from_slice(&buf[..n]);
        }
    }
    p.run_until(p.now + SECONDS);
    let d = Rc::new(RefCell::new(Dropper {
        base: None,
        drop: indexes.iter().copied().collect(),
        seen: HashSet::new(),
        retransmitted_at: Vec::new(),
    }));
    let d2 = d.clone();
    let clock = Rc::new(RefCell::new(0u64));
    assert_eq!(p.a.connection(ca).unwrap().send_queue_len(), 0);
    let now_cell = clock.clone();
    p.filter = Some(Box::new(move |from_a, r| {
        let mut d = d2.borrow_mut();
        if !from_a || r.payload_len == 0 {
            return false;
        }
        let base = *d.base.get_or_insert(r.seq_number);
        let idx = ((r.seq_number - base) as u32) / mss as u32;
        if !d.seen.insert(idx) {
            let t = *now_cell.borrow();
            d.retransmitted_at.push((idx, t));
            return false;
        }
        d.drop.contains(&idx)
    }));
    while sent < data.len() {
        match p.a.send(ca, &data[sent..]) {
            Ok(n) => sent += n,
            Err(_) => break,
        }
    }
    let limit = p.now + 120 * SECONDS;
    while got.len() < data.len() {
        *clock.borrow_mut() = p.now;
        while sent < data.len() {
            match p.a.send(ca, &data[sent..]) {
                Ok(n) => sent += n,
                Err(_) => break,
            }
        }
        assert!(p.step(limit), "stalled at {}", got.len());
        while let Ok(Some(n)) = p.b.recv(cb, &mut buf) {
            got.extend_from_slice(&buf[..n]);
        }
    }
    assert!(got == data, "bytes differ");
    (p, d, ca)
}

#[test]
fn several_holes_in_one_window_are_repaired_in_one_round_trip() {
    let cfg = TcpConfig::default();
    let (p, d, ca) = run_with_drops(cfg, 60_000, &[10, 12, 14], 40 * 1448);
    let st = p.a.connection(ca).unwrap().stats();
    let d = d.borrow();
    let rtx: Vec<u32> = d.retransmitted_at.iter().map(|&(i, _)| i).collect();
    // Each hole once; beside them at most the one rescue retransmission of the tail
    // (RFC 6675 NextSeg rule 4: nothing else was left to send in recovery).
    assert_eq!(rtx[..3], [10, 12, 14], "each hole resent once, in order");
    assert_eq!(rtx.len(), 3 + st.rescue_retransmits as usize);
    assert!(st.rescue_retransmits <= 1);
    assert_eq!(st.timeouts, 0, "no RTO");
    assert_eq!(st.fast_retransmits, 1, "one recovery episode");
    let times: Vec<Instant> = d.retransmitted_at.iter().map(|&(_, t)| t).collect();
    let spread = times.iter().max().unwrap() - times.iter().min().unwrap();
    assert!(
        spread < 20 * MILLIS,
        "all holes resent within one RTT (20 ms), took {} ms",
        spread / MILLIS
    );

    // Without SACK, NewReno repairs one hole per round trip.
    let cfg = TcpConfig {
        sack: false,
        ..TcpConfig::default()
    };
    let (_, d, _) = run_with_drops(cfg, 60_000, &[10, 12, 14], 40 * 1448);
    let d = d.borrow();
    let times: Vec<Instant> = d.retransmitted_at.iter().map(|&(_, t)| t).collect();
    let spread = times.iter().max().unwrap() - times.iter().min().unwrap();
    assert!(spread >= 40 * MILLIS, "NewReno took {} ms", spread / MILLIS);
}

#[test]
fn tail_loss_is_repaired_by_the_rescue_retransmission() {
    // Ten segments; the 3rd and the last are lost. The SACKs for 4..9 start recovery and
    // resend the 3rd; the last is not "lost" (nothing SACKed above it), so only rule 4's
    // rescue retransmission saves it from an RTO.
    let cfg = TcpConfig::default();
    let (p, d, ca) = run_with_drops(cfg, 60_000, &[2, 9], 10 * 1448);
    let st = p.a.connection(ca).unwrap().stats();
    assert_eq!(st.rescue_retransmits, 1);
    assert_eq!(st.timeouts, 0, "no RTO needed");
    let rtx: Vec<u32> = d
        .borrow()
        .retransmitted_at
        .iter()
        .map(|&(i, _)| i)
        .collect();
    assert_eq!(rtx, vec![2, 9]);
}

#[test]
fn bad_sack_blocks_are_ignored_and_counted() {
    let cfg = TcpConfig {
        delayed_ack: None,
        mss: 1012, // 1000 bytes of payload beside timestamps
        ..TcpConfig::default()
    };
    let (mut a, mut b, now) = established(cfg.clone(), cfg);
    a.send(&[1u8; 3000]).unwrap();
    let segs = drain(&mut a, now);
    assert_eq!(segs.len(), 3);
    let (s0, _) = &segs[0];
    let una = s0.seq_number;
    let snd_max = una + 3000;
    // B acks nothing new and reports impossible blocks.
    b.handle_segment(now, &segs[1].0, &segs[1].1);
    let mut ack = drain(&mut b, now).remove(0).0;
    assert_eq!(ack.ack_number, una);
    let u = |s: TcpSeqNumber| s.to_u32();
    ack.sack_ranges = [
        Some((u(una + 2000), u(una + 1000))),    // reversed
        Some((u(snd_max), u(snd_max + 1000))),   // beyond anything sent
        Some((u(una + 1000), u(una + 100_000))), // runs past SND.MAX
        Some((u(una - 5000), u(una - 4000))),    // old (D-SACK-like): ignored, not counted
    ];
    let before = a.stats();
    for _ in 0..2 {
        a.handle_segment(now, &ack, &[]);
    }
    let st = a.stats();
    assert_eq!(
        st.sack_rejected - before.sack_rejected,
        6,
        "3 bad blocks × 2 ACKs"
    );
    assert!(
        drain(&mut a, now).is_empty(),
        "nothing resent for bad blocks"
    );
    assert!(!a.in_recovery());
    // A valid block is taken.
    ack.sack_ranges = [Some((u(una + 1000), u(una + 2000))), None, None, None];
    a.handle_segment(now, &ack, &[]);
    assert_eq!(a.stats().sack_rejected, st.sack_rejected);
    // Two more duplicate ACKs (they carry no new SACK information, but the classic
    // definition holds) complete three: recovery resends only the hole at SND.UNA.
    a.handle_segment(now, &ack, &[]);
    a.handle_segment(now, &ack, &[]);
    assert!(a.in_recovery());
    let out = drain(&mut a, now);
    let rtx: Vec<_> = out
        .iter()
        .filter(|(r, _)| r.payload_len > 0)
        .map(|(r, _)| (r.seq_number, r.payload_len))
        .collect();
    assert_eq!(
        rtx[0],
        (una, 1000),
        "the first hole, up to the SACKed block"
    );
    assert!(
        rtx.iter().all(|&(s, _)| s != una + 1000),
        "the SACKed segment is not resent"
    );
}
