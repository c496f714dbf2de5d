//! The send side's storage: bytes from SND.UNA (or ISS+1 before the SYN is acked) to the
//! end of what the application wrote.
//!
//! Retransmission reads from here by sequence number, so the retransmit decision (RTO
//! go-back, NewReno's one segment at SND.UNA, later SACK's holes) is a cursor over the
//! same bytes: a SACK scoreboard is a sorted list of acked ranges above SND.UNA (the same
//! shape as the receiver's out-of-order ranges) consulted when picking the next segment.

use std::collections::VecDeque;

use wire::tcp::TcpSeqNumber as Seq;

/// Appends `bytes` to `data`; into an empty deque by adopting an exact-size `Vec` (one
/// allocation, no growth path: the usual case of a connection that sends or receives a
/// little at a time, whose buffer is freed whenever it empties).
pub(crate) fn append(data: &mut VecDeque<u8>, bytes: &[u8]) {
    if data.capacity() == 0 && !bytes.is_empty() {
        *data = VecDeque::from(bytes.to_vec());
    } else {
        data.extend(bytes);
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
            self.data = VecDeque::new();
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
    pub(crate) fn copy_to(&self, seq: Seq, len: usize, out: &mut Vec<u8>) {
        let off = (seq - self.start) as u32 as usize;
        let (a, b) = self.data.as_slices();
        if off < a.len() {
            let na = len.min(a.len() - off);
            out.extend_from_slice(&a[off..off + na]);
            out.extend_from_slice(&b[..len - na]);
        } else {
            let o = off - a.len();
            out.extend_from_slice(&b[o..o + len]);
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
}
