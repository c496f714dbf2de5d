//! Per-thread buffer cache: bulk allocation and free without touching the shared list.

use crate::frame::Frame;
use crate::pool::{Buf, BufferPool};
use std::sync::atomic::{AtomicU32, Ordering};
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
///
/// No atomic read-modify-write happens per buffer: the cache publishes its length with a
/// plain store for `show buffers` to sum.
#[derive(Debug)]
pub struct BufferCache {
    pool: Arc<BufferPool>,
    local: Vec<u32>,
    published: Arc<AtomicU32>,
}

impl BufferCache {
    /// A new, empty cache on `pool`.
    pub fn new(pool: Arc<BufferPool>) -> BufferCache {
        let published = pool.register_cache();
        BufferCache {
            pool,
            local: Vec::with_capacity(CACHE_MAX + CACHE_BATCH),
            published,
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
    }

    fn spill(&mut self) {
        let give = CACHE_BATCH.min(self.local.len());
        let start = self.local.len() - give;
        self.pool.free_list().extend(self.local.drain(start..));
    }

    #[inline]
    fn take_one(&mut self) -> Option<u32> {
        if self.local.is_empty() {
            self.refill();
        }
        self.local.pop()
    }

    /// Allocates one empty buffer (data window at its home offset, [`crate::home_offset`],
    /// length 0, metadata reset).
    /// `None` when the pool is exhausted; the failure is counted in the pool's stats.
    #[inline]
    pub fn alloc(&mut self) -> Option<Buf> {
        let got = self.take_one();
        self.publish();
        match got {
            Some(i) => {
                self.pool.mark_owned(i);
                let mut b = BufferPool::mint(i);
                *self.pool.meta_mut(&mut b) = self.pool.fresh_meta(i);
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
            *self.pool.meta_mut(&mut b) = self.pool.fresh_meta(i);
            // Cannot fail: we checked the room above.
            let _ = frame.push(b).map_err(|b| b.forget());
            got += 1;
        }
        self.publish();
        got
    }

    #[inline(always)]
    fn publish(&self) {
        // Single writer: a plain store, no locked instruction.
        self.published
            .store(self.local.len() as u32, Ordering::Relaxed);
    }

    /// Frees a buffer and every buffer chained behind it.
    #[inline]
    pub fn free(&mut self, b: Buf) {
        self.free_one(b);
        self.publish();
    }

    #[inline(always)]
    fn free_one(&mut self, b: Buf) {
        let mut next = Some(b.into_raw());
        while let Some(i) = next {
            next = self.pool.next_in_chain(i);
            self.pool.mark_free(i);
            if self.local.len() >= CACHE_MAX {
                self.spill();
            }
            self.local.push(i);
        }
    }

    /// Frees every buffer of `frame`, leaving it empty.
    pub fn free_frame(&mut self, frame: &mut Frame) {
        for b in frame.drain() {
            self.free_one(b);
        }
        self.publish();
    }
}

impl Drop for BufferCache {
    fn drop(&mut self) {
        self.pool.free_list().append(&mut self.local);
        self.pool.unregister_cache(&self.published);
    }
}
