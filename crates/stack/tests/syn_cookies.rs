//! SYN cookies (RFC 4987) when the SYN queue is full, and the SYN filter hook.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use common::{encode, LinkConfig, Pair};
use stack::{
    CloseReason, ConnectionHandle, Event, FourTuple, State, SynVerdict, TcpConfig, SECONDS,
};
use wire::tcp::{TcpFlags, TcpRepr};

fn a_port(p: &Pair, port: u16) -> SocketAddr {
    SocketAddr::new(p.a_addr.ip(), port)
}

/// Moves `len` bytes each way over an established pair of handles; checks them.
fn exchange(p: &mut Pair, ca: ConnectionHandle, cb: ConnectionHandle, len: usize) {
    let up = common::pattern(len, 1);
    let down = common::pattern(len, 2);
    let (mut sa, mut sb) = (0, 0);
    let (mut ga, mut gb) = (Vec::new(), Vec::new());
    let mut buf = vec![0u8; 1 << 16];
    let limit = p.now + 300 * SECONDS;
    while ga.len() < len || gb.len() < len {
        if sa < len {
            sa += p.a.send(ca, &up[sa..]).unwrap_or(0);
        }
        if sb < len {
            sb += p.b.send(cb, &down[sb..]).unwrap_or(0);
        }
        while let Ok(Some(n)) = p.b.recv(cb, &mut buf) {
            gb.extend_from_slice(&buf[..n]);
        }
        while let Ok(Some(n)) = p.a.recv(ca, &mut buf) {
            ga.extend_from_slice(&buf[..n]);
        }
        assert!(p.step(limit), "stalled: {} / {}", ga.len(), gb.len());
    }
    assert!(gb == up && ga == down, "bytes differ");
}

/// B listens with backlog 2; two half-open connections (their SYN-ACKs never reach A)
/// fill its SYN queue.
fn full_syn_queue(a_cfg: TcpConfig) -> Pair {
    let mut p = Pair::with_configs(a_cfg, TcpConfig::default(), LinkConfig::default(), 3);
    p.b.listen(p.b_addr, 2).unwrap();
    p.record = true;
    p.filter = Some(Box::new(|from_a, r| {
        !from_a && r.flags.contains(TcpFlags::SYN) && (r.dst_port == 50000 || r.dst_port == 50001)
    }));
    for port in [50000, 50001] {
        let local = a_port(&p, port);
        p.a.connect(p.now, local, p.b_addr).unwrap();
    }
    p.run_until(p.now + 100 * stack::MILLIS);
    assert_eq!(p.b.connection_count(), 2, "two half-open connections");
    p
}

fn connect_via_cookie(p: &mut Pair) -> (ConnectionHandle, ConnectionHandle) {
    let local = a_port(p, 50002);
    let ca = p.a.connect(p.now, local, p.b_addr).unwrap();
    let limit = p.now + 10 * SECONDS;
    let cb = loop {
        assert!(p.step(limit), "no connection through the cookie");
        if let Some(cb) = p.b.accept(p.b_addr) {
            break cb;
        }
    };
    assert_eq!(p.a.connection(ca).unwrap().state(), State::Established);
    assert_eq!(p.b.stats().syn_cookies_sent, 1);
    assert_eq!(p.b.stats().syn_cookies_accepted, 1);
    (ca, cb)
}

#[test]
fn full_syn_queue_answers_with_a_cookie_that_keeps_mss_wscale_and_sack() {
    let mut p = full_syn_queue(TcpConfig::default());
    let (ca, cb) = connect_via_cookie(&mut p);
    let synack = p
        .log
        .iter()
        .find(|(from_a, r)| !from_a && r.dst_port == 50002 && r.flags.contains(TcpFlags::SYN))
        .unwrap()
        .1;
    assert_eq!(synack.max_seg_size, Some(1460));
    let b = p.b.connection(cb).unwrap();
    assert_eq!(
        b.send_mss(),
        1460 - 12,
        "MSS from the cookie, minus the TS option"
    );
    assert_eq!(
        b.window_scale(),
        Some((3, 3)),
        "peer's shift came back in TSecr"
    );
    assert!(b.sack_enabled(), "SACK-permitted came back in TSecr");
    assert!(b.timestamps_enabled());
    // No state was held for it before the ACK: still only the two half-open ones + it.
    assert_eq!(p.b.connection_count(), 3);
    exchange(&mut p, ca, cb, 200_000);
}

#[test]
fn without_timestamps_a_cookie_keeps_only_the_mss() {
    let a_cfg = TcpConfig {
        timestamps: false,
        mss: 1400,
        ..TcpConfig::default()
    };
    let mut p = full_syn_queue(a_cfg);
    let (ca, cb) = connect_via_cookie(&mut p);
    let b = p.b.connection(cb).unwrap();
    assert_eq!(b.send_mss(), 1400, "1400 is in the cookie's MSS table");
    assert_eq!(
        b.window_scale(),
        None,
        "nothing carried the shift: not offered"
    );
    assert!(!b.sack_enabled());
    let a = p.a.connection(ca).unwrap();
    assert_eq!(a.window_scale(), None, "A agrees: no scaling");
    exchange(&mut p, ca, cb, 100_000);
}

#[test]
fn forged_and_stale_cookies_are_refused() {
    let mut p = full_syn_queue(TcpConfig::default());
    // A SYN whose SYN-ACK (the cookie) we capture; A's own ACK is not sent (we answer
    // by hand).
    let local = a_port(&p, 50002);
    let syn = TcpRepr {
        src_port: 50002,
        dst_port: p.b_addr.port(),
        seq_number: wire::tcp::TcpSeqNumber(1000),
        flags: TcpFlags::SYN,
        window_len: 65535,
        max_seg_size: Some(1460),
        timestamp: Some((77, 0)),
        ..TcpRepr::default()
    };
    let tuple = FourTuple {
        local,
        remote: p.b_addr,
    };
    p.deliver(true, local, p.b_addr, &encode(tuple, &syn, &[]));
    let mut buf = Vec::new();
    let synack =
        p.b.poll_transmit(p.now, &mut buf)
            .expect("cookie SYN-ACK")
            .repr;
    assert!(synack.flags.contains(TcpFlags::SYN) && synack.flags.contains(TcpFlags::ACK));
    assert_eq!(p.b.connection_count(), 2, "no state for a cookie");
    let ack = TcpRepr {
        src_port: 50002,
        dst_port: p.b_addr.port(),
        seq_number: synack.ack_number,
        ack_number: synack.seq_number + 1,
        flags: TcpFlags::ACK,
        window_len: 1000,
        timestamp: Some((78, synack.timestamp.unwrap().0)),
        ..TcpRepr::default()
    };
    // Forged: the cookie + 1 fails the hash; RST, counted.
    let mut forged = ack;
    forged.ack_number = ack.ack_number + 1;
    p.deliver(true, local, p.b_addr, &encode(tuple, &forged, &[]));
    assert_eq!(p.b.stats().syn_cookies_rejected, 1);
    let rst = p.b.poll_transmit(p.now, &mut buf).unwrap().repr;
    assert!(rst.flags.contains(TcpFlags::RST));
    assert_eq!(p.b.connection_count(), 2);
    // Stale: the genuine ACK, three cookie periods later.
    let now = p.now;
    p.now += 3 * 64 * SECONDS;
    p.deliver(true, local, p.b_addr, &encode(tuple, &ack, &[]));
    assert_eq!(p.b.stats().syn_cookies_rejected, 2);
    assert_eq!(p.b.stats().syn_cookies_accepted, 0);
    while p.b.poll_transmit(p.now, &mut buf).is_some() {}
    // In time, with data on the ACK: accepted, and the data is there.
    p.now = now + SECONDS;
    p.deliver(true, local, p.b_addr, &encode(tuple, &ack, b"hello"));
    assert_eq!(p.b.stats().syn_cookies_accepted, 1);
    let cb = p.b.accept(p.b_addr).expect("accepted from the cookie");
    let mut r = [0u8; 16];
    assert_eq!(p.b.recv(cb, &mut r), Ok(Some(5)));
    assert_eq!(&r[..5], b"hello");
}

#[test]
fn syn_filter_accepts_drops_or_resets_before_the_syn_queue() {
    let mut p = Pair::new(TcpConfig::default(), LinkConfig::default(), 4);
    p.b.listen(p.b_addr, 1).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    p.b.set_syn_filter(Some(Box::new(move |info| {
        s2.lock()
            .unwrap()
            .push((info.tuple.remote.port(), info.listener));
        assert!(info.syn.flags.contains(TcpFlags::SYN));
        match info.tuple.remote.port() {
            50000 => SynVerdict::Drop,
            50001 => SynVerdict::Reset,
            _ => SynVerdict::Accept,
        }
    })));
    let dropped = p.a.connect(p.now, a_port(&p, 50000), p.b_addr).unwrap();
    let reset = p.a.connect(p.now, a_port(&p, 50001), p.b_addr).unwrap();
    p.run_until(p.now + 500 * stack::MILLIS);
    assert_eq!(p.b.connection_count(), 0, "neither took a SYN-queue entry");
    assert_eq!(p.b.stats().syn_filter_dropped, 1);
    assert_eq!(p.b.stats().syn_filter_reset, 1);
    assert_eq!(p.a.connection(dropped).unwrap().state(), State::SynSent);
    let evs: Vec<_> = std::iter::from_fn(|| p.a.poll_event()).collect();
    assert!(evs.contains(&(reset, Event::Closed(CloseReason::Refused))));
    // The one-entry SYN queue is still free for an accepted SYN.
    let ok = p.a.connect(p.now, a_port(&p, 50002), p.b_addr).unwrap();
    p.run_until(p.now + 500 * stack::MILLIS);
    assert_eq!(p.a.connection(ok).unwrap().state(), State::Established);
    let cb = p.b.accept(p.b_addr).unwrap();
    assert_eq!(p.b.stats().syn_cookies_sent, 0);
    let ports: Vec<u16> = seen.lock().unwrap().iter().map(|s| s.0).collect();
    assert_eq!(&ports[..2], &[50000, 50001]);
    assert!(ports.contains(&50002));
    assert!(seen.lock().unwrap().iter().all(|s| s.1 == p.b_addr));
    exchange(&mut p, ok, cb, 10_000);
}
