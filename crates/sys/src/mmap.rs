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

/// Bytes of a transparent huge page on x86-64 and aarch64 (4 KiB base pages).
pub const HUGE_PAGE: usize = 2 << 20;

/// Types whose all-zero bit pattern is a valid value and that need no drop, so a fresh
/// anonymous mapping is already an initialised slice of them.
///
/// # Safety
///
/// Implement only for types for which every byte being zero is a valid value and which
/// have no `Drop` glue.
pub unsafe trait Zeroable: Sized {}

macro_rules! zeroable {
    ($($t:ty),*) => { $(
        // SAFETY: an integer or atomic integer: all zero bytes is the value 0, no drop glue.
        unsafe impl Zeroable for $t {}
    )* };
}
zeroable!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);
zeroable!(
    std::sync::atomic::AtomicU8,
    std::sync::atomic::AtomicU16,
    std::sync::atomic::AtomicU32,
    std::sync::atomic::AtomicU64,
    std::sync::atomic::AtomicUsize
);

/// A large zeroed slice in its own anonymous mapping, advised for transparent huge pages.
///
/// Big lookup tables read at random (the FIB's 64 MiB IPv4 root) are bound by TLB misses
/// on 4 KiB pages; `madvise(MADV_HUGEPAGE)` lets the kernel back them with 2 MiB pages even
/// when THP is in `madvise` mode. Mappings of at least [`HUGE_PAGE`] bytes start on a 2 MiB
/// boundary so that every part of them can be a huge page. Where THP is off (or the advice
/// is refused) the memory is ordinary 4 KiB pages, silently: [`HugeSlice::advised`] says
/// which. Pages are faulted in on first touch and unmapped when the value drops; nothing is
/// reserved up front (`MAP_NORESERVE`), so a large capacity that may never be used costs
/// address space only.
pub struct HugeSlice<T: Zeroable> {
    ptr: NonNull<T>,
    len: usize,
    map: *mut u8,
    map_len: usize,
    advised: bool,
}

// SAFETY: `HugeSlice<T>` owns its `T`s like a `Box<[T]>` (no thread affinity); sending it
// sends the `T`s.
unsafe impl<T: Zeroable + Send> Send for HugeSlice<T> {}
// SAFETY: `&HugeSlice<T>` only gives `&[T]`, shareable when `T: Sync`.
unsafe impl<T: Zeroable + Sync> Sync for HugeSlice<T> {}

impl<T: Zeroable> HugeSlice<T> {
    /// `len` zeroed values. Fails when `len` is zero, `T` is zero-sized, the size overflows
    /// or the kernel refuses the mapping.
    pub fn zeroed(len: usize) -> io::Result<HugeSlice<T>> {
        let bytes = len
            .checked_mul(std::mem::size_of::<T>())
            .filter(|&b| b > 0 && b <= isize::MAX as usize / 2)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "bad slice size"))?;
        let page = page_size();
        let align = if bytes >= HUGE_PAGE { HUGE_PAGE } else { page };
        let size = bytes.next_multiple_of(page);
        // Over-map by `align` so an aligned start exists inside, then trim both ends.
        let over = size + align - page;
        // SAFETY: a fresh private anonymous mapping at a kernel-chosen address touches no
        // existing memory; the result is checked against MAP_FAILED below.
        let raw = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                over,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if raw == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let raw = raw.cast::<u8>();
        let head = (raw as usize).next_multiple_of(align) - raw as usize;
        let tail = over - head - size;
        // SAFETY: `raw..raw + over` is the mapping just made; `map..map + size` lies inside
        // it (head + size + tail = over), so the pointer arithmetic stays in bounds.
        let map = unsafe { raw.add(head) };
        if head > 0 {
            // SAFETY: unmaps the unaligned head of our own mapping, which nothing uses.
            unsafe { libc::munmap(raw.cast(), head) };
        }
        if tail > 0 {
            // SAFETY: `map + size` is inside or one past our mapping (head + size <= over).
            let end = unsafe { map.add(size) };
            // SAFETY: unmaps the tail past `size` of our own mapping, which nothing uses.
            unsafe { libc::munmap(end.cast(), tail) };
        }
        // SAFETY: advice on our own, still untouched mapping; it changes no contents. An
        // error (THP compiled out, EINVAL) only means ordinary pages.
        let advised = unsafe { libc::madvise(map.cast(), size, libc::MADV_HUGEPAGE) } == 0;
        let ptr = NonNull::new(map.cast::<T>())
            .ok_or_else(|| io::Error::other("mmap returned a null mapping"))?;
        Ok(HugeSlice {
            ptr,
            len,
            map,
            map_len: size,
            advised,
        })
    }

    /// Whether the kernel accepted the huge-page advice (THP may still be unavailable for
    /// a given 2 MiB range; `AnonHugePages` in `/proc/self/smaps` tells what it did).
    pub fn advised(&self) -> bool {
        self.advised
    }

    /// Bytes mapped (a whole number of pages).
    pub fn mapped_bytes(&self) -> usize {
        self.map_len
    }
}

impl<T: Zeroable> std::ops::Deref for HugeSlice<T> {
    type Target = [T];
    #[inline(always)]
    fn deref(&self) -> &[T] {
        // SAFETY: the mapping is live while `self` is, page-aligned (at least `T`'s
        // alignment), at least `len * size_of::<T>()` bytes, private to this value, and
        // started all-zero, which `T: Zeroable` makes valid `T`s; later writes go through
        // `&mut self` or `T`'s own interior mutability.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl<T: Zeroable> std::ops::DerefMut for HugeSlice<T> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as in `deref`; `&mut self` makes this the only reference.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl<T: Zeroable> std::fmt::Debug for HugeSlice<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HugeSlice")
            .field("len", &self.len)
            .field("mapped_bytes", &self.map_len)
            .field("advised", &self.advised)
            .finish()
    }
}

impl<T: Zeroable> Drop for HugeSlice<T> {
    fn drop(&mut self) {
        // SAFETY: `map`/`map_len` are exactly the trimmed mapping this value owns; `T` has
        // no drop glue (`Zeroable`), and no borrow of the slice outlives `self`.
        unsafe {
            libc::munmap(self.map.cast(), self.map_len);
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

    #[test]
    fn huge_slice_is_zeroed_aligned_and_writable() {
        use std::sync::atomic::{AtomicU32, Ordering};
        let n = 3 * HUGE_PAGE / 4 + 5;
        let s = HugeSlice::<AtomicU32>::zeroed(n).unwrap();
        assert_eq!(s.len(), n);
        assert_eq!(s.as_ptr() as usize % HUGE_PAGE, 0);
        assert!(s.mapped_bytes() >= n * 4);
        assert!(s
            .iter()
            .step_by(4093)
            .all(|a| a.load(Ordering::Relaxed) == 0));
        s[n - 1].store(7, Ordering::Relaxed);
        assert_eq!(s[n - 1].load(Ordering::Relaxed), 7);
        let mut small = HugeSlice::<u8>::zeroed(100).unwrap();
        assert_eq!(small.as_ptr() as usize % page_size(), 0);
        small[99] = 3;
        assert_eq!(small.iter().map(|&b| u32::from(b)).sum::<u32>(), 3);
    }

    #[test]
    fn huge_slice_refuses_empty_and_overflow() {
        assert!(HugeSlice::<u32>::zeroed(0).is_err());
        assert!(HugeSlice::<u64>::zeroed(usize::MAX / 4).is_err());
    }
}
