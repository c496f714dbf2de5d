//! A growable array of `AtomicU32` that readers index without locks.
//!
//! Entries live in fixed chunks of [`CHUNK`] atomics (2 MiB, one transparent huge page),
//! each mapped on first use (a huge-page-advised [`HugeSlice`]) and never moved or freed
//! while the pool lives, so a reader's index stays valid while the writer grows the pool.
//! Reaching a chunk costs one extra load from a small, hot pointer array (a `OnceLock` read
//! is an Acquire load of its state word). A pool smaller than a chunk maps only its size.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use sys::mmap::HugeSlice;

/// log2 of the entries per chunk.
const CHUNK_LOG: usize = 19;
/// Entries per chunk.
pub(crate) const CHUNK: usize = 1 << CHUNK_LOG;

type Chunk = HugeSlice<AtomicU32>;

/// The pool. Readers call [`Pool::load`]; the single writer calls the rest.
#[derive(Debug)]
pub(crate) struct Pool {
    chunks: Box<[OnceLock<Chunk>]>,
    max_entries: usize,
    fill: u32,
}

impl Pool {
    /// A pool able to hold `max_entries` (the last chunk is cut to fit); maps nothing yet.
    pub(crate) fn new(max_entries: usize, fill: u32) -> Pool {
        let n = max_entries.div_ceil(CHUNK);
        Pool {
            chunks: (0..n).map(|_| OnceLock::new()).collect(),
            max_entries,
            fill,
        }
    }

    /// Reads entry `i`; `missing` when its chunk does not exist (never for an index the
    /// writer published).
    #[inline(always)]
    pub(crate) fn load(&self, i: usize, missing: u32) -> u32 {
        match self
            .chunks
            .get(i >> CHUNK_LOG)
            .and_then(OnceLock::get)
            .and_then(|c| c.get(i & (CHUNK - 1)))
        {
            Some(e) => e.load(Ordering::Acquire),
            None => missing,
        }
    }

    /// Entry `i`, if its chunk exists (for a prefetch: [`Pool::load`] reads it).
    #[inline(always)]
    pub(crate) fn entry(&self, i: usize) -> Option<&AtomicU32> {
        self.chunks
            .get(i >> CHUNK_LOG)
            .and_then(OnceLock::get)
            .and_then(|c| c.get(i & (CHUNK - 1)))
    }

    /// Makes entries `..end` addressable. False when `end` is past the capacity or the
    /// kernel refuses the memory.
    pub(crate) fn ensure(&self, end: usize) -> bool {
        let need = end.div_ceil(CHUNK);
        if need > self.chunks.len() || end > self.max_entries {
            return false;
        }
        for (n, c) in self.chunks[..need].iter().enumerate() {
            if c.get().is_some() {
                continue;
            }
            let len = CHUNK.min(self.max_entries - n * CHUNK);
            let Ok(chunk) = HugeSlice::<AtomicU32>::zeroed(len) else {
                return false;
            };
            // Not yet published: filled before the `OnceLock` makes it visible (a fresh
            // mapping is already zero, so a zero fill leaves its pages untouched).
            if self.fill != 0 {
                for e in chunk.iter() {
                    e.store(self.fill, Ordering::Relaxed);
                }
            }
            // Only the single writer initialises chunks, so this always stores `chunk`.
            let _ = c.set(chunk);
        }
        true
    }

    /// Writes entry `i` (Release: whatever the writer stored before is visible to a reader
    /// that sees this value). Ignored past the allocated chunks (never for ensured indices).
    #[inline]
    pub(crate) fn store(&self, i: usize, v: u32) {
        if let Some(e) = self
            .chunks
            .get(i >> CHUNK_LOG)
            .and_then(OnceLock::get)
            .and_then(|c| c.get(i & (CHUNK - 1)))
        {
            e.store(v, Ordering::Release);
        }
    }

    /// Bytes allocated.
    pub(crate) fn bytes(&self) -> usize {
        let live: usize = self
            .chunks
            .iter()
            .filter_map(OnceLock::get)
            .map(|c| c.len() * 4)
            .sum();
        live + self.chunks.len() * std::mem::size_of::<OnceLock<Chunk>>()
    }
}
