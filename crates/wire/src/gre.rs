//! GRE (RFC 2784) with the key and sequence number extensions of RFC 2890.
//!
//! ```text
//! |C| |K|S| Reserved0       | Ver |         Protocol Type         |
//! |      Checksum (optional)      |       Reserved1 (optional)    |
//! |                         Key (optional)                        |
//! |                 Sequence Number (optional)                    |
//! ```
//!
//! The header is 4 to 16 bytes; its length follows from the C, K and S bits. Version 0 is
//! GRE; version 1 is PPTP's enhanced GRE (RFC 2637), which [`GreRepr::parse`] reports as
//! [`Error::Unsupported`]; other versions are [`Error::BadVersion`].

use crate::{checksum, read_u16, read_u32, write_u16, write_u32, Error, EtherType, Result};

/// Checksum present (RFC 2784 §2.1).
pub const FLAG_C: u16 = 0x8000;
/// Routing present (RFC 1701; must be zero under RFC 2784).
pub const FLAG_R: u16 = 0x4000;
/// Key present (RFC 2890 §2).
pub const FLAG_K: u16 = 0x2000;
/// Sequence number present (RFC 2890 §2).
pub const FLAG_S: u16 = 0x1000;
/// Bits 1 and 4-12: RFC 1701 routing, strict source route and recursion control, and
/// reserved bits. RFC 2784 §2.3: a receiver must discard a packet with bits 1-5 set.
const RESERVED0: u16 = 0x4ff8;
const VERSION_MASK: u16 = 0x0007;

/// Length of the GRE header without optional fields.
pub const MIN_HEADER_LEN: usize = 4;
/// Length of the GRE header with checksum, key and sequence number.
pub const MAX_HEADER_LEN: usize = 16;

mod field {
    use crate::Field;
    pub const FLAGS_VER: Field = 0..2;
    pub const PROTOCOL: Field = 2..4;
    pub const OPTIONAL: usize = 4;
}

/// A zero-copy view of a GRE header and its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrePacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> GrePacket<T> {
    /// Wraps `buffer` without checking it; accessors may panic on a short buffer.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Self {
        GrePacket { buffer }
    }

    /// Wraps `buffer` and runs [`check_len`](Self::check_len).
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks that the fixed 4 bytes and the optional fields the C, K and S bits announce
    /// fit ([`Error::Truncated`] otherwise).
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let b = self.buffer.as_ref();
        if b.len() < MIN_HEADER_LEN || b.len() < self.header_len() {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// Returns the underlying buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The first 16 bits: flags, reserved bits and version.
    #[inline]
    pub fn flags_version(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::FLAGS_VER.start)
    }

    /// C: a checksum is present.
    #[inline]
    pub fn checksum_present(&self) -> bool {
        self.flags_version() & FLAG_C != 0
    }

    /// K: a key is present.
    #[inline]
    pub fn key_present(&self) -> bool {
        self.flags_version() & FLAG_K != 0
    }

    /// S: a sequence number is present.
    #[inline]
    pub fn seq_present(&self) -> bool {
        self.flags_version() & FLAG_S != 0
    }

    /// The version field (0 for GRE, 1 for PPTP).
    #[inline]
    pub fn version(&self) -> u8 {
        (self.flags_version() & VERSION_MASK) as u8
    }

    /// The protocol type of the payload.
    #[inline]
    pub fn protocol_type(&self) -> EtherType {
        EtherType::from(read_u16(self.buffer.as_ref(), field::PROTOCOL.start))
    }

    /// Header length in bytes, from the C, K and S bits.
    #[inline]
    pub fn header_len(&self) -> usize {
        let f = read_u16(self.buffer.as_ref(), field::FLAGS_VER.start);
        MIN_HEADER_LEN
            + 4 * (usize::from(f & FLAG_C != 0)
                + usize::from(f & FLAG_K != 0)
                + usize::from(f & FLAG_S != 0))
    }

    #[inline]
    fn key_at(&self) -> usize {
        field::OPTIONAL + if self.checksum_present() { 4 } else { 0 }
    }

    #[inline]
    fn seq_at(&self) -> usize {
        self.key_at() + if self.key_present() { 4 } else { 0 }
    }

    /// The checksum field, if present.
    #[inline]
    pub fn checksum(&self) -> Option<u16> {
        self.checksum_present()
            .then(|| read_u16(self.buffer.as_ref(), field::OPTIONAL))
    }

    /// The key, if present (RFC 2890 §2.1).
    #[inline]
    pub fn key(&self) -> Option<u32> {
        self.key_present()
            .then(|| read_u32(self.buffer.as_ref(), self.key_at()))
    }

    /// The sequence number, if present (RFC 2890 §2.2).
    #[inline]
    pub fn sequence_number(&self) -> Option<u32> {
        self.seq_present()
            .then(|| read_u32(self.buffer.as_ref(), self.seq_at()))
    }

    /// Verifies the checksum over the GRE header and payload (RFC 2784 §2.5); true when no
    /// checksum is present.
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        !self.checksum_present() || checksum::data(self.buffer.as_ref()) == 0xffff
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> GrePacket<&'a T> {
    /// The payload after the header.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        let b = self.buffer.as_ref();
        b.get(GrePacket::new_unchecked(b).header_len()..)
            .unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> GrePacket<T> {
    /// Sets the first 16 bits: flags, reserved bits and version. This changes the header
    /// length: keep it within the buffer, the checked contract relies on it.
    #[inline]
    pub fn set_flags_version(&mut self, v: u16) {
        write_u16(self.buffer.as_mut(), field::FLAGS_VER.start, v)
    }

    /// Sets the protocol type.
    #[inline]
    pub fn set_protocol_type(&mut self, v: EtherType) {
        write_u16(self.buffer.as_mut(), field::PROTOCOL.start, v.into())
    }

    /// Sets the checksum field and zeroes Reserved1; does nothing if C is clear.
    #[inline]
    pub fn set_checksum(&mut self, v: u16) {
        if self.checksum_present() {
            write_u32(self.buffer.as_mut(), field::OPTIONAL, u32::from(v) << 16)
        }
    }

    /// Sets the key; does nothing if K is clear.
    #[inline]
    pub fn set_key(&mut self, v: u32) {
        if self.key_present() {
            let at = self.key_at();
            write_u32(self.buffer.as_mut(), at, v)
        }
    }

    /// Sets the sequence number; does nothing if S is clear.
    #[inline]
    pub fn set_sequence_number(&mut self, v: u32) {
        if self.seq_present() {
            let at = self.seq_at();
            write_u32(self.buffer.as_mut(), at, v)
        }
    }

    /// The payload, mutable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len();
        self.buffer.as_mut().get_mut(hl..).unwrap_or(&mut [])
    }

    /// Computes and writes the checksum over header and payload; does nothing if C is
    /// clear.
    #[inline]
    pub fn fill_checksum(&mut self) {
        if self.checksum_present() {
            self.set_checksum(0);
            let c = checksum::finish(checksum::data(self.buffer.as_ref()));
            self.set_checksum(c);
        }
    }
}

/// The parsed meaning of a GRE header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GreRepr {
    /// The protocol type of the payload.
    pub protocol: EtherType,
    /// Whether a checksum is present (and, on emit, filled).
    pub checksum: bool,
    /// The key (RFC 2890 §2.1).
    pub key: Option<u32>,
    /// The sequence number (RFC 2890 §2.2).
    pub sequence_number: Option<u32>,
}

impl GreRepr {
    /// Parses a checked view and verifies the checksum when present.
    ///
    /// Errors: [`Error::Unsupported`] for version 1 (PPTP) and for RFC 1701 routing,
    /// strict-source-route or recursion bits (RFC 2784 §2.3), [`Error::BadVersion`] for
    /// versions 2-7, [`Error::BadChecksum`].
    pub fn parse<T: AsRef<[u8]>>(packet: &GrePacket<T>) -> Result<GreRepr> {
        packet.check_len()?;
        match packet.version() {
            0 => {}
            1 => return Err(Error::Unsupported),
            _ => return Err(Error::BadVersion),
        }
        if packet.flags_version() & RESERVED0 != 0 {
            return Err(Error::Unsupported);
        }
        if !packet.verify_checksum() {
            return Err(Error::BadChecksum);
        }
        Ok(GreRepr {
            protocol: packet.protocol_type(),
            checksum: packet.checksum_present(),
            key: packet.key(),
            sequence_number: packet.sequence_number(),
        })
    }

    /// Length of the header [`emit`](Self::emit) writes.
    #[inline]
    pub fn header_len(&self) -> usize {
        MIN_HEADER_LEN
            + 4 * (usize::from(self.checksum)
                + usize::from(self.key.is_some())
                + usize::from(self.sequence_number.is_some()))
    }

    /// Bytes [`emit`](Self::emit) writes: the header.
    #[inline]
    pub fn buffer_len(&self) -> usize {
        self.header_len()
    }

    /// Writes the header. With a checksum, the payload must already be in place after the
    /// header: the checksum covers it (or call [`GrePacket::fill_checksum`] afterwards).
    ///
    /// # Panics
    /// If the buffer is shorter than [`header_len`](Self::header_len).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut GrePacket<T>) {
        let mut f = 0;
        if self.checksum {
            f |= FLAG_C;
        }
        if self.key.is_some() {
            f |= FLAG_K;
        }
        if self.sequence_number.is_some() {
            f |= FLAG_S;
        }
        packet.set_flags_version(f);
        packet.set_protocol_type(self.protocol);
        if let Some(k) = self.key {
            packet.set_key(k);
        }
        if let Some(s) = self.sequence_number {
            packet.set_sequence_number(s);
        }
        packet.fill_checksum();
    }
}

/// Fuzz entry point: the checked view, every accessor, parse (on the input and on a copy
/// with its checksum fixed) and the emit round trip.
#[doc(hidden)]
pub fn fuzz(data: &[u8]) {
    let Ok(p) = GrePacket::new_checked(data) else {
        return;
    };
    let _ = (
        p.flags_version(),
        p.checksum_present(),
        p.key_present(),
        p.seq_present(),
    );
    let _ = (
        p.version(),
        p.protocol_type(),
        p.header_len(),
        p.checksum(),
        p.key(),
    );
    let _ = (p.sequence_number(), p.verify_checksum(), p.payload());
    let _ = GreRepr::parse(&p);
    let mut fixed = [0u8; 2048];
    let Some(fixed) = fixed.get_mut(..data.len()) else {
        return;
    };
    fixed.copy_from_slice(data);
    GrePacket::new_unchecked(&mut *fixed).fill_checksum();
    let p = GrePacket::new_checked(&*fixed).expect("same length");
    let Ok(repr) = GreRepr::parse(&p) else { return };
    assert_eq!(repr.header_len(), p.header_len());
    let mut buf = [0u8; 2048];
    let out = &mut buf[..data.len()];
    out[repr.header_len()..].copy_from_slice(p.payload());
    repr.emit(&mut GrePacket::new_unchecked(&mut *out));
    let q = GrePacket::new_checked(&*out).expect("emitted header checks");
    assert_eq!(GreRepr::parse(&q), Ok(repr));
    assert_eq!(q.payload(), p.payload());
}

#[cfg(test)]
mod tests;
