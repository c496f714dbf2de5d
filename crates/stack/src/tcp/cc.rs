//! NewReno congestion control (RFC 5681 slow start and congestion avoidance, RFC 6582 fast
//! recovery). The connection decides *what* to retransmit; this decides *how much* may be
//! in flight. CUBIC (RFC 9438) will implement the same four calls.

/// Congestion window state in bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NewReno {
    pub(crate) cwnd: u32,
    pub(crate) ssthresh: u32,
    /// Bytes acked in congestion avoidance not yet turned into window growth.
    acked_acc: u32,
}

impl NewReno {
    /// Initial window per RFC 5681 §3.1 (RFC 6928's IW10 is a later option).
    pub(crate) fn new(mss: u32) -> Self {
        let iw = if mss > 2190 {
            2 * mss
        } else if mss > 1095 {
            3 * mss
        } else {
            4 * mss
        };
        NewReno {
            cwnd: iw,
            ssthresh: u32::MAX,
            acked_acc: 0,
        }
    }

    /// New data acknowledged outside recovery.
    pub(crate) fn on_ack(&mut self, acked: u32, mss: u32) {
        if self.cwnd < self.ssthresh {
            self.cwnd = self.cwnd.saturating_add(acked.min(mss));
        } else {
            // One MSS per window's worth of acked bytes (RFC 5681 §3.1, byte counting).
            self.acked_acc = self.acked_acc.saturating_add(acked);
            if self.acked_acc >= self.cwnd {
                self.acked_acc -= self.cwnd;
                self.cwnd = self.cwnd.saturating_add(mss);
            }
        }
    }

    /// Third duplicate ACK: enter fast recovery (RFC 6582 §3.2 step 2).
    pub(crate) fn on_enter_recovery(&mut self, flight: u32, mss: u32) {
        self.ssthresh = (flight / 2).max(2 * mss);
        self.cwnd = self.ssthresh + 3 * mss;
    }

    /// Further duplicate ACK in recovery: inflate (step 3).
    pub(crate) fn on_dup_ack_in_recovery(&mut self, mss: u32) {
        self.cwnd = self.cwnd.saturating_add(mss);
    }

    /// Partial ACK (step 5): deflate by the amount acked, add back one MSS.
    pub(crate) fn on_partial_ack(&mut self, acked: u32, mss: u32) {
        self.cwnd = self.cwnd.saturating_sub(acked);
        if acked >= mss {
            self.cwnd = self.cwnd.saturating_add(mss);
        }
        self.cwnd = self.cwnd.max(mss);
    }

    /// Full ACK (step 4, option 2): deflate to ssthresh, bounded by what is in flight.
    pub(crate) fn on_exit_recovery(&mut self, flight: u32, mss: u32) {
        self.cwnd = self.ssthresh.min(flight.max(mss) + mss);
        self.acked_acc = 0;
    }

    /// RTO: loss window of one segment (RFC 5681 §3.1, eq. 4).
    pub(crate) fn on_rto(&mut self, flight: u32, mss: u32) {
        self.ssthresh = (flight / 2).max(2 * mss);
        self.cwnd = mss;
        self.acked_acc = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_start_avoidance_recovery_rto() {
        let mss = 1000;
        let mut c = NewReno::new(mss);
        assert_eq!(c.cwnd, 4000);
        c.on_ack(3000, mss);
        assert_eq!(c.cwnd, 5000, "slow start grows by at most one MSS per ACK");
        c.on_enter_recovery(10_000, mss);
        assert_eq!((c.ssthresh, c.cwnd), (5000, 8000));
        c.on_dup_ack_in_recovery(mss);
        assert_eq!(c.cwnd, 9000);
        c.on_partial_ack(2000, mss);
        assert_eq!(c.cwnd, 8000);
        c.on_exit_recovery(20_000, mss);
        assert_eq!(c.cwnd, 5000);
        c.on_ack(5000, mss);
        assert_eq!(c.cwnd, 6000, "congestion avoidance: one MSS per cwnd acked");
        c.on_rto(6000, mss);
        assert_eq!((c.ssthresh, c.cwnd), (3000, 1000));
    }
}
