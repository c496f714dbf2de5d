//! IPv4 longest-prefix match: DIR-24-8, as DPDK's `rte_lpm`.
//!
//! A root of 2^24 entries answers every prefix up to /24 with one load; a /25–/32 prefix
//! turns its /24 root entry into a pointer to a group of 256 entries (a second load).
//!
//! Memory: the root is 64 MiB of `AtomicU32` (in a mapping advised for transparent huge
//! pages: random lookups are TLB-bound on 4 KiB pages) plus 16 MiB of writer-only depth
//! bytes; each group is 1 KiB (+256 B of depths), in one huge-page-advised mapping reserved
//! for `max_groups` and backed as groups are first used. The rules themselves (for
//! deletes and listing) cost about 33 B each.

use crate::error::{ConfigError, RouteError};
use crate::qsbr::Qsbr;
use crate::trie::{GroupStats, MemoryUsage, Tables, Trie, EXT};
use crate::NO_ROUTE;
use std::net::Ipv4Addr;
use std::sync::Arc;

/// Default group limit: 65536 groups (64 MiB when all are used), enough for ~2 million
/// BGP-like routes (only /25–/32 routes and their /24 need a group).
pub const DEFAULT_GROUPS4: u32 = 1 << 16;

/// Addresses looked up per batch in the bulk form: all root entries of a batch are loaded
/// first (independent loads the CPU overlaps), then the few group entries. 256 (a frame)
/// measured best against 32 and 64; an explicit prefetch pass just before it, as `rte_lpm`
/// does, measured no faster: a prefetch pays only when issued early, interleaved with other
/// work ([`Lpm4Table::prefetch`], which `ip4-input` calls for every packet it validates). On ~1M
/// random-keyed prefixes the bound is the TLB, not the loop, so the root and the groups
/// live in mappings advised for transparent huge pages (`sys::mmap::HugeSlice`): `lpm4-bulk` went from 82–143 M/s
/// (ratio to DPDK's `rte_lpm` on 4 KiB pages 0.70–1.30) to 140–173 M/s (1.21–1.52), three
/// runs each on the shared 2-core KVM guest, with 74 MiB of `AnonHugePages` in use.
const BATCH: usize = 256;

/// The writer's handle of an IPv4 LPM: owns the rules, changes the tables.
///
/// There is exactly one writer (it is not `Clone`, and changes take `&mut self`), on the
/// control thread. Readers on other threads use [`Lpm4Table`]s from [`Lpm4::table`]
/// concurrently with changes, and a [`crate::QsbrReader`] of [`Lpm4::qsbr`]'s domain; see
/// the crate documentation for the contract.
#[derive(Debug)]
pub struct Lpm4 {
    trie: Trie,
    table: Lpm4Table,
}

/// The read side of an IPv4 LPM: lookups only, lock-free, from any thread. Cheap to clone
/// (an `Arc`).
#[derive(Debug, Clone)]
pub struct Lpm4Table {
    t: Arc<Tables>,
}

impl Lpm4 {
    /// An empty LPM with its own [`Qsbr`] domain and room for `max_groups` groups.
    pub fn new(max_groups: u32) -> Result<Lpm4, ConfigError> {
        Self::with_qsbr(max_groups, Qsbr::new())
    }

    /// An empty LPM whose freed groups wait for the readers of `qsbr`.
    pub fn with_qsbr(max_groups: u32, qsbr: Arc<Qsbr>) -> Result<Lpm4, ConfigError> {
        if max_groups == 0 || max_groups > 1 << 24 {
            return Err(ConfigError::MaxGroups(max_groups));
        }
        let trie = Trie::new(32, max_groups, qsbr)?;
        let table = Lpm4Table {
            t: trie.tables().clone(),
        };
        Ok(Lpm4 { trie, table })
    }

    /// The read side, for worker threads.
    pub fn table(&self) -> Lpm4Table {
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
        prefix: Ipv4Addr,
        len: u8,
        value: u32,
    ) -> Result<Option<u32>, RouteError> {
        self.trie.insert(key(prefix), len, value)
    }

    /// Removes `prefix/len`, returning its value; the addresses it covered fall back to the
    /// next shorter covering rule (or no route). `Ok(None)` when there was no such rule.
    pub fn remove(&mut self, prefix: Ipv4Addr, len: u8) -> Result<Option<u32>, RouteError> {
        self.trie.remove(key(prefix), len)
    }

    /// The value of exactly `prefix/len`, if that rule exists.
    pub fn get_exact(&self, prefix: Ipv4Addr, len: u8) -> Option<u32> {
        self.trie.get_exact(key(prefix), len)
    }

    /// Every rule as `(prefix, len, value)`: by length, in no order within a length (sort
    /// for display).
    pub fn iter(&self) -> impl Iterator<Item = (Ipv4Addr, u8, u32)> + '_ {
        self.trie
            .iter()
            .map(|(k, l, v)| (Ipv4Addr::from((k >> 96) as u32), l, v))
    }

    /// Rules held.
    pub fn len(&self) -> usize {
        self.trie.len()
    }

    /// True when no rule is held.
    pub fn is_empty(&self) -> bool {
        self.trie.len() == 0
    }

    /// The longest match for `addr` (the writer may look up too).
    pub fn lookup(&self, addr: Ipv4Addr) -> Option<u32> {
        self.table.lookup(addr)
    }

    /// Makes groups every reader has left behind reusable; returns how many still wait.
    /// Inserts and removes do this themselves.
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

impl Lpm4Table {
    /// The longest match for `addr`, or `None`.
    #[inline]
    pub fn lookup(&self, addr: Ipv4Addr) -> Option<u32> {
        let v = self.t.lookup4(u32::from(addr));
        (v != NO_ROUTE).then_some(v)
    }

    /// The longest match for a host-order address (`u32::from(Ipv4Addr)`), or
    /// [`NO_ROUTE`].
    #[inline(always)]
    pub fn lookup_raw(&self, addr: u32) -> u32 {
        self.t.lookup4(addr)
    }

    /// Starts loading the root entry a lookup of `addr` reads into the L2 cache (a
    /// software prefetch), so that lookup, issued after other work, finds it there.
    /// `ip4-input` prefetches every packet's entry, a node ahead of `ip4-lookup`'s bulk
    /// lookup. L2, not L1: on a large table the 256 lines of a frame would otherwise
    /// evict the packets' headers that the nodes in between read.
    #[inline(always)]
    pub fn prefetch(&self, addr: u32) {
        sys::prefetch::read_l2(&self.t.root[(addr >> 8) as usize]);
    }

    /// Looks up `addrs` (host order) into `out` ([`NO_ROUTE`] where nothing matches).
    /// Handles `min(addrs.len(), out.len())` entries.
    ///
    /// The batch form is the fast one: it loads the root entries of 256 addresses back to
    /// back, so their cache misses overlap, noting (without a branch) which ones point into
    /// groups, then loads just those group entries back to back. Before, a second pass
    /// tested every address with a branch that mispredicted on each deep one, and the group
    /// misses came one after another; with 1M routes, 5% of them deeper than /24 (the
    /// `ip4-forward-1m-routes` mix), `ip4-lookup` went from 16.3 to 14.5 clocks/packet and
    /// the chain from 60.4-62.5 to 59.0-60.3 (six interleaved runs each, noisy machine; 1
    /// route unchanged, 53-55). `lpm4-bulk` (0.9% deep): 97.9 -> 131.9 M/s in one noisy
    /// pair. Kept over a bitmask of deep positions (60.5-64.0) and over a separate
    /// compaction pass run only when some entry was deep (60.4-61.5): appending while the
    /// root loads are in flight costs nothing.
    pub fn lookup_bulk(&self, addrs: &[u32], out: &mut [u32]) {
        let t = &*self.t;
        // Positions in the batch whose root entry points into a group.
        let mut deep = [0u8; BATCH];
        for (a, o) in addrs.chunks(BATCH).zip(out.chunks_mut(BATCH)) {
            let mut n = 0usize;
            for (j, (&a, o)) in a.iter().zip(o.iter_mut()).enumerate() {
                let e = t.root[(a >> 8) as usize].load(std::sync::atomic::Ordering::Acquire);
                // Branch-free append: always write, advance only past a group pointer.
                deep[n & (BATCH - 1)] = j as u8;
                n += usize::from(e & EXT != 0);
                *o = e;
            }
            for &j in &deep[..n] {
                let j = usize::from(j);
                if let (Some(o), Some(&a)) = (o.get_mut(j), a.get(j)) {
                    *o = t.group_entry(*o, a);
                }
            }
        }
    }

    /// Four lookups at once (the `rte_lpm_lookupx4` shape), [`NO_ROUTE`] where nothing
    /// matches.
    #[inline]
    pub fn lookup_x4(&self, addrs: [u32; 4]) -> [u32; 4] {
        let mut out = [0; 4];
        self.lookup_bulk(&addrs, &mut out);
        out
    }
}

fn key(a: Ipv4Addr) -> u128 {
    u128::from(u32::from(a)) << 96
}

/// `addr` with the bits past `len` cleared (`len` above 32 keeps it whole).
pub fn mask4(addr: Ipv4Addr, len: u8) -> Ipv4Addr {
    Ipv4Addr::from((crate::trie::mask(key(addr), len.min(32)) >> 96) as u32)
}
