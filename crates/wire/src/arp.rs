//! The Address Resolution Protocol (RFC 826), with [`ArpRepr`] for Ethernet/IPv4.
//!
//! The view [`ArpPacket`] reads any hardware/protocol pair: the address fields are slices
//! whose lengths come from `hlen`/`plen`, and `check_len` makes sure all four fit. Only
//! Ethernet (1) + IPv4 (0x0800) with lengths 6/4 parses into an [`ArpRepr`]; anything else
//! is [`Error::Unsupported`].

use core::net::Ipv4Addr;

use crate::ethernet::EthernetAddress;
use crate::{enum_with_unknown, read_u16, write_u16, Error, EtherType, Result};

enum_with_unknown! {
    /// ARP hardware type (IANA "Hardware Types").
    pub enum Hardware(u16) {
        /// Ethernet (10 Mb and every later speed).
        Ethernet = 1,
    }
}

enum_with_unknown! {
    /// ARP operation code (RFC 826; IANA "Operation Codes").
    pub enum Operation(u16) {
        /// Who has `target_protocol_addr`?
        Request = 1,
        /// `source_protocol_addr` is at `source_hardware_addr`.
        Reply = 2,
    }
}

mod field {
    #![allow(non_snake_case)]
    use crate::Field;

    pub const HTYPE: Field = 0..2;
    pub const PTYPE: Field = 2..4;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: Field = 6..8;

    #[inline]
    pub const fn SHA(hlen: u8, _plen: u8) -> Field {
        let start = OPER.end;
        start..(start + hlen as usize)
    }
    #[inline]
    pub const fn SPA(hlen: u8, plen: u8) -> Field {
        let start = SHA(hlen, plen).end;
        start..(start + plen as usize)
    }
    #[inline]
    pub const fn THA(hlen: u8, plen: u8) -> Field {
        let start = SPA(hlen, plen).end;
        start..(start + hlen as usize)
    }
    #[inline]
    pub const fn TPA(hlen: u8, plen: u8) -> Field {
        let start = THA(hlen, plen).end;
        start..(start + plen as usize)
    }
}

/// Length of the fixed part before the addresses.
pub const FIXED_LEN: usize = field::OPER.end;

/// Length of an Ethernet/IPv4 ARP packet: 28.
pub const ETHERNET_IPV4_LEN: usize = FIXED_LEN + 2 * (6 + 4);

/// A read/write view of an ARP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ArpPacket<T> {
    /// Wraps a buffer without checking it.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> ArpPacket<T> {
        ArpPacket { buffer }
    }

    /// Wraps a buffer and checks that the fixed part and all four addresses fit.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<ArpPacket<T>> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// `Err(Truncated)` if the buffer is shorter than 8 bytes or than
    /// `8 + 2 * (hlen + plen)`. Bytes after the packet (Ethernet padding) are allowed.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let b = self.buffer.as_ref();
        if b.len() < FIXED_LEN {
            return Err(Error::Truncated);
        }
        if b.len() < self.packet_len() {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// Gives the buffer back.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Length of the packet as its own length fields say: `8 + 2 * (hlen + plen)`.
    #[inline]
    pub fn packet_len(&self) -> usize {
        field::TPA(self.hardware_len(), self.protocol_len()).end
    }

    /// Hardware type (`htype`).
    #[inline]
    pub fn hardware_type(&self) -> Hardware {
        Hardware::from(read_u16(self.buffer.as_ref(), field::HTYPE.start))
    }

    /// Protocol type (`ptype`), an EtherType.
    #[inline]
    pub fn protocol_type(&self) -> EtherType {
        EtherType::from(read_u16(self.buffer.as_ref(), field::PTYPE.start))
    }

    /// Hardware address length in bytes (`hlen`).
    #[inline]
    pub fn hardware_len(&self) -> u8 {
        self.buffer.as_ref()[field::HLEN]
    }

    /// Protocol address length in bytes (`plen`).
    #[inline]
    pub fn protocol_len(&self) -> u8 {
        self.buffer.as_ref()[field::PLEN]
    }

    /// Operation code (`oper`).
    #[inline]
    pub fn operation(&self) -> Operation {
        Operation::from(read_u16(self.buffer.as_ref(), field::OPER.start))
    }

    /// Sender hardware address (`hlen` bytes).
    #[inline]
    pub fn source_hardware_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[field::SHA(self.hardware_len(), self.protocol_len())]
    }

    /// Sender protocol address (`plen` bytes).
    #[inline]
    pub fn source_protocol_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[field::SPA(self.hardware_len(), self.protocol_len())]
    }

    /// Target hardware address (`hlen` bytes).
    #[inline]
    pub fn target_hardware_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[field::THA(self.hardware_len(), self.protocol_len())]
    }

    /// Target protocol address (`plen` bytes).
    #[inline]
    pub fn target_protocol_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[field::TPA(self.hardware_len(), self.protocol_len())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ArpPacket<T> {
    /// Sets the hardware type.
    #[inline]
    pub fn set_hardware_type(&mut self, v: Hardware) {
        write_u16(self.buffer.as_mut(), field::HTYPE.start, v.into());
    }

    /// Sets the protocol type.
    #[inline]
    pub fn set_protocol_type(&mut self, v: EtherType) {
        write_u16(self.buffer.as_mut(), field::PTYPE.start, v.into());
    }

    /// Sets `hlen`. Changing it moves every later address field; re-check the length.
    #[inline]
    pub fn set_hardware_len(&mut self, v: u8) {
        self.buffer.as_mut()[field::HLEN] = v;
    }

    /// Sets `plen`. Changing it moves every later address field; re-check the length.
    #[inline]
    pub fn set_protocol_len(&mut self, v: u8) {
        self.buffer.as_mut()[field::PLEN] = v;
    }

    /// Sets the operation code.
    #[inline]
    pub fn set_operation(&mut self, v: Operation) {
        write_u16(self.buffer.as_mut(), field::OPER.start, v.into());
    }

    /// Sets the sender hardware address; `v` must be `hlen` bytes long.
    #[inline]
    pub fn set_source_hardware_addr(&mut self, v: &[u8]) {
        let r = field::SHA(self.hardware_len(), self.protocol_len());
        self.buffer.as_mut()[r].copy_from_slice(v);
    }

    /// Sets the sender protocol address; `v` must be `plen` bytes long.
    #[inline]
    pub fn set_source_protocol_addr(&mut self, v: &[u8]) {
        let r = field::SPA(self.hardware_len(), self.protocol_len());
        self.buffer.as_mut()[r].copy_from_slice(v);
    }

    /// Sets the target hardware address; `v` must be `hlen` bytes long.
    #[inline]
    pub fn set_target_hardware_addr(&mut self, v: &[u8]) {
        let r = field::THA(self.hardware_len(), self.protocol_len());
        self.buffer.as_mut()[r].copy_from_slice(v);
    }

    /// Sets the target protocol address; `v` must be `plen` bytes long.
    #[inline]
    pub fn set_target_protocol_addr(&mut self, v: &[u8]) {
        let r = field::TPA(self.hardware_len(), self.protocol_len());
        self.buffer.as_mut()[r].copy_from_slice(v);
    }
}

/// The meaning of an Ethernet/IPv4 ARP packet (RFC 826).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArpRepr {
    /// Request, reply, or another code (RFC 5494 lists more).
    pub operation: Operation,
    /// Sender MAC address.
    pub source_hardware_addr: EthernetAddress,
    /// Sender IPv4 address.
    pub source_protocol_addr: Ipv4Addr,
    /// Target MAC address (zero in a request).
    pub target_hardware_addr: EthernetAddress,
    /// Target IPv4 address.
    pub target_protocol_addr: Ipv4Addr,
}

impl ArpRepr {
    /// Reads an Ethernet/IPv4 ARP packet. `Err(Unsupported)` for any other hardware type,
    /// protocol type or address lengths; `Err(Truncated)` if the view is short.
    pub fn parse<T: AsRef<[u8]>>(packet: &ArpPacket<T>) -> Result<ArpRepr> {
        packet.check_len()?;
        if packet.hardware_type() != Hardware::Ethernet
            || packet.protocol_type() != EtherType::Ipv4
            || packet.hardware_len() != 6
            || packet.protocol_len() != 4
        {
            return Err(Error::Unsupported);
        }
        let b = packet.buffer.as_ref();
        let ip = |at: usize| Ipv4Addr::new(b[at], b[at + 1], b[at + 2], b[at + 3]);
        Ok(ArpRepr {
            operation: packet.operation(),
            source_hardware_addr: EthernetAddress::from_bytes(&b[8..14]),
            source_protocol_addr: ip(14),
            target_hardware_addr: EthernetAddress::from_bytes(&b[18..24]),
            target_protocol_addr: ip(24),
        })
    }

    /// Bytes [`Self::emit`] writes: 28.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        ETHERNET_IPV4_LEN
    }

    /// Writes the packet; the buffer must hold at least 28 bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut ArpPacket<T>) {
        packet.set_hardware_type(Hardware::Ethernet);
        packet.set_protocol_type(EtherType::Ipv4);
        packet.set_hardware_len(6);
        packet.set_protocol_len(4);
        packet.set_operation(self.operation);
        packet.set_source_hardware_addr(self.source_hardware_addr.as_bytes());
        packet.set_source_protocol_addr(&self.source_protocol_addr.octets());
        packet.set_target_hardware_addr(self.target_hardware_addr.as_bytes());
        packet.set_target_protocol_addr(&self.target_protocol_addr.octets());
    }
}

/// Fuzz entry point: the checked view, every accessor, parse and the emit round trip.
#[doc(hidden)]
pub fn fuzz(data: &[u8]) {
    let Ok(p) = ArpPacket::new_checked(data) else {
        return;
    };
    let _ = (
        p.hardware_type(),
        p.protocol_type(),
        p.operation(),
        p.packet_len(),
    );
    let n = p.source_hardware_addr().len()
        + p.source_protocol_addr().len()
        + p.target_hardware_addr().len()
        + p.target_protocol_addr().len();
    assert_eq!(FIXED_LEN + n, p.packet_len());
    if let Ok(repr) = ArpRepr::parse(&p) {
        let mut buf = [0u8; ETHERNET_IPV4_LEN];
        repr.emit(&mut ArpPacket::new_unchecked(&mut buf[..]));
        assert_eq!(&buf[..], &data[..ETHERNET_IPV4_LEN]);
        assert_eq!(
            ArpRepr::parse(&ArpPacket::new_checked(&buf[..]).unwrap()),
            Ok(repr)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// zeek_wikipedia.pcap frame 5, after the 14-byte Ethernet header: who-has
    /// 141.142.220.26 tell 141.142.220.1, with 18 bytes of Ethernet padding.
    const WIKI_REQUEST: [u8; 46] = [
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x00, 0x13, 0x7f, 0xbe, 0x8c, 0xff, 0x8d,
        0x8e, 0xdc, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x8d, 0x8e, 0xdc, 0x1a, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00,
    ];

    /// zeek_nmap-vsn-scan.pcap frame 6, after the Ethernet header: nmap's ARP probe,
    /// who-has 192.168.1.6 tell 192.168.1.71, no padding.
    const NMAP_REQUEST: [u8; 28] = [
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0xc4, 0x2c, 0x03, 0x3b, 0x6c, 0xaa, 0xc0,
        0xa8, 0x01, 0x47, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0xa8, 0x01, 0x06,
    ];

    #[test]
    fn wikipedia_request() {
        let p = ArpPacket::new_checked(&WIKI_REQUEST[..]).unwrap();
        assert_eq!(p.hardware_type(), Hardware::Ethernet);
        assert_eq!(p.protocol_type(), EtherType::Ipv4);
        assert_eq!((p.hardware_len(), p.protocol_len()), (6, 4));
        assert_eq!(p.operation(), Operation::Request);
        assert_eq!(p.packet_len(), 28);
        assert_eq!(
            p.source_hardware_addr(),
            &[0x00, 0x13, 0x7f, 0xbe, 0x8c, 0xff]
        );
        assert_eq!(p.source_protocol_addr(), &[141, 142, 220, 1]);
        assert_eq!(p.target_hardware_addr(), &[0; 6]);
        assert_eq!(p.target_protocol_addr(), &[141, 142, 220, 26]);
        let r = ArpRepr::parse(&p).unwrap();
        assert_eq!(
            r,
            ArpRepr {
                operation: Operation::Request,
                source_hardware_addr: EthernetAddress([0x00, 0x13, 0x7f, 0xbe, 0x8c, 0xff]),
                source_protocol_addr: Ipv4Addr::new(141, 142, 220, 1),
                target_hardware_addr: EthernetAddress([0; 6]),
                target_protocol_addr: Ipv4Addr::new(141, 142, 220, 26),
            }
        );
        let mut out = [0u8; 28];
        r.emit(&mut ArpPacket::new_unchecked(&mut out[..]));
        assert_eq!(out, WIKI_REQUEST[..28]);
    }

    #[test]
    fn nmap_request() {
        let r = ArpRepr::parse(&ArpPacket::new_checked(&NMAP_REQUEST[..]).unwrap()).unwrap();
        assert_eq!(r.operation, Operation::Request);
        assert_eq!(r.source_hardware_addr.to_string(), "c4:2c:03:3b:6c:aa");
        assert_eq!(r.source_protocol_addr, Ipv4Addr::new(192, 168, 1, 71));
        assert_eq!(r.target_protocol_addr, Ipv4Addr::new(192, 168, 1, 6));
        assert_eq!(r.buffer_len(), 28);
    }

    #[test]
    fn truncated_at_every_length() {
        for n in 0..28 {
            assert_eq!(
                ArpPacket::new_checked(&NMAP_REQUEST[..n]).err(),
                Some(Error::Truncated)
            );
        }
    }

    #[test]
    fn generic_lengths_read_safely() {
        // hlen 255, plen 255 on a short buffer: truncated, not a panic.
        let mut b = NMAP_REQUEST;
        b[4] = 255;
        b[5] = 255;
        assert_eq!(ArpPacket::new_checked(&b[..]).err(), Some(Error::Truncated));
        // An IPv6-over-Ethernet-style packet (hlen 6, plen 16): the view reads it, Repr declines.
        let mut v6 = [0u8; 8 + 2 * (6 + 16)];
        v6[..8].copy_from_slice(&[0x00, 0x01, 0x86, 0xdd, 6, 16, 0x00, 0x01]);
        v6[14..30].copy_from_slice(&[0xfe; 16]);
        let p = ArpPacket::new_checked(&v6[..]).unwrap();
        assert_eq!(p.source_protocol_addr(), &[0xfe; 16]);
        assert_eq!(p.target_protocol_addr().len(), 16);
        assert_eq!(ArpRepr::parse(&p), Err(Error::Unsupported));
        // hlen 0 / plen 0: 8 bytes, empty addresses.
        let z = [0x00, 0x06, 0x08, 0x00, 0, 0, 0x00, 0x02];
        let p = ArpPacket::new_checked(&z[..]).unwrap();
        assert!(p.source_hardware_addr().is_empty() && p.target_protocol_addr().is_empty());
        assert_eq!(p.hardware_type(), Hardware::Unknown(6));
        assert_eq!(ArpRepr::parse(&p), Err(Error::Unsupported));
    }

    proptest! {
        #[test]
        fn repr_round_trip(op in any::<u16>(), sha in any::<[u8; 6]>(), spa in any::<u32>(),
                           tha in any::<[u8; 6]>(), tpa in any::<u32>()) {
            let r = ArpRepr {
                operation: Operation::from(op),
                source_hardware_addr: EthernetAddress(sha),
                source_protocol_addr: Ipv4Addr::from_bits(spa),
                target_hardware_addr: EthernetAddress(tha),
                target_protocol_addr: Ipv4Addr::from_bits(tpa),
            };
            let mut buf = [0u8; 28];
            r.emit(&mut ArpPacket::new_unchecked(&mut buf[..]));
            prop_assert_eq!(ArpRepr::parse(&ArpPacket::new_checked(&buf[..]).unwrap()), Ok(r));
        }

        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..80)) {
            fuzz(&data);
        }
    }
}
