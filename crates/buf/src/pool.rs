//! The pool: one mapped region of chunks, out-of-band metadata, and the shared free list.

use crate::meta::{BufFlags, Meta};
use crate::{home_offset, CHUNK_SIZE, HEADROOM};
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use sys::mmap::{Backing, Region};

/// A packet buffer, owned.
///
/// The token is move-only: whoever holds it owns the buffer's bytes and metadata, which is
/// what makes [`BufferPool::get_mut`] safe without locks. Give it back with
/// [`crate::BufferCache::free`]. In debug builds dropping a `Buf` any other way panics
/// (a leak).
#[derive(Debug, PartialEq, Eq)]
#[repr(transparent)]
pub struct Buf(u32);

impl Buf {
    /// The placeholder that fills unused frame slots; never owns a buffer.
    pub(crate) const EMPTY: Buf = Buf(u32::MAX);

    /// The buffer's process-wide index (for traces, rings and `show` output).
    #[inline]
    pub fn index(&self) -> u32 {
        self.0
    }

    /// Gives up the token and returns its index, for handing the buffer to another owner
    /// (a kernel ring, a peer process) that names buffers by index.
    #[inline]
    pub fn into_raw(self) -> u32 {
        let i = self.0;
        core::mem::forget(self);
        i
    }

    /// Takes ownership of the buffer named by `index`.
    ///
    /// # Safety
    ///
    /// `index` must have come from [`Buf::into_raw`] and nobody may own it now: the owner it
    /// was handed to (a ring) has given it back, exactly once. Two live tokens for one index
    /// let two `&mut` views of the same memory exist.
    #[inline]
    pub unsafe fn from_raw(index: u32) -> Buf {
        Buf(index)
    }

    #[inline]
    pub(crate) fn forget(self) {
        core::mem::forget(self);
    }
}

#[cfg(debug_assertions)]
impl Drop for Buf {
    fn drop(&mut self) {
        if self.0 != u32::MAX && !std::thread::panicking() {
            panic!("buffer {} leaked: dropped without being freed", self.0);
        }
    }
}

/// How to build a pool.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// Number of buffers.
    pub buffers: u32,
    /// Memory backing: 4 KiB pages or hugepages.
    pub backing: Backing,
    /// Pre-fault every page at creation so the data path never faults.
    pub populate: bool,
}

impl PoolConfig {
    /// `buffers` buffers on ordinary pages, pre-faulted.
    pub fn new(buffers: u32) -> PoolConfig {
        PoolConfig {
            buffers,
            backing: Backing::Anonymous,
            populate: true,
        }
    }
}

/// Why a pool could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// The buffer count is zero or larger than one pool may hold.
    #[error("buffers: {0} is out of range (1..={max})", max = BufferPool::MAX_BUFFERS)]
    BadCount(u32),
    /// The process has used up its 32-bit buffer index space.
    #[error("buffer index space exhausted: cannot reserve {0} more indices")]
    IndexSpace(u32),
    /// The memory could not be mapped.
    #[error("cannot map {bytes} bytes for {buffers} buffers ({backing:?}): {source}")]
    Map {
        /// Bytes asked for.
        bytes: usize,
        /// Buffers asked for.
        buffers: u32,
        /// Backing asked for.
        backing: Backing,
        /// The mmap error.
        source: std::io::Error,
    },
}

/// Counters of a pool, read without locks.
#[derive(Debug, Default)]
pub struct PoolStats {
    alloc_failures: AtomicU64,
}

impl PoolStats {
    /// Allocations refused because the pool was empty (each a counted drop somewhere).
    pub fn alloc_failures(&self) -> u64 {
        self.alloc_failures.load(Ordering::Relaxed)
    }
}

#[cfg(debug_assertions)]
mod state {
    pub(super) const FREE: u8 = 0;
    pub(super) const OWNED: u8 = 1;
}

/// A pool of fixed-size packet buffers in one mapped region.
///
/// Share it as `Arc<BufferPool>`; allocate and free through a per-thread
/// [`crate::BufferCache`].
pub struct BufferPool {
    region: Region,
    meta: Box<[UnsafeCell<Meta>]>,
    base: u32,
    count: u32,
    free: Mutex<Vec<u32>>,
    /// Each cache's published count of the free buffers it holds.
    caches: Mutex<Vec<Arc<AtomicU32>>>,
    stats: PoolStats,
    #[cfg(debug_assertions)]
    state: Box<[std::sync::atomic::AtomicU8]>,
}

// SAFETY: the `UnsafeCell<Meta>` slots and the chunks of `region` are only reached through
// a `Buf` token (`&Buf` for shared, `&mut Buf` for exclusive access). A token is unique per
// index (minted only by the free list or by the unsafe `Buf::from_raw`), so no two threads
// can reach one slot mutably at once. Everything else is behind a Mutex or atomics.
unsafe impl Sync for BufferPool {}
// SAFETY: as above; the pool owns its memory and has no thread affinity.
unsafe impl Send for BufferPool {}

impl std::fmt::Debug for BufferPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BufferPool")
            .field("base", &self.base)
            .field("count", &self.count)
            .field("free", &self.free_count())
            .finish()
    }
}

/// Next unreserved process-wide buffer index. Ranges are never reused, so a token that
/// outlives its pool cannot alias a buffer of a later pool.
static NEXT_INDEX: AtomicU64 = AtomicU64::new(0);

impl BufferPool {
    /// Largest pool: 4 Mi buffers (16 GiB of chunks).
    pub const MAX_BUFFERS: u32 = 1 << 22;

    /// Maps the region and puts every buffer on the free list.
    pub fn new(cfg: &PoolConfig) -> Result<Arc<BufferPool>, PoolError> {
        let count = cfg.buffers;
        if count == 0 || count > Self::MAX_BUFFERS {
            return Err(PoolError::BadCount(count));
        }
        let base = NEXT_INDEX.fetch_add(u64::from(count), Ordering::Relaxed);
        // u32::MAX stays free: it is the frame placeholder.
        if base + u64::from(count) >= u64::from(u32::MAX) {
            return Err(PoolError::IndexSpace(count));
        }
        let base = base as u32;
        let bytes = count as usize * CHUNK_SIZE;
        let region = Region::anonymous(bytes, cfg.backing, cfg.populate).map_err(|source| {
            PoolError::Map {
                bytes,
                buffers: count,
                backing: cfg.backing,
                source,
            }
        })?;
        let meta = (0..count as usize)
            .map(|s| {
                let home = home_offset(region.as_ptr() as usize + s * CHUNK_SIZE);
                UnsafeCell::new(Meta::new(home as u16))
            })
            .collect();
        // Lowest indices on top of the stack: allocation walks memory in order.
        let free = (0..count).rev().map(|i| base + i).collect();
        Ok(Arc::new(BufferPool {
            region,
            meta,
            base,
            count,
            free: Mutex::new(free),
            caches: Mutex::new(Vec::new()),
            stats: PoolStats::default(),
            #[cfg(debug_assertions)]
            state: (0..count)
                .map(|_| std::sync::atomic::AtomicU8::new(state::FREE))
                .collect(),
        }))
    }

    /// Position of `index` in this pool.
    ///
    /// # Panics
    ///
    /// If the buffer belongs to another pool: a program bug, not a packet's doing.
    #[inline(always)]
    fn slot(&self, index: u32) -> usize {
        let s = index.wrapping_sub(self.base) as usize;
        // `meta.len() == count`: checking against the slice's own length lets the compiler
        // drop the bounds check of `self.meta[s]` that follows every call.
        assert!(
            s < self.meta.len(),
            "buffer {index} is not from pool {}..{}",
            self.base,
            self.base + self.count
        );
        s
    }

    #[inline(always)]
    fn chunk_ptr(&self, slot: usize) -> *mut u8 {
        // In bounds: slot < count and the region holds count chunks. `wrapping_add` keeps
        // this free of unsafe; the dereference sites carry the safety argument.
        self.region.as_ptr().wrapping_add(slot * CHUNK_SIZE)
    }

    /// Metadata of a buffer.
    #[inline(always)]
    pub fn meta<'a>(&'a self, b: &'a Buf) -> &'a Meta {
        let slot = self.slot(b.0);
        // SAFETY: `b` is the unique token for this slot and is borrowed shared for 'a, so
        // no `&mut Meta` to it can exist for 'a (that needs `&mut Buf`).
        unsafe { &*self.meta[slot].get() }
    }

    /// Metadata of a buffer, writable.
    #[inline(always)]
    pub fn meta_mut<'a>(&'a self, b: &'a mut Buf) -> &'a mut Meta {
        let slot = self.slot(b.0);
        // SAFETY: `b` is the unique token for this slot, borrowed exclusively for 'a.
        unsafe { &mut *self.meta[slot].get() }
    }

    /// The buffer's packet bytes and metadata.
    #[inline(always)]
    pub fn get<'a>(&'a self, b: &'a Buf) -> PacketRef<'a> {
        let slot = self.slot(b.0);
        let p = self.chunk_ptr(slot).cast::<[u8; CHUNK_SIZE]>();
        // SAFETY: (1) chunk `slot` lies inside the live region (slot < count) and is
        // aligned for u8; (2) `b` is the unique token for the slot, borrowed shared for 'a,
        // so nothing in this process writes the chunk for 'a; (3) while we hold the token
        // no other party (kernel ring, peer) owns the chunk.
        let chunk = unsafe { &*p };
        PacketRef {
            meta: self.meta(b),
            chunk,
        }
    }

    /// The buffer's packet bytes and metadata, writable.
    #[inline(always)]
    pub fn get_mut<'a>(&'a self, b: &'a mut Buf) -> PacketMut<'a> {
        let slot = self.slot(b.0);
        let p = self.chunk_ptr(slot).cast::<[u8; CHUNK_SIZE]>();
        // SAFETY: as in `get`, with `b` borrowed exclusively for 'a: this is the only
        // reference to chunk `slot` (the metadata is separate memory).
        let chunk = unsafe { &mut *p };
        // SAFETY: `b` is the unique token for this slot, borrowed exclusively for 'a.
        let meta = unsafe { &mut *self.meta[slot].get() };
        PacketMut { meta, chunk }
    }

    /// Mutable views of two different buffers at once (copying between packets).
    pub fn get_pair_mut<'a>(
        &'a self,
        a: &'a mut Buf,
        b: &'a mut Buf,
    ) -> (PacketMut<'a>, PacketMut<'a>) {
        // Two `&mut Buf` are two distinct tokens, hence two distinct slots.
        (self.get_mut(a), self.get_mut(b))
    }

    /// Byte offset of the buffer's chunk in the region: its AF_XDP UMEM address.
    #[inline]
    pub fn chunk_offset(&self, b: &Buf) -> u64 {
        (self.slot(b.0) * CHUNK_SIZE) as u64
    }

    /// The process-wide index of the chunk at `offset` in the region, if it is one.
    #[inline]
    pub fn index_at_offset(&self, offset: u64) -> Option<u32> {
        let slot = offset / CHUNK_SIZE as u64;
        (slot < u64::from(self.count)).then(|| self.base + slot as u32)
    }

    /// The mapped region, for registering it with the kernel (AF_XDP UMEM) or a peer.
    pub fn region(&self) -> &Region {
        &self.region
    }

    /// Number of buffers.
    pub fn capacity(&self) -> u32 {
        self.count
    }

    /// Buffers on the shared free list (not counting per-thread caches).
    pub fn free_count(&self) -> u32 {
        self.free_list().len() as u32
    }

    /// Buffers sitting in per-thread caches, free but reserved by a thread.
    pub fn cached_count(&self) -> u32 {
        let caches = self.caches.lock().unwrap_or_else(|e| e.into_inner());
        caches.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// Buffers owned by someone: in frames, queues, rings or leaked.
    pub fn in_use(&self) -> u32 {
        self.count
            .saturating_sub(self.free_count() + self.cached_count())
    }

    /// The pool's counters.
    pub fn stats(&self) -> &PoolStats {
        &self.stats
    }

    /// Resets a buffer's metadata to an empty packet at its home offset
    /// ([`crate::home_offset`]: [`HEADROOM`] plus the chunk's cache colour).
    #[inline]
    pub fn reset(&self, b: &mut Buf) {
        let m = self.fresh_meta(b.0);
        *self.meta_mut(b) = m;
    }

    /// Metadata of an empty packet at the home offset of buffer `index`'s chunk.
    #[inline(always)]
    pub(crate) fn fresh_meta(&self, index: u32) -> Meta {
        let addr = self.chunk_ptr(self.slot(index)) as usize;
        Meta::new(home_offset(addr) as u16)
    }

    /// Appends `tail` (and its own chain) at the end of `head`'s chain.
    pub fn chain(&self, head: &mut Buf, tail: Buf) {
        let tail = tail.into_raw();
        let mut cur = self.slot(head.0);
        loop {
            // SAFETY: `head` is borrowed exclusively, and owning the head owns its whole
            // chain: every `next` index was stored here from a consumed token.
            let m = unsafe { &mut *self.meta[cur].get() };
            if !m.flags.contains(BufFlags::NEXT_PRESENT) {
                m.next = tail;
                m.flags.insert(BufFlags::NEXT_PRESENT);
                return;
            }
            cur = self.slot(m.next);
        }
    }

    /// Detaches and returns the buffer after `head` in its chain (with the rest of the chain
    /// still linked behind it).
    pub fn unchain(&self, head: &mut Buf) -> Option<Buf> {
        let m = self.meta_mut(head);
        if !m.flags.contains(BufFlags::NEXT_PRESENT) {
            return None;
        }
        m.flags.remove(BufFlags::NEXT_PRESENT);
        // The index was stored by `chain` from a consumed token that nobody else holds.
        Some(Buf(m.next))
    }

    /// Total packet bytes over the buffer's chain.
    pub fn chain_len(&self, b: &Buf) -> usize {
        let mut m = self.meta(b);
        let mut total = m.len();
        let mut hops = 0;
        while m.flags.contains(BufFlags::NEXT_PRESENT) && hops < self.count {
            // SAFETY: the chain is owned through `b`, borrowed shared here.
            m = unsafe { &*self.meta[self.slot(m.next)].get() };
            total += m.len();
            hops += 1;
        }
        total
    }

    pub(crate) fn free_list(&self) -> MutexGuard<'_, Vec<u32>> {
        // A panic while holding this lock cannot leave the Vec inconsistent.
        self.free.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a cache's published free count.
    pub(crate) fn register_cache(&self) -> Arc<AtomicU32> {
        let c = Arc::new(AtomicU32::new(0));
        self.caches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(c.clone());
        c
    }

    /// Forgets a cache's published count (the cache is gone and gave its buffers back).
    pub(crate) fn unregister_cache(&self, c: &Arc<AtomicU32>) {
        self.caches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|x| !Arc::ptr_eq(x, c));
    }

    pub(crate) fn note_alloc_failure(&self, n: u64) {
        self.stats.alloc_failures.fetch_add(n, Ordering::Relaxed);
    }

    /// Debug builds: records that `index` leaves the free state (allocation).
    #[inline]
    pub(crate) fn mark_owned(&self, index: u32) {
        #[cfg(debug_assertions)]
        {
            let prev = self.state[self.slot(index)].swap(state::OWNED, Ordering::Relaxed);
            assert_eq!(
                prev,
                state::FREE,
                "buffer {index} allocated twice (pool free list corrupt)"
            );
        }
        let _ = index;
    }

    /// Debug builds: records that `index` is freed; panics on a double free.
    #[inline]
    pub(crate) fn mark_free(&self, index: u32) {
        #[cfg(debug_assertions)]
        {
            let prev = self.state[self.slot(index)].swap(state::FREE, Ordering::Relaxed);
            assert_eq!(prev, state::OWNED, "double free of buffer {index}");
        }
        let _ = index;
    }

    /// Iterates over the buffer chain starting after `b`'s index (for freeing).
    pub(crate) fn next_in_chain(&self, index: u32) -> Option<u32> {
        // SAFETY: called by the cache while freeing a chain whose head token it consumed,
        // so it owns every member.
        let m = unsafe { &*self.meta[self.slot(index)].get() };
        m.flags.contains(BufFlags::NEXT_PRESENT).then_some(m.next)
    }

    pub(crate) fn mint(index: u32) -> Buf {
        Buf(index)
    }
}

/// Read access to one buffer.
#[derive(Debug)]
pub struct PacketRef<'a> {
    meta: &'a Meta,
    chunk: &'a [u8; CHUNK_SIZE],
}

/// The packet window of `meta` inside a chunk, checked only in debug builds.
///
/// Every writer of `Meta::offset`/`Meta::len` (the fields are private to this crate: `Meta::new`
/// at a home offset with length 0, and `PacketMut`'s `advance`, `prepend`, `append`,
/// `truncate`, `set_window`) keeps `offset + len <= CHUNK_SIZE`, so slicing a chunk with
/// this range never needs a bounds check.
#[inline(always)]
fn window(meta: &Meta) -> core::ops::Range<usize> {
    let (o, l) = (meta.offset(), meta.len());
    debug_assert!(o + l <= CHUNK_SIZE, "window {o}+{l} past the chunk");
    o..o + l
}

impl<'a> PacketRef<'a> {
    /// The packet bytes.
    #[inline(always)]
    pub fn data(&self) -> &'a [u8] {
        // SAFETY: `window` is inside the chunk (see its invariant).
        unsafe { self.chunk.get_unchecked(window(self.meta)) }
    }
    /// The metadata.
    #[inline(always)]
    pub fn meta(&self) -> &'a Meta {
        self.meta
    }
    /// The whole chunk, headroom included.
    pub fn chunk(&self) -> &'a [u8; CHUNK_SIZE] {
        self.chunk
    }
}

/// Write access to one buffer: its bytes and the window (offset, length) on them.
#[derive(Debug)]
pub struct PacketMut<'a> {
    meta: &'a mut Meta,
    chunk: &'a mut [u8; CHUNK_SIZE],
}

impl PacketMut<'_> {
    /// The packet bytes.
    #[inline(always)]
    pub fn data(&self) -> &[u8] {
        // SAFETY: `window` is inside the chunk (see its invariant).
        unsafe { self.chunk.get_unchecked(window(self.meta)) }
    }

    /// The packet bytes, writable.
    #[inline(always)]
    pub fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: `window` is inside the chunk (see its invariant).
        unsafe { self.chunk.get_unchecked_mut(window(self.meta)) }
    }

    /// The metadata.
    #[inline(always)]
    pub fn meta(&self) -> &Meta {
        self.meta
    }

    /// The metadata, writable.
    #[inline(always)]
    pub fn meta_mut(&mut self) -> &mut Meta {
        self.meta
    }

    /// Metadata and packet bytes at once.
    #[inline(always)]
    pub fn split(&mut self) -> (&mut Meta, &mut [u8]) {
        let w = window(self.meta);
        // SAFETY: `window` is inside the chunk (see its invariant).
        (self.meta, unsafe { self.chunk.get_unchecked_mut(w) })
    }

    /// The whole chunk, headroom and tailroom included.
    pub fn chunk_mut(&mut self) -> &mut [u8; CHUNK_SIZE] {
        self.chunk
    }

    /// Free bytes before the packet.
    #[inline]
    pub fn headroom(&self) -> usize {
        self.meta.offset()
    }

    /// Free bytes after the packet.
    #[inline]
    pub fn tailroom(&self) -> usize {
        CHUNK_SIZE - self.meta.offset() - self.meta.len()
    }

    /// Strips `n` bytes from the front (a parsed header). False, and no change, if the
    /// packet is shorter than `n`.
    #[inline]
    pub fn advance(&mut self, n: usize) -> bool {
        if n > self.meta.len() {
            return false;
        }
        self.meta.offset += n as u16;
        self.meta.len -= n as u16;
        true
    }

    /// Grows the packet by `n` bytes at the front, into the headroom, and returns them.
    /// `None`, and no change, if the headroom is smaller than `n`.
    #[inline]
    pub fn prepend(&mut self, n: usize) -> Option<&mut [u8]> {
        if n > self.meta.offset() {
            return None;
        }
        self.meta.offset -= n as u16;
        self.meta.len += n as u16;
        let o = self.meta.offset();
        Some(&mut self.chunk[o..o + n])
    }

    /// Grows the packet by `n` bytes at the end and returns them. `None`, and no change, if
    /// the tailroom is smaller than `n`.
    #[inline]
    pub fn append(&mut self, n: usize) -> Option<&mut [u8]> {
        if n > self.tailroom() {
            return None;
        }
        let end = self.meta.offset() + self.meta.len();
        self.meta.len += n as u16;
        Some(&mut self.chunk[end..end + n])
    }

    /// Shortens the packet to `len` bytes (no-op if already shorter).
    #[inline]
    pub fn truncate(&mut self, len: usize) {
        if len < self.meta.len() {
            self.meta.len = len as u16;
        }
    }

    /// Sets the window to `len` bytes at `offset` in the chunk (after a driver wrote the
    /// packet there). False, and no change, if that runs past the chunk.
    #[inline]
    pub fn set_window(&mut self, offset: usize, len: usize) -> bool {
        if offset.checked_add(len).is_none_or(|end| end > CHUNK_SIZE) {
            return false;
        }
        self.meta.offset = offset as u16;
        self.meta.len = len as u16;
        true
    }

    /// Replaces the packet with a copy of `bytes` starting at the chunk's home offset
    /// ([`crate::home_offset`]), or at [`HEADROOM`] if it does not fit there. False, and no
    /// change, if it does not fit at all.
    pub fn copy_from(&mut self, bytes: &[u8]) -> bool {
        let home = home_offset(self.chunk.as_ptr() as usize);
        if !self.set_window(home, bytes.len()) && !self.set_window(HEADROOM, bytes.len()) {
            return false;
        }
        self.data_mut().copy_from_slice(bytes);
        true
    }
}
