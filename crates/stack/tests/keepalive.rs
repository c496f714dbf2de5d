//! Keep-alive (RFC 9293 §3.8.4; off by default, per connection) and the persist timer's
//! zero-window probes with exponential backoff (RFC 9293 §3.8.6.1).

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::{LinkConfig, Pair};
use stack::{CloseReason, Event, Instant, KeepAlive, State, TcpConfig, MILLIS, SECONDS};
use wire::tcp::TcpRepr;

/// The endpoint's timer wheel fires at most this much after a deadline.
const TICK: Instant = 1 << 16;

fn keepalive() -> KeepAlive {
    KeepAlive {
        idle: 10 * SECONDS,
        interval: 2 * SECONDS,
        count: 3,
    }
}

type Log = Rc<RefCell<Vec<(bool, TcpRepr, Instant)>>>;

/// Logs every segment with its time; drops B's segments while `b_dead` is set.
fn watch(p: &mut Pair, b_dead: Rc<RefCell<bool>>) -> (Log, Rc<RefCell<Instant>>) {
    let log: Log = Rc::new(RefCell::new(Vec::new()));
    let clock = Rc::new(RefCell::new(p.now));
    let (l2, c2) = (log.clone(), clock.clone());
    p.filter = Some(Box::new(move |from_a, r| {
        l2.borrow_mut().push((from_a, *r, *c2.borrow()));
        !from_a && *b_dead.borrow()
    }));
    (log, clock)
}

fn run(p: &mut Pair, clock: &Rc<RefCell<Instant>>, until: Instant) {
    loop {
        *clock.borrow_mut() = p.now;
        if !p.step(until) {
            break;
        }
    }
}

#[test]
fn keepalive_probes_an_idle_peer_and_gives_up_on_a_dead_one() {
    let mut p = Pair::new(TcpConfig::default(), LinkConfig::default(), 1);
    let (ca, cb) = p.connect();
    // Off by default: hours of silence, no segment.
    let dead = Rc::new(RefCell::new(false));
    let (log, clock) = watch(&mut p, dead.clone());
    assert_eq!(p.a.connection(ca).unwrap().keepalive(), None);
    let until = p.now + 3 * 3600 * SECONDS;
    run(&mut p, &clock, until);
    assert!(log.borrow().is_empty(), "keep-alive is off by default");

    // On for A: probes every `idle` while B answers; the connection stays up.
    let start = p.now;
    assert!(p.a.set_keepalive(p.now, ca, Some(keepalive())));
    run(&mut p, &clock, start + 35 * SECONDS);
    let l = log.borrow().clone();
    let a_probes: Vec<_> = l
        .iter()
        .filter(|(from_a, r, _)| *from_a && r.payload_len == 0)
        .collect();
    assert_eq!(a_probes.len(), 3, "one probe per idle period: {a_probes:?}");
    let b_acks: Vec<_> = l.iter().filter(|(from_a, _, _)| !*from_a).collect();
    for (probe, ack) in a_probes.iter().zip(&b_acks) {
        assert_eq!(
            probe.1.seq_number + 1,
            ack.1.ack_number,
            "a probe is at SND.UNA - 1, outside B's window"
        );
    }
    let times: Vec<Instant> = a_probes.iter().map(|e| e.2).collect();
    for (i, t) in times.iter().enumerate() {
        // Probe i+1 goes `idle` after the previous answer (one RTT of 20 ms later).
        let want = start + (i as u64 + 1) * 10 * SECONDS + i as u64 * 20 * MILLIS;
        assert!(t.abs_diff(want) <= MILLIS, "probe {i} at {t}, want {want}");
    }
    let answers = l.iter().filter(|(from_a, _, _)| !*from_a).count();
    assert_eq!(answers, 3, "B answers each probe with an ACK");
    assert_eq!(p.a.connection(ca).unwrap().state(), State::Established);
    assert_eq!(p.a.connection(ca).unwrap().stats().keepalive_probes, 3);

    // B disappears: after idle + count × interval without answers, A gives up.
    *dead.borrow_mut() = true;
    log.borrow_mut().clear();
    let quiet_from = p.now;
    run(&mut p, &clock, quiet_from + 60 * SECONDS);
    let evs: Vec<_> = std::iter::from_fn(|| p.a.poll_event()).collect();
    assert!(
        evs.contains(&(ca, Event::Closed(CloseReason::TimedOut))),
        "{evs:?}"
    );
    assert!(p.a.connection(ca).is_none());
    let l = log.borrow().clone();
    let sent: Vec<Instant> = l.iter().filter(|e| e.0).map(|e| e.2).collect();
    assert_eq!(sent.len(), 3, "count probes, then give up");
    assert!(
        (sent[1] - sent[0]).abs_diff(2 * SECONDS) < TICK,
        "interval between unanswered probes"
    );
    let _ = cb;
}

#[test]
fn persist_timer_backs_off_exponentially_up_to_max_rto() {
    let cfg = TcpConfig {
        recv_buffer: 8 * 1024,
        max_rto: 10 * SECONDS,
        ..TcpConfig::default()
    };
    let mut p = Pair::new(cfg, LinkConfig::default(), 5);
    let (ca, cb) = p.connect();
    let dead = Rc::new(RefCell::new(false));
    let (log, clock) = watch(&mut p, dead);
    // B never reads: its window closes; A has more to send.
    let data = vec![1u8; 64 * 1024];
    p.a.send(ca, &data).unwrap();
    let until = p.now + SECONDS;
    run(&mut p, &clock, until);
    assert_eq!(p.b.connection(cb).unwrap().recv_queue_len(), 8 * 1024);
    log.borrow_mut().clear();
    let probes_before = p.a.connection(ca).unwrap().stats().window_probes;
    let from = p.now;
    run(&mut p, &clock, from + 60 * SECONDS);
    let l = log.borrow().clone();
    let probe_times: Vec<Instant> = l
        .iter()
        .filter(|(from_a, r, _)| *from_a && r.payload_len == 0)
        .map(|e| e.2)
        .collect();
    let gaps: Vec<Instant> = probe_times.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.len() >= 5, "probes: {probe_times:?}");
    // Doubling (within the timer wheel's tick), then capped at max_rto.
    for w in gaps.windows(2) {
        let (a, b) = (w[0], w[1]);
        let doubled = (2 * a).min(10 * SECONDS);
        assert!(b.abs_diff(doubled) <= MILLIS, "gaps {gaps:?}");
    }
    assert!(
        gaps.last().unwrap().abs_diff(10 * SECONDS) < TICK,
        "capped at max_rto: {gaps:?}"
    );
    // B answers every probe with its (zero) window; A keeps probing and stays up.
    let acks = l.iter().filter(|(from_a, _, _)| !*from_a).count();
    assert_eq!(acks, probe_times.len());
    let c = p.a.connection(ca).unwrap();
    assert_eq!(
        (c.stats().window_probes - probes_before) as usize,
        probe_times.len()
    );
    assert_eq!(c.stats().timeouts, 0);
    assert_eq!(c.state(), State::Established);
    // The reader drains: the next probe's answer opens the window and data flows.
    let mut buf = vec![0u8; 64 * 1024];
    let mut got = 0;
    while got < data.len() {
        while let Ok(Some(n)) = p.b.recv(cb, &mut buf) {
            got += n;
        }
        *clock.borrow_mut() = p.now;
        assert!(p.step(p.now + 120 * SECONDS), "stalled at {got}");
    }
}
