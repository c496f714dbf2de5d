//! The send side's storage: bytes from SND.UNA (or ISS+1 before the SYN is acked) to the
//! end of what the application wrote.
//!
//! Retransmission reads from here by sequence number, so the retransmit decision (RTO
//! go-back, NewReno's one segment at SND.UNA, later SACK's holes) is a cursor over the
//! same bytes: a SACK scoreboard is a sorted list of acked ranges above SND.UNA (the same
//! shape as the receiver's out-of-order ranges) consulted when picking the next segment.

use std::collections::VecDeque;

use wire::tcp::TcpSeqNumber as Seq;

/// Appends `bytes` to `data`. Into an empty deque: a spare buffer ([`spare`]) for a
/// segment's worth or more, else an exact-size `Vec` (one allocation, no growth path: the
/// usual case of a connection that sends or receives a little at a time).
pub(crate) fn append(data: &mut VecDeque<u8>, bytes: &[u8]) {
    if data.capacity() == 0 && !bytes.is_empty() {
        let v = match (bytes.len() >= spare::MIN_TAKE).then(spare::take).flatten() {
            Some(mut v) => {
                v.extend_from_slice(bytes);
                v
            }
            None => bytes.to_vec(),
        };
        *data = VecDeque::from(v);
    } else {
        data.extend(bytes);
    }
}

/// Frees `data`'s storage (an idle connection holds no heap), keeping it as a spare if it
/// is a bulk transfer's.
pub(crate) fn release(data: &mut VecDeque<u8>) {
    spare::give(core::mem::take(data));
}

/// Storage of emptied send and receive buffers kept for reuse, per thread. A bulk
/// transfer empties and refills its buffers all the time; handing each back to the
/// allocator, which may give it back to the kernel, cost a page fault per 4 KiB on every
/// refill (94k faults for 3 x 256 MiB in `tcp-bulk-memory`, a quarter of its CPU time).
/// Bounded: at most [`spare::MAX`] buffers of at least [`spare::MIN_KEEP`] bytes, and
/// [`spare::MAX_BYTES`] in all; smaller ones go back to the allocator, which keeps those.
pub(crate) mod spare {
    use std::cell::RefCell;
    use std::collections::VecDeque;

    /// Most spares per thread.
    pub(crate) const MAX: usize = 8;
    /// Smallest capacity kept.
    pub(crate) const MIN_KEEP: usize = 16 * 1024;
    /// Most bytes kept in all.
    pub(crate) const MAX_BYTES: usize = 8 << 20;
    /// An empty buffer filled with at least this much takes a spare.
    pub(crate) const MIN_TAKE: usize = 512;

    thread_local! {
        static SPARES: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
    }

    /// A spare (empty, with its capacity), if any.
    pub(crate) fn take() -> Option<Vec<u8>> {
        SPARES.with(|s| s.borrow_mut().pop())
    }

    /// Keeps `d`'s storage if it is big enough and there is room; frees it otherwise.
    pub(crate) fn give(mut d: VecDeque<u8>) {
        if d.capacity() < MIN_KEEP {
            return;
        }
        d.clear();
        let v = Vec::from(d);
        SPARES.with(|s| {
            let mut s = s.borrow_mut();
            let held: usize = s.iter().map(Vec::capacity).sum();
            if s.len() < MAX && held + v.capacity() <= MAX_BYTES {
                s.push(v);
            }
        });
    }
}

#[derive(Debug)]
pub(crate) struct SendBuffer {
    data: VecDeque<u8>,
    /// Sequence number of `data[0]`.
    start: Seq,
}

impl SendBuffer {
    pub(crate) fn new(start: Seq) -> Self {
        SendBuffer {
            data: VecDeque::new(),
            start,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.data.len()
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.data.capacity()
    }

    /// Sequence number after the last queued byte.
    pub(crate) fn end(&self) -> Seq {
        self.start + self.data.len()
    }

    /// Appends as much of `bytes` as fits under `limit` total; returns how much.
    pub(crate) fn write(&mut self, bytes: &[u8], limit: usize) -> usize {
        let n = bytes.len().min(limit.saturating_sub(self.data.len()));
        append(&mut self.data, &bytes[..n]);
        n
    }

    /// Drops everything before `una`; returns the bytes dropped.
    pub(crate) fn ack(&mut self, una: Seq) -> usize {
        if una <= self.start {
            return 0;
        }
        let n = ((una - self.start) as u32 as usize).min(self.data.len());
        if n == self.data.len() {
            // All acknowledged: free the storage (an idle connection holds no heap).
            release(&mut self.data);
        } else {
            self.data.drain(..n);
        }
        self.start += n;
        n
    }

    /// Bytes available from `seq` on.
    pub(crate) fn available(&self, seq: Seq) -> usize {
        let end = self.end();
        if seq >= end || seq < self.start {
            0
        } else {
            (end - seq) as u32 as usize
        }
    }

    /// Appends `len` bytes starting at `seq` to `out`.
    #[cfg(test)]
    pub(crate) fn copy_to(&self, seq: Seq, len: usize, out: &mut Vec<u8>) {
        let (a, b) = self.slices(seq, len);
        out.extend_from_slice(a);
        out.extend_from_slice(b);
    }

    /// The `len` bytes from `seq` on, as two slices (the deque's halves), clipped to what
    /// is held: empty before SND.UNA's byte or past the end.
    pub(crate) fn slices(&self, seq: Seq, len: usize) -> (&[u8], &[u8]) {
        let len = len.min(self.available(seq));
        if len == 0 {
            return (&[], &[]);
        }
        let off = (seq - self.start) as u32 as usize;
        let (a, b) = self.data.as_slices();
        if off < a.len() {
            let na = len.min(a.len() - off);
            (&a[off..off + na], &b[..len - na])
        } else {
            let o = off - a.len();
            (&b[o..o + len], &[])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_ack_copy() {
        let mut s = SendBuffer::new(Seq::from_u32(u32::MAX - 1));
        assert_eq!(s.write(b"hello world", 8), 8);
        assert_eq!(s.ack(Seq::from_u32(1)), 3);
        assert_eq!(s.available(Seq::from_u32(1)), 5);
        let mut v = Vec::new();
        s.copy_to(Seq::from_u32(2), 3, &mut v);
        assert_eq!(v, b"o w");
        assert_eq!(s.ack(Seq::from_u32(100)), 5);
        assert_eq!(s.heap_bytes(), 0);
    }

    #[test]
    fn emptied_bulk_buffers_are_reused_and_small_or_surplus_ones_freed() {
        // Each test runs on its own thread: the spares start empty.
        let big = vec![7u8; 64 * 1024];
        let mut s = SendBuffer::new(Seq::from_u32(0));
        assert_eq!(s.write(&big, usize::MAX), big.len());
        let cap = s.heap_bytes();
        assert!(cap >= big.len());
        assert_eq!(s.ack(Seq::from_u32(big.len() as u32)), big.len());
        assert_eq!(s.heap_bytes(), 0, "an emptied connection holds no heap");
        // The next segment's worth lands in the same storage, no allocation.
        assert_eq!(s.write(&big[..1460], usize::MAX), 1460);
        assert_eq!(s.heap_bytes(), cap);
        let mut v = Vec::new();
        s.copy_to(Seq::from_u32(big.len() as u32), 1460, &mut v);
        assert_eq!(v, &big[..1460]);
        s.ack(Seq::from_u32((big.len() + 1460) as u32));
        // A little data gets an exact-size buffer, never a spare.
        assert_eq!(s.write(b"x", usize::MAX), 1);
        assert_eq!(s.heap_bytes(), 1);
        s.ack(Seq::from_u32((big.len() + 1461) as u32));
        assert!(spare::take().is_some());
        assert!(spare::take().is_none(), "the 1-byte buffer was not kept");
        // At most MAX spares are kept.
        for _ in 0..spare::MAX + 3 {
            spare::give(VecDeque::with_capacity(spare::MIN_KEEP));
        }
        let mut kept = 0;
        while spare::take().is_some() {
            kept += 1;
        }
        assert_eq!(kept, spare::MAX);
    }
}
