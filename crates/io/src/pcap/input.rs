//! A `Read` that counts the bytes consumed, so errors can name their byte offset, plus the
//! fixed-width integer decoding shared by the pcap and pcapng parsers.

use std::io::{self, Read};

use super::error::ReadErrorKind;

/// A reader and the number of bytes taken from it so far.
#[derive(Debug)]
pub(super) struct Input<R> {
    inner: R,
    offset: u64,
}

impl<R: Read> Input<R> {
    pub(super) fn new(inner: R) -> Self {
        Input { inner, offset: 0 }
    }

    /// Bytes consumed so far: the file offset of the next byte.
    pub(super) fn offset(&self) -> u64 {
        self.offset
    }

    pub(super) fn get_ref(&self) -> &R {
        &self.inner
    }

    pub(super) fn into_inner(self) -> R {
        self.inner
    }

    /// Fills `buf` unless the input ends first; returns how many bytes were read.
    pub(super) fn read_full(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut got = 0;
        while got < buf.len() {
            let Some(rest) = buf.get_mut(got..) else {
                break;
            };
            match self.inner.read(rest) {
                Ok(0) => break,
                Ok(n) => {
                    got += n;
                    self.offset += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(got)
    }

    /// Fills `buf` or says what was truncated.
    pub(super) fn read_exact_or(
        &mut self,
        buf: &mut [u8],
        what: &'static str,
    ) -> Result<(), ReadErrorKind> {
        let got = self.read_full(buf).map_err(ReadErrorKind::Io)?;
        if got < buf.len() {
            return Err(ReadErrorKind::Truncated {
                what,
                needed: buf.len() as u64,
                got: got as u64,
            });
        }
        Ok(())
    }

    /// Reads and drops `n` bytes without storing them.
    pub(super) fn skip(&mut self, n: u64, what: &'static str) -> Result<(), ReadErrorKind> {
        let got =
            io::copy(&mut (&mut self.inner).take(n), &mut io::sink()).map_err(ReadErrorKind::Io)?;
        self.offset += got;
        if got < n {
            return Err(ReadErrorKind::Truncated {
                what,
                needed: n,
                got,
            });
        }
        Ok(())
    }
}

/// Byte order of a file's header fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Endian {
    Big,
    Little,
}

impl Endian {
    pub(super) fn u16(self, b: [u8; 2]) -> u16 {
        match self {
            Endian::Big => u16::from_be_bytes(b),
            Endian::Little => u16::from_le_bytes(b),
        }
    }

    pub(super) fn u32(self, b: [u8; 4]) -> u32 {
        match self {
            Endian::Big => u32::from_be_bytes(b),
            Endian::Little => u32::from_le_bytes(b),
        }
    }

    /// The `i`-th 32-bit word of `b` (0 if `b` is too short; callers size `b` statically).
    pub(super) fn word(self, b: &[u8], i: usize) -> u32 {
        self.u32(array(b, i * 4))
    }
}

/// `N` bytes of `b` from `at`, or zeros if `b` is too short.
pub(super) fn array<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(src) = at.checked_add(N).and_then(|end| b.get(at..end)) {
        out.copy_from_slice(src);
    }
    out
}

/// `n` rounded up to a multiple of 4 (pcapng padding).
pub(super) fn pad4(n: u32) -> u64 {
    (u64::from(n) + 3) & !3
}
