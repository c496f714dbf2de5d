//! Pending frames per node and the order in which nodes run.

use buf::{Buf, Frame};
use std::collections::VecDeque;

/// Frames waiting for each node, and the FIFO of nodes that have some.
///
/// Each node has one *open* frame that enqueues fill; when it is full it moves to the node's
/// queue of full frames and a spare takes its place. Frames are recycled through `spare`, so
/// after warm-up nothing here allocates.
#[derive(Debug)]
#[allow(
    clippy::vec_box,
    reason = "frames move between queues by pointer, not by 1 KiB copies"
)]
pub(crate) struct Queues {
    open: Vec<Box<Frame>>,
    full: Vec<VecDeque<Box<Frame>>>,
    queued: Vec<bool>,
    pending: VecDeque<u32>,
    spare: Vec<Box<Frame>>,
}

impl Queues {
    pub(crate) fn new(nodes: usize) -> Queues {
        Queues {
            open: (0..nodes).map(|_| Frame::boxed()).collect(),
            full: (0..nodes).map(|_| VecDeque::with_capacity(4)).collect(),
            queued: vec![false; nodes],
            pending: VecDeque::with_capacity(nodes * 2),
            spare: (0..nodes).map(|_| Frame::boxed()).collect(),
        }
    }

    #[inline(always)]
    fn mark_pending(&mut self, node: usize) {
        if !self.queued[node] {
            self.queued[node] = true;
            self.pending.push_back(node as u32);
        }
    }

    fn spare(&mut self) -> Box<Frame> {
        self.spare.pop().unwrap_or_else(Frame::boxed)
    }

    /// Adds one buffer to `node`'s open frame.
    #[inline(always)]
    pub(crate) fn enqueue(&mut self, node: usize, b: Buf) {
        self.mark_pending(node);
        if let Err(b) = self.open[node].push(b) {
            let fresh = self.spare();
            let full = std::mem::replace(&mut self.open[node], fresh);
            self.full[node].push_back(full);
            // A fresh frame always has room.
            let _ = self.open[node].push(b);
        }
    }

    /// Moves every buffer of `frame` to `node`.
    pub(crate) fn enqueue_frame(&mut self, node: usize, frame: &mut Frame) {
        if frame.is_empty() {
            return;
        }
        self.mark_pending(node);
        while !frame.is_empty() {
            self.open[node].append(frame);
            if self.open[node].is_full() {
                let fresh = self.spare();
                let full = std::mem::replace(&mut self.open[node], fresh);
                self.full[node].push_back(full);
            }
        }
    }

    /// The next node to run and its frame; the node is re-queued if it has more.
    pub(crate) fn next_frame(&mut self) -> Option<(usize, Box<Frame>)> {
        loop {
            let node = self.pending.pop_front()? as usize;
            self.queued[node] = false;
            let frame = match self.full[node].pop_front() {
                Some(f) => f,
                None if self.open[node].is_empty() => continue,
                None => {
                    let fresh = self.spare();
                    std::mem::replace(&mut self.open[node], fresh)
                }
            };
            if !self.full[node].is_empty() || !self.open[node].is_empty() {
                self.mark_pending(node);
            }
            return Some((node, frame));
        }
    }

    /// Puts a frame taken by [`Queues::next_frame`] back at the head of `node`'s line.
    pub(crate) fn unshift(&mut self, node: usize, frame: Box<Frame>) {
        self.full[node].push_front(frame);
        if !self.queued[node] {
            self.queued[node] = true;
            self.pending.push_front(node as u32);
        }
    }

    /// Returns an emptied frame for reuse.
    pub(crate) fn recycle(&mut self, frame: Box<Frame>) {
        debug_assert!(frame.is_empty());
        self.spare.push(frame);
    }

    /// True if any node has a frame waiting.
    pub(crate) fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }
}
