//! Congestion control: how much may be in flight. CUBIC (RFC 9438, the default) and
//! NewReno (RFC 5681 slow start and congestion avoidance, RFC 6582 fast recovery).
//!
//! The connection decides *what* to send and when a loss happened; this decides the
//! window. Slow start is shared; the algorithms differ in congestion avoidance
//! ([`Cc::on_ack`] once `cwnd >= ssthresh`) and in the reduction on a congestion event
//! ([`Cc::on_congestion`]: ×½ for NewReno, ×β = 0.7 for CUBIC). The window changes that
//! belong to a loss-recovery mechanism (NewReno's inflation by duplicate ACKs, its
//! deflation on partial ACKs) are generic helpers here, used by the connection only when
//! SACK is not in use.
//!
//! CUBIC keeps its state in segments as `f64` (RFC 9438 §4.1: `C = 0.4`, `β = 0.7`, fast
//! convergence on): `W_max`, `K`, the epoch start `t_epoch`, `cwnd_epoch`, the Reno-friendly
//! estimate `W_est` and `cwnd_prior`. Time comes in as the caller's [`Instant`].

use crate::{Instant, SECONDS};

/// Which congestion-control algorithm a connection uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CongestionControl {
    /// CUBIC (RFC 9438): the window follows `W(t) = C(t-K)³ + W_max` after a loss.
    #[default]
    Cubic,
    /// NewReno (RFC 5681, RFC 6582): one MSS per RTT in congestion avoidance.
    NewReno,
}

/// RFC 9438 §4.1 constants.
pub(crate) const CUBIC_C: f64 = 0.4;
pub(crate) const CUBIC_BETA: f64 = 0.7;

#[derive(Debug, Clone, Copy, Default)]
struct Cubic {
    /// Window (segments) just before the last reduction, after fast convergence.
    w_max: f64,
    /// Seconds from the epoch start until the window reaches `w_max` again.
    k: f64,
    /// Start of the current congestion-avoidance stage (`t_epoch`), once it began.
    epoch: Option<Instant>,
    /// The window (segments) at the epoch start.
    cwnd_epoch: f64,
    /// Reno-friendly estimate (segments), RFC 9438 §4.3.
    w_est: f64,
    /// The window (segments) before the last reduction.
    cwnd_prior: f64,
    /// Fractional window growth not yet whole bytes.
    frac: f64,
}

/// Congestion window state in bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cc {
    pub(crate) cwnd: u32,
    pub(crate) ssthresh: u32,
    algo: CongestionControl,
    /// NewReno: bytes acked in congestion avoidance not yet turned into window growth.
    acked_acc: u32,
    cubic: Cubic,
}

impl Cc {
    /// Initial window per RFC 5681 §3.1 (RFC 6928's IW10 is a later option).
    pub(crate) fn new(algo: CongestionControl, mss: u32) -> Self {
        let iw = if mss > 2190 {
            2 * mss
        } else if mss > 1095 {
            3 * mss
        } else {
            4 * mss
        };
        Cc {
            cwnd: iw,
            ssthresh: u32::MAX,
            algo,
            acked_acc: 0,
            cubic: Cubic::default(),
        }
    }

    pub(crate) fn algorithm(&self) -> CongestionControl {
        self.algo
    }

    /// Switches algorithm, keeping `cwnd` and `ssthresh`; the new one starts a fresh epoch.
    pub(crate) fn set_algorithm(&mut self, algo: CongestionControl) {
        self.algo = algo;
        self.acked_acc = 0;
        self.cubic = Cubic::default();
    }

    /// New data acknowledged outside recovery. `srtt` is the smoothed RTT, if known.
    pub(crate) fn on_ack(&mut self, now: Instant, acked: u32, mss: u32, srtt: Option<Instant>) {
        if self.cwnd < self.ssthresh {
            // Slow start (RFC 5681 §3.1, ABC with L = 1).
            self.cwnd = self.cwnd.saturating_add(acked.min(mss));
            return;
        }
        match self.algo {
            CongestionControl::NewReno => {
                // One MSS per window's worth of acked bytes (RFC 5681 §3.1, byte counting).
                self.acked_acc = self.acked_acc.saturating_add(acked);
                if self.acked_acc >= self.cwnd {
                    self.acked_acc -= self.cwnd;
                    self.cwnd = self.cwnd.saturating_add(mss);
                }
            }
            CongestionControl::Cubic => self.cubic_ack(now, acked, mss, srtt),
        }
    }

    /// RFC 9438 §4.2–§4.4: congestion avoidance.
    fn cubic_ack(&mut self, now: Instant, acked: u32, mss: u32, srtt: Option<Instant>) {
        let m = f64::from(mss.max(1));
        let cwnd = f64::from(self.cwnd) / m;
        let c = &mut self.cubic;
        let epoch = match c.epoch {
            Some(e) => e,
            None => {
                // A new congestion-avoidance stage begins (§4.2).
                c.epoch = Some(now);
                c.cwnd_epoch = cwnd;
                if c.w_max < cwnd {
                    // No loss yet, or the window already passed W_max: start at the plateau.
                    c.w_max = cwnd;
                    c.k = 0.0;
                } else {
                    c.k = ((c.w_max - cwnd) / CUBIC_C).cbrt();
                }
                c.w_est = cwnd;
                c.frac = 0.0;
                now
            }
        };
        let t = now.saturating_sub(epoch) as f64 / SECONDS as f64;
        let rtt = srtt.unwrap_or(0) as f64 / SECONDS as f64;
        let acked_segs = f64::from(acked) / m;
        // §4.3: Reno-friendly region.
        let alpha = if c.w_est >= c.cwnd_prior {
            1.0
        } else {
            3.0 * (1.0 - CUBIC_BETA) / (1.0 + CUBIC_BETA)
        };
        c.w_est += alpha * acked_segs / cwnd;
        let w_cubic_t = cubic_window(c.w_max, c.k, t);
        let grow_segs = if w_cubic_t < c.w_est {
            (c.w_est - cwnd).max(0.0)
        } else {
            // §4.4/§4.5: towards W_cubic(t + RTT), at most 1.5 × cwnd.
            let target = cubic_window(c.w_max, c.k, t + rtt).clamp(cwnd, 1.5 * cwnd);
            (target - cwnd) / cwnd * acked_segs
        };
        c.frac += grow_segs * m;
        let whole = c.frac.floor();
        if whole >= 1.0 {
            c.frac -= whole;
            self.cwnd = self
                .cwnd
                .saturating_add(whole.min(f64::from(u32::MAX)) as u32);
        }
    }

    /// A congestion event (loss detected by duplicate ACKs or SACK): `ssthresh` drops and
    /// `cwnd = ssthresh` (RFC 5681 eq. 4 for NewReno; RFC 9438 §4.6–§4.7 for CUBIC).
    pub(crate) fn on_congestion(&mut self, flight: u32, mss: u32) {
        match self.algo {
            CongestionControl::NewReno => {
                self.ssthresh = (flight / 2).max(2 * mss);
            }
            CongestionControl::Cubic => {
                let m = f64::from(mss.max(1));
                let cwnd = f64::from(self.cwnd) / m;
                let c = &mut self.cubic;
                // §4.7 fast convergence.
                c.w_max = if cwnd < c.w_max {
                    cwnd * (1.0 + CUBIC_BETA) / 2.0
                } else {
                    cwnd
                };
                c.cwnd_prior = cwnd;
                c.epoch = None;
                let reduced = (f64::from(self.cwnd) * CUBIC_BETA) as u32;
                self.ssthresh = reduced.max(2 * mss);
            }
        }
        self.cwnd = self.ssthresh;
        self.acked_acc = 0;
    }

    /// NewReno fast recovery entry (RFC 6582 §3.2 step 2): reduce, then inflate by the
    /// three segments that left the network.
    pub(crate) fn on_enter_recovery(&mut self, flight: u32, mss: u32) {
        self.on_congestion(flight, mss);
        self.cwnd = self.ssthresh + 3 * mss;
    }

    /// Further duplicate ACK in NewReno recovery: inflate (step 3).
    pub(crate) fn on_dup_ack_in_recovery(&mut self, mss: u32) {
        self.cwnd = self.cwnd.saturating_add(mss);
    }

    /// Partial ACK in NewReno recovery (step 5): deflate by the amount acked, add back
    /// one MSS.
    pub(crate) fn on_partial_ack(&mut self, acked: u32, mss: u32) {
        self.cwnd = self.cwnd.saturating_sub(acked);
        if acked >= mss {
            self.cwnd = self.cwnd.saturating_add(mss);
        }
        self.cwnd = self.cwnd.max(mss);
    }

    /// Recovery ends (full ACK; step 4, option 2): `ssthresh`, bounded by what is in flight.
    pub(crate) fn on_exit_recovery(&mut self, flight: u32, mss: u32) {
        self.cwnd = self.ssthresh.min(flight.max(mss) + mss);
        self.acked_acc = 0;
    }

    /// RTO: a congestion event, then a loss window of one segment (RFC 5681 eq. 4 and
    /// §3.1; RFC 9438 §4.8).
    pub(crate) fn on_rto(&mut self, flight: u32, mss: u32) {
        self.on_congestion(flight, mss);
        self.cwnd = mss;
        self.acked_acc = 0;
    }
}

/// `W_cubic(t) = C × (t − K)³ + W_max` in segments (RFC 9438 eq. 1).
pub(crate) fn cubic_window(w_max: f64, k: f64, t: f64) -> f64 {
    let d = t - k;
    CUBIC_C * d * d * d + w_max
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MILLIS;

    #[test]
    fn newreno_slow_start_avoidance_recovery_rto() {
        let mss = 1000;
        let mut c = Cc::new(CongestionControl::NewReno, mss);
        assert_eq!(c.cwnd, 4000);
        c.on_ack(0, 3000, mss, None);
        assert_eq!(c.cwnd, 5000, "slow start grows by at most one MSS per ACK");
        c.on_enter_recovery(10_000, mss);
        assert_eq!((c.ssthresh, c.cwnd), (5000, 8000));
        c.on_dup_ack_in_recovery(mss);
        assert_eq!(c.cwnd, 9000);
        c.on_partial_ack(2000, mss);
        assert_eq!(c.cwnd, 8000);
        c.on_exit_recovery(20_000, mss);
        assert_eq!(c.cwnd, 5000);
        c.on_ack(0, 5000, mss, None);
        assert_eq!(c.cwnd, 6000, "congestion avoidance: one MSS per cwnd acked");
        c.on_rto(6000, mss);
        assert_eq!((c.ssthresh, c.cwnd), (3000, 1000));
    }

    #[test]
    fn cubic_reduction_fast_convergence_and_plateau() {
        let mss = 1000;
        let mut c = Cc::new(CongestionControl::Cubic, mss);
        c.cwnd = 100_000;
        c.on_congestion(100_000, mss);
        assert_eq!((c.ssthresh, c.cwnd), (70_000, 70_000), "β = 0.7");
        // A second loss below W_max: fast convergence lowers W_max to cwnd × (1+β)/2.
        c.on_congestion(70_000, mss);
        assert!((c.cubic.w_max - 70.0 * 0.85).abs() < 1e-9);
        assert_eq!(c.cwnd, 49_000);
        // Congestion avoidance: K = cbrt((W_max − cwnd_epoch)/C); at t = K the window
        // reaches W_max (within one segment of per-ACK rounding).
        let mut c = Cc::new(CongestionControl::Cubic, mss);
        c.cwnd = 100_000;
        c.on_congestion(100_000, mss);
        let k = ((100.0 - 70.0) / CUBIC_C).cbrt();
        let rtt = 100 * MILLIS;
        let mut now = 0;
        while (now as f64) < k * SECONDS as f64 {
            // One window of ACKs per RTT.
            for _ in 0..c.cwnd / mss {
                c.on_ack(now, mss, mss, Some(rtt));
            }
            now += rtt;
        }
        let w = f64::from(c.cwnd) / 1000.0;
        assert!((w - 100.0).abs() < 3.0, "at t = K, cwnd {w} ≈ W_max 100");
    }
}
