//! IPv4 fragment reassembly for local delivery (RFC 791 §3.2, RFC 815), bounded in
//! memory and time, and strict: any overlap between fragments (including an exact
//! duplicate) drops the whole datagram, so no overlapping-fragment trick can make what we
//! deliver differ from what a monitor saw.
//!
//! Bounds: at most `max_datagrams` datagrams in progress, `max_fragments` fragments per
//! datagram, [`MAX_HELD`] buffers held in all, a datagram no larger than one buffer can hold
//! ([`MAX_DATAGRAM`]), and `timeout_ns` from its first fragment.

use buf::{Buf, BufferCache, BufferPool};
use std::collections::HashMap;
use wire::ipv4::Ipv4Packet;

/// Most fragment buffers held at once, over all datagrams.
pub const MAX_HELD: usize = 256;
/// Largest datagram reassembled (header included): what fits in one buffer.
pub const MAX_DATAGRAM: usize = 3584;

/// Why a fragment (and with it its datagram) was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReassemblyError {
    /// Overlaps (or duplicates) a fragment already held.
    Overlap,
    /// A non-last fragment whose payload is not a multiple of 8 bytes, or is empty.
    BadLength,
    /// Ends past 65535 bytes, or past what one buffer can hold.
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
    /// The datagram is complete: here it is, in one buffer, as an unfragmented packet.
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    src: u32,
    dst: u32,
    ident: u16,
    proto: u8,
}

#[derive(Debug)]
struct Frag {
    start: usize,
    end: usize,
    buf: Buf,
}

#[derive(Debug)]
struct Datagram {
    frags: Vec<Frag>,
    /// Payload length, known once the last fragment arrived.
    total: Option<usize>,
    have: usize,
    first_ns: u64,
}

/// Datagrams being reassembled.
#[derive(Debug)]
pub struct Reassembly {
    map: HashMap<Key, Datagram>,
    held: usize,
    max_datagrams: usize,
    max_fragments: usize,
    timeout_ns: u64,
}

impl Reassembly {
    /// Empty, with these bounds.
    pub fn new(max_datagrams: usize, max_fragments: usize, timeout_ns: u64) -> Reassembly {
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

    fn discard(&mut self, key: &Key, cache: &mut BufferCache) -> usize {
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
        if self.map.is_empty() {
            return 0;
        }
        let old: Vec<Key> = self
            .map
            .iter()
            .filter(|(_, d)| now_ns.saturating_sub(d.first_ns) > self.timeout_ns)
            .map(|(k, _)| *k)
            .collect();
        old.iter().map(|k| self.discard(k, cache)).sum()
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

    /// Adds fragment `b` (an IPv4 packet with MF set or a non-zero offset, trimmed to its
    /// total length).
    pub fn add(
        &mut self,
        pool: &BufferPool,
        cache: &mut BufferCache,
        b: Buf,
        now_ns: u64,
    ) -> Added {
        let parsed = {
            let data = pool.get(&b).data();
            Ipv4Packet::new_checked(data).map(|p| {
                (
                    Key {
                        src: u32::from(p.src_addr()),
                        dst: u32::from(p.dst_addr()),
                        ident: p.ident(),
                        proto: u8::from(p.protocol()),
                    },
                    usize::from(p.frag_offset()),
                    p.payload().len(),
                    p.more_frags(),
                    p.header_len(),
                )
            })
        };
        let Ok((key, start, len, mf, hlen)) = parsed else {
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
        if len == 0 || (mf && len % 8 != 0) {
            return reject(self, cache, ReassemblyError::BadLength, b);
        }
        if hlen + end > 65535 || hlen + end > MAX_DATAGRAM {
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
        if d.frags.iter().any(|f| f.start < end && start < f.end) {
            return reject(self, cache, ReassemblyError::Overlap, b);
        }
        let max_end = d.frags.iter().map(|f| f.end).max().unwrap_or(0);
        match (mf, d.total) {
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
        d.frags.push(Frag { start, end, buf: b });
        d.have += len;
        self.held += 1;
        if d.total != Some(d.have) {
            return Added::Held;
        }
        // Complete: no overlaps and the lengths add up, so the fragments tile 0..total.
        let Some(mut d) = self.map.remove(&key) else {
            return Added::Held;
        };
        self.held -= d.frags.len();
        d.frags.sort_unstable_by_key(|f| f.start);
        let total = d.have;
        let mut frags = d.frags.into_iter();
        let Some(first) = frags.next() else {
            return Added::Held;
        };
        let mut base = first.buf;
        let mut ok = first.start == 0;
        for f in frags {
            let mut other = f.buf;
            if ok {
                let (mut dst, src) = pool.get_pair_mut(&mut base, &mut other);
                ok = match Ipv4Packet::new_checked(src.data()) {
                    Ok(p) => {
                        let piece = p.payload();
                        match dst.append(piece.len()) {
                            Some(room) => {
                                room.copy_from_slice(piece);
                                true
                            }
                            None => false,
                        }
                    }
                    Err(_) => false,
                };
            }
            cache.free(other);
        }
        let mut pkt = pool.get_mut(&mut base);
        let fixed = ok
            && match Ipv4Packet::new_checked(pkt.data_mut()) {
                Ok(mut p) => {
                    let hl = p.header_len();
                    p.set_total_len((hl + total) as u16);
                    p.set_more_frags(false);
                    p.set_frag_offset(0);
                    p.fill_checksum();
                    true
                }
                Err(_) => false,
            };
        // `set_total_len` on a view checked against the old total length: re-check.
        let ok = fixed && Ipv4Packet::new_checked(pkt.data()).is_ok();
        if ok {
            Added::Complete(base)
        } else {
            Added::Rejected {
                err: ReassemblyError::Malformed,
                buf: base,
                discarded: 0,
            }
        }
    }
}
