//! Token buckets: how many ICMP errors an interface may send (RFC 1812 §4.3.2.8,
//! RFC 4443 §2.4(f)).

/// A token bucket in graph time: `rate` tokens per second, at most `burst` saved.
#[derive(Debug, Clone, Copy)]
pub struct TokenBucket {
    rate_per_sec: u64,
    burst: u64,
    /// Tokens, scaled by 10^9 so refills need no division per packet.
    tokens_nano: u64,
    last_ns: u64,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate_per_sec: u64, burst: u64) -> TokenBucket {
        TokenBucket {
            rate_per_sec,
            burst,
            tokens_nano: burst.saturating_mul(1_000_000_000),
            last_ns: 0,
        }
    }

    /// Takes a token if one is available at time `now_ns`.
    #[inline]
    pub fn allow(&mut self, now_ns: u64) -> bool {
        let elapsed = now_ns.saturating_sub(self.last_ns);
        self.last_ns = self.last_ns.max(now_ns);
        let cap = self.burst.saturating_mul(1_000_000_000);
        self.tokens_nano = self
            .tokens_nano
            .saturating_add(elapsed.saturating_mul(self.rate_per_sec))
            .min(cap);
        if self.tokens_nano >= 1_000_000_000 {
            self.tokens_nano -= 1_000_000_000;
            true
        } else {
            false
        }
    }
}

/// One token bucket per interface, created on first use.
#[derive(Debug, Clone)]
pub struct PerInterfaceLimiter {
    rate_per_sec: u64,
    burst: u64,
    buckets: Vec<TokenBucket>,
}

impl PerInterfaceLimiter {
    /// Limits each interface to `rate_per_sec` with bursts of `burst`.
    pub fn new(rate_per_sec: u64, burst: u64) -> PerInterfaceLimiter {
        PerInterfaceLimiter {
            rate_per_sec,
            burst,
            buckets: Vec::new(),
        }
    }

    /// Takes a token from interface `if_index`'s bucket at `now_ns`.
    pub fn allow(&mut self, if_index: u32, now_ns: u64) -> bool {
        let i = if_index as usize;
        if i >= self.buckets.len() {
            if i > 1 << 20 {
                return false;
            }
            self.buckets
                .resize(i + 1, TokenBucket::new(self.rate_per_sec, self.burst));
        }
        self.buckets[i].allow(now_ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_rate() {
        let mut b = TokenBucket::new(10, 3);
        assert!((0..3).all(|_| b.allow(0)));
        assert!(!b.allow(0), "burst spent");
        assert!(!b.allow(99_000_000), "not yet 100 ms");
        assert!(b.allow(100_000_000), "one token per 100 ms");
        assert!(!b.allow(100_000_000));
        // A long idle refills only up to the burst.
        let n = (0..10).filter(|_| b.allow(60_000_000_000)).count();
        assert_eq!(n, 3);
    }

    #[test]
    fn interfaces_are_independent() {
        let mut l = PerInterfaceLimiter::new(1, 1);
        assert!(l.allow(0, 0));
        assert!(!l.allow(0, 0));
        assert!(l.allow(5, 0));
        assert!(
            !l.allow(u32::MAX, 0),
            "absurd indices are refused, not allocated"
        );
    }
}
