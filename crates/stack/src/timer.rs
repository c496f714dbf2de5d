//! The endpoint's timer queue: a binary min-heap of `(deadline, slot, generation)` with
//! lazy deletion.
//!
//! Each connection has one deadline (the minimum of its own timers, from
//! `Connection::poll_timeout`). Rescheduling pushes a new entry, O(log n), and records the
//! deadline in the slot; an entry whose deadline no longer matches its slot is stale and is
//! discarded when it reaches the top, O(log n) amortised. Stale entries are bounded by the
//! reschedules within the longest timer horizon. A hierarchical timing wheel (O(1) insert,
//! no stale entries) is the planned replacement for the one-million-connection target.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::Instant;

#[derive(Debug, Default)]
pub(crate) struct TimerQueue {
    heap: BinaryHeap<Reverse<(Instant, u32, u32)>>,
}

impl TimerQueue {
    pub(crate) fn push(&mut self, at: Instant, slot: u32, generation: u32) {
        self.heap.push(Reverse((at, slot, generation)));
    }

    /// The earliest entry for which `valid` holds; stale entries above it are dropped.
    pub(crate) fn peek_valid(
        &mut self,
        mut valid: impl FnMut(Instant, u32, u32) -> bool,
    ) -> Option<(Instant, u32, u32)> {
        while let Some(&Reverse((at, slot, generation))) = self.heap.peek() {
            if valid(at, slot, generation) {
                return Some((at, slot, generation));
            }
            self.heap.pop();
        }
        None
    }

    pub(crate) fn pop(&mut self) {
        self.heap.pop();
    }

    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}
