//! Owned memory mappings.

use std::io;
use std::os::fd::AsRawFd;
use std::ptr::NonNull;

/// How a [`Region`] is backed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backing {
    /// Private anonymous memory (the default packet-buffer pool).
    Anonymous,
    /// Anonymous memory backed by 2 MiB huge pages (fewer TLB misses); fails if the system
    /// has none reserved.
    HugePages,
}

/// A page-aligned memory mapping owned by this value and unmapped when it drops.
///
/// The region hands out only raw pointers: whoever builds references into it (the buffer
/// pool) owns the aliasing argument. The memory may be written by another party (the kernel
/// for an AF_XDP UMEM, a peer process for shared memory), which is why no `&[u8]` over the
/// whole region is offered.
#[derive(Debug)]
pub struct Region {
    ptr: NonNull<u8>,
    len: usize,
    backing: &'static str,
}

// SAFETY: `Region` is an owned allocation like `Box<[u8]>`; it has no thread affinity, and
// all access goes through raw pointers whose users synchronise themselves.
unsafe impl Send for Region {}
// SAFETY: as above: `&Region` only exposes the pointer and length.
unsafe impl Sync for Region {}

impl Region {
    /// Maps `len` bytes (rounded up to the page size) of zeroed memory.
    ///
    /// `populate` pre-faults the pages so the data path never takes a page fault.
    pub fn anonymous(len: usize, backing: Backing, populate: bool) -> io::Result<Region> {
        if len == 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty mapping"));
        }
        let mut flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS;
        if populate {
            flags |= libc::MAP_POPULATE;
        }
        let (len, name) = match backing {
            Backing::Anonymous => (len.next_multiple_of(page_size()), "anonymous 4k pages"),
            Backing::HugePages => {
                flags |= libc::MAP_HUGETLB;
                (len.next_multiple_of(2 << 20), "anonymous 2M hugepages")
            }
        };
        // SAFETY: a fresh anonymous mapping at an address the kernel chooses touches no
        // existing memory; the result is checked against MAP_FAILED below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                -1,
                0,
            )
        };
        Self::from_mmap(ptr, len, name)
    }

    /// Maps `len` bytes of a file or memfd shared with other processes (`MAP_SHARED`).
    pub fn shared(fd: &impl AsRawFd, len: usize, offset: i64) -> io::Result<Region> {
        if len == 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty mapping"));
        }
        // SAFETY: maps a descriptor the caller owns at a kernel-chosen address; no existing
        // memory is affected. The result is checked against MAP_FAILED below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                offset,
            )
        };
        Self::from_mmap(ptr, len, "shared")
    }

    fn from_mmap(ptr: *mut libc::c_void, len: usize, backing: &'static str) -> io::Result<Region> {
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = NonNull::new(ptr.cast::<u8>())
            .ok_or_else(|| io::Error::other("mmap returned a null mapping"))?;
        Ok(Region { ptr, len, backing })
    }

    /// First byte of the mapping.
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// Length in bytes (a whole number of pages).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Never true: empty mappings are refused at creation.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// What backs the memory, for `show buffers`.
    pub fn backing(&self) -> &'static str {
        self.backing
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` describe exactly the mapping this value created and owns; no
        // reference into it outlives `self` (users borrow the region).
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.len);
        }
    }
}

/// The system page size.
pub fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let v = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if v > 0 {
        v as usize
    } else {
        4096
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_is_zeroed_and_writable() {
        let r = Region::anonymous(10_000, Backing::Anonymous, true).unwrap();
        assert!(r.len() >= 10_000 && r.len().is_multiple_of(page_size()));
        // SAFETY: the region is live, at least 10_000 bytes long and not shared.
        let s = unsafe { std::slice::from_raw_parts_mut(r.as_ptr(), 10_000) };
        assert!(s.iter().all(|&b| b == 0));
        s[9_999] = 7;
        assert_eq!(s[9_999], 7);
    }

    #[test]
    fn zero_length_is_refused() {
        assert!(Region::anonymous(0, Backing::Anonymous, false).is_err());
    }
}
