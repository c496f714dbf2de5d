//! IPv6 longest-prefix match: a multibit trie of one 24-bit stride and then 8-bit strides
//! (`rte_lpm6`'s layout), leaf-pushed.
//!
//! A lookup loads one entry per stride until it meets a leaf: one load for prefixes up to
//! /24, two up to /32, four for a /48, at most fourteen for a /128.
//!
//! Memory: the root is 64 MiB of `AtomicU32` plus 16 MiB of writer-only depth bytes; each
//! group of 256 entries is 1 KiB (+256 B of depths). A prefix of length L needs the groups
//! on its path below /24 (ceil((L-24)/8)); siblings share them: the RIR-clustered mix of
//! the `lpm6-bulk` benchmark needs one group per ~4 routes (1,000,000 routes: 240,030
//! groups, 300 MiB of tables, built in ~2 s). The groups live in one mapping reserved for
//! `max_groups` and backed as they are first used; the root and the groups are advised
//! for transparent huge pages.
//!
//! Bulk lookups ([`Lpm6Table::lookup_bulk`]) answer clustered keys from the slot of the
//! previous answer and walk scattered keys side by side, prefetching each key's next entry.

use crate::error::{ConfigError, RouteError};
use crate::qsbr::Qsbr;
use crate::trie::{GroupStats, MemoryUsage, Tables, Trie, EXT};
use crate::NO_ROUTE;
use std::net::Ipv6Addr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Default group limit: 2^22 groups (4 GiB if all were used; allocated lazily).
pub const DEFAULT_GROUPS6: u32 = 1 << 22;

/// The writer's handle of an IPv6 LPM. Same contract as [`crate::Lpm4`].
#[derive(Debug)]
pub struct Lpm6 {
    trie: Trie,
    table: Lpm6Table,
}

/// The read side of an IPv6 LPM: lookups only, lock-free, from any thread. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Lpm6Table {
    t: Arc<Tables>,
}

impl Lpm6 {
    /// An empty LPM with its own [`Qsbr`] domain and room for `max_groups` groups.
    pub fn new(max_groups: u32) -> Result<Lpm6, ConfigError> {
        Self::with_qsbr(max_groups, Qsbr::new())
    }

    /// An empty LPM whose freed groups wait for the readers of `qsbr`.
    pub fn with_qsbr(max_groups: u32, qsbr: Arc<Qsbr>) -> Result<Lpm6, ConfigError> {
        if max_groups == 0 || max_groups > 1 << 24 {
            return Err(ConfigError::MaxGroups(max_groups));
        }
        let trie = Trie::new(128, max_groups, qsbr)?;
        let table = Lpm6Table {
            t: trie.tables().clone(),
        };
        Ok(Lpm6 { trie, table })
    }

    /// The read side, for worker threads.
    pub fn table(&self) -> Lpm6Table {
        self.table.clone()
    }

    /// The reclamation domain readers register with.
    pub fn qsbr(&self) -> &Arc<Qsbr> {
        self.trie.qsbr()
    }

    /// Adds `prefix/len → value`, returning the value it replaced. Host bits past `len`
    /// must be clear; `value` must be at most [`crate::MAX_VALUE`]. On error nothing changed.
    pub fn insert(
        &mut self,
        prefix: Ipv6Addr,
        len: u8,
        value: u32,
    ) -> Result<Option<u32>, RouteError> {
        self.trie.insert(u128::from(prefix), len, value)
    }

    /// Removes `prefix/len`, returning its value; its addresses fall back to the covering
    /// rule. `Ok(None)` when there was no such rule.
    pub fn remove(&mut self, prefix: Ipv6Addr, len: u8) -> Result<Option<u32>, RouteError> {
        self.trie.remove(u128::from(prefix), len)
    }

    /// The value of exactly `prefix/len`, if that rule exists.
    pub fn get_exact(&self, prefix: Ipv6Addr, len: u8) -> Option<u32> {
        self.trie.get_exact(u128::from(prefix), len)
    }

    /// Every rule as `(prefix, len, value)`: by length, in no order within a length.
    pub fn iter(&self) -> impl Iterator<Item = (Ipv6Addr, u8, u32)> + '_ {
        self.trie.iter().map(|(k, l, v)| (Ipv6Addr::from(k), l, v))
    }

    /// Rules held.
    pub fn len(&self) -> usize {
        self.trie.len()
    }

    /// True when no rule is held.
    pub fn is_empty(&self) -> bool {
        self.trie.len() == 0
    }

    /// The longest match for `addr`.
    pub fn lookup(&self, addr: Ipv6Addr) -> Option<u32> {
        self.table.lookup(addr)
    }

    /// Makes groups every reader has left behind reusable; returns how many still wait.
    pub fn reclaim(&mut self) -> usize {
        self.trie.reclaim()
    }

    /// Group usage.
    pub fn groups(&self) -> GroupStats {
        self.trie.group_stats()
    }

    /// Memory held, in bytes.
    pub fn memory(&self) -> MemoryUsage {
        self.trie.memory_bytes()
    }
}

impl Lpm6Table {
    /// The longest match for `addr`, or `None`.
    #[inline]
    pub fn lookup(&self, addr: Ipv6Addr) -> Option<u32> {
        let v = self.t.lookup6(u128::from(addr));
        (v != NO_ROUTE).then_some(v)
    }

    /// The longest match for `u128::from(addr)`, or [`NO_ROUTE`].
    #[inline(always)]
    pub fn lookup_raw(&self, addr: u128) -> u32 {
        self.t.lookup6(addr)
    }

    /// Looks up `addrs` (`u128::from(Ipv6Addr)`) into `out` ([`NO_ROUTE`] where nothing
    /// matches). Handles `min(addrs.len(), out.len())` entries.
    ///
    /// Two shapes, chosen by the first [`PROBE`] keys:
    ///
    /// * clustered keys (most of them under the previous key's slot) go one by one, and a
    ///   key sharing the bits that chose the previous answer's slot (its /24, /32, … /128)
    ///   gets that answer without a walk: leaf pushing makes one slot the answer for all of
    ///   them. Packets of a frame mostly go to few prefixes, so most lookups cost a mask
    ///   and a compare instead of one dependent load per stride;
    /// * scattered keys are walked [`WALK`] at a time, one stride for all before the next
    ///   (DPDK's and VPP's bulk shape): each key's next entry is prefetched as soon as its
    ///   group is known, and read only after every other key of the batch has issued its
    ///   own, so the cache misses of a large table overlap instead of queuing behind one
    ///   another; the keys still walking are kept in a list compacted without branches.
    ///
    /// Measured (`lpm6-bulk`, alternating with the one-by-one form of before in the same
    /// minutes): 200,000 routes 13.8-18.2 → 28.6-31.9 M/s, 1,000,000 routes 10.0-10.3 →
    /// 22.7-26.8 M/s. The walk then waits on its prefetches (a time profile stalls there):
    /// it is bound by memory, not by the dependence between strides. Measured and not kept:
    /// 32, 128 or 256 keys side by side instead of 64; prefetching the next batch's root
    /// entries during this batch's deeper strides; prefetching into L2 only; holding entry
    /// references and key bytes instead of indices and keys (each equal or up to 8% slower,
    /// by the walk's share of a profile against `rte_lpm6` on the same keys).
    pub fn lookup_bulk(&self, addrs: &[u128], out: &mut [u32]) {
        let n = addrs.len().min(out.len());
        let (addrs, out) = (&addrs[..n], &mut out[..n]);
        let done = self.reuse(addrs, out);
        for (a, o) in addrs[done..].chunks(WALK).zip(out[done..].chunks_mut(WALK)) {
            self.walk(a, o);
        }
    }

    /// The longest match for `addr` (`u128::from(Ipv6Addr)`), as the slot that answered:
    /// leaf pushing makes that slot the answer of every address sharing the bits that chose
    /// it (its /24, /32, … /128), so a caller holding it answers such addresses with
    /// [`Lpm6Slot::covers`] and no walk.
    #[inline]
    pub fn lookup_slot(&self, addr: u128) -> Lpm6Slot {
        let (value, depth) = self.t.lookup6_depth(addr);
        // depth is 24..=128: the shift is 0..=104.
        let mask = u128::MAX << (128 - depth.clamp(24, 128));
        Lpm6Slot {
            key: addr & mask,
            mask,
            value,
        }
    }

    /// [`Self::lookup_bulk`] for keys the caller knows to be scattered (say, because few of
    /// them shared a slot with their predecessor): the walk side by side, without first
    /// trying keys one by one.
    pub fn lookup_bulk_scattered(&self, addrs: &[u128], out: &mut [u32]) {
        for (a, o) in addrs.chunks(WALK).zip(out.chunks_mut(WALK)) {
            self.walk(a, o);
        }
    }

    /// Starts loading the root entry a lookup of `addr` reads (a software prefetch), so
    /// that a lookup issued after other work finds it in the cache.
    #[inline(always)]
    pub fn prefetch(&self, addr: u128) {
        sys::prefetch::read(&self.t.root[(addr >> 104) as usize]);
    }

    /// The clustered form of [`Self::lookup_bulk`]: returns how many keys it answered (all
    /// of them, unless more than half of the first [`PROBE`] needed a walk). Not inlined:
    /// alone, its loop keeps everything in registers.
    #[inline(never)]
    fn reuse(&self, addrs: &[u128], out: &mut [u32]) -> usize {
        let mut slot = Lpm6Slot::NONE;
        let mut walks = 0;
        for (i, (&a, o)) in addrs.iter().zip(out.iter_mut()).enumerate() {
            if !slot.covers(a) {
                if walks > PROBE / 2 && i >= PROBE {
                    return i;
                }
                walks += 1;
                slot = self.lookup_slot(a);
            }
            *o = slot.value;
        }
        addrs.len()
    }

    /// Up to [`WALK`] lookups side by side, one stride at a time (see
    /// [`Self::lookup_bulk`]).
    #[inline(never)]
    fn walk(&self, keys: &[u128], out: &mut [u32]) {
        let t = &*self.t;
        let n = keys.len().min(out.len()).min(WALK);
        let (keys, out) = (&keys[..n], &mut out[..n]);
        // Index of the group entry each key reads next (0 once it met a leaf).
        let mut pos = [0u32; WALK];
        // The keys still walking, compacted in place each stride.
        let mut live = [0u8; WALK];
        for &k in keys {
            sys::prefetch::read(&t.root[(k >> 104) as usize]);
        }
        let mut count = 0;
        for (j, (&k, o)) in keys.iter().zip(out.iter_mut()).enumerate() {
            let e = t.root[(k >> 104) as usize].load(Ordering::Acquire);
            *o = e;
            let p = next_entry(e, k, 3);
            if let Some(x) = t.groups.entry(p as usize) {
                sys::prefetch::read(x);
            }
            pos[j] = p;
            live[count] = j as u8;
            count += (e >> 31) as usize;
        }
        // Bytes 3..16 of the key index the groups: at most 13 strides below the root.
        let mut byte = 3;
        while count > 0 && byte < 16 {
            let mut still = 0;
            for l in 0..count {
                let j = usize::from(live[l]);
                let e = t.groups.load(pos[j] as usize, NO_ROUTE);
                out[j] = e;
                let p = next_entry(e, keys[j], byte + 1);
                if let Some(x) = t.groups.entry(p as usize) {
                    sys::prefetch::read(x);
                }
                pos[j] = p;
                live[still] = j as u8;
                still += (e >> 31) as usize;
            }
            count = still;
            byte += 1;
        }
        // Only a corrupt table points past byte 15: no answer rather than a group index.
        for &j in &live[..count] {
            out[usize::from(j)] = NO_ROUTE;
        }
    }
}

/// The slot that answered a lookup ([`Lpm6Table::lookup_slot`]): its answer holds for every
/// address it covers, until the table changes (a caller keeps it for one frame at most, as
/// long as it holds the answer itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lpm6Slot {
    key: u128,
    mask: u128,
    value: u32,
}

impl Lpm6Slot {
    /// Covers no address (mask 0 with a key no masked address equals).
    pub const NONE: Lpm6Slot = Lpm6Slot {
        key: 1,
        mask: 0,
        value: NO_ROUTE,
    };

    /// True when `addr` has the slot's answer.
    #[inline(always)]
    pub fn covers(&self, addr: u128) -> bool {
        addr & self.mask == self.key
    }

    /// The answer: a leaf value or [`NO_ROUTE`].
    #[inline(always)]
    pub fn value(&self) -> u32 {
        self.value
    }
}

/// Keys looked up one by one (with answer reuse) before [`Lpm6Table::lookup_bulk`] decides
/// whether the rest are clustered (more than half of these reused an answer) or scattered.
const PROBE: usize = 8;

/// Keys walked side by side by the scattered form.
const WALK: usize = 64;

/// The group entry a key reads after entry `e`, when `e` points to a group: byte `byte` of
/// the key indexes it. 0 (a valid index, never read) when `e` is a leaf.
#[inline(always)]
fn next_entry(e: u32, key: u128, byte: usize) -> u32 {
    // Byte 16 does not exist: only a corrupt table asks for it (a group below byte 15),
    // and the walk stops before reading the entry; it gets byte 15 again.
    let b = (key >> 120u32.saturating_sub(8 * byte as u32)) as u8;
    let p = (e & !EXT) << 8 | u32::from(b);
    if e & EXT != 0 {
        p
    } else {
        0
    }
}

/// `addr` with the bits past `len` cleared (`len` above 128 keeps it whole).
pub fn mask6(addr: Ipv6Addr, len: u8) -> Ipv6Addr {
    Ipv6Addr::from(crate::trie::mask(u128::from(addr), len.min(128)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bulk form reuses an answer only for keys under the same slot: neighbours that
    /// cross into a longer (or no) prefix still get their own answer.
    #[test]
    fn bulk_reuse_stops_at_the_answers_slot() {
        let mut t = Lpm6::new(64).expect("lpm");
        let a = |s: &str| u128::from(s.parse::<Ipv6Addr>().expect("addr"));
        t.insert("2001:db8:1::".parse().expect("p"), 48, 1)
            .expect("ins");
        t.insert("2001:db8:1:2::".parse().expect("p"), 64, 2)
            .expect("ins");
        t.insert("2001:db8:1:2::7".parse().expect("p"), 128, 3)
            .expect("ins");
        t.insert("2001:db8::".parse().expect("p"), 32, 4)
            .expect("ins");
        let keys = [
            a("2001:db8:1::1"),
            a("2001:db8:1::2"),
            a("2001:db8:1:2::6"),
            a("2001:db8:1:2::7"),
            a("2001:db8:1:2::8"),
            a("2001:db8:1:3::1"),
            a("2001:db8:2::1"),
            a("2001:db8:1:ff00::"),
            a("2001:db9::1"),
            a("2001:db9::2"),
            a("2001:db8:1::3"),
        ];
        let mut out = [0; 11];
        t.table().lookup_bulk(&keys, &mut out);
        assert_eq!(out, [1, 1, 2, 3, 2, 1, 4, 1, NO_ROUTE, NO_ROUTE, 1]);
        for (&k, &o) in keys.iter().zip(&out) {
            assert_eq!(t.table().lookup_raw(k), o, "{k:#x}");
        }
    }
}
