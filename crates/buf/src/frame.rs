//! Frames: the vectors of buffers that move between graph nodes.

use crate::pool::Buf;

/// Buffers per frame (VPP's `VLIB_FRAME_SIZE`).
pub const FRAME_SIZE: usize = 256;

/// Up to [`FRAME_SIZE`] owned buffers, in order.
///
/// A frame owns its buffers the way a `Vec<Buf>` would, in fixed storage: pushing moves a
/// token in, [`Frame::drain`] moves them out. It never allocates.
#[derive(Debug)]
pub struct Frame {
    len: u16,
    bufs: [Buf; FRAME_SIZE],
}

impl Default for Frame {
    fn default() -> Self {
        Frame::new()
    }
}

impl Frame {
    /// An empty frame.
    pub const fn new() -> Frame {
        Frame {
            len: 0,
            bufs: [const { Buf::EMPTY }; FRAME_SIZE],
        }
    }

    /// A new empty frame on the heap (frames are 1 KiB; the graph moves them by pointer).
    pub fn boxed() -> Box<Frame> {
        Box::new(Frame::new())
    }

    /// Number of buffers.
    #[inline(always)]
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// True if the frame holds no buffer.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True if the frame holds [`FRAME_SIZE`] buffers.
    #[inline(always)]
    pub fn is_full(&self) -> bool {
        self.len() == FRAME_SIZE
    }

    /// Free slots.
    #[inline(always)]
    pub fn room(&self) -> usize {
        FRAME_SIZE - self.len()
    }

    /// Appends a buffer; gives it back if the frame is full.
    #[inline(always)]
    pub fn push(&mut self, b: Buf) -> Result<(), Buf> {
        match self.bufs.get_mut(self.len as usize) {
            Some(slot) => {
                core::mem::replace(slot, b).forget();
                self.len += 1;
                Ok(())
            }
            None => Err(b),
        }
    }

    /// Removes the last buffer.
    #[inline]
    pub fn pop(&mut self) -> Option<Buf> {
        let last = self.len().checked_sub(1)?;
        self.len -= 1;
        Some(core::mem::replace(&mut self.bufs[last], Buf::EMPTY))
    }

    /// The buffers, in order.
    #[inline(always)]
    pub fn as_slice(&self) -> &[Buf] {
        &self.bufs[..self.len()]
    }

    /// The buffers, in order, for in-place work on each.
    #[inline(always)]
    pub fn as_mut_slice(&mut self) -> &mut [Buf] {
        let n = self.len();
        &mut self.bufs[..n]
    }

    /// Moves every buffer of `other` to the end of `self`, as many as fit; returns how many
    /// moved (the rest stay in `other`, in order).
    pub fn append(&mut self, other: &mut Frame) -> usize {
        let n = other.len().min(self.room());
        let (start, other_len) = (self.len(), other.len());
        // Slots past `len` always hold the placeholder, so a swap moves the tokens in and
        // leaves placeholders behind: one block copy each way, no per-buffer bookkeeping.
        self.bufs[start..start + n].swap_with_slice(&mut other.bufs[..n]);
        self.len += n as u16;
        if n < other_len {
            other.bufs[..other_len].rotate_left(n);
        }
        other.len -= n as u16;
        n
    }

    /// Moves the buffers out, front to back. Buffers not taken (iterator dropped early) stay
    /// in the frame, in order.
    #[inline]
    pub fn drain(&mut self) -> Drain<'_> {
        let end = self.len();
        Drain {
            frame: self,
            pos: 0,
            end,
        }
    }
}

/// Iterator of [`Frame::drain`].
#[derive(Debug)]
pub struct Drain<'a> {
    frame: &'a mut Frame,
    pos: usize,
    end: usize,
}

impl Iterator for Drain<'_> {
    type Item = Buf;

    #[inline(always)]
    fn next(&mut self) -> Option<Buf> {
        if self.pos >= self.end {
            return None;
        }
        let b = core::mem::replace(&mut self.frame.bufs[self.pos], Buf::EMPTY);
        self.pos += 1;
        Some(b)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.end - self.pos;
        (n, Some(n))
    }
}

impl ExactSizeIterator for Drain<'_> {}

impl Drop for Drain<'_> {
    fn drop(&mut self) {
        let left = self.end - self.pos;
        if left > 0 {
            self.frame.bufs[..self.end].rotate_left(self.pos);
        }
        self.frame.len = left as u16;
    }
}
