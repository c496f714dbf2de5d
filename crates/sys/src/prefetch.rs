//! Software prefetch: a hint that a cache line will be read soon.
//!
//! A lookup node issues it for the table entry a packet needs as soon as it knows the key,
//! and resolves the packet later (VPP's and DPDK's loop shape), so the cache misses of a
//! large table overlap other work. Unlike a plain load, a prefetch retires without waiting
//! for the line, so it does not stall the CPU's reorder window.

#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::{_MM_HINT_T0 as ALL_LEVELS, _MM_HINT_T1 as L2_AND_OUT};
#[cfg(not(target_arch = "x86_64"))]
const ALL_LEVELS: i32 = 0;
#[cfg(not(target_arch = "x86_64"))]
const L2_AND_OUT: i32 = 0;

/// Starts loading the cache line holding `*r` into every cache level. A hint only: no
/// effect on memory or results; a no-op where the target has no such instruction.
#[inline(always)]
pub fn read<T>(r: &T) {
    prefetch::<ALL_LEVELS, T>(r);
}

/// Like [`read`], but into the L2 (and outer) caches only, not L1: for a line needed
/// after a whole frame's other work, which an L1 fill would evict again (or would evict
/// the packets that work touches).
#[inline(always)]
pub fn read_l2<T>(r: &T) {
    prefetch::<L2_AND_OUT, T>(r);
}

#[inline(always)]
fn prefetch<const HINT: i32, T>(r: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: PREFETCHh (SSE, in the x86_64 baseline) is a hint with no architectural
        // effect that never faults, whatever the address; `r` is a valid reference anyway.
        unsafe {
            core::arch::x86_64::_mm_prefetch::<HINT>((r as *const T).cast::<i8>());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = r;
}
