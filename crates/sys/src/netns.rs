//! Network namespaces: moving the calling thread into one with `setns(2)`.
//!
//! A socket keeps the namespace it was created in, so the usual pattern is: move a
//! short-lived thread into the namespace, create the socket or TAP there, let the thread end.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

/// Moves the calling thread into the network namespace at `path` (e.g.
/// `/var/run/netns/NAME` or `/proc/self/ns/net`). Other threads are not affected.
pub fn enter(path: &Path) -> io::Result<()> {
    let f = File::open(path)?;
    // SAFETY: setns takes a descriptor we hold open for the call and a flag; no memory.
    crate::syscall!(setns(f.as_raw_fd(), libc::CLONE_NEWNET))?;
    Ok(())
}
