//! Fragment reassembly for local delivery, shared by IPv4 (RFC 791 §3.2, RFC 815) and
//! IPv6 (RFC 8200 §4.5): bounded in memory and time, and strict: any overlap between
//! fragments (an exact duplicate included) drops the whole datagram, held fragments and all
//! (RFC 5722), so no overlapping-fragment trick can make what we deliver differ from what
//! a monitor saw.
//!
//! The table is generic over a [`Protocol`], which says how to read a fragment (its key,
//! offset, length, more-fragments flag and where its data starts) and how to turn the
//! first fragment, with every other fragment's data appended, into a whole packet. The
//! bookkeeping — bounds, overlap and consistency checks, timeouts, freeing — is here once.
//!
//! Bounds: at most `max_datagrams` datagrams in progress, `max_fragments` fragments per
//! datagram, [`MAX_HELD`] buffers held in all, a datagram no larger than one buffer can
//! hold ([`MAX_DATAGRAM`]), and `timeout_ns` from its first fragment.

use buf::{Buf, BufferCache, BufferPool};
use std::collections::HashMap;
use std::hash::Hash;

/// Most fragment buffers held at once, over all datagrams.
pub const MAX_HELD: usize = 256;
/// Largest datagram reassembled (headers included): what fits in one buffer.
pub const MAX_DATAGRAM: usize = 3584;

/// Why a fragment (and with it its datagram) was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReassemblyError {
    /// Overlaps (or duplicates) a fragment already held.
    Overlap,
    /// A non-last fragment whose data is not a multiple of 8 bytes, or is empty.
    BadLength,
    /// Ends past the protocol's largest packet, or past what one buffer can hold.
    TooBig,
    /// Disagrees with the datagram's end (two last fragments, data past the last).
    Inconsistent,
    /// Too many datagrams or buffers in progress.
    TableFull,
    /// Too many fragments for one datagram.
    TooManyFragments,
    /// Unreadable header.
    Malformed,
}

/// What happened to a fragment given to [`Reassembly::add`].
#[derive(Debug)]
pub enum Added {
    /// Held, waiting for the rest.
    Held,
    /// The datagram is complete: here it is, in one buffer, as a whole packet.
    Complete(Buf),
    /// Refused: the caller drops `buf`; `discarded` other fragments of the same datagram
    /// were freed.
    Rejected {
        /// Why.
        err: ReassemblyError,
        /// The fragment given.
        buf: Buf,
        /// Held fragments freed with it.
        discarded: usize,
    },
}

/// A fragment as its protocol reads it.
#[derive(Debug, Clone, Copy)]
pub struct Fragment<K> {
    /// Which datagram it belongs to.
    pub key: K,
    /// Offset of its data in the datagram's fragmentable part, in bytes.
    pub start: usize,
    /// Bytes of data it carries.
    pub len: usize,
    /// More fragments follow (MF / M).
    pub more: bool,
    /// Where its data starts in the packet (after every header it carries).
    pub data_at: usize,
}

/// What reassembly needs to know of a network protocol.
pub trait Protocol {
    /// Identifies a datagram (addresses, identification, ...).
    type Key: Copy + Eq + Hash + std::fmt::Debug;
    /// A packet's largest size measured as `data_at + end of data`.
    const MAX_PACKET: usize;
    /// Reads a fragment, or `None` if the packet is unreadable or not a fragment.
    fn parse(data: &[u8]) -> Option<Fragment<Self::Key>>;
    /// Turns the first fragment (data starting at `data_at`) with every other fragment's
    /// data appended into a whole packet; `false` if it cannot.
    fn finish(packet: &mut [u8], data_at: usize) -> bool;
}

#[derive(Debug)]
struct Frag {
    start: usize,
    end: usize,
    data_at: usize,
    buf: Buf,
}

#[derive(Debug)]
struct Datagram {
    frags: Vec<Frag>,
    /// Length of the fragmentable part, known once the last fragment arrived.
    total: Option<usize>,
    have: usize,
    first_ns: u64,
}

/// Datagrams being reassembled.
#[derive(Debug)]
pub struct Reassembly<P: Protocol> {
    map: HashMap<P::Key, Datagram>,
    held: usize,
    max_datagrams: usize,
    max_fragments: usize,
    timeout_ns: u64,
}

impl<P: Protocol> Reassembly<P> {
    /// Empty, with these bounds.
    pub fn new(max_datagrams: usize, max_fragments: usize, timeout_ns: u64) -> Self {
        Reassembly {
            map: HashMap::new(),
            held: 0,
            max_datagrams,
            max_fragments,
            timeout_ns,
        }
    }

    /// Datagrams in progress.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True if none is in progress.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Fragment buffers held.
    pub fn held(&self) -> usize {
        self.held
    }

    fn discard(&mut self, key: &P::Key, cache: &mut BufferCache) -> usize {
        let Some(d) = self.map.remove(key) else {
            return 0;
        };
        let n = d.frags.len();
        self.held -= n;
        for f in d.frags {
            cache.free(f.buf);
        }
        n
    }

    /// Frees the datagrams older than the timeout; returns how many buffers it freed.
    pub fn expire(&mut self, now_ns: u64, cache: &mut BufferCache) -> usize {
        let timeout = self.timeout_ns;
        let mut freed = 0;
        self.map.retain(|_, d| {
            if now_ns.saturating_sub(d.first_ns) <= timeout {
                return true;
            }
            freed += d.frags.len();
            for f in d.frags.drain(..) {
                cache.free(f.buf);
            }
            false
        });
        self.held -= freed;
        freed
    }

    /// Frees everything held (graph teardown).
    pub fn release(&mut self, cache: &mut BufferCache) {
        for (_, d) in self.map.drain() {
            for f in d.frags {
                cache.free(f.buf);
            }
        }
        self.held = 0;
    }

    /// Adds fragment `b` (a packet its protocol reads as a fragment, trimmed to the length
    /// its header gives).
    pub fn add(
        &mut self,
        pool: &BufferPool,
        cache: &mut BufferCache,
        b: Buf,
        now_ns: u64,
    ) -> Added {
        let Some(Fragment {
            key,
            start,
            len,
            more,
            data_at,
        }) = P::parse(pool.get(&b).data())
        else {
            return Added::Rejected {
                err: ReassemblyError::Malformed,
                buf: b,
                discarded: 0,
            };
        };
        let end = start + len;
        let reject = |s: &mut Self, cache: &mut BufferCache, err, buf| {
            let discarded = s.discard(&key, cache);
            Added::Rejected {
                err,
                buf,
                discarded,
            }
        };
        if len == 0 || (more && len % 8 != 0) {
            return reject(self, cache, ReassemblyError::BadLength, b);
        }
        if data_at + end > P::MAX_PACKET || data_at + end > MAX_DATAGRAM {
            return reject(self, cache, ReassemblyError::TooBig, b);
        }
        if !self.map.contains_key(&key) {
            if self.map.len() >= self.max_datagrams || self.held >= MAX_HELD {
                self.expire(now_ns, cache);
            }
            if self.map.len() >= self.max_datagrams || self.held >= MAX_HELD {
                return Added::Rejected {
                    err: ReassemblyError::TableFull,
                    buf: b,
                    discarded: 0,
                };
            }
            self.map.insert(
                key,
                Datagram {
                    frags: Vec::new(),
                    total: None,
                    have: 0,
                    first_ns: now_ns,
                },
            );
        } else if self.held >= MAX_HELD {
            return reject(self, cache, ReassemblyError::TableFull, b);
        }
        let Some(d) = self.map.get_mut(&key) else {
            return reject(self, cache, ReassemblyError::Malformed, b);
        };
        if d.frags.len() >= self.max_fragments {
            return reject(self, cache, ReassemblyError::TooManyFragments, b);
        }
        // RFC 5722: any overlap drops the whole datagram.
        if d.frags.iter().any(|f| f.start < end && start < f.end) {
            return reject(self, cache, ReassemblyError::Overlap, b);
        }
        let max_end = d.frags.iter().map(|f| f.end).max().unwrap_or(0);
        match (more, d.total) {
            (false, Some(_)) => return reject(self, cache, ReassemblyError::Inconsistent, b),
            (false, None) if max_end > end => {
                return reject(self, cache, ReassemblyError::Inconsistent, b)
            }
            (true, Some(t)) if end > t => {
                return reject(self, cache, ReassemblyError::Inconsistent, b)
            }
            (false, None) => d.total = Some(end),
            _ => {}
        }
        d.frags.push(Frag {
            start,
            end,
            data_at,
            buf: b,
        });
        d.have += len;
        self.held += 1;
        if d.total != Some(d.have) {
            return Added::Held;
        }
        // Complete: no overlaps and the lengths add up, so the fragments tile 0..total.
        let Some(d) = self.map.remove(&key) else {
            return Added::Held;
        };
        self.held -= d.frags.len();
        join::<P>(pool, cache, d.frags)
    }
}

/// Appends every fragment's data to the first (offset 0) and lets the protocol fix its
/// headers; frees the others.
fn join<P: Protocol>(pool: &BufferPool, cache: &mut BufferCache, mut frags: Vec<Frag>) -> Added {
    frags.sort_unstable_by_key(|f| f.start);
    let mut frags = frags.into_iter();
    let Some(first) = frags.next() else {
        return Added::Held;
    };
    let mut base = first.buf;
    let mut ok = first.start == 0;
    for f in frags {
        let mut other = f.buf;
        if ok {
            let (mut dst, src) = pool.get_pair_mut(&mut base, &mut other);
            let piece = src.data().get(f.data_at..f.data_at + (f.end - f.start));
            ok = match (piece, dst.append(f.end - f.start)) {
                (Some(piece), Some(room)) => {
                    room.copy_from_slice(piece);
                    true
                }
                _ => false,
            };
        }
        cache.free(other);
    }
    if ok && P::finish(pool.get_mut(&mut base).data_mut(), first.data_at) {
        Added::Complete(base)
    } else {
        Added::Rejected {
            err: ReassemblyError::Malformed,
            buf: base,
            discarded: 0,
        }
    }
}
