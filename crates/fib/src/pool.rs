//! A growable array of `AtomicU32` that readers index without locks.
//!
//! The whole capacity is one huge-page-advised mapping ([`HugeSlice`]), reserved but not
//! backed: the kernel faults pages in as the writer first touches them, so an unused
//! capacity costs address space, not memory. Entries never move, so a reader's index stays
//! valid while the writer grows the pool, and reaching entry `i` is one bounds check and
//! one load from a fixed base: no chunk table between a lookup and its entry, so a group's
//! address is known as soon as its index is (a prefetch needs no load first).

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use sys::mmap::HugeSlice;

/// The pool. Readers call [`Pool::load`]; the single writer calls the rest.
#[derive(Debug)]
pub(crate) struct Pool {
    entries: HugeSlice<AtomicU32>,
    /// Entries filled so far (`..ready` hold `fill` or what the writer stored since).
    /// Written only by the single writer; readers never need it.
    ready: AtomicUsize,
    fill: u32,
}

impl Pool {
    /// A pool able to hold `max_entries`, each `fill` once made addressable; touches no
    /// memory yet. `None` when the kernel refuses the address space.
    pub(crate) fn new(max_entries: usize, fill: u32) -> Option<Pool> {
        Some(Pool {
            entries: HugeSlice::zeroed(max_entries.max(1)).ok()?,
            ready: AtomicUsize::new(0),
            fill,
        })
    }

    /// Reads entry `i`; `missing` past the capacity (never for an index the writer
    /// published).
    #[inline(always)]
    pub(crate) fn load(&self, i: usize, missing: u32) -> u32 {
        match self.entries.get(i) {
            Some(e) => e.load(Ordering::Acquire),
            None => missing,
        }
    }

    /// Entry `i`, if within the capacity (for a prefetch: [`Pool::load`] reads it).
    #[inline(always)]
    pub(crate) fn entry(&self, i: usize) -> Option<&AtomicU32> {
        self.entries.get(i)
    }

    /// Makes entries `..end` addressable, filled. False when `end` is past the capacity.
    pub(crate) fn ensure(&self, end: usize) -> bool {
        if end > self.entries.len() {
            return false;
        }
        let ready = self.ready.load(Ordering::Relaxed);
        if end > ready {
            // Not yet published: filled before the writer stores an index that reaches
            // them (with Release). A fresh mapping is already zero, so a zero fill leaves
            // its pages untouched.
            if self.fill != 0 {
                for e in &self.entries[ready..end] {
                    e.store(self.fill, Ordering::Relaxed);
                }
            }
            self.ready.store(end, Ordering::Relaxed);
        }
        true
    }

    /// Writes entry `i` (Release: whatever the writer stored before is visible to a reader
    /// that sees this value). Ignored past the capacity (never for ensured indices).
    #[inline]
    pub(crate) fn store(&self, i: usize, v: u32) {
        if let Some(e) = self.entries.get(i) {
            e.store(v, Ordering::Release);
        }
    }

    /// Bytes in use: the entries made addressable so far, in whole pages.
    pub(crate) fn bytes(&self) -> usize {
        (self.ready.load(Ordering::Relaxed) * 4).next_multiple_of(sys::mmap::page_size())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_filled_and_bounded() {
        let p = Pool::new(1000, 7).expect("pool");
        assert_eq!(p.bytes(), 0);
        assert!(p.ensure(10));
        assert_eq!(p.load(9, 0), 7);
        p.store(3, 42);
        assert_eq!(p.load(3, 0), 42);
        // Growing again keeps what was stored and fills only the new entries.
        assert!(p.ensure(500));
        assert_eq!((p.load(3, 0), p.load(499, 0)), (42, 7));
        assert!(p.ensure(1000));
        assert!(!p.ensure(1001));
        assert_eq!(p.load(1000, 99), 99);
        assert!(p.entry(1000).is_none());
        assert!(p.bytes() >= 4000);
    }

    #[test]
    fn a_large_capacity_costs_no_memory_until_used() {
        // 4 GiB of address space (an IPv6 FIB's default groups): only what is ensured is
        // ever touched.
        let p = Pool::new(1 << 30, u32::MAX).expect("pool");
        assert!(p.ensure(256));
        assert_eq!(p.load(255, 0), u32::MAX);
        assert_eq!(p.bytes(), sys::mmap::page_size());
    }
}
