//! The endpoint's timers: a hierarchical timing wheel (Varghese and Lauck; the layout of
//! Linux's and tokio's wheels) with one entry per connection.
//!
//! Time is cut into ticks of 2^16 ns (65.5 µs). Level `k` has 64 slots of 64^k ticks
//! each; 7 levels reach 2^42 ticks (about 9 years). An entry due at tick `t` sits at the
//! level of the highest 6-bit group in which `t` differs from the wheel's current tick,
//! in the slot given by that group. Slots are intrusive doubly-linked lists threaded
//! through an array indexed by connection slot, so insert and cancel are O(1) and the
//! wheel allocates only when the connection table grows. Each level has a 64-bit
//! occupancy bitmap: the next slot to visit is a `trailing_zeros` per level.
//!
//! Expiry walks slots in time order; a slot of a higher level, when reached, is cascaded
//! (its entries move to lower levels, or fire). A timer fires at the first tick boundary
//! at or after its deadline, so at most one tick late; [`TimerWheel::next_expiry`] may name
//! a cascade instant at which nothing fires (an early wake-up, never a late one).

use crate::Instant;

/// Nanoseconds per tick, as a shift.
pub(crate) const TICK_SHIFT: u32 = 16;
const LEVEL_BITS: u32 = 6;
const SLOTS: usize = 1 << LEVEL_BITS;
const LEVELS: usize = 7;
/// The list of entries already due (bucket index after the wheel's slots).
const DUE: usize = LEVELS * SLOTS;
const NIL: u32 = u32::MAX;
const UNLINKED: u16 = u16::MAX;

#[derive(Debug, Clone, Copy)]
struct Entry {
    tick: u64,
    prev: u32,
    next: u32,
    bucket: u16,
}

const EMPTY: Entry = Entry {
    tick: 0,
    prev: NIL,
    next: NIL,
    bucket: UNLINKED,
};

#[derive(Debug)]
pub(crate) struct TimerWheel {
    /// Every entry due at or before this tick has been handed out or is in `DUE`.
    cur: u64,
    heads: Box<[u32; DUE + 1]>,
    occupied: [u64; LEVELS],
    entries: Vec<Entry>,
    len: usize,
}

impl Default for TimerWheel {
    fn default() -> Self {
        TimerWheel {
            cur: 0,
            heads: Box::new([NIL; DUE + 1]),
            occupied: [0; LEVELS],
            entries: Vec::new(),
            len: 0,
        }
    }
}

impl TimerWheel {
    /// Entries held.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Heap bytes held (for memory accounting).
    #[allow(dead_code)]
    pub(crate) fn heap_bytes(&self) -> usize {
        self.entries.capacity() * core::mem::size_of::<Entry>() + (DUE + 1) * 4
    }

    /// Schedules `id` at `at` (replacing its previous deadline). O(1).
    pub(crate) fn insert(&mut self, id: u32, at: Instant) {
        self.cancel(id);
        let i = id as usize;
        if i >= self.entries.len() {
            self.entries.resize(i + 1, EMPTY);
        }
        // Round up: the timer fires at the first tick boundary at or after `at`.
        let tick = at.div_ceil(1 << TICK_SHIFT);
        self.entries[i].tick = tick;
        self.link(id, tick);
        self.len += 1;
    }

    /// Removes `id`'s deadline, if any. O(1).
    pub(crate) fn cancel(&mut self, id: u32) {
        let Some(e) = self.entries.get(id as usize).copied() else {
            return;
        };
        if e.bucket == UNLINKED {
            return;
        }
        let b = usize::from(e.bucket);
        if e.prev == NIL {
            self.heads[b] = e.next;
        } else {
            self.entries[e.prev as usize].next = e.next;
        }
        if e.next != NIL {
            self.entries[e.next as usize].prev = e.prev;
        }
        if self.heads[b] == NIL && b < DUE {
            self.occupied[b / SLOTS] &= !(1u64 << (b % SLOTS));
        }
        self.entries[id as usize] = Entry {
            tick: e.tick,
            ..EMPTY
        };
        self.len -= 1;
    }

    fn bucket_for(&self, tick: u64) -> usize {
        if tick <= self.cur {
            return DUE;
        }
        let top = LEVEL_BITS * LEVELS as u32;
        // Beyond the horizon: park at the end of the current top-level window; the entry
        // fires early there and its owner reschedules (harmless: deadlines are re-checked).
        let span_end = self.cur | ((1u64 << top) - 1);
        let tick = tick.min(span_end);
        if tick <= self.cur {
            return DUE;
        }
        let high_bit = 63 - (tick ^ self.cur).leading_zeros();
        let level = (high_bit / LEVEL_BITS) as usize;
        let slot = ((tick >> (LEVEL_BITS * level as u32)) as usize) & (SLOTS - 1);
        level * SLOTS + slot
    }

    fn link(&mut self, id: u32, tick: u64) {
        let b = self.bucket_for(tick);
        let head = self.heads[b];
        self.entries[id as usize].prev = NIL;
        self.entries[id as usize].next = head;
        self.entries[id as usize].bucket = b as u16;
        if head != NIL {
            self.entries[head as usize].prev = id;
        }
        self.heads[b] = id;
        if b < DUE {
            self.occupied[b / SLOTS] |= 1u64 << (b % SLOTS);
        }
    }

    /// The earliest (level, tick at which its next occupied slot must be visited).
    fn next_slot(&self) -> Option<(usize, u64)> {
        let mut best: Option<(usize, u64)> = None;
        for (level, &bits) in self.occupied.iter().enumerate() {
            if bits == 0 {
                continue;
            }
            let shift = LEVEL_BITS * level as u32;
            let slot = u64::from(bits.trailing_zeros());
            let above = shift + LEVEL_BITS;
            let base = if above >= 64 {
                0
            } else {
                (self.cur >> above) << above
            };
            let start = base | (slot << shift);
            if best.is_none_or(|(_, t)| start < t) {
                best = Some((level, start));
            }
        }
        best
    }

    /// When [`expire`](Self::expire) next has work (possibly only a cascade).
    pub(crate) fn next_expiry(&self) -> Option<Instant> {
        if self.heads[DUE] != NIL {
            return Some(self.cur << TICK_SHIFT);
        }
        self.next_slot().map(|(_, t)| t << TICK_SHIFT)
    }

    /// Moves the wheel to `now` and appends every entry due by then to `out` (unlinked).
    pub(crate) fn expire(&mut self, now: Instant, out: &mut Vec<u32>) {
        let now_tick = now >> TICK_SHIFT;
        while let Some((level, start)) = self.next_slot() {
            if start > now_tick {
                break;
            }
            self.cur = self.cur.max(start);
            let shift = LEVEL_BITS * level as u32;
            let b = level * SLOTS + ((start >> shift) as usize & (SLOTS - 1));
            let mut id = self.heads[b];
            self.heads[b] = NIL;
            self.occupied[level] &= !(1u64 << (b % SLOTS));
            while id != NIL {
                let next = self.entries[id as usize].next;
                let tick = self.entries[id as usize].tick;
                self.link(id, tick); // to a lower level, or DUE
                id = next;
            }
        }
        self.cur = self.cur.max(now_tick);
        let mut id = self.heads[DUE];
        self.heads[DUE] = NIL;
        while id != NIL {
            let e = self.entries[id as usize];
            self.entries[id as usize] = Entry {
                tick: e.tick,
                ..EMPTY
            };
            self.len -= 1;
            out.push(id);
            id = e.next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MILLIS, SECONDS};

    fn fire(w: &mut TimerWheel, now: Instant) -> Vec<u32> {
        let mut v = Vec::new();
        w.expire(now, &mut v);
        v.sort_unstable();
        v
    }

    #[test]
    fn fires_in_order_never_early_at_most_one_tick_late() {
        let mut w = TimerWheel::default();
        let tick = 1u64 << TICK_SHIFT;
        let deadlines = [
            5 * MILLIS,
            40 * MILLIS,
            200 * MILLIS,
            SECONDS,
            60 * SECONDS,
            7200 * SECONDS,
            3,
        ];
        for (i, &d) in deadlines.iter().enumerate() {
            w.insert(i as u32, d + 1_000_000_000_000);
        }
        assert_eq!(w.len(), deadlines.len());
        let mut fired = vec![None; deadlines.len()];
        let mut now = 0;
        while let Some(t) = w.next_expiry() {
            assert!(t >= now, "time never goes back");
            now = t;
            for id in fire(&mut w, now) {
                fired[id as usize] = Some(now);
            }
        }
        for (i, &d) in deadlines.iter().enumerate() {
            let at = fired[i].unwrap();
            let want = d + 1_000_000_000_000;
            assert!(at >= want && at < want + tick, "timer {i}: {at} vs {want}");
        }
        assert_eq!(w.len(), 0);
    }

    #[test]
    fn cancel_and_reinsert_are_exact() {
        let mut w = TimerWheel::default();
        for id in 0..1000u32 {
            w.insert(id, u64::from(id) * MILLIS + 1);
        }
        for id in (0..1000u32).step_by(2) {
            w.cancel(id);
        }
        w.insert(1, 10 * SECONDS); // moved later
        w.cancel(999);
        w.cancel(999); // twice is harmless
        assert_eq!(w.len(), 499);
        let got = fire(&mut w, 500 * MILLIS);
        let want: Vec<u32> = (3..500).step_by(2).collect();
        assert_eq!(got, want);
        assert_eq!(fire(&mut w, 9 * SECONDS).len(), 249);
        assert!(fire(&mut w, 10 * SECONDS - 1).is_empty(), "never early");
        let t = w.next_expiry().unwrap();
        assert!((10 * SECONDS..10 * SECONDS + (1 << TICK_SHIFT)).contains(&t));
        assert_eq!(fire(&mut w, t), vec![1]);
        assert_eq!(w.next_expiry(), None);
        // An entry already due goes straight to the due list.
        w.insert(7, 0);
        assert_eq!(w.next_expiry(), Some(w.cur << TICK_SHIFT));
        assert_eq!(fire(&mut w, t), vec![7]);
    }
}
