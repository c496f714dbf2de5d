//! The vector packet-processing graph (FD.io VPP's vlib, in safe Rust).
//!
//! A graph is a set of [`Node`]s joined by named arcs. Packets move through it as
//! [`Frame`]s of up to 256 buffers: a node handles a whole frame before the next node runs,
//! so its code and data stay in cache across the vector (the whole point of VPP's design).
//!
//! * **Registration** ([`NodeInfo`]): a node names itself (`ip4-lookup`), its kind, its next
//!   nodes by name and its error counters. [`GraphBuilder::build`] resolves the next names to
//!   indices once; on the data path a node enqueues to a [`Next`] slot, an array index.
//! * **Kinds** ([`NodeKind`]): *input* nodes are polled on every dispatch round (devices, the
//!   packet generator); *internal* nodes run when a frame is pending for them; *process*
//!   nodes run on a timer or a signal (ARP aging, route updates).
//! * **Dispatch** ([`Graph::dispatch`]): poll every input node, run due processes, then run
//!   pending frames in the order they were first filled until none is left.
//! * **Counters**: per node calls, vectors, suspends and TSC clocks ([`GraphStats`], read by
//!   other threads without stopping this one), and per node an error enum declared with
//!   [`node_errors!`] whose variants are named counters. A packet dropped with
//!   [`Ctx::drop`] carries its error code to `error-drop`, which counts it.
//! * **Trace**: `trace_add("pg-input", 10)` marks the next 10 packets that node receives; every
//!   node they pass appends its own formatted line ([`Ctx::trace`]).
//!
//! The graph takes the current time as an argument ([`Graph::dispatch`]); it owns no clock
//! or thread. A worker thread owns one graph and one buffer cache.

mod builder;
mod ctx;
mod drop_node;
mod error;
mod graph;
mod node;
mod queues;
mod stats;
mod trace;

pub use buf::{Buf, BufferCache, BufferPool, Frame, FRAME_SIZE};
pub use builder::{GraphBuilder, GraphError};
pub use ctx::Ctx;
pub use drop_node::{DropError, DropObserver, DROP_NODE};
pub use error::{ErrorInfo, NodeError};
pub use graph::{Dispatch, Graph, NodeIndex};
pub use node::{Next, Nexts, Node, NodeInfo, NodeKind, Wake};
pub use stats::{ErrorRow, GraphStats, RuntimeRow};
