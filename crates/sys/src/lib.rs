//! The system layer: the only place (with `buf`'s pool memory) where uplane talks to the OS
//! through `unsafe`.
//!
//! Each piece wraps one OS facility in a small safe API:
//! - [`syscall!`] turns a libc `-1` into `io::Error` (mio's helper);
//! - [`mmap::Region`] is an owned, page-aligned mapping (anonymous or from a descriptor),
//!   unmapped on drop; [`mmap::HugeSlice`] a large zeroed slice advised for transparent
//!   huge pages (the FIB's tables);
//! - [`netdev`] does interface ioctls (flags, MTU, MAC, TAP setup), [`netns`] `setns`,
//!   [`packet`] AF_PACKET sockets and their TPACKET_V3 rings, [`xsk`] AF_XDP sockets, UMEM
//!   and rings;
//! - [`tsc`] reads the time-stamp counter for per-node clocks and calibrates it once;
//! - [`prefetch`] hints the CPU to load a cache line early (table lookups).

pub mod mmap;
pub mod netdev;
pub mod netns;
pub mod packet;
pub mod prefetch;
pub mod tsc;
pub mod xsk;

/// Calls a libc function and turns a `-1` return into the thread's `io::Error`.
///
/// The call itself is `unsafe`; the caller writes the `// SAFETY:` comment for its arguments.
#[macro_export]
macro_rules! syscall {
    ($fn:ident ( $($arg:expr),* $(,)? )) => {{
        // SAFETY: the caller of `syscall!` upholds the contract of this libc function for
        // the arguments it passes (documented at each call site).
        #[allow(clippy::macro_metavars_in_unsafe)]
        let res = unsafe { $crate::__libc::$fn($($arg),*) };
        if res == -1 {
            Err(::std::io::Error::last_os_error())
        } else {
            Ok(res)
        }
    }};
}

#[doc(hidden)]
pub use libc as __libc;
