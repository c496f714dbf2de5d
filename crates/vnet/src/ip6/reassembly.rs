//! IPv6 fragment reassembly for local delivery (RFC 8200 §4.5), bounded in memory and
//! time, and strict as RFC 5722 requires: any overlap between fragments (an exact duplicate
//! included) drops the whole datagram, held fragments and all.
//!
//! The reassembled packet keeps the first fragment's unfragmentable part and its fragment
//! header, turned into an atomic fragment (offset 0, M clear; RFC 6946), so no byte has to
//! move: `ip6-local` delivers atomic fragments as whole packets.
//!
//! Bounds: at most `max_datagrams` datagrams in progress, `max_fragments` fragments per
//! datagram, [`MAX_HELD`] buffers held in all, a datagram no larger than one buffer can
//! hold ([`MAX_DATAGRAM`]), and `timeout_ns` from its first fragment.

use buf::{Buf, BufferCache, BufferPool};
use std::collections::HashMap;
use wire::ipv6::ext::Ipv6FragmentHeader;
use wire::ipv6::{Ipv6Packet, HEADER_LEN};

pub use crate::ip4::reassembly::{Added, ReassemblyError};

/// Most fragment buffers held at once, over all datagrams.
pub const MAX_HELD: usize = 256;
/// Largest datagram reassembled (headers included): what fits in one buffer.
pub const MAX_DATAGRAM: usize = 3584;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    src: u128,
    dst: u128,
    ident: u32,
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
    /// Fragmentable part's length, known once the last fragment arrived.
    total: Option<usize>,
    have: usize,
    first_ns: u64,
}

/// One fragment as read from its packet.
struct Parsed {
    key: Key,
    start: usize,
    /// Bytes of fragment data.
    len: usize,
    more: bool,
    /// Where the fragment data starts in the packet (after the fragment header).
    data_at: usize,
}

fn parse(data: &[u8]) -> Option<Parsed> {
    let p = Ipv6Packet::new_checked(data).ok()?;
    let chain = p.ext_chain().ok()?;
    let f = chain.fragment?;
    let end = HEADER_LEN + usize::from(p.payload_len());
    let data_at = f.header_offset + 8;
    Some(Parsed {
        key: Key {
            src: u128::from(p.src_addr()),
            dst: u128::from(p.dst_addr()),
            ident: f.ident,
        },
        start: usize::from(f.frag_offset),
        len: end.checked_sub(data_at)?,
        more: f.more_frags,
        data_at,
    })
}

/// Datagrams being reassembled.
#[derive(Debug)]
pub struct Reassembly6 {
    map: HashMap<Key, Datagram>,
    held: usize,
    max_datagrams: usize,
    max_fragments: usize,
    timeout_ns: u64,
}

impl Reassembly6 {
    /// Empty, with these bounds.
    pub fn new(max_datagrams: usize, max_fragments: usize, timeout_ns: u64) -> Reassembly6 {
        Reassembly6 {
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

    /// Adds fragment `b` (an IPv6 packet with a fragment header that is not atomic,
    /// trimmed to its payload length).
    pub fn add(
        &mut self,
        pool: &BufferPool,
        cache: &mut BufferCache,
        b: Buf,
        now_ns: u64,
    ) -> Added {
        let Some(Parsed {
            key,
            start,
            len,
            more,
            data_at,
        }) = parse(pool.get(&b).data())
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
        if data_at + end > 65535 + HEADER_LEN || data_at + end > MAX_DATAGRAM {
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
                ok = match parse(src.data()) {
                    Some(p) => {
                        let piece = src.data().get(p.data_at..p.data_at + p.len);
                        match (piece, dst.append(p.len)) {
                            (Some(piece), Some(room)) => {
                                room.copy_from_slice(piece);
                                true
                            }
                            _ => false,
                        }
                    }
                    None => false,
                };
            }
            cache.free(other);
        }
        let mut pkt = pool.get_mut(&mut base);
        let fixed = ok && {
            let frag_at = data_at_of(pkt.data()).map(|a| a - 8);
            let plen = pkt.data().len() - HEADER_LEN;
            let mut done = false;
            if let (Some(at), Ok(plen)) = (frag_at, u16::try_from(plen)) {
                Ipv6Packet::new_unchecked(pkt.data_mut()).set_payload_len(plen);
                if let Some(h) = pkt.data_mut().get_mut(at..) {
                    if let Ok(mut f) = Ipv6FragmentHeader::new_checked(h) {
                        f.set_more_frags(false);
                        f.set_frag_offset(0);
                        done = true;
                    }
                }
            }
            done
        };
        let ok = fixed && Ipv6Packet::new_checked(pkt.data()).is_ok();
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

/// Where the first fragment's data starts (its payload length still the fragment's).
fn data_at_of(data: &[u8]) -> Option<usize> {
    // The first fragment's payload length covers only its own data, so walk the chain on
    // a view limited to the unfragmentable part and the fragment header.
    let p = Ipv6Packet::new_unchecked(data);
    if data.len() < HEADER_LEN {
        return None;
    }
    let first_end = HEADER_LEN + usize::from(p.payload_len());
    parse(data.get(..first_end)?).map(|x| x.data_at)
}
