//! CUBIC (RFC 9438) against its formulas on the virtual clock, and NewReno when a
//! connection selects it: one loss in a long-RTT bulk transfer, then the window's shape.

mod common;

use std::cell::Cell;
use std::rc::Rc;

use common::{LinkConfig, Pair};
use stack::{CongestionControl, Instant, TcpConfig, MILLIS, SECONDS};

const C: f64 = 0.4;
const BETA: f64 = 0.7;
const RTT: Instant = 200 * MILLIS;

/// `(seconds since the end of recovery, cwnd in segments)` samples after one loss, and
/// `(cwnd at the loss, ssthresh after it, cwnd at the epoch start)` in segments.
struct Run {
    samples: Vec<(f64, f64)>,
    w_loss: f64,
    ssthresh: f64,
    w_epoch: f64,
}

fn run(algo: CongestionControl, loss_at_segments: u32, follow: Instant) -> Run {
    let cfg = TcpConfig {
        delayed_ack: None,
        send_buffer: 1 << 20,
        recv_buffer: 1 << 20,
        ..TcpConfig::default()
    };
    let link = LinkConfig {
        latency: RTT / 2,
        ..LinkConfig::default()
    };
    let mut p = Pair::new(cfg, link, 11);
    let (ca, cb) = p.connect();
    assert!(p.a.set_congestion_control(ca, algo));
    assert_eq!(p.a.connection(ca).unwrap().congestion_control(), algo);
    let mss = f64::from(p.a.connection(ca).unwrap().send_mss());
    let drop_next = Rc::new(Cell::new(false));
    let d2 = drop_next.clone();
    p.filter = Some(Box::new(move |from_a, r| {
        if from_a && r.payload_len > 0 && d2.get() {
            d2.set(false);
            return true;
        }
        false
    }));
    let chunk = vec![0x5au8; 1 << 16];
    let mut buf = vec![0u8; 1 << 16];
    let mut armed = false;
    let mut w_loss = 0.0;
    let mut ssthresh = 0.0;
    let mut recovery_end: Option<Instant> = None;
    let mut w_epoch = 0.0;
    let mut samples = Vec::new();
    let mut prev_cwnd = 0.0;
    let limit = p.now + 600 * SECONDS;
    loop {
        while p.a.send(ca, &chunk).is_ok() {}
        while let Ok(Some(_)) = p.b.recv(cb, &mut buf) {}
        assert!(p.step(limit));
        let c = p.a.connection(ca).unwrap();
        let cwnd = f64::from(c.congestion_window()) / mss;
        if !armed && cwnd >= f64::from(loss_at_segments) {
            armed = true;
            drop_next.set(true);
        }
        if armed && ssthresh == 0.0 && c.slow_start_threshold() != u32::MAX {
            ssthresh = f64::from(c.slow_start_threshold()) / mss;
            w_loss = prev_cwnd;
            if algo == CongestionControl::Cubic {
                w_loss = ssthresh / BETA;
            }
        }
        assert_eq!(
            c.stats().timeouts,
            0,
            "the loss must be repaired without an RTO"
        );
        prev_cwnd = cwnd;
        if ssthresh > 0.0 && !c.in_recovery() {
            let end = *recovery_end.get_or_insert_with(|| {
                w_epoch = cwnd;
                p.now
            });
            let t = (p.now - end) as f64 / SECONDS as f64;
            samples.push((t, cwnd));
            if p.now - end > follow {
                break;
            }
        }
    }
    Run {
        samples,
        w_loss,
        ssthresh,
        w_epoch,
    }
}

#[test]
fn cubic_window_follows_the_cubic_function() {
    let r = run(CongestionControl::Cubic, 40, 8 * SECONDS);
    // Multiplicative decrease by β = 0.7 (RFC 9438 §4.6).
    assert!(r.w_loss >= 40.0);
    let w_max = r.w_loss;
    assert!(
        (r.ssthresh - BETA * w_max).abs() <= 1.0,
        "ssthresh {} vs 0.7 × {w_max}",
        r.ssthresh
    );
    let k = ((w_max - r.w_epoch) / C).cbrt();
    let w = |t: f64| C * (t - k).powi(3) + w_max;
    let rtt = RTT as f64 / SECONDS as f64;
    // The window tracks W_cubic: at time t it lies between W(t) and the target
    // W(t + RTT) it grows towards, within two segments of rounding and ACK timing.
    let mut checked = 0;
    for &(t, cwnd) in &r.samples {
        if t < rtt || t > 2.0 * k {
            continue;
        }
        let lo = w(t - rtt) - 2.0;
        let hi = w(t + 2.0 * rtt) + 2.0;
        assert!(
            cwnd >= lo && cwnd <= hi,
            "t = {t:.2} s: cwnd {cwnd:.1} not in [{lo:.1}, {hi:.1}] (W_max {w_max:.1}, K {k:.2})"
        );
        checked += 1;
    }
    assert!(checked > 20, "too few samples: {checked}");
    // Concave then convex: growth per second slows towards W_max at t = K and speeds up
    // after it.
    let at = |t: f64| {
        r.samples
            .iter()
            .find(|&&(s, _)| s >= t)
            .map(|&(_, c)| c)
            .unwrap()
    };
    let early = at(0.5 * k) - at(0.1 * k);
    let plateau = at(1.1 * k) - at(0.9 * k);
    let late = at(1.9 * k) - at(1.5 * k);
    assert!(plateau < early, "no plateau: {early} then {plateau}");
    assert!(
        late > plateau,
        "no convex growth after K: {plateau} then {late}"
    );
    assert!((at(k) - w_max).abs() < 3.0, "W(K) = W_max");
}

#[test]
fn newreno_halves_and_grows_one_segment_per_rtt() {
    let r = run(CongestionControl::NewReno, 40, 4 * SECONDS);
    let ratio = r.ssthresh / r.w_loss;
    assert!(
        (0.45..=0.55).contains(&ratio),
        "ssthresh {} vs half of {}",
        r.ssthresh,
        r.w_loss
    );
    // Congestion avoidance: one MSS per RTT (per cwnd's worth of ACKed bytes).
    let first = r.samples.first().unwrap();
    let last = r.samples.last().unwrap();
    let rtts = (last.0 - first.0) / (RTT as f64 / SECONDS as f64);
    let per_rtt = (last.1 - first.1) / rtts;
    assert!(
        (0.7..=1.3).contains(&per_rtt),
        "NewReno grew {per_rtt:.2} segments per RTT"
    );
}
