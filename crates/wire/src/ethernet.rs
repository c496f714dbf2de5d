//! Ethernet II frames (IEEE 802.3 clause 3.2.6 / RFC 894) and MAC addresses.
//!
//! [`EthernetFrame`] views the 14-byte header (destination, source, EtherType) and the
//! payload after it. A frame carrying 802.1Q / 802.1ad tags shows the first TPID as its
//! EtherType; [`EthernetFrame::vlan_stack`] walks the tags (see [`crate::vlan`]).

use core::fmt;

use crate::vlan::{self, TagStack};
use crate::{read_u16, write_u16, Error, EtherType, Result};

/// A 48-bit IEEE 802 MAC address (EUI-48).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EthernetAddress(pub [u8; 6]);

impl EthernetAddress {
    /// The broadcast address `ff:ff:ff:ff:ff:ff`.
    pub const BROADCAST: EthernetAddress = EthernetAddress([0xff; 6]);

    /// Reads an address from the first six bytes of `data`.
    ///
    /// # Panics
    /// If `data` is shorter than six bytes.
    #[inline]
    pub fn from_bytes(data: &[u8]) -> EthernetAddress {
        let mut a = [0u8; 6];
        a.copy_from_slice(&data[..6]);
        EthernetAddress(a)
    }

    /// The six address bytes, in transmission order.
    #[inline]
    pub const fn as_bytes(&self) -> &[u8; 6] {
        &self.0
    }

    /// `ff:ff:ff:ff:ff:ff`.
    #[inline]
    pub fn is_broadcast(&self) -> bool {
        self.0 == [0xff; 6]
    }

    /// Group bit (I/G, the low bit of the first octet) set; includes broadcast
    /// (IEEE 802-2014 §8.2.2).
    #[inline]
    pub const fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// Individual address: the group bit is clear.
    #[inline]
    pub const fn is_unicast(&self) -> bool {
        !self.is_multicast()
    }

    /// Locally administered (U/L bit, the second-lowest bit of the first octet, set).
    #[inline]
    pub const fn is_local(&self) -> bool {
        self.0[0] & 0x02 != 0
    }

    /// Universally administered (OUI-assigned): the U/L bit is clear.
    #[inline]
    pub const fn is_universal(&self) -> bool {
        !self.is_local()
    }
}

impl fmt::Display for EthernetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl From<[u8; 6]> for EthernetAddress {
    #[inline]
    fn from(b: [u8; 6]) -> Self {
        EthernetAddress(b)
    }
}

mod field {
    use crate::{Field, Rest};
    pub const DESTINATION: Field = 0..6;
    pub const SOURCE: Field = 6..12;
    pub const ETHERTYPE: Field = 12..14;
    pub const PAYLOAD: Rest = 14..;
}

/// Length of an untagged Ethernet II header.
pub const HEADER_LEN: usize = field::PAYLOAD.start;

/// A read/write view of an Ethernet II frame (without preamble and FCS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthernetFrame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    /// Wraps a buffer without checking its length.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> EthernetFrame<T> {
        EthernetFrame { buffer }
    }

    /// Wraps a buffer and checks that it holds the 14-byte header.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<EthernetFrame<T>> {
        let f = Self::new_unchecked(buffer);
        f.check_len()?;
        Ok(f)
    }

    /// `Err(Truncated)` if the buffer is shorter than [`HEADER_LEN`].
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// Gives the buffer back.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Length of the untagged header, 14.
    #[inline]
    pub const fn header_len() -> usize {
        HEADER_LEN
    }

    /// The destination MAC address.
    #[inline]
    pub fn dst_addr(&self) -> EthernetAddress {
        EthernetAddress::from_bytes(&self.buffer.as_ref()[field::DESTINATION])
    }

    /// The source MAC address.
    #[inline]
    pub fn src_addr(&self) -> EthernetAddress {
        EthernetAddress::from_bytes(&self.buffer.as_ref()[field::SOURCE])
    }

    /// The EtherType (or, for a tagged frame, the outer TPID).
    #[inline]
    pub fn ethertype(&self) -> EtherType {
        EtherType::from(read_u16(self.buffer.as_ref(), field::ETHERTYPE.start))
    }

    /// Walks the 802.1Q / 802.1ad tags after the MAC addresses ([`vlan::walk_frame`]).
    /// The stack's payload offset counts from the start of the frame.
    #[inline]
    pub fn vlan_stack(&self) -> Result<TagStack> {
        vlan::walk_frame(self.buffer.as_ref())
    }

    /// Everything after the 14-byte header (for a tagged frame this starts with the first
    /// TCI; use [`Self::vlan_stack`] to find the inner payload). May include Ethernet padding.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthernetFrame<T> {
    /// Sets the destination MAC address.
    #[inline]
    pub fn set_dst_addr(&mut self, a: EthernetAddress) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&a.0);
    }

    /// Sets the source MAC address.
    #[inline]
    pub fn set_src_addr(&mut self, a: EthernetAddress) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&a.0);
    }

    /// Sets the EtherType (or outer TPID).
    #[inline]
    pub fn set_ethertype(&mut self, t: EtherType) {
        write_u16(self.buffer.as_mut(), field::ETHERTYPE.start, t.into());
    }

    /// The payload after the 14-byte header, writable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]>> fmt::Display for EthernetFrame<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.check_len().is_err() {
            return f.write_str("EthernetII (truncated)");
        }
        write!(
            f,
            "EthernetII src={} dst={} type={:?}",
            self.src_addr(),
            self.dst_addr(),
            self.ethertype()
        )
    }
}

/// The meaning of an untagged Ethernet II header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EthernetRepr {
    /// Source MAC address.
    pub src_addr: EthernetAddress,
    /// Destination MAC address.
    pub dst_addr: EthernetAddress,
    /// EtherType (a TPID for a tagged frame).
    pub ethertype: EtherType,
}

impl EthernetRepr {
    /// Reads the header of a checked frame. Never fails after `new_checked`; the `Result`
    /// keeps the shape of the other `Repr`s.
    #[inline]
    pub fn parse<T: AsRef<[u8]>>(frame: &EthernetFrame<T>) -> Result<EthernetRepr> {
        frame.check_len()?;
        Ok(EthernetRepr {
            src_addr: frame.src_addr(),
            dst_addr: frame.dst_addr(),
            ethertype: frame.ethertype(),
        })
    }

    /// Bytes [`Self::emit`] writes: 14.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header into `frame`, whose buffer must hold at least 14 bytes.
    #[inline]
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut EthernetFrame<T>) {
        frame.set_src_addr(self.src_addr);
        frame.set_dst_addr(self.dst_addr);
        frame.set_ethertype(self.ethertype);
    }
}

/// Fuzz entry point: the checked view, every accessor, the VLAN walk and the emit round trip.
#[doc(hidden)]
pub fn fuzz(data: &[u8]) {
    let Ok(frame) = EthernetFrame::new_checked(data) else {
        return;
    };
    let _ = (
        frame.dst_addr().is_broadcast(),
        frame.src_addr().is_local(),
        frame.payload().len(),
    );
    let _ = format!("{frame}");
    if let Ok(stack) = frame.vlan_stack() {
        assert!(stack.payload_offset() <= data.len());
        for t in stack.tags() {
            let _ = (t.tci.pcp(), t.tci.dei(), t.tci.vid());
        }
        let _ = &data[stack.payload_offset()..];
        // Emit the stack again and walk it back.
        let mut out = [0u8; HEADER_LEN + 4 * vlan::MAX_TAGS];
        let n = stack.emit(&mut out[12..]).expect("fits");
        let again = vlan::walk_frame(&out[..12 + n]).expect("re-walks");
        assert_eq!(again.tags(), stack.tags());
        assert_eq!(again.ethertype(), stack.ethertype());
    }
    let repr = EthernetRepr::parse(&frame).expect("checked");
    let mut buf = [0u8; HEADER_LEN];
    let mut out = EthernetFrame::new_unchecked(&mut buf[..]);
    repr.emit(&mut out);
    assert_eq!(EthernetRepr::parse(&out), Ok(repr));
    assert_eq!(&buf[..], &data[..HEADER_LEN]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// zeek_wikipedia.pcap frame 5: ARP who-has 141.142.220.26, broadcast, 60 bytes with
    /// padding.
    const WIKI_ARP: [u8; 60] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x13, 0x7f, 0xbe, 0x8c, 0xff, 0x08, 0x06, 0x00,
        0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x00, 0x13, 0x7f, 0xbe, 0x8c, 0xff, 0x8d, 0x8e,
        0xdc, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x8d, 0x8e, 0xdc, 0x1a, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];

    /// zeek_wikipedia.pcap frame 1 (first 14 bytes): mDNS to 01:00:5e:00:00:fb.
    const WIKI_MDNS_HDR: [u8; 14] = [
        0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb, 0x00, 0x30, 0x48, 0xbd, 0x3e, 0xc4, 0x08, 0x00,
    ];

    #[test]
    fn real_arp_frame() {
        let f = EthernetFrame::new_checked(&WIKI_ARP[..]).unwrap();
        assert_eq!(f.dst_addr(), EthernetAddress::BROADCAST);
        assert!(f.dst_addr().is_broadcast() && f.dst_addr().is_multicast());
        assert_eq!(
            f.src_addr(),
            EthernetAddress([0x00, 0x13, 0x7f, 0xbe, 0x8c, 0xff])
        );
        assert!(f.src_addr().is_unicast() && f.src_addr().is_universal());
        assert_eq!(f.ethertype(), EtherType::Arp);
        assert_eq!(f.payload().len(), 46);
        assert_eq!(&f.payload()[..4], &[0x00, 0x01, 0x08, 0x00]);
        let s = f.vlan_stack().unwrap();
        assert!(s.is_empty());
        assert_eq!(s.ethertype(), EtherType::Arp);
        assert_eq!(s.payload_offset(), 14);
    }

    #[test]
    fn real_multicast_header() {
        let f = EthernetFrame::new_checked(&WIKI_MDNS_HDR[..]).unwrap();
        assert!(f.dst_addr().is_multicast() && !f.dst_addr().is_broadcast());
        assert_eq!(f.dst_addr().to_string(), "01:00:5e:00:00:fb");
        assert_eq!(f.src_addr().to_string(), "00:30:48:bd:3e:c4");
        assert_eq!(f.ethertype(), EtherType::Ipv4);
        assert!(f.payload().is_empty());
    }

    #[test]
    fn address_predicates() {
        let local = EthernetAddress([0x02, 0, 0, 0, 0, 1]);
        assert!(local.is_local() && local.is_unicast() && !local.is_universal());
        assert!(!EthernetAddress([0; 6]).is_multicast());
    }

    #[test]
    fn truncated_at_every_length() {
        for n in 0..HEADER_LEN {
            assert_eq!(
                EthernetFrame::new_checked(&WIKI_ARP[..n]).err(),
                Some(Error::Truncated)
            );
        }
        assert!(EthernetFrame::new_checked(&WIKI_ARP[..HEADER_LEN]).is_ok());
    }

    #[test]
    fn emit_matches_capture() {
        let f = EthernetFrame::new_checked(&WIKI_ARP[..]).unwrap();
        let repr = EthernetRepr::parse(&f).unwrap();
        assert_eq!(repr.buffer_len(), 14);
        let mut buf = [0u8; 14];
        repr.emit(&mut EthernetFrame::new_unchecked(&mut buf[..]));
        assert_eq!(buf, WIKI_ARP[..14]);
    }

    #[test]
    fn fuzz_entry_on_capture() {
        fuzz(&WIKI_ARP);
        fuzz(&WIKI_MDNS_HDR);
        fuzz(&[]);
    }

    proptest! {
        #[test]
        fn repr_round_trip(src in any::<[u8; 6]>(), dst in any::<[u8; 6]>(), et in any::<u16>()) {
            let repr = EthernetRepr {
                src_addr: EthernetAddress(src),
                dst_addr: EthernetAddress(dst),
                ethertype: EtherType::from(et),
            };
            let mut buf = [0u8; 20];
            repr.emit(&mut EthernetFrame::new_unchecked(&mut buf[..]));
            let f = EthernetFrame::new_checked(&buf[..]).unwrap();
            prop_assert_eq!(EthernetRepr::parse(&f), Ok(repr));
        }

        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..80)) {
            fuzz(&data);
        }
    }
}
