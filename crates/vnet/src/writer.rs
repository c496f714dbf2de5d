//! The writer's hold on a family's state ([`crate::Vnet::ip4_mut`],
//! [`crate::Vnet::ip6_mut`]): the state's `Mutex` guard, which publishes the tunables the
//! writer changed to the data path when it drops.

use arc_swap::ArcSwap;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, MutexGuard};

/// A family's writer state with tunables the data path reads.
pub trait Tunables {
    /// The tunables.
    type Params: Copy + PartialEq;
    /// The writer's copy.
    fn params(&self) -> Self::Params;
    /// The copy the data path reads.
    fn published(&self) -> &ArcSwap<Self::Params>;
}

/// The writer's hold on `S`; publishes changed tunables when dropped.
#[derive(Debug)]
pub struct WriterGuard<'a, S: Tunables>(MutexGuard<'a, S>);

impl<'a, S: Tunables> WriterGuard<'a, S> {
    pub(crate) fn new(guard: MutexGuard<'a, S>) -> Self {
        WriterGuard(guard)
    }
}

impl<S: Tunables> Deref for WriterGuard<'_, S> {
    type Target = S;
    fn deref(&self) -> &S {
        &self.0
    }
}

impl<S: Tunables> DerefMut for WriterGuard<'_, S> {
    fn deref_mut(&mut self) -> &mut S {
        &mut self.0
    }
}

impl<S: Tunables> Drop for WriterGuard<'_, S> {
    fn drop(&mut self) {
        let p = self.0.params();
        let published = self.0.published();
        if **published.load() != p {
            published.store(Arc::new(p));
        }
    }
}
