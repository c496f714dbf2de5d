//! The sender's SACK scoreboard (RFC 2018, RFC 6675 §2–§4): ranges above SND.UNA the
//! peer reported as received, and the queries loss recovery needs (`IsLost`, `pipe`,
//! `NextSeg`).
//!
//! Ranges are sorted, disjoint and non-adjacent (merged), all within `[SND.UNA, SND.MAX)`.
//! At most [`MAX_RANGES`] are held: a peer cannot make the scoreboard grow without bound
//! (a block that would need more is ignored; recovery then works with less information).
//! The `Vec` is allocated only while something is SACKed.

use wire::tcp::TcpSeqNumber as Seq;

/// Ranges kept at most (a receiver reports at most 4 per ACK; its own bound on out-of-order
/// ranges is what really limits this).
pub(crate) const MAX_RANGES: usize = 32;

/// RFC 6675 DupThresh.
pub(crate) const DUP_THRESH: usize = 3;

#[derive(Debug, Default)]
pub(crate) struct Scoreboard {
    ranges: Vec<(Seq, Seq)>,
}

impl Scoreboard {
    pub(crate) fn heap_bytes(&self) -> usize {
        self.ranges.capacity() * core::mem::size_of::<(Seq, Seq)>()
    }

    pub(crate) fn clear(&mut self) {
        self.ranges = Vec::new();
    }

    /// Adds `[l, r)` (already checked to lie in `[SND.UNA, SND.MAX)`); true if any byte
    /// of it was not SACKed before.
    pub(crate) fn add(&mut self, l: Seq, r: Seq) -> bool {
        // First range that ends at or after l (could merge with it).
        let i = self.ranges.partition_point(|&(_, e)| e < l);
        // Ranges i..j touch or overlap [l, r).
        let j = self.ranges.partition_point(|&(s, _)| s <= r);
        if i < j {
            let (s0, e0) = self.ranges[i];
            if j - i == 1 && s0 <= l && e0 >= r {
                return false; // Nothing new.
            }
            let s = s0.min(l);
            let e = self.ranges[j - 1].1.max(r);
            self.ranges.drain(i + 1..j);
            self.ranges[i] = (s, e);
            return true;
        }
        if self.ranges.len() >= MAX_RANGES {
            return false;
        }
        self.ranges.insert(i, (l, r));
        true
    }

    /// SND.UNA moved to `una`: forget what it covers.
    pub(crate) fn ack(&mut self, una: Seq) {
        let n = self.ranges.partition_point(|&(_, e)| e <= una);
        if n > 0 {
            self.ranges.drain(..n);
        }
        if let Some(first) = self.ranges.first_mut() {
            if first.0 < una {
                first.0 = una;
            }
        }
        if self.ranges.is_empty() {
            self.ranges = Vec::new();
        }
    }

    /// SACKed bytes in `[a, b)`.
    fn sacked_in(&self, a: Seq, b: Seq) -> usize {
        let mut n = 0;
        for &(s, e) in &self.ranges {
            if s >= b {
                break;
            }
            let lo = s.max(a);
            let hi = e.min(b);
            if hi > lo {
                n += (hi - lo) as usize;
            }
        }
        n
    }

    /// Bytes in `[a, b)` not SACKed.
    pub(crate) fn unsacked_in(&self, a: Seq, b: Seq) -> usize {
        if b <= a {
            return 0;
        }
        (b - a) as usize - self.sacked_in(a, b)
    }

    /// The end of the highest SACKed range.
    pub(crate) fn highest(&self) -> Option<Seq> {
        self.ranges.last().map(|&(_, e)| e)
    }

    /// Every unSACKed sequence number below the returned edge is lost by RFC 6675's
    /// `IsLost`: `DupThresh` discontiguous SACKed ranges, or more than
    /// `(DupThresh − 1) × SMSS` SACKed bytes, lie above it.
    pub(crate) fn lost_edge(&self, mss: usize) -> Option<Seq> {
        let mut bytes = 0usize;
        for (count, &(s, e)) in self.ranges.iter().rev().enumerate() {
            bytes += (e - s) as usize;
            if count + 1 >= DUP_THRESH || bytes > (DUP_THRESH - 1) * mss {
                return Some(s);
            }
        }
        None
    }

    /// The first unSACKed sequence number at or after `seq`.
    pub(crate) fn next_unsacked(&self, mut seq: Seq) -> Seq {
        for &(s, e) in &self.ranges {
            if e <= seq {
                continue;
            }
            if s > seq {
                break;
            }
            seq = e;
        }
        seq
    }

    /// Bytes from `seq` (unSACKed) to the next SACKed range, if one follows.
    pub(crate) fn gap_after(&self, seq: Seq) -> Option<usize> {
        self.ranges
            .iter()
            .find(|&&(s, _)| s > seq)
            .map(|&(s, _)| (s - seq) as usize)
    }

    /// The highest unSACKed byte below `end` (exclusive end of its gap), if any.
    pub(crate) fn last_unsacked_before(&self, una: Seq, end: Seq) -> Option<(Seq, Seq)> {
        let mut hi = end;
        for &(s, e) in self.ranges.iter().rev() {
            if s >= hi {
                continue;
            }
            if e < hi {
                break;
            }
            hi = s;
        }
        (hi > una).then(|| {
            // Start of that gap: the end of the range below it, or SND.UNA.
            let lo = self
                .ranges
                .iter()
                .rev()
                .find(|&&(_, e)| e < hi)
                .map_or(una, |&(_, e)| e.max(una));
            (lo, hi)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: u32) -> Seq {
        Seq::from_u32(v)
    }

    #[test]
    fn add_merges_and_bounds() {
        let mut b = Scoreboard::default();
        assert!(b.add(s(10), s(20)));
        assert!(b.add(s(30), s(40)));
        assert!(!b.add(s(12), s(18)), "inside a held range: nothing new");
        assert!(b.add(s(20), s(30)), "fills the gap: merges all three");
        assert_eq!(b.ranges, vec![(s(10), s(40))]);
        b.ack(s(15));
        assert_eq!(b.ranges, vec![(s(15), s(40))]);
        assert_eq!(b.unsacked_in(s(0), s(50)), 25);
        let mut b = Scoreboard::default();
        for i in 0..100u32 {
            b.add(s(i * 10), s(i * 10 + 5));
        }
        assert_eq!(b.ranges.len(), MAX_RANGES);
    }

    #[test]
    fn is_lost_next_unsacked_and_rescue() {
        let mut b = Scoreboard::default();
        let mss = 100;
        // Holes at [0,100) and [200,300); SACKed [100,200), [300,400).
        b.add(s(100), s(200));
        assert_eq!(b.lost_edge(mss), None, "one segment above: not lost yet");
        b.add(s(300), s(400));
        assert_eq!(b.lost_edge(mss), None);
        b.add(s(500), s(600));
        assert_eq!(b.lost_edge(mss), Some(s(100)), "three ranges above 0..100");
        assert_eq!(b.next_unsacked(s(0)), s(0));
        assert_eq!(b.next_unsacked(s(100)), s(200));
        assert_eq!(b.gap_after(s(200)), Some(100));
        assert_eq!(b.last_unsacked_before(s(0), s(700)), Some((s(600), s(700))));
        assert_eq!(b.last_unsacked_before(s(0), s(600)), Some((s(400), s(500))));
    }
}
