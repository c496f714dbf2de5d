//! Which pool buffers are lent to the kernel, by UMEM address: the proof that turns an
//! address the kernel gives back into a `Buf` token again.
//!
//! A buffer goes into the fill or tx ring by [`Ledger::lend`] (its token is given up with
//! `Buf::into_raw` and its bit set) and comes back by [`Ledger::reclaim`], which mints a
//! token only if the address lies in the pool and its chunk's bit is set — then clears it.
//! An address out of range, or of a chunk that is not lent (never lent, or returned
//! already), is refused: the caller counts it and moves on. So a confused or hostile ring
//! can cost us a buffer (kept lent until [`Ledger::drain`]) but never mint a second token
//! for a buffer someone owns.

use buf::{Buf, BufferPool, CHUNK_SIZE};

/// Lent-out buffers of one pool, one bit per chunk.
#[derive(Debug)]
pub(crate) struct Ledger {
    bits: Vec<u64>,
    chunks: u64,
    lent: u32,
}

impl Ledger {
    /// An empty ledger for `pool`.
    pub(crate) fn new(pool: &BufferPool) -> Ledger {
        let chunks = u64::from(pool.capacity());
        Ledger {
            bits: vec![0; chunks.div_ceil(64) as usize],
            chunks,
            lent: 0,
        }
    }

    /// Buffers lent now.
    pub(crate) fn lent(&self) -> u32 {
        self.lent
    }

    /// Gives up `b` and returns its chunk's UMEM address (the chunk start).
    pub(crate) fn lend(&mut self, pool: &BufferPool, b: Buf) -> u64 {
        let addr = pool.chunk_offset(&b);
        let chunk = addr / CHUNK_SIZE as u64;
        if let Some(w) = self.bits.get_mut((chunk / 64) as usize) {
            *w |= 1 << (chunk % 64);
        }
        self.lent += 1;
        let _index = b.into_raw();
        addr
    }

    /// The buffer whose chunk holds UMEM address `addr`, if that chunk is lent out;
    /// `None` (and nothing changes) otherwise.
    pub(crate) fn reclaim(&mut self, pool: &BufferPool, addr: u64) -> Option<Buf> {
        let chunk = addr / CHUNK_SIZE as u64;
        if chunk >= self.chunks {
            return None;
        }
        let index = pool.index_at_offset(chunk * CHUNK_SIZE as u64)?;
        let w = self.bits.get_mut((chunk / 64) as usize)?;
        let bit = 1u64 << (chunk % 64);
        if *w & bit == 0 {
            return None;
        }
        *w &= !bit;
        self.lent -= 1;
        // SAFETY: `index` is the pool's buffer for this chunk, whose token was given up by
        // `into_raw` in `lend` (its bit was set there and nowhere else) and not reclaimed
        // since (clearing the bit above makes this the only reclaim): nobody owns it, and
        // the caller has the kernel's word that the ring gave it back.
        Some(unsafe { Buf::from_raw(index) })
    }

    /// Every lent buffer, reclaimed. Only once the kernel cannot touch them any more (the
    /// socket is closed).
    pub(crate) fn drain(&mut self, pool: &BufferPool) -> Vec<Buf> {
        let mut out = Vec::with_capacity(self.lent as usize);
        for w in 0..self.bits.len() {
            while self.bits[w] != 0 {
                let bit = u64::from(self.bits[w].trailing_zeros());
                let chunk = w as u64 * 64 + bit;
                match self.reclaim(pool, chunk * CHUNK_SIZE as u64) {
                    Some(b) => out.push(b),
                    None => self.bits[w] &= !(1 << bit),
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use buf::{BufferCache, PoolConfig};

    #[test]
    fn only_lent_chunks_come_back_once() {
        let pool = BufferPool::new(&PoolConfig::new(256)).unwrap();
        let mut cache = BufferCache::new(pool.clone());
        let mut l = Ledger::new(&pool);
        let a = cache.alloc().unwrap();
        let b = cache.alloc().unwrap();
        let (ia, ib) = (a.index(), b.index());
        let aa = l.lend(&pool, a);
        let ab = l.lend(&pool, b);
        assert_eq!(l.lent(), 2);
        // Any address inside the chunk names it (the kernel adds its headroom).
        let back = l.reclaim(&pool, aa + 256).unwrap();
        assert_eq!(back.index(), ia);
        // Not twice, not out of range, not a chunk never lent.
        assert!(l.reclaim(&pool, aa).is_none());
        assert!(l.reclaim(&pool, 256 * CHUNK_SIZE as u64).is_none());
        assert!(l.reclaim(&pool, u64::MAX).is_none());
        let other = (0..256u64)
            .map(|c| c * CHUNK_SIZE as u64)
            .find(|&o| o != aa && o != ab)
            .unwrap();
        assert!(l.reclaim(&pool, other).is_none());
        cache.free(back);
        let rest = l.drain(&pool);
        assert_eq!(rest.iter().map(Buf::index).collect::<Vec<_>>(), vec![ib]);
        assert_eq!(l.lent(), 0);
        for b in rest {
            cache.free(b);
        }
        drop(cache);
        assert_eq!(pool.in_use(), 0);
    }
}
