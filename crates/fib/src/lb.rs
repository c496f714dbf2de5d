//! Load-balance objects: an index names up to [`MAX_BUCKETS`] buckets of next-hop values;
//! a flow hash picks one (VPP's `load_balance_t`).
//!
//! Weights are normalised as VPP does: the bucket count is the smallest power of two at
//! least the number of paths whose largest-remainder split of the weights is within 10%
//! (sum of absolute share errors) of the asked weights, up to 64; path `i` fills `c_i`
//! consecutive buckets. [`LbTable::select`] is then `buckets[hash & (n - 1)]`: two loads.
//!
//! Concurrency is the LPMs' contract: one writer ([`LoadBalances`], `&mut self`), lock-free
//! readers ([`LbTable`]). A change writes the buckets and then publishes the count
//! (Release); a reader sees, per bucket, the old or the new next hop. A freed index is
//! reused only after every reader of the [`Qsbr`] domain has quiesced.
//!
//! Memory: 256 B of buckets and 4 B of count per object, allocated 2 MiB (a huge page) at a time.

use crate::error::{ConfigError, LbError};
use crate::pool::Pool;
use crate::qsbr::{Qsbr, Retired};
use std::sync::Arc;

/// Most buckets (and paths) of one object.
pub const MAX_BUCKETS: usize = 64;
/// What [`LbTable::select`] returns for an index that names no object; never a next hop.
pub const INVALID_NEXT_HOP: u32 = u32::MAX;
/// Largest accepted sum of absolute share errors when normalising weights.
const TOLERANCE: f64 = 0.1;

#[derive(Debug)]
struct LbTables {
    counts: Pool,
    buckets: Pool,
}

/// The read side: lock-free selection from any thread. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LbTable {
    t: Arc<LbTables>,
}

/// The writer's side: creates, changes and frees objects (control thread only).
#[derive(Debug)]
pub struct LoadBalances {
    table: LbTable,
    live: Vec<bool>,
    free: Vec<u32>,
    retired: Retired,
    fresh: u32,
    capacity: u32,
    qsbr: Arc<Qsbr>,
}

impl LoadBalances {
    /// Room for `capacity` objects (memory allocated as used), freed indices waiting for
    /// the readers of `qsbr`.
    pub fn new(capacity: u32, qsbr: Arc<Qsbr>) -> Result<LoadBalances, ConfigError> {
        if capacity == 0 || capacity > 1 << 24 {
            return Err(ConfigError::Capacity(capacity));
        }
        let n = capacity as usize;
        let memory = ConfigError::Memory {
            bytes: n * (MAX_BUCKETS + 1) * 4,
        };
        let counts = Pool::new(n, 0).ok_or(memory)?;
        let buckets = Pool::new(n * MAX_BUCKETS, INVALID_NEXT_HOP).ok_or(memory)?;
        Ok(LoadBalances {
            table: LbTable {
                t: Arc::new(LbTables { counts, buckets }),
            },
            live: Vec::new(),
            free: Vec::new(),
            retired: Retired::default(),
            fresh: 0,
            capacity,
            qsbr,
        })
    }

    /// The read side, for worker threads.
    pub fn table(&self) -> LbTable {
        self.table.clone()
    }

    /// A new object over `paths` of `(next hop, weight)`; returns its index.
    pub fn add(&mut self, paths: &[(u32, u32)]) -> Result<u32, LbError> {
        let buckets = normalize(paths)?;
        self.retired.reclaim(&self.qsbr, &mut self.free);
        let lb = match self.free.pop() {
            Some(lb) => lb,
            None if self.fresh < self.capacity => {
                let lb = self.fresh;
                let t = &self.table.t;
                if !t.counts.ensure(lb as usize + 1)
                    || !t.buckets.ensure((lb as usize + 1) * MAX_BUCKETS)
                {
                    return Err(self.full());
                }
                self.fresh += 1;
                self.live.push(false);
                lb
            }
            None => return Err(self.full()),
        };
        self.write(lb, &buckets);
        self.live[lb as usize] = true;
        Ok(lb)
    }

    fn full(&self) -> LbError {
        LbError::Full {
            capacity: self.capacity,
            waiting: self.retired.len(),
        }
    }

    /// Replaces the paths of object `lb` (readers see old or new buckets, never garbage).
    pub fn set(&mut self, lb: u32, paths: &[(u32, u32)]) -> Result<(), LbError> {
        if !self.is_live(lb) {
            return Err(LbError::UnknownIndex(lb));
        }
        let buckets = normalize(paths)?;
        self.write(lb, &buckets);
        Ok(())
    }

    /// Frees object `lb`. Remove every route pointing at it first: readers in flight may
    /// still select from it until they quiesce, so its buckets stay as they were until the
    /// index is reused.
    pub fn remove(&mut self, lb: u32) -> Result<(), LbError> {
        if !self.is_live(lb) {
            return Err(LbError::UnknownIndex(lb));
        }
        self.live[lb as usize] = false;
        self.retired.push(&self.qsbr, lb);
        self.retired.reclaim(&self.qsbr, &mut self.free);
        Ok(())
    }

    fn is_live(&self, lb: u32) -> bool {
        self.live.get(lb as usize).copied().unwrap_or(false)
    }

    fn write(&mut self, lb: u32, buckets: &[u32]) {
        let t = &self.table.t;
        let base = lb as usize * MAX_BUCKETS;
        for (i, &nh) in buckets.iter().enumerate() {
            t.buckets.store(base + i, nh);
        }
        // Published after the buckets (Release): a reader using this count finds them.
        t.counts.store(lb as usize, buckets.len() as u32);
    }

    /// The buckets of `lb` (for `show load-balance`), or `None`.
    pub fn buckets(&self, lb: u32) -> Option<Vec<u32>> {
        if !self.is_live(lb) {
            return None;
        }
        let t = &self.table.t;
        let n = t.counts.load(lb as usize, 0) as usize;
        let base = lb as usize * MAX_BUCKETS;
        Some(
            (0..n)
                .map(|i| t.buckets.load(base + i, INVALID_NEXT_HOP))
                .collect(),
        )
    }

    /// Live objects.
    pub fn len(&self) -> usize {
        self.live.iter().filter(|&&l| l).count()
    }

    /// True when no object is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes allocated for the tables.
    pub fn memory(&self) -> usize {
        self.table.t.counts.bytes() + self.table.t.buckets.bytes() + self.live.capacity()
    }
}

impl LbTable {
    /// The next hop of object `lb` for a flow with `hash`; [`INVALID_NEXT_HOP`] when `lb`
    /// names no object.
    #[inline(always)]
    pub fn select(&self, lb: u32, hash: u32) -> u32 {
        let n = self.t.counts.load(lb as usize, 0);
        if n == 0 {
            return INVALID_NEXT_HOP;
        }
        self.t.buckets.load(
            lb as usize * MAX_BUCKETS + (hash & (n - 1)) as usize,
            INVALID_NEXT_HOP,
        )
    }

    /// [`LbTable::select`] over slices (`min` of the three lengths).
    pub fn select_bulk(&self, lbs: &[u32], hashes: &[u32], out: &mut [u32]) {
        for ((&lb, &h), o) in lbs.iter().zip(hashes).zip(out.iter_mut()) {
            *o = self.select(lb, h);
        }
    }
}

/// The bucket contents for `paths` (see the module documentation).
pub fn normalize(paths: &[(u32, u32)]) -> Result<Vec<u32>, LbError> {
    if paths.len() > MAX_BUCKETS {
        return Err(LbError::TooManyPaths(paths.len()));
    }
    if paths.iter().any(|&(nh, _)| nh == INVALID_NEXT_HOP) {
        return Err(LbError::ReservedValue);
    }
    let paths: Vec<(u32, u32)> = paths.iter().copied().filter(|&(_, w)| w > 0).collect();
    if paths.is_empty() {
        return Err(LbError::NoPaths);
    }
    let total: u64 = paths.iter().map(|&(_, w)| u64::from(w)).sum();
    let mut n = paths.len().next_power_of_two();
    loop {
        // Largest remainder: floor shares, then the leftover buckets to the largest rests.
        let mut counts: Vec<usize> = paths
            .iter()
            .map(|&(_, w)| (u64::from(w) * n as u64 / total) as usize)
            .collect();
        let mut order: Vec<usize> = (0..paths.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(u64::from(paths[i].1) * n as u64 % total));
        let left = n - counts.iter().sum::<usize>();
        for &i in order.iter().take(left) {
            counts[i] += 1;
        }
        let error: f64 = paths
            .iter()
            .zip(&counts)
            .map(|(&(_, w), &c)| (c as f64 / n as f64 - w as f64 / total as f64).abs())
            .sum();
        if error <= TOLERANCE || n >= MAX_BUCKETS {
            return Ok(paths
                .iter()
                .zip(&counts)
                .flat_map(|(&(nh, _), &c)| std::iter::repeat_n(nh, c))
                .collect());
        }
        n *= 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_weights_use_one_bucket_per_path_rounded_to_a_power_of_two() {
        assert_eq!(normalize(&[(1, 1), (2, 1)]).unwrap(), [1, 2]);
        let b = normalize(&[(1, 1), (2, 1), (3, 1)]).unwrap();
        assert_eq!(b.len(), 16, "3 paths need 16 buckets to be within 10%");
        assert_eq!(normalize(&[(9, 5)]).unwrap(), [9]);
    }

    #[test]
    fn weights_are_honoured() {
        let b = normalize(&[(1, 3), (2, 1)]).unwrap();
        assert_eq!(b, [1, 1, 1, 2]);
        // Within the 10% tolerance a path this light may get no bucket (as in VPP).
        assert_eq!(normalize(&[(1, 1000), (2, 1)]).unwrap(), [1, 1]);
        let b = normalize(&[(1, 10), (2, 1)]).unwrap();
        assert_eq!(b, [1, 1, 1, 1, 1, 1, 1, 2], "7/8 against 10/11: within 10%");
    }

    #[test]
    fn bad_paths_are_refused() {
        assert_eq!(normalize(&[]), Err(LbError::NoPaths));
        assert_eq!(normalize(&[(1, 0)]), Err(LbError::NoPaths));
        assert_eq!(normalize(&[(1, 1); 65]), Err(LbError::TooManyPaths(65)));
        assert_eq!(
            normalize(&[(INVALID_NEXT_HOP, 1)]),
            Err(LbError::ReservedValue)
        );
    }

    #[test]
    fn select_spreads_flows_by_hash() {
        let q = Qsbr::new();
        let mut lbs = LoadBalances::new(4, q).unwrap();
        let t = lbs.table();
        let lb = lbs.add(&[(10, 1), (20, 1), (30, 2)]).unwrap();
        let mut seen = [0u32; 3];
        for p in 0..40_000u16 {
            let h = crate::flow_hash4(0, 1, 2, 6, p, 80);
            match t.select(lb, h) {
                10 => seen[0] += 1,
                20 => seen[1] += 1,
                30 => seen[2] += 1,
                x => panic!("unexpected next hop {x}"),
            }
        }
        assert!((9_000..11_000).contains(&seen[0]), "{seen:?}");
        assert!((9_000..11_000).contains(&seen[1]), "{seen:?}");
        assert!((19_000..21_000).contains(&seen[2]), "{seen:?}");
        assert_eq!(t.select(3, 0), INVALID_NEXT_HOP);
    }

    #[test]
    fn freed_indices_wait_for_readers() {
        let q = Qsbr::new();
        let mut lbs = LoadBalances::new(1, q.clone()).unwrap();
        let t = lbs.table();
        let r = q.register();
        let lb = lbs.add(&[(1, 1)]).unwrap();
        lbs.remove(lb).unwrap();
        assert_eq!(
            t.select(lb, 0),
            1,
            "in-flight readers still see the old buckets"
        );
        assert!(matches!(
            lbs.add(&[(2, 1)]),
            Err(LbError::Full { waiting: 1, .. })
        ));
        r.quiesce();
        assert_eq!(lbs.add(&[(2, 1)]), Ok(lb));
        assert_eq!(lbs.set(lb, &[(3, 1), (4, 1)]), Ok(()));
        assert_eq!(lbs.buckets(lb), Some(vec![3, 4]));
        assert_eq!(lbs.set(5, &[(3, 1)]), Err(LbError::UnknownIndex(5)));
        assert_eq!(lbs.len(), 1);
    }
}
