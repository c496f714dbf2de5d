//! How vnet's shared state is read by the data path without locks and changed by the
//! control plane.
//!
//! * [`Shared`] holds a table (interfaces, adjacencies) as an immutable snapshot published
//!   through an [`ArcSwap`]: a node [`Shared::read`]s it once per frame (no lock, no wait:
//!   a debt slot or a reference count), the control plane [`Shared::write`]s a copy under
//!   a writer `Mutex` and publishes it with one pointer store. Readers holding the old
//!   snapshot keep it alive until their frame ends; writers never wait for readers and
//!   readers never wait for writers (writers wait for each other).
//! * The FIBs are read directly (`fib::Lpm4Table`, lock-free atomics); what a leaf names
//!   (a DPO index) is reused only after a grace period of the vnet-wide [`fib::Qsbr`]
//!   domain. A node that looks up holds a [`StateReader`] and is online in that domain
//!   only while it looks up ([`StateReader::enter`]), so an idle or stopped graph never
//!   holds reclamation up.
//!
//! Order of publication (the writer's side of "never a half-written entry"): an object is
//! published before anything that names it (an adjacency before the DPO naming it, a DPO
//! before the FIB leaf naming it), and a FIB leaf is unlinked before what it named is
//! retired.

use arc_swap::{ArcSwap, Guard};
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, MutexGuard};

/// A snapshot of a [`Shared`] table: immutable, valid as long as it is held.
pub type Snapshot<T> = Guard<Arc<T>>;

/// A table readers see as immutable snapshots and one writer at a time replaces.
pub struct Shared<T> {
    current: ArcSwap<T>,
    writer: Mutex<()>,
}

impl<T: fmt::Debug> fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("current", &self.current.load())
            .finish()
    }
}

impl<T: Default> Default for Shared<T> {
    fn default() -> Self {
        Shared::new(T::default())
    }
}

impl<T> Shared<T> {
    /// A table whose first snapshot is `value`.
    pub fn new(value: T) -> Shared<T> {
        Shared {
            current: ArcSwap::from_pointee(value),
            writer: Mutex::new(()),
        }
    }

    /// The current snapshot: lock-free, for the data path (once per frame).
    #[inline]
    pub fn read(&self) -> Snapshot<T> {
        self.current.load()
    }
}

impl<T: Clone> Shared<T> {
    /// Takes the writer lock. The first change copies the current snapshot; the copy is
    /// published when the guard drops (or at [`WriteGuard::publish`]).
    pub fn write(&self) -> WriteGuard<'_, T> {
        let lock = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        WriteGuard {
            shared: self,
            _lock: lock,
            base: self.current.load_full(),
            next: None,
        }
    }
}

/// The writer's handle of a [`Shared`] table: reads see its own changes; readers see them
/// once published.
pub struct WriteGuard<'a, T: Clone> {
    shared: &'a Shared<T>,
    _lock: MutexGuard<'a, ()>,
    base: Arc<T>,
    next: Option<T>,
}

impl<T: Clone + fmt::Debug> fmt::Debug for WriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteGuard")
            .field("value", &**self)
            .field("changed", &self.next.is_some())
            .finish()
    }
}

impl<T: Clone> WriteGuard<'_, T> {
    /// Publishes the changes made so far (keeping the writer lock): do this before
    /// anything readers can reach names what was just added.
    pub fn publish(&mut self) {
        if let Some(v) = self.next.take() {
            let a = Arc::new(v);
            self.shared.current.store(a.clone());
            self.base = a;
        }
    }
}

impl<T: Clone> Deref for WriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.next.as_ref().unwrap_or(&self.base)
    }
}

impl<T: Clone> DerefMut for WriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        let base = &self.base;
        self.next.get_or_insert_with(|| T::clone(base))
    }
}

impl<T: Clone> Drop for WriteGuard<'_, T> {
    fn drop(&mut self) {
        self.publish();
    }
}

/// A graph's registration as a reader of the FIBs and DPO tables (one per node that looks
/// up, so one per thread). Offline except inside [`StateReader::enter`].
#[derive(Debug)]
pub struct StateReader {
    reader: fib::QsbrReader,
}

impl StateReader {
    pub(crate) fn new(qsbr: &Arc<fib::Qsbr>) -> StateReader {
        let reader = qsbr.register();
        reader.offline();
        StateReader { reader }
    }

    /// Comes online for one frame's lookups; offline again when the section drops. Leaves
    /// and DPO indices read inside must not be used after it.
    #[inline]
    pub fn enter(&self) -> ReadSection<'_> {
        self.reader.online();
        ReadSection(self)
    }
}

/// One frame's lookups (see [`StateReader::enter`]).
#[derive(Debug)]
pub struct ReadSection<'a>(&'a StateReader);

impl Drop for ReadSection<'_> {
    #[inline]
    fn drop(&mut self) {
        self.0.reader.offline();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_see_whole_snapshots_and_writes_publish_on_drop() {
        let s = Shared::new(vec![1u32]);
        let before = s.read();
        {
            let mut w = s.write();
            w.push(2);
            assert_eq!(*w, [1, 2], "the writer sees its own change");
            assert_eq!(**s.read(), [1], "not published yet");
            w.publish();
            assert_eq!(**s.read(), [1, 2]);
            w.push(3);
        }
        assert_eq!(**s.read(), [1, 2, 3]);
        assert_eq!(**before, [1], "an old snapshot stays whole while held");
        let unchanged = s.read();
        drop(s.write());
        assert!(
            Arc::ptr_eq(&unchanged, &s.read()),
            "no change, no new snapshot"
        );
    }
}
