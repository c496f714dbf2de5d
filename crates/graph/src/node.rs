//! What a node is: its registration and its entry points.

use crate::ctx::Ctx;
use crate::error::ErrorInfo;
use buf::{BufferCache, Frame, FRAME_SIZE};
use std::any::Any;

/// When a node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// Polled on every dispatch round; brings packets into the graph ([`Node::poll`]).
    Input,
    /// Runs when a frame is pending for it ([`Node::process`]).
    Internal,
    /// Runs when its timer expires or it is signalled ([`Node::run`]).
    Process,
}

impl NodeKind {
    /// VPP's word for the kind, as `show runtime` prints it.
    pub fn state_name(self) -> &'static str {
        match self {
            NodeKind::Input => "polling",
            NodeKind::Internal => "active",
            NodeKind::Process => "event wait",
        }
    }
}

/// A node's registration: everything the graph needs to know before it runs.
#[derive(Debug, Clone, Copy)]
pub struct NodeInfo {
    /// Unique name, `proto-action` (`ip4-lookup`, `af-xdp-input`).
    pub name: &'static str,
    /// When it runs.
    pub kind: NodeKind,
    /// Next nodes by name; slot `i` of this list is [`Next`]`(i)`.
    pub next_nodes: &'static [&'static str],
    /// Its error counters (`MyError::ALL` of a [`crate::node_errors!`] enum).
    pub errors: &'static [ErrorInfo],
}

/// A next-node slot of the running node: the position of the name in
/// [`NodeInfo::next_nodes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Next(pub u16);

impl Next {
    /// Not a slot: the graph's `error-drop`. Only [`Ctx::enqueue_to_next`] takes it; a node
    /// gets it from [`Ctx::drop_next`], which also records the packet's error.
    pub const DROP: Next = Next(u16::MAX);
}

/// A node's per-frame scratch of next slots, one per frame position, for
/// [`Ctx::enqueue_to_next`] (VPP's `nexts[VLIB_FRAME_SIZE]`). Allocated once, with the node.
#[derive(Debug, Clone)]
pub struct Nexts(Box<[Next; FRAME_SIZE]>);

impl Default for Nexts {
    fn default() -> Nexts {
        Nexts(Box::new([Next(0); FRAME_SIZE]))
    }
}

impl std::ops::Deref for Nexts {
    type Target = [Next; FRAME_SIZE];
    #[inline(always)]
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Nexts {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

/// What a process node wants after it ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// Run again when the graph's clock reaches this time (nanoseconds).
    At(u64),
    /// Sleep until signalled ([`crate::Graph::signal`]).
    Suspend,
}

/// A graph node.
///
/// Exactly one entry point is called, chosen by [`NodeInfo::kind`]. Every buffer a node is
/// given must leave it by [`Ctx::enqueue`], [`Ctx::drop`] or by being freed; buffers left in
/// the frame are dropped and counted as `error-drop`'s `Leftover`.
pub trait Node: Any + Send {
    /// The registration (called once, at graph build).
    fn info(&self) -> NodeInfo;

    /// Internal nodes: handle a frame of packets.
    fn process(&mut self, cx: &mut Ctx<'_>, frame: &mut Frame) {
        let _ = (cx, frame);
    }

    /// Input nodes: bring up to one frame of packets into the graph; return how many.
    fn poll(&mut self, cx: &mut Ctx<'_>) -> usize {
        let _ = cx;
        0
    }

    /// Input nodes: false while there is nothing to poll (no device queue attached, no
    /// stream): the dispatcher then skips the node without building a context, reading
    /// the clock or counting a call. Asked once per dispatch, so keep it a field read.
    fn wants_poll(&self) -> bool {
        true
    }

    /// Process nodes: do periodic work.
    fn run(&mut self, cx: &mut Ctx<'_>) -> Wake {
        let _ = cx;
        Wake::Suspend
    }

    /// Gives back every buffer the node holds between calls (packets waiting for ARP,
    /// buffers posted to a device ring). Called once, when the graph is dropped.
    fn release(&mut self, cache: &mut BufferCache) {
        let _ = cache;
    }
}
