//! VXLAN (RFC 7348 §5): an 8-byte header after UDP port 4789, then an inner Ethernet
//! frame.
//!
//! ```text
//! |R|R|R|R|I|R|R|R|            Reserved                           |
//! |                VXLAN Network Identifier (VNI) |   Reserved    |
//! ```

use crate::{read_u32, write_u32, Error, Result};

/// The IANA-assigned UDP destination port for VXLAN (RFC 7348 §5).
pub const VXLAN_PORT: u16 = 4789;

/// Length of the VXLAN header.
pub const HEADER_LEN: usize = 8;

/// The I flag: the VNI is valid (RFC 7348 §5). It must be set.
pub const FLAG_I: u8 = 0x08;

mod field {
    use crate::Field;
    pub const FLAGS: usize = 0;
    pub const VNI: Field = 4..8;
}

/// A zero-copy view of a VXLAN header and the inner frame after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VxlanPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> VxlanPacket<T> {
    /// Wraps `buffer` without checking it; accessors may panic on a short buffer.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Self {
        VxlanPacket { buffer }
    }

    /// Wraps `buffer` and runs [`check_len`](Self::check_len).
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks that the 8-byte header fits ([`Error::Truncated`] otherwise).
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
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

    /// The flags byte.
    #[inline]
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS]
    }

    /// The I flag: the VNI is valid.
    #[inline]
    pub fn vni_valid(&self) -> bool {
        self.flags() & FLAG_I != 0
    }

    /// The 24-bit VXLAN network identifier.
    #[inline]
    pub fn vni(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::VNI.start) >> 8
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> VxlanPacket<&'a T> {
    /// The inner Ethernet frame.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> VxlanPacket<T> {
    /// Sets the flags byte and zeroes the 24 reserved bits after it.
    #[inline]
    pub fn set_flags(&mut self, v: u8) {
        write_u32(self.buffer.as_mut(), 0, u32::from(v) << 24)
    }

    /// Sets the VNI (low 24 bits of `v`) and zeroes the reserved byte after it.
    #[inline]
    pub fn set_vni(&mut self, v: u32) {
        write_u32(
            self.buffer.as_mut(),
            field::VNI.start,
            (v & 0x00ff_ffff) << 8,
        )
    }

    /// The inner frame, mutable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[HEADER_LEN..]
    }
}

/// The parsed meaning of a VXLAN header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VxlanRepr {
    /// The 24-bit VXLAN network identifier.
    pub vni: u32,
}

impl VxlanRepr {
    /// Parses a checked view. Reserved bits are ignored, as RFC 7348 §5 says receivers must;
    /// a clear I flag is [`Error::Malformed`].
    #[inline]
    pub fn parse<T: AsRef<[u8]>>(packet: &VxlanPacket<T>) -> Result<VxlanRepr> {
        packet.check_len()?;
        if !packet.vni_valid() {
            return Err(Error::Malformed);
        }
        Ok(VxlanRepr { vni: packet.vni() })
    }

    /// Bytes [`emit`](Self::emit) writes: the header.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header with only the I flag set. The VNI is masked to 24 bits.
    ///
    /// # Panics
    /// If the buffer is shorter than 8 bytes.
    #[inline]
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut VxlanPacket<T>) {
        packet.set_flags(FLAG_I);
        packet.set_vni(self.vni);
    }
}

/// Fuzz entry point: the checked view, every accessor, parse and the emit round trip.
#[doc(hidden)]
pub fn fuzz(data: &[u8]) {
    let Ok(p) = VxlanPacket::new_checked(data) else {
        return;
    };
    let _ = (p.flags(), p.vni_valid(), p.vni(), p.payload());
    let Ok(repr) = VxlanRepr::parse(&p) else {
        return;
    };
    assert!(repr.vni < 1 << 24);
    let mut out = [0u8; HEADER_LEN];
    repr.emit(&mut VxlanPacket::new_unchecked(&mut out[..]));
    assert_eq!(
        VxlanRepr::parse(&VxlanPacket::new_checked(&out[..]).expect("8 bytes")),
        Ok(repr)
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// No capture in /work/shared/pcaps carries VXLAN; generated with scapy 2.8.0 (an
    /// independent implementation): `VXLAN(vni=0x123456)/Ether(dst=02:00:00:00:00:02,
    /// src=02:00:00:00:00:01)/IP(src=10.0.0.1, dst=10.0.0.2)/ICMP()`, the VXLAN header and
    /// the first 16 bytes of the inner frame. scapy sets VXLAN-GPE's P bit and next-protocol
    /// byte (3 = Ethernet) by default: plain VXLAN ignores them as reserved.
    const VXLAN: [u8; 24] = [
        0x0c, 0x00, 0x00, 0x03, 0x12, 0x34, 0x56, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02,
        0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x45, 0x00,
    ];

    #[test]
    fn scapy_vector() {
        let p = VxlanPacket::new_checked(&VXLAN[..]).unwrap();
        assert_eq!(p.flags(), 0x0c);
        assert!(p.vni_valid());
        assert_eq!(p.vni(), 0x12_3456);
        assert_eq!(&p.payload()[..6], &[2, 0, 0, 0, 0, 2]);
        let r = VxlanRepr::parse(&p).unwrap();
        assert_eq!(r, VxlanRepr { vni: 0x12_3456 });
        let mut out = [0u8; 8];
        r.emit(&mut VxlanPacket::new_unchecked(&mut out[..]));
        assert_eq!(out, [0x08, 0, 0, 0, 0x12, 0x34, 0x56, 0]);
    }

    #[test]
    fn truncated_and_malformed() {
        for n in 0..HEADER_LEN {
            assert_eq!(
                VxlanPacket::new_checked(&VXLAN[..n]).unwrap_err(),
                Error::Truncated
            );
        }
        let mut b = VXLAN;
        b[0] = 0;
        assert_eq!(
            VxlanRepr::parse(&VxlanPacket::new_checked(&b[..]).unwrap()),
            Err(Error::Malformed)
        );
        // Reserved bits are ignored.
        let mut b = VXLAN;
        b[0] = 0xff;
        b[7] = 0xff;
        assert_eq!(
            VxlanRepr::parse(&VxlanPacket::new_checked(&b[..]).unwrap()),
            Ok(VxlanRepr { vni: 0x12_3456 })
        );
    }

    proptest! {
        #[test]
        fn round_trip(vni in 0u32..1 << 24, junk: [u8; 8]) {
            let r = VxlanRepr { vni };
            let mut b = junk;
            r.emit(&mut VxlanPacket::new_unchecked(&mut b[..]));
            prop_assert_eq!(VxlanRepr::parse(&VxlanPacket::new_checked(&b[..]).unwrap()), Ok(r));
        }

        #[test]
        fn fuzz_never_panics(data in proptest::collection::vec(any::<u8>(), 0..32)) {
            fuzz(&data);
        }
    }
}
