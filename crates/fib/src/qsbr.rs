//! Quiescent-state based reclamation (QSBR): when may the writer reuse memory readers saw?
//!
//! Readers (worker threads) look up without locks. When the writer (the control thread)
//! unlinks a table group or frees a load-balance object, a reader may still be in the middle
//! of a lookup that reached it. The writer therefore *retires* the object with a new epoch
//! and reuses it only after every registered reader has announced a quiescent state
//! ([`QsbrReader::quiesce`]) at or after that epoch. Workers call `quiesce` between frames,
//! where they hold nothing from the tables, as DPDK's `rte_rcu_qsbr` and VPP's worker
//! barrier intend.
//!
//! Cost on the read side: one load and one store of thread-owned atomics per `quiesce`, no
//! locked instruction. Registration and reclamation scans take a mutex; they happen on the
//! control thread only.
//!
//! Everything here is safe code: a reader that breaks the contract (looks up while offline,
//! or never quiesces and is not registered) cannot cause memory unsafety, since every table
//! entry is an atomic inside a live allocation. It can only see a value from a reused group:
//! a wrong answer for that one lookup.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// A reader's slot value meaning "offline: holds nothing, do not wait for me".
const OFFLINE: u64 = u64::MAX;

/// One reclamation domain, shared (`Arc`) by the writer's tables and every reader thread.
///
/// One domain can serve many tables (IPv4 and IPv6 FIBs of every VRF, load balances): a
/// worker then quiesces once per frame for all of them.
#[derive(Debug, Default)]
pub struct Qsbr {
    epoch: AtomicU64,
    readers: Mutex<Vec<Arc<AtomicU64>>>,
}

impl Qsbr {
    /// A new domain with no reader.
    pub fn new() -> Arc<Qsbr> {
        Arc::new(Qsbr::default())
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Arc<AtomicU64>>> {
        self.readers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers the calling reader thread. The handle must be used by one thread; drop it
    /// when the thread stops looking up (a registered reader that never quiesces stops
    /// reclamation, and the writer then reports exhaustion rather than reuse memory).
    pub fn register(self: &Arc<Self>) -> QsbrReader {
        let mut readers = self.lock();
        // Read under the lock: a reclamation scan either sees this slot or ran before the
        // epoch we read here, so this reader can never hold something retired unseen.
        let slot = Arc::new(AtomicU64::new(self.epoch.load(Ordering::SeqCst)));
        readers.push(slot.clone());
        QsbrReader {
            domain: self.clone(),
            slot,
        }
    }

    /// Registered readers.
    pub fn readers(&self) -> usize {
        self.lock().len()
    }

    /// The current epoch (grows by one per retired batch).
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Starts a new epoch and returns it: objects unlinked before this call may be reused
    /// once [`Qsbr::is_safe`] says so for the returned epoch. Writer only.
    pub(crate) fn retire_epoch(&self) -> u64 {
        self.epoch.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Starts a new epoch for objects the caller (the writer) has just unlinked from
    /// tables that readers of this domain see, and returns it: reuse them once
    /// [`Qsbr::is_safe`] says so for that epoch.
    pub fn retire(&self) -> u64 {
        self.retire_epoch()
    }

    /// True once every registered reader has been quiescent (or offline) since `epoch` was
    /// returned by [`Qsbr::retire`]: nothing unlinked before it can still be in use.
    pub fn is_safe(&self, epoch: u64) -> bool {
        self.oldest() >= epoch
    }

    /// The oldest epoch a registered online reader may still be in ([`u64::MAX`] when none).
    pub(crate) fn oldest(&self) -> u64 {
        // Pairs with the fence in `QsbrReader::online`: either that reader's slot store is
        // seen here, or its lookups after coming online see every unlink made before this.
        std::sync::atomic::fence(Ordering::SeqCst);
        self.lock()
            .iter()
            .map(|s| s.load(Ordering::Acquire))
            .min()
            .unwrap_or(OFFLINE)
    }
}

/// A reader thread's registration in a [`Qsbr`] domain. `Send`, not `Clone`: one per thread.
#[derive(Debug)]
pub struct QsbrReader {
    domain: Arc<Qsbr>,
    slot: Arc<AtomicU64>,
}

impl QsbrReader {
    /// Announces that this thread holds nothing it read from the tables (call between
    /// frames). After it, the writer may reuse anything retired before this call.
    #[inline]
    pub fn quiesce(&self) {
        // Acquire: lookups after this call see every unlink made before the epoch we read.
        let e = self.domain.epoch.load(Ordering::Acquire);
        // Release: every lookup before this call is finished before the writer, reading this
        // slot with Acquire, reuses what it saw.
        self.slot.store(e, Ordering::Release);
    }

    /// Comes online after [`QsbrReader::offline`] (announcing a quiescent state, as
    /// [`QsbrReader::quiesce`]), for a reader that is online only while it looks up. A full
    /// fence orders the slot store before the lookups that follow: without it a writer could
    /// still see this reader offline and reuse what those lookups reach.
    #[inline]
    pub fn online(&self) {
        let e = self.domain.epoch.load(Ordering::SeqCst);
        self.slot.store(e, Ordering::SeqCst);
        std::sync::atomic::fence(Ordering::SeqCst);
    }

    /// Goes offline (e.g. before the thread blocks): the writer stops waiting for it. The
    /// thread must not look up again until it calls [`QsbrReader::quiesce`].
    pub fn offline(&self) {
        self.slot.store(OFFLINE, Ordering::Release);
    }

    /// The domain this reader belongs to.
    pub fn domain(&self) -> &Arc<Qsbr> {
        &self.domain
    }
}

impl Drop for QsbrReader {
    fn drop(&mut self) {
        let mut readers = self.domain.lock();
        readers.retain(|s| !Arc::ptr_eq(s, &self.slot));
    }
}

/// Ids (groups, load-balance indices) freed by the writer, waiting for readers.
#[derive(Debug, Default)]
pub(crate) struct Retired {
    waiting: std::collections::VecDeque<(u32, u64)>,
}

impl Retired {
    /// Queues `id` as unlinked now.
    pub(crate) fn push(&mut self, qsbr: &Qsbr, id: u32) {
        let epoch = qsbr.retire_epoch();
        self.waiting.push_back((id, epoch));
    }

    /// Moves every id readers can no longer hold into `free`.
    pub(crate) fn reclaim(&mut self, qsbr: &Qsbr, free: &mut Vec<u32>) {
        if self.waiting.is_empty() {
            return;
        }
        let oldest = qsbr.oldest();
        while let Some(&(id, epoch)) = self.waiting.front() {
            if epoch > oldest {
                break;
            }
            free.push(id);
            self.waiting.pop_front();
        }
    }

    /// Ids still waiting.
    pub(crate) fn len(&self) -> usize {
        self.waiting.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reclaims_only_after_every_reader_quiesced() {
        let q = Qsbr::new();
        let mut r = Retired::default();
        let mut free = Vec::new();
        r.push(&q, 7);
        r.reclaim(&q, &mut free);
        assert_eq!(free, [7], "no reader: immediately reusable");

        let a = q.register();
        let b = q.register();
        r.push(&q, 8);
        r.reclaim(&q, &mut free);
        assert_eq!(free, [7]);
        a.quiesce();
        r.reclaim(&q, &mut free);
        assert_eq!(free, [7], "b has not quiesced");
        b.offline();
        r.reclaim(&q, &mut free);
        assert_eq!(free, [7, 8], "offline readers are not waited for");

        b.quiesce();
        r.push(&q, 9);
        drop(a);
        r.reclaim(&q, &mut free);
        assert_eq!(r.len(), 1);
        b.quiesce();
        r.reclaim(&q, &mut free);
        assert_eq!(free, [7, 8, 9]);
        assert_eq!(q.readers(), 1);
    }
}
