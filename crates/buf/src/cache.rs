//! Per-thread buffer cache: bulk allocation and free without touching the shared list.

use crate::frame::Frame;
use crate::meta::Meta;
use crate::pool::{Buf, BufferPool};
use std::sync::Arc;

/// Buffers moved between a cache and the shared free list at a time.
pub const CACHE_BATCH: usize = 256;
/// A cache holds at most this many buffers before returning a batch.
const CACHE_MAX: usize = 2 * CACHE_BATCH;

/// One thread's window on a [`BufferPool`].
///
/// Allocation pops from a local stack, refilled [`CACHE_BATCH`] at a time from the shared
/// free list; freeing pushes to it and spills a batch back when it passes
/// `2 * CACHE_BATCH`. The local stack is allocated once, at construction.
#[derive(Debug)]
pub struct BufferCache {
    pool: Arc<BufferPool>,
    local: Vec<u32>,
}

impl BufferCache {
    /// A new, empty cache on `pool`.
    pub fn new(pool: Arc<BufferPool>) -> BufferCache {
        BufferCache {
            pool,
            local: Vec::with_capacity(CACHE_MAX + CACHE_BATCH),
        }
    }

    /// The pool this cache draws from.
    #[inline(always)]
    pub fn pool(&self) -> &Arc<BufferPool> {
        &self.pool
    }

    /// Free buffers held by this cache.
    pub fn len(&self) -> usize {
        self.local.len()
    }

    /// True if the cache holds no buffers.
    pub fn is_empty(&self) -> bool {
        self.local.is_empty()
    }

    fn refill(&mut self) {
        let want = CACHE_BATCH.min(self.local.capacity() - self.local.len());
        let mut free = self.pool.free_list();
        let take = want.min(free.len());
        let start = free.len() - take;
        self.local.extend(free.drain(start..).rev());
        drop(free);
        self.pool.note_cached(take as i64);
    }

    fn spill(&mut self) {
        let give = CACHE_BATCH.min(self.local.len());
        let start = self.local.len() - give;
        self.pool.free_list().extend(self.local.drain(start..));
        self.pool.note_cached(-(give as i64));
    }

    #[inline]
    fn take_one(&mut self) -> Option<u32> {
        if self.local.is_empty() {
            self.refill();
        }
        let i = self.local.pop()?;
        self.pool.note_cached(-1);
        Some(i)
    }

    /// Allocates one empty buffer (data window at `HEADROOM`, length 0, metadata reset).
    /// `None` when the pool is exhausted; the failure is counted in the pool's stats.
    #[inline]
    pub fn alloc(&mut self) -> Option<Buf> {
        match self.take_one() {
            Some(i) => {
                self.pool.mark_owned(i);
                let mut b = BufferPool::mint(i);
                *self.pool.meta_mut(&mut b) = Meta::new();
                Some(b)
            }
            None => {
                self.pool.note_alloc_failure(1);
                None
            }
        }
    }

    /// Allocates up to `n` buffers into `frame` (bounded by its free room) and returns how
    /// many it added. A shortfall is counted as allocation failures.
    pub fn alloc_into(&mut self, frame: &mut Frame, n: usize) -> usize {
        let n = n.min(frame.room());
        let mut got = 0;
        while got < n {
            let Some(i) = self.take_one() else {
                self.pool.note_alloc_failure((n - got) as u64);
                break;
            };
            self.pool.mark_owned(i);
            let mut b = BufferPool::mint(i);
            *self.pool.meta_mut(&mut b) = Meta::new();
            // Cannot fail: we checked the room above.
            let _ = frame.push(b).map_err(|b| b.forget());
            got += 1;
        }
        got
    }

    /// Frees a buffer and every buffer chained behind it.
    #[inline]
    pub fn free(&mut self, b: Buf) {
        let mut next = Some(b.into_raw());
        while let Some(i) = next {
            next = self.pool.next_in_chain(i);
            self.pool.mark_free(i);
            if self.local.len() >= CACHE_MAX {
                self.spill();
            }
            self.local.push(i);
            self.pool.note_cached(1);
        }
    }

    /// Frees every buffer of `frame`, leaving it empty.
    pub fn free_frame(&mut self, frame: &mut Frame) {
        for b in frame.drain() {
            self.free(b);
        }
    }
}

impl Drop for BufferCache {
    fn drop(&mut self) {
        let n = self.local.len();
        self.pool.free_list().append(&mut self.local);
        self.pool.note_cached(-(n as i64));
    }
}
