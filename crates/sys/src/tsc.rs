//! The CPU time-stamp counter: the clock of per-node runtime statistics.
//!
//! On these machines the TSC is constant and invariant, so clocks convert to time with one
//! calibrated frequency. Other architectures fall back to a nanosecond clock (the unit then
//! reads "clocks" at 1 GHz).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Reads the time-stamp counter.
#[inline(always)]
pub fn now() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: RDTSC is available on every x86_64 CPU and has no memory effects.
        unsafe { core::arch::x86_64::_rdtsc() }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        static START: OnceLock<Instant> = OnceLock::new();
        START.get_or_init(Instant::now).elapsed().as_nanos() as u64
    }
}

/// Counter ticks per second, measured once against the monotonic clock (about 20 ms).
pub fn frequency() -> u64 {
    static HZ: OnceLock<u64> = OnceLock::new();
    *HZ.get_or_init(|| {
        let t0 = Instant::now();
        let c0 = now();
        std::thread::sleep(Duration::from_millis(20));
        let c1 = now();
        let ns = t0.elapsed().as_nanos().max(1);
        ((u128::from(c1.wrapping_sub(c0)) * 1_000_000_000) / ns) as u64
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn counter_advances_and_frequency_is_plausible() {
        let a = super::now();
        let b = super::now();
        assert!(b >= a);
        let hz = super::frequency();
        // Anything from 100 MHz to 10 GHz is a real clock.
        assert!((100_000_000..10_000_000_000).contains(&hz), "{hz}");
    }
}
