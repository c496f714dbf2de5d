//! Retransmission timeout per RFC 6298, with Linux's reading of the minimum.
//!
//! `RTO = SRTT + max(min_rto, 4 × RTTVAR)`: RFC 6298 §2 writes `max(G, K × RTTVAR)` with
//! G the clock granularity and clamps the sum at 1 s. With a 200 ms minimum applied to the
//! sum, a steady path whose RTT is above 200 ms (RTTVAR → 0) gets RTO ≈ RTT, and the RTO
//! fires while fast recovery's retransmission is still on its way; applying the minimum
//! to the variance term (as Linux does) keeps RTO ≥ SRTT + 200 ms.

use crate::Instant;

/// SRTT/RTTVAR estimator; the RTO it gives includes exponential backoff.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RttEstimator {
    srtt: Instant,
    rttvar: Instant,
    /// The RTO computed from the estimate, clamped, before backoff.
    base: Instant,
    /// Backoff doublings since the last RTT sample.
    backoff: u8,
    has_sample: bool,
}

impl RttEstimator {
    pub(crate) fn new(initial: Instant) -> Self {
        RttEstimator {
            srtt: 0,
            rttvar: 0,
            base: initial,
            backoff: 0,
            has_sample: false,
        }
    }

    /// Feeds one sample `r` (RFC 6298 §2.2, §2.3); clears the backoff (§5.7).
    pub(crate) fn sample(&mut self, r: Instant, min: Instant, max: Instant) {
        if self.has_sample {
            let diff = self.srtt.abs_diff(r);
            self.rttvar = (3 * self.rttvar + diff) / 4;
            self.srtt = (7 * self.srtt + r) / 8;
        } else {
            self.srtt = r;
            self.rttvar = r / 2;
            self.has_sample = true;
        }
        self.base = (self.srtt + (4 * self.rttvar).max(min)).min(max);
        self.backoff = 0;
    }

    /// The timer expired: double the RTO (RFC 6298 §5.5).
    pub(crate) fn back_off(&mut self) {
        self.backoff = self.backoff.saturating_add(1);
    }

    /// The current RTO, backoff included, at most `max`.
    pub(crate) fn rto(&self, max: Instant) -> Instant {
        let shift = u32::from(self.backoff.min(32));
        self.base.saturating_mul(1u64 << shift).min(max)
    }

    pub(crate) fn srtt(&self) -> Option<Instant> {
        self.has_sample.then_some(self.srtt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MILLIS, SECONDS};

    #[test]
    fn rfc6298_first_and_later_samples() {
        let mut e = RttEstimator::new(SECONDS);
        assert_eq!(e.rto(60 * SECONDS), SECONDS);
        e.sample(100 * MILLIS, 0, 60 * SECONDS);
        // RTO = R + 4 * R/2 = 3R.
        assert_eq!(e.rto(60 * SECONDS), 300 * MILLIS);
        e.sample(100 * MILLIS, 0, 60 * SECONDS);
        // RTTVAR = 3/4 * 50 = 37.5 ms; SRTT 100 ms.
        assert_eq!(e.rto(60 * SECONDS), 250 * MILLIS);
        e.back_off();
        e.back_off();
        assert_eq!(e.rto(60 * SECONDS), 1000 * MILLIS);
        assert_eq!(e.rto(600 * MILLIS), 600 * MILLIS);
        e.sample(100 * MILLIS, 300 * MILLIS, 60 * SECONDS);
        // SRTT 100 ms, 4 × RTTVAR 112.5 ms < 300 ms: RTO = 100 + 300 ms.
        assert_eq!(
            e.rto(60 * SECONDS),
            400 * MILLIS,
            "the minimum bounds the variance term; backoff cleared"
        );
    }
}
