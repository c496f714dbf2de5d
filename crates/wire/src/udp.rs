//! UDP (RFC 768; IPv6 rules from RFC 8200 §8.1).
//!
//! [`UdpPacket`] is a checked view over a datagram; [`UdpRepr`] its parsed meaning. The
//! length field is authoritative: [`UdpPacket::payload`] and the checksum stop at it, so
//! link-layer padding after the datagram is never taken as data. The checksum covers a
//! pseudo-header of the carrying IP header, which the caller supplies as a
//! [`PseudoHeader`]. Over IPv4 a checksum field of zero means "no checksum"; over IPv6 it is
//! invalid (RFC 8200 §8.1). IPv6 jumbograms (RFC 2675, length field 0) are not supported.

use crate::pseudo::PseudoHeader;
use crate::{checksum, read_u16, write_u16, Error, IpProtocol, Result};

mod field {
    use crate::Field;
    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    pub const LENGTH: Field = 4..6;
    pub const CHECKSUM: Field = 6..8;
    pub const PAYLOAD: usize = 8;
}

/// Length of the UDP header.
pub const HEADER_LEN: usize = field::PAYLOAD;

/// A zero-copy view of a UDP datagram (RFC 768).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> UdpPacket<T> {
    /// Wraps `buffer` without checking it; accessors may panic on a short buffer.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Self {
        UdpPacket { buffer }
    }

    /// Wraps `buffer` and runs [`check_len`](Self::check_len).
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks that the header fits and that the length field lies in `8..=buffer.len()`.
    ///
    /// Errors: [`Error::Truncated`] if the buffer is shorter than the header or than the
    /// length field; [`Error::Malformed`] if the length field is below 8 (RFC 768).
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let b = self.buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let len = usize::from(read_u16(b, field::LENGTH.start));
        if len < HEADER_LEN {
            Err(Error::Malformed)
        } else if len > b.len() {
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

    /// Source port.
    #[inline]
    pub fn src_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::SRC_PORT.start)
    }

    /// Destination port.
    #[inline]
    pub fn dst_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::DST_PORT.start)
    }

    /// The length field: header plus payload, in bytes.
    #[inline]
    pub fn len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::LENGTH.start)
    }

    /// True if the length field says there is no payload.
    #[inline]
    pub fn is_empty(&self) -> bool {
        usize::from(self.len()) <= HEADER_LEN
    }

    /// The checksum field (0 = none, IPv4 only).
    #[inline]
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// The bytes the length field covers (never past the buffer on a checked view).
    #[inline]
    fn datagram(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        &b[..usize::from(self.len()).clamp(HEADER_LEN, b.len())]
    }

    /// Verifies the checksum over `pseudo` and the datagram.
    ///
    /// Over IPv4 a zero checksum field means the sender did not compute one and verifies;
    /// over IPv6 a zero field never verifies (RFC 8200 §8.1).
    #[inline]
    pub fn verify_checksum(&self, pseudo: &PseudoHeader) -> bool {
        if self.checksum() == 0 {
            return !pseudo.is_ipv6();
        }
        let d = self.datagram();
        let ph = pseudo.sum(IpProtocol::Udp, d.len() as u32);
        checksum::combine(&[ph, checksum::data(d)]) == 0xffff
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> UdpPacket<&'a T> {
    /// The payload, clipped to the length field (trailing link padding is left out).
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        let b = self.buffer.as_ref();
        let end = usize::from(read_u16(b, field::LENGTH.start)).clamp(HEADER_LEN, b.len());
        &b[HEADER_LEN..end]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> UdpPacket<T> {
    /// Sets the source port.
    #[inline]
    pub fn set_src_port(&mut self, v: u16) {
        write_u16(self.buffer.as_mut(), field::SRC_PORT.start, v)
    }

    /// Sets the destination port.
    #[inline]
    pub fn set_dst_port(&mut self, v: u16) {
        write_u16(self.buffer.as_mut(), field::DST_PORT.start, v)
    }

    /// Sets the length field. Keep it within the buffer: the checked contract relies on it.
    #[inline]
    pub fn set_len(&mut self, v: u16) {
        write_u16(self.buffer.as_mut(), field::LENGTH.start, v)
    }

    /// Sets the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, v: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM.start, v)
    }

    /// The payload, mutable, clipped to the length field.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = usize::from(self.len()).clamp(HEADER_LEN, self.buffer.as_ref().len());
        &mut self.buffer.as_mut()[HEADER_LEN..end]
    }

    /// Computes and writes the checksum over `pseudo` and the datagram. A computed zero is
    /// sent as `0xffff` (RFC 768), so the field never reads as "no checksum".
    #[inline]
    pub fn fill_checksum(&mut self, pseudo: &PseudoHeader) {
        self.set_checksum(0);
        let d = self.datagram();
        let ph = pseudo.sum(IpProtocol::Udp, d.len() as u32);
        let c = checksum::finish(checksum::combine(&[ph, checksum::data(d)]));
        self.set_checksum(if c == 0 { 0xffff } else { c });
    }
}

/// The parsed meaning of a UDP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UdpRepr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Payload length in bytes (the length field minus 8); at most 65,527.
    pub payload_len: usize,
}

impl UdpRepr {
    /// Parses a checked view. With `Some(pseudo)` the checksum is verified
    /// ([`Error::BadChecksum`]); pass `None` when the NIC has already verified it.
    pub fn parse<T: AsRef<[u8]>>(
        packet: &UdpPacket<T>,
        pseudo: Option<&PseudoHeader>,
    ) -> Result<UdpRepr> {
        packet.check_len()?;
        if let Some(ph) = pseudo {
            if !packet.verify_checksum(ph) {
                return Err(Error::BadChecksum);
            }
        }
        Ok(UdpRepr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            payload_len: usize::from(packet.len()) - HEADER_LEN,
        })
    }

    /// Bytes [`emit`](Self::emit) covers: header plus payload.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload_len
    }

    /// Writes the header. The payload must already be in the buffer after the header (or be
    /// written before calling [`UdpPacket::fill_checksum`] yourself). With `Some(pseudo)`
    /// the checksum is filled; with `None` it is left zero (IPv4 "no checksum", or NIC
    /// offload).
    ///
    /// # Panics
    /// If the buffer is shorter than 8 bytes. `payload_len` above 65,527 is a caller bug.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut UdpPacket<T>,
        pseudo: Option<&PseudoHeader>,
    ) {
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_len(self.buffer_len() as u16);
        packet.set_checksum(0);
        if let Some(ph) = pseudo {
            packet.fill_checksum(ph);
        }
    }
}

/// Fuzz entry point: the checked view, every accessor, parse and the emit round trip.
#[doc(hidden)]
pub fn fuzz(data: &[u8]) {
    use core::net::{Ipv4Addr, Ipv6Addr};
    let ph4 = PseudoHeader::V4 {
        src: Ipv4Addr::new(10, 0, 0, 1),
        dst: Ipv4Addr::new(10, 0, 0, 2),
    };
    let ph6 = PseudoHeader::V6 {
        src: Ipv6Addr::LOCALHOST,
        dst: Ipv6Addr::UNSPECIFIED,
    };
    let Ok(p) = UdpPacket::new_checked(data) else {
        return;
    };
    let _ = (
        p.src_port(),
        p.dst_port(),
        p.len(),
        p.is_empty(),
        p.checksum(),
        p.payload(),
    );
    let _ = (p.verify_checksum(&ph4), p.verify_checksum(&ph6));
    let _ = UdpRepr::parse(&p, Some(&ph4));
    let Ok(repr) = UdpRepr::parse(&p, None) else {
        return;
    };
    assert_eq!(repr.buffer_len(), usize::from(p.len()));
    let mut buf = [0u8; 2048];
    if repr.buffer_len() > buf.len() {
        return;
    }
    let out = &mut buf[..repr.buffer_len()];
    out[HEADER_LEN..].copy_from_slice(p.payload());
    let mut q = UdpPacket::new_unchecked(&mut *out);
    repr.emit(&mut q, Some(&ph6));
    let q = UdpPacket::new_checked(&*out).expect("emitted datagram checks");
    assert!(q.verify_checksum(&ph6));
    assert_eq!(UdpRepr::parse(&q, Some(&ph6)), Ok(repr));
    assert_eq!(q.payload(), p.payload());
}

#[cfg(test)]
mod tests;
