//! A growable array of `AtomicU32` that readers index without locks.
//!
//! Entries live in fixed chunks of [`CHUNK`] atomics (64 KiB), each allocated on first use
//! and never moved or freed while the pool lives, so a reader's index stays valid while
//! the writer grows the pool. Reaching a chunk costs one extra load from a small, hot
//! pointer array (a `OnceLock` read is an Acquire load of its state word).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// log2 of the entries per chunk.
const CHUNK_LOG: usize = 14;
/// Entries per chunk.
pub(crate) const CHUNK: usize = 1 << CHUNK_LOG;

type Chunk = Box<[AtomicU32; CHUNK]>;

/// The pool. Readers call [`Pool::load`]; the single writer calls the rest.
#[derive(Debug)]
pub(crate) struct Pool {
    chunks: Box<[OnceLock<Chunk>]>,
    fill: u32,
}

impl Pool {
    /// A pool able to hold `max_entries` (rounded up to whole chunks); allocates nothing yet.
    pub(crate) fn new(max_entries: usize, fill: u32) -> Pool {
        let n = max_entries.div_ceil(CHUNK);
        Pool {
            chunks: (0..n).map(|_| OnceLock::new()).collect(),
            fill,
        }
    }

    /// Reads entry `i`; `missing` when its chunk does not exist (never for an index the
    /// writer published).
    #[inline(always)]
    pub(crate) fn load(&self, i: usize, missing: u32) -> u32 {
        match self.chunks.get(i >> CHUNK_LOG).and_then(OnceLock::get) {
            Some(c) => c[i & (CHUNK - 1)].load(Ordering::Acquire),
            None => missing,
        }
    }

    /// Makes entries `..end` addressable. False when `end` is past the capacity.
    pub(crate) fn ensure(&self, end: usize) -> bool {
        let need = end.div_ceil(CHUNK);
        if need > self.chunks.len() {
            return false;
        }
        for c in &self.chunks[..need] {
            c.get_or_init(|| {
                let v: Vec<AtomicU32> = (0..CHUNK).map(|_| AtomicU32::new(self.fill)).collect();
                match v.into_boxed_slice().try_into() {
                    Ok(b) => b,
                    Err(_) => unreachable!("the Vec has exactly CHUNK entries"),
                }
            });
        }
        true
    }

    /// Writes entry `i` (Release: whatever the writer stored before is visible to a reader
    /// that sees this value). Ignored past the allocated chunks (never for ensured indices).
    #[inline]
    pub(crate) fn store(&self, i: usize, v: u32) {
        if let Some(c) = self.chunks.get(i >> CHUNK_LOG).and_then(OnceLock::get) {
            c[i & (CHUNK - 1)].store(v, Ordering::Release);
        }
    }

    /// Bytes allocated.
    pub(crate) fn bytes(&self) -> usize {
        let live = self.chunks.iter().filter(|c| c.get().is_some()).count();
        live * CHUNK * 4 + self.chunks.len() * std::mem::size_of::<OnceLock<Chunk>>()
    }
}
