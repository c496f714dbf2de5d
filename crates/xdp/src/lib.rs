//! uplane's XDP program and its loader.
//!
//! `bpf/uplane.bpf.c` is C, compiled by `build.rs` with `clang -O2 -g -target bpf` and
//! embedded in this crate; [`XdpProgram`] loads it with aya, attaches it to an interface
//! (native mode, else generic), and drives its maps:
//!
//! * **block lists** (`block_v4`, `block_v6`: LPM tries, no preallocation): a frame whose
//!   source address matches is dropped in the driver, counted, and never reaches uplane
//!   or the kernel stack ([`XdpProgram::block_add`], [`XdpProgram::block_del`],
//!   [`XdpProgram::blocklist`] with hit counts);
//! * **`xsks`** (XSKMAP): rx queue → AF_XDP socket; frames for uplane are redirected to
//!   the socket of the queue they arrived on ([`XdpProgram::register_xsk`]);
//! * **`counters`** (per-CPU): frames by verdict and reason ([`XdpProgram::counters`]);
//! * **`config`**: the [`Policy`] — everything to uplane (a router; the default), or ARP and
//!   non-IP to the kernel.
//!
//! Frames whose headers are cut short (Ethernet, a VLAN tag, the IPv4 or IPv6 header) or
//! that carry more than two VLAN tags are dropped as parse errors: the block list could
//! not be checked on them. See the C file's header comment for the whole contract.
//!
//! aya is pinned to 0.14: 0.15 and later need a newer rustc than 1.95.

mod prefix;
mod program;

pub use prefix::{Prefix, PrefixError};
pub use program::{AttachMode, Policy, Verdict, XdpCounters, XdpError, XdpProgram};
