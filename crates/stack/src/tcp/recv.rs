//! The receive side: bytes in order waiting for the application, and a bounded queue of
//! out-of-order ranges (RFC 9293 §3.10.7.4 "seventh, process the segment text").
//!
//! Storage is allocated only while bytes are held: an idle connection's `RecvBuffer` is
//! an empty `VecDeque` and an empty `Vec` (no heap). The out-of-order ranges are sorted
//! and disjoint; they are also what SACK blocks (RFC 2018) will be built from.

use std::collections::VecDeque;

use wire::tcp::TcpSeqNumber as Seq;

/// What [`RecvBuffer::insert`] did with a segment's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Inserted {
    /// Bytes that became readable in order (RCV.NXT advanced by this much).
    pub(crate) advanced: usize,
    /// The segment (or part of it) went to the out-of-order queue.
    pub(crate) out_of_order: bool,
    /// Nothing was new (entirely old, or entirely outside the window).
    pub(crate) duplicate: bool,
    /// It needed more out-of-order ranges than allowed and was dropped.
    pub(crate) dropped: bool,
}

#[derive(Debug, Default)]
pub(crate) struct RecvBuffer {
    data: VecDeque<u8>,
    /// Sorted by sequence relative to RCV.NXT, disjoint, all beyond RCV.NXT.
    ooo: Vec<(Seq, Vec<u8>)>,
    ooo_bytes: usize,
}

impl RecvBuffer {
    /// In-order bytes waiting to be read.
    pub(crate) fn len(&self) -> usize {
        self.data.len()
    }

    pub(crate) fn ooo_ranges(&self) -> usize {
        self.ooo.len()
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.data.capacity() + self.ooo.capacity() * 32 + self.ooo_bytes
    }

    /// Copies up to `out.len()` bytes out; frees the storage once empty.
    pub(crate) fn read(&mut self, out: &mut [u8]) -> usize {
        let n = out.len().min(self.data.len());
        let (a, b) = self.data.as_slices();
        let na = n.min(a.len());
        out[..na].copy_from_slice(&a[..na]);
        out[na..n].copy_from_slice(&b[..n - na]);
        self.consume(n);
        n
    }

    /// The first contiguous run of bytes waiting to be read (the storage is a ring: the
    /// rest, if any, comes after [`consume`](Self::consume)). Empty only when nothing is.
    pub(crate) fn front(&self) -> &[u8] {
        self.data.as_slices().0
    }

    /// Drops the first `n` bytes waiting to be read (at most all of them); frees the
    /// storage once empty.
    pub(crate) fn consume(&mut self, n: usize) {
        let n = n.min(self.data.len());
        if n == self.data.len() {
            super::send::release(&mut self.data);
        } else {
            self.data.drain(..n);
        }
    }

    /// Appends bytes that start at RCV.NXT and fit the window while no out-of-order range
    /// is held: what [`insert`](Self::insert) does with them, without its trimming and
    /// queue walks (the caller checked those conditions and advances RCV.NXT).
    pub(crate) fn append_in_order(&mut self, payload: &[u8]) {
        debug_assert!(self.ooo.is_empty());
        super::send::append(&mut self.data, payload);
    }

    /// Takes the part of `payload` (starting at `seq`) that lies in `[*rcv_nxt, wnd_end)`;
    /// advances `*rcv_nxt` over what became contiguous.
    pub(crate) fn insert(
        &mut self,
        rcv_nxt: &mut Seq,
        wnd_end: Seq,
        seq: Seq,
        payload: &[u8],
        max_ranges: usize,
    ) -> Inserted {
        let mut out = Inserted::default();
        let mut seq = seq;
        let mut payload = payload;
        // Trim what we already have.
        if seq < *rcv_nxt {
            let skip = (*rcv_nxt - seq) as u32 as usize;
            if skip >= payload.len() {
                out.duplicate = true;
                return out;
            }
            payload = &payload[skip..];
            seq = *rcv_nxt;
        }
        // Trim what lies beyond the window.
        let room = (wnd_end - seq).max(0) as usize;
        if room == 0 || payload.is_empty() {
            out.duplicate = true;
            return out;
        }
        payload = &payload[..payload.len().min(room)];

        if seq == *rcv_nxt {
            super::send::append(&mut self.data, payload);
            *rcv_nxt += payload.len();
            out.advanced = payload.len();
            self.pull_contiguous(rcv_nxt, &mut out);
            return out;
        }

        out.out_of_order = true;
        let base = *rcv_nxt;
        let rel = |s: Seq| (s - base) as u32;
        let end = seq + payload.len();
        // The parts of [seq, end) not covered by held ranges.
        let mut pieces: [(Seq, Seq); 8] = [(seq, seq); 8];
        let mut npieces = 0;
        let mut cur = seq;
        for (s, d) in &self.ooo {
            let e = *s + d.len();
            if rel(e) <= rel(cur) {
                continue;
            }
            if rel(*s) >= rel(end) {
                break;
            }
            if rel(*s) > rel(cur) {
                if npieces == pieces.len() {
                    out.dropped = true;
                    return out;
                }
                pieces[npieces] = (cur, *s);
                npieces += 1;
            }
            if rel(e) > rel(cur) {
                cur = e;
            }
            if rel(cur) >= rel(end) {
                break;
            }
        }
        if rel(cur) < rel(end) {
            if npieces == pieces.len() {
                out.dropped = true;
                return out;
            }
            pieces[npieces] = (cur, end);
            npieces += 1;
        }
        if npieces == 0 {
            out.duplicate = true;
            return out;
        }
        if self.ooo.len() + npieces > max_ranges {
            out.dropped = true;
            return out;
        }
        for &(s, e) in &pieces[..npieces] {
            let from = (s - seq) as usize;
            let to = (e - seq) as usize;
            let at = self.ooo.partition_point(|(x, _)| rel(*x) < rel(s));
            self.ooo.insert(at, (s, payload[from..to].to_vec()));
            self.ooo_bytes += to - from;
        }
        out
    }

    /// The SACK block (RFC 2018 §4: a contiguous run of held bytes, adjacent pieces
    /// merged) that contains `seq`, if any byte at `seq` is held out of order.
    pub(crate) fn block_containing(&self, seq: Seq) -> Option<(Seq, Seq)> {
        let i = self
            .ooo
            .iter()
            .position(|(s, d)| *s <= seq && seq < *s + d.len())?;
        Some(self.block_at(i).1)
    }

    /// The block that starts at piece `i`'s run: (index after the run, (left, right)).
    fn block_at(&self, i: usize) -> (usize, (Seq, Seq)) {
        // Walk down to the first piece of the run, then up to its last.
        let mut lo = i;
        while lo > 0 {
            let (s, d) = &self.ooo[lo - 1];
            if *s + d.len() != self.ooo[lo].0 {
                break;
            }
            lo -= 1;
        }
        let mut hi = i;
        while hi + 1 < self.ooo.len() {
            let (s, d) = &self.ooo[hi];
            if *s + d.len() != self.ooo[hi + 1].0 {
                break;
            }
            hi += 1;
        }
        let (s_hi, d_hi) = &self.ooo[hi];
        (hi + 1, (self.ooo[lo].0, *s_hi + d_hi.len()))
    }

    /// Every SACK block, lowest first.
    pub(crate) fn blocks(&self) -> impl Iterator<Item = (Seq, Seq)> + '_ {
        let mut i = 0;
        core::iter::from_fn(move || {
            if i >= self.ooo.len() {
                return None;
            }
            let (next, b) = self.block_at(i);
            i = next;
            Some(b)
        })
    }

    fn pull_contiguous(&mut self, rcv_nxt: &mut Seq, out: &mut Inserted) {
        let mut taken = 0;
        for (s, d) in &self.ooo {
            if *s > *rcv_nxt {
                break;
            }
            let skip = (*rcv_nxt - *s) as usize;
            if skip < d.len() {
                self.data.extend(&d[skip..]);
                *rcv_nxt += d.len() - skip;
                out.advanced += d.len() - skip;
            }
            self.ooo_bytes -= d.len();
            taken += 1;
        }
        if taken > 0 {
            self.ooo.drain(..taken);
            if self.ooo.is_empty() {
                self.ooo = Vec::new();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(b: &mut RecvBuffer) -> Vec<u8> {
        let mut v = vec![0; b.len()];
        b.read(&mut v);
        v
    }

    #[test]
    fn in_order_out_of_order_overlap_and_window() {
        let mut b = RecvBuffer::default();
        let mut nxt = Seq(1000);
        let end = Seq(1000 + 100);
        let r = b.insert(&mut nxt, end, Seq(1010), b"klmno", 8);
        assert!(r.out_of_order && r.advanced == 0);
        let r = b.insert(&mut nxt, end, Seq(1005), b"fghijklm", 8); // overlaps the held range
        assert!(r.out_of_order);
        assert_eq!(b.ooo_ranges(), 2);
        let r = b.insert(&mut nxt, end, Seq(998), b"xxabcdefg", 8); // old prefix trimmed
        assert_eq!(r.advanced, 15);
        assert_eq!(nxt, Seq(1015));
        assert_eq!(read_all(&mut b), b"abcdefghijklmno");
        assert_eq!(b.ooo_ranges(), 0);
        assert_eq!(b.heap_bytes(), 0, "storage freed when drained");
        // Beyond the window: trimmed.
        let r = b.insert(&mut nxt, Seq(1018), Seq(1015), b"pqrstu", 8);
        assert_eq!(r.advanced, 3);
        let r = b.insert(&mut nxt, Seq(1018), Seq(1018), b"s", 8);
        assert!(r.duplicate);
    }

    #[test]
    fn out_of_order_bound_drops() {
        let mut b = RecvBuffer::default();
        let mut nxt = Seq(0);
        for i in 0..4 {
            let r = b.insert(&mut nxt, Seq(1000), Seq(10 + 10 * i), b"x", 4);
            assert!(!r.dropped);
        }
        let r = b.insert(&mut nxt, Seq(1000), Seq(100), b"x", 4);
        assert!(r.dropped, "a fifth range is refused");
        assert_eq!(b.ooo_ranges(), 4);
        // Filling a held range's neighbour does not need a new range... but this does not merge,
        // so it is also refused; data in order is always accepted.
        let r = b.insert(&mut nxt, Seq(1000), Seq(0), &[0; 10], 4);
        assert_eq!(r.advanced, 11);
    }

    #[test]
    fn wraps_around_sequence_space() {
        let mut b = RecvBuffer::default();
        let mut nxt = Seq::from_u32(u32::MAX - 2);
        let end = nxt + 100;
        b.insert(&mut nxt, end, Seq::from_u32(1), b"de", 8);
        let r = b.insert(&mut nxt, end, Seq::from_u32(u32::MAX - 2), b"abc", 8);
        assert_eq!(r.advanced, 3);
        let r = b.insert(&mut nxt, end, Seq::from_u32(0), b"Xd", 8);
        assert_eq!(r.advanced, 3, "fills the gap and pulls the held range");
        assert_eq!(read_all(&mut b), b"abcXde");
    }
}
