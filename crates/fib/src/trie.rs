//! The multibit trie both LPMs share: a 24-bit root stride, then 8-bit strides, with
//! leaf pushing (every slot holds the answer for the addresses it covers).
//!
//! * [`Tables`] is what readers see: the root (2^24 atomics) and a [`Pool`] of groups of
//!   256 atomics. An entry is either a leaf value (top bit clear; [`NO_ROUTE`] when nothing
//!   matches) or `EXT | group` pointing one stride deeper.
//! * [`Trie`] is the single writer's side: the rules (one `HashMap` per prefix length, for
//!   deletes and listing), the depth of the rule behind every slot (`u8` arrays the readers
//!   never touch), the free and retired group lists.
//!
//! IPv4 keys are placed in the top 32 bits of the `u128` key, so IPv4 is DIR-24-8
//! (`rte_lpm`) and IPv6 is 24-8-8-…-8 (`rte_lpm6`) on one engine.
//!
//! Update order keeps readers safe without locks: a new group is filled completely before
//! the entry pointing to it is stored (Release; readers load with Acquire); slots change one
//! atomic store at a time, each store replacing a valid answer with another; a group that
//! collapses back into its parent is retired through [`Qsbr`] and reused only when every
//! reader has quiesced since.

use crate::error::{ConfigError, RouteError};
use crate::pool::Pool;
use crate::qsbr::{Qsbr, Retired};
use crate::{MAX_VALUE, NO_ROUTE};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use sys::mmap::HugeSlice;

/// Marks an entry as a pointer to a group (the low 31 bits are its index).
pub(crate) const EXT: u32 = 0x8000_0000;
/// Root entries (a 24-bit first stride).
pub(crate) const ROOT: usize = 1 << 24;
/// Bits of the first stride.
const ROOT_BITS: u8 = 24;
/// Bits of every later stride.
const GROUP_BITS: u8 = 8;
/// Entries per group.
pub(crate) const GROUP: usize = 256;

/// The tables readers look up in.
#[derive(Debug)]
pub(crate) struct Tables {
    /// 2^24 entries (64 MiB) in a huge-page-advised mapping: lookups on random keys touch
    /// it all over, and on 4 KiB pages they are bound by TLB misses.
    pub(crate) root: HugeSlice<AtomicU32>,
    pub(crate) groups: Pool,
}

impl Tables {
    fn new(max_groups: u32) -> Result<Tables, ConfigError> {
        let root = HugeSlice::<AtomicU32>::zeroed(ROOT)
            .map_err(|_| ConfigError::Memory { bytes: ROOT * 4 })?;
        // Not yet shared: plain stores before the `Arc` publishes the tables.
        for e in root.iter() {
            e.store(NO_ROUTE, Ordering::Relaxed);
        }
        Ok(Tables {
            root,
            groups: Pool::new(max_groups as usize * GROUP, NO_ROUTE).ok_or(
                ConfigError::Memory {
                    bytes: max_groups as usize * GROUP * 4,
                },
            )?,
        })
    }

    /// Entry `byte` of group `e & !EXT`.
    #[inline(always)]
    pub(crate) fn group_entry(&self, e: u32, byte: u32) -> u32 {
        self.groups.load(
            ((e & !EXT) as usize) << 8 | (byte & 0xff) as usize,
            NO_ROUTE,
        )
    }

    /// IPv4 lookup: one load for prefixes up to /24, two beyond.
    #[inline(always)]
    pub(crate) fn lookup4(&self, a: u32) -> u32 {
        let e = self.root[(a >> 8) as usize].load(Ordering::Acquire);
        if e & EXT == 0 {
            e
        } else {
            self.group_entry(e, a)
        }
    }

    /// IPv6 lookup: one load per stride until a leaf.
    #[inline(always)]
    pub(crate) fn lookup6(&self, k: u128) -> u32 {
        self.lookup6_depth(k).0
    }

    /// IPv6 lookup returning, with the answer, how many leading bits of `k` chose the slot
    /// it came from (24, 32, … 128). Leaf pushing makes that slot the answer for every key
    /// sharing those bits. Bytes of the key index the groups directly (no 128-bit shifts).
    #[inline(always)]
    pub(crate) fn lookup6_depth(&self, k: u128) -> (u32, u32) {
        let bytes = k.to_be_bytes();
        let mut e = self.root[(k >> 104) as usize].load(Ordering::Acquire);
        // At most 13 more strides (bytes 3..16): bounded even if an entry were corrupt.
        let mut i = 3;
        while e & EXT != 0 {
            let Some(&byte) = bytes.get(i) else {
                return (NO_ROUTE, 128);
            };
            e = self.group_entry(e, u32::from(byte));
            i += 1;
        }
        (e, 8 * i as u32)
    }
}

/// One slot: a root entry or entry `i` of group `g`.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Root(usize),
    Group(u32, usize),
}

/// Where a descent stopped: the node (None = root) and its first bit.
#[derive(Debug, Clone, Copy)]
struct Node {
    group: Option<u32>,
    off: u8,
}

impl Node {
    fn stride(self) -> u8 {
        if self.group.is_none() {
            ROOT_BITS
        } else {
            GROUP_BITS
        }
    }
    fn slot(self, i: usize) -> Slot {
        match self.group {
            None => Slot::Root(i),
            Some(g) => Slot::Group(g, i),
        }
    }
}

/// `key` with every bit past `len` cleared.
pub(crate) fn mask(key: u128, len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        key & (u128::MAX << (128 - u32::from(len)))
    }
}

/// `stride` bits of `key` starting at bit `off` (from the top).
fn bits(key: u128, off: u8, stride: u8) -> usize {
    ((key << off) >> (128 - u32::from(stride))) as usize
}

/// The writer's side of one trie.
#[derive(Debug)]
pub(crate) struct Trie {
    tables: Arc<Tables>,
    root_depth: Vec<u8>,
    group_depth: Vec<u8>,
    free: Vec<u32>,
    retired: Retired,
    fresh: u32,
    max_groups: u32,
    rules: Vec<HashMap<u128, u32>>,
    n_rules: usize,
    qsbr: Arc<Qsbr>,
    max_len: u8,
}

impl Trie {
    /// An empty trie for keys of `max_len` bits (32 or 128).
    pub(crate) fn new(max_len: u8, max_groups: u32, qsbr: Arc<Qsbr>) -> Result<Trie, ConfigError> {
        Ok(Trie {
            tables: Arc::new(Tables::new(max_groups)?),
            root_depth: vec![0; ROOT],
            group_depth: Vec::new(),
            free: Vec::new(),
            retired: Retired::default(),
            fresh: 0,
            max_groups,
            rules: (0..=max_len).map(|_| HashMap::new()).collect(),
            n_rules: 0,
            qsbr,
            max_len,
        })
    }

    pub(crate) fn tables(&self) -> &Arc<Tables> {
        &self.tables
    }

    pub(crate) fn qsbr(&self) -> &Arc<Qsbr> {
        &self.qsbr
    }

    fn check(&self, key: u128, len: u8) -> Result<(), RouteError> {
        if len > self.max_len {
            return Err(RouteError::InvalidLength {
                len,
                max: self.max_len,
            });
        }
        if mask(key, len) != key {
            return Err(RouteError::HostBitsSet { len });
        }
        Ok(())
    }

    fn load(&self, s: Slot) -> u32 {
        match s {
            Slot::Root(i) => self.tables.root[i].load(Ordering::Relaxed),
            Slot::Group(g, i) => self.tables.groups.load(g as usize * GROUP + i, NO_ROUTE),
        }
    }

    fn depth(&self, s: Slot) -> u8 {
        match s {
            Slot::Root(i) => self.root_depth[i],
            Slot::Group(g, i) => self.group_depth[g as usize * GROUP + i],
        }
    }

    /// Stores `raw` (Release) and records the depth of the rule behind it.
    fn store(&mut self, s: Slot, raw: u32, depth: u8) {
        match s {
            Slot::Root(i) => {
                self.tables.root[i].store(raw, Ordering::Release);
                self.root_depth[i] = depth;
            }
            Slot::Group(g, i) => {
                let at = g as usize * GROUP + i;
                self.tables.groups.store(at, raw);
                self.group_depth[at] = depth;
            }
        }
    }

    /// Moves groups readers have left behind to the free list; returns how many still wait.
    pub(crate) fn reclaim(&mut self) -> usize {
        self.retired.reclaim(&self.qsbr, &mut self.free);
        self.retired.len()
    }

    fn available(&self) -> usize {
        self.free.len() + (self.max_groups - self.fresh) as usize
    }

    fn alloc_group(&mut self) -> Option<u32> {
        if let Some(g) = self.free.pop() {
            return Some(g);
        }
        if self.fresh >= self.max_groups {
            return None;
        }
        let g = self.fresh;
        let end = (g as usize + 1) * GROUP;
        if !self.tables.groups.ensure(end) {
            return None;
        }
        self.group_depth.resize(end, 0);
        self.fresh += 1;
        Some(g)
    }

    /// Groups an insert of `key/len` would allocate.
    fn groups_needed(&self, key: u128, len: u8) -> usize {
        let mut node = Node {
            group: None,
            off: 0,
        };
        while len > node.off + node.stride() {
            let e = self.load(node.slot(bits(key, node.off, node.stride())));
            let next = node.off + node.stride();
            if e & EXT == 0 {
                // This level and every one below it need a fresh group.
                return usize::from(len - next).div_ceil(usize::from(GROUP_BITS));
            }
            node = Node {
                group: Some(e & !EXT),
                off: next,
            };
        }
        0
    }

    /// Adds or replaces a rule.
    pub(crate) fn insert(
        &mut self,
        key: u128,
        len: u8,
        value: u32,
    ) -> Result<Option<u32>, RouteError> {
        self.check(key, len)?;
        if value > MAX_VALUE {
            return Err(RouteError::ValueOutOfRange(value));
        }
        let waiting = self.reclaim();
        if self.groups_needed(key, len) > self.available() {
            return Err(RouteError::GroupsExhausted {
                max_groups: self.max_groups,
                waiting,
            });
        }
        let old = self.rules[usize::from(len)].insert(key, value);
        match old {
            None => self.n_rules += 1,
            Some(v) if v == value => return Ok(old),
            Some(_) => {}
        }
        let mut node = Node {
            group: None,
            off: 0,
        };
        while len > node.off + node.stride() {
            let slot = node.slot(bits(key, node.off, node.stride()));
            let e = self.load(slot);
            let g = if e & EXT != 0 {
                e & !EXT
            } else {
                let d = self.depth(slot);
                let Some(g) = self.alloc_group() else {
                    unreachable!("groups_needed checked availability");
                };
                for i in 0..GROUP {
                    self.store(Slot::Group(g, i), e, d);
                }
                // Published only now, fully written (Release in `store`).
                self.store(slot, EXT | g, d);
                g
            };
            node = Node {
                group: Some(g),
                off: node.off + node.stride(),
            };
        }
        let start = bits(key, node.off, node.stride());
        let count = 1usize << (node.off + node.stride() - len);
        for i in start..start + count {
            self.push_down(node.slot(i), value, len);
        }
        Ok(old)
    }

    /// Writes `value` into `s` and everything below it not covered by a longer rule.
    fn push_down(&mut self, s: Slot, value: u32, len: u8) {
        let e = self.load(s);
        if e & EXT != 0 {
            for i in 0..GROUP {
                self.push_down(Slot::Group(e & !EXT, i), value, len);
            }
        } else if self.depth(s) <= len {
            self.store(s, value, len);
        }
    }

    /// Replaces the slots `len` owned with the covering rule's answer.
    fn pull_up(&mut self, s: Slot, len: u8, value: u32, depth: u8) {
        let e = self.load(s);
        if e & EXT != 0 {
            for i in 0..GROUP {
                self.pull_up(Slot::Group(e & !EXT, i), len, value, depth);
            }
        } else if self.depth(s) == len {
            self.store(s, value, depth);
        }
    }

    /// The longest rule shorter than `len` covering `key`: (value, length).
    fn covering(&self, key: u128, len: u8) -> (u32, u8) {
        for l in (0..len).rev() {
            let m = &self.rules[usize::from(l)];
            if !m.is_empty() {
                if let Some(&v) = m.get(&mask(key, l)) {
                    return (v, l);
                }
            }
        }
        (NO_ROUTE, 0)
    }

    /// Removes a rule; the addresses it covered fall back to the covering rule.
    pub(crate) fn remove(&mut self, key: u128, len: u8) -> Result<Option<u32>, RouteError> {
        self.check(key, len)?;
        let Some(old) = self.rules[usize::from(len)].remove(&key) else {
            return Ok(None);
        };
        self.n_rules -= 1;
        let (rv, rd) = self.covering(key, len);
        let mut path: Vec<(Slot, u32, u8)> = Vec::new();
        let mut node = Node {
            group: None,
            off: 0,
        };
        while len > node.off + node.stride() {
            let slot = node.slot(bits(key, node.off, node.stride()));
            let e = self.load(slot);
            if e & EXT == 0 {
                // Cannot happen (a rule this long made the groups); nothing more to undo.
                debug_assert!(false, "rule /{len} without its groups");
                return Ok(Some(old));
            }
            let g = e & !EXT;
            node = Node {
                group: Some(g),
                off: node.off + node.stride(),
            };
            path.push((slot, g, node.off));
        }
        let start = bits(key, node.off, node.stride());
        let count = 1usize << (node.off + node.stride() - len);
        for i in start..start + count {
            self.pull_up(node.slot(i), len, rv, rd);
        }
        // Collapse groups no rule longer than their first bit needs any more, bottom up.
        while let Some((parent, g, off)) = path.pop() {
            let mut uniform = true;
            for i in 0..GROUP {
                let s = Slot::Group(g, i);
                if self.load(s) & EXT != 0 || self.depth(s) > off {
                    uniform = false;
                    break;
                }
            }
            if !uniform {
                break;
            }
            let s0 = Slot::Group(g, 0);
            let (v, d) = (self.load(s0), self.depth(s0));
            self.store(parent, v, d);
            self.retired.push(&self.qsbr, g);
        }
        self.reclaim();
        Ok(Some(old))
    }

    /// The value of exactly `key/len`, if that rule exists.
    pub(crate) fn get_exact(&self, key: u128, len: u8) -> Option<u32> {
        self.rules.get(usize::from(len))?.get(&key).copied()
    }

    /// Every rule as (key, length, value), by length then in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u128, u8, u32)> + '_ {
        self.rules.iter().enumerate().flat_map(|(len, m)| {
            m.iter()
                .map(move |(&k, &v)| (k, u8::try_from(len).unwrap_or(u8::MAX), v))
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.n_rules
    }

    /// Groups in use, free and waiting for readers.
    pub(crate) fn group_stats(&self) -> GroupStats {
        let waiting = self.retired.len();
        GroupStats {
            max: self.max_groups,
            in_use: self.fresh as usize - self.free.len() - waiting,
            waiting,
        }
    }

    /// Bytes of memory held: reader tables, depth arrays, rule maps (estimated).
    pub(crate) fn memory_bytes(&self) -> MemoryUsage {
        let tables = ROOT * 4 + self.tables.groups.bytes();
        let rules: usize = self
            .rules
            .iter()
            .map(|m| m.capacity() * (std::mem::size_of::<(u128, u32)>() + 1))
            .sum();
        let control = self.root_depth.capacity()
            + self.group_depth.capacity()
            + self.free.capacity() * 4
            + rules;
        MemoryUsage { tables, control }
    }
}

/// Table groups of an LPM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupStats {
    /// The configured limit.
    pub max: u32,
    /// Groups reachable from the root.
    pub in_use: usize,
    /// Groups unlinked but not yet reusable (readers have not all quiesced).
    pub waiting: usize,
}

/// Memory an LPM holds, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryUsage {
    /// What lookups read: the root and the groups allocated so far.
    pub tables: usize,
    /// What only the writer reads: depths, free lists, the rule maps (estimated from their
    /// capacity).
    pub control: usize,
}

impl MemoryUsage {
    /// Both together.
    pub fn total(&self) -> usize {
        self.tables + self.control
    }
}
