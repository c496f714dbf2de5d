//! IPv6 (RFC 8200): the fixed header view [`Ipv6Packet`], [`Ipv6Repr`], the prefix type
//! [`Ipv6Cidr`], and in [`ext`] the extension headers and the walk that finds the
//! upper-layer header behind them.
//!
//! `check_len` makes the payload length safe to follow (40 + payload length <= buffer);
//! [`Ipv6Packet::payload`] stops there, so link-layer padding never reaches the upper
//! layer. Jumbograms (RFC 2675, payload length 0 + a Jumbo option) are not supported: their
//! payload reads as empty.

pub mod ext;

use core::fmt;
use core::net::Ipv6Addr;
use core::str::FromStr;

pub use ext::{ExtChain, FragmentInfo, RoutingInfo, MAX_EXT_HEADERS};

use crate::{read_u16, read_u32, write_u16, write_u32, Error, IpProtocol, Result};

mod field {
    use crate::Field;
    pub const VER_TC_FLOW: Field = 0..4;
    pub const LENGTH: Field = 4..6;
    pub const NXT_HDR: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC_ADDR: Field = 8..24;
    pub const DST_ADDR: Field = 24..40;
}

/// Length of the fixed header.
pub const HEADER_LEN: usize = field::DST_ADDR.end;

/// A read/write view of an IPv6 packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv6Packet<T> {
    /// Wraps a buffer without checking it.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Ipv6Packet<T> {
        Ipv6Packet { buffer }
    }

    /// Wraps a buffer and runs [`Self::check_len`].
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Ipv6Packet<T>> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// `Err(Truncated)` if the buffer is shorter than the 40-byte header or than
    /// `40 + payload_len`. Does not look at the version ([`Ipv6Repr::parse`] does) or at
    /// extension headers ([`Self::ext_chain`] does). Trailing bytes are allowed.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let b = self.buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if HEADER_LEN + usize::from(read_u16(b, field::LENGTH.start)) > b.len() {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// Gives the buffer back.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    #[inline]
    fn ver_tc_flow(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::VER_TC_FLOW.start)
    }

    /// The version field (6 for IPv6).
    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[0] >> 4
    }

    /// Traffic class (DSCP << 2 | ECN).
    #[inline]
    pub fn traffic_class(&self) -> u8 {
        (self.ver_tc_flow() >> 20) as u8
    }

    /// DSCP (RFC 2474), the upper six bits of the traffic class.
    #[inline]
    pub fn dscp(&self) -> u8 {
        self.traffic_class() >> 2
    }

    /// ECN (RFC 3168), the lower two bits of the traffic class.
    #[inline]
    pub fn ecn(&self) -> u8 {
        self.traffic_class() & 0x03
    }

    /// Flow label (RFC 6437), 20 bits.
    #[inline]
    pub fn flow_label(&self) -> u32 {
        self.ver_tc_flow() & 0x000f_ffff
    }

    /// Payload length: everything after the fixed header, extension headers included.
    #[inline]
    pub fn payload_len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::LENGTH.start)
    }

    /// The next header: an extension header or the upper-layer protocol.
    #[inline]
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::NXT_HDR])
    }

    /// Hop limit.
    #[inline]
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::HOP_LIMIT]
    }

    /// Source address.
    #[inline]
    pub fn src_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(addr16(&self.buffer.as_ref()[field::SRC_ADDR]))
    }

    /// Destination address.
    #[inline]
    pub fn dst_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(addr16(&self.buffer.as_ref()[field::DST_ADDR]))
    }

    /// The payload (extension headers and upper layer), clipped to the payload length.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        let end = HEADER_LEN + usize::from(self.payload_len());
        &self.buffer.as_ref()[HEADER_LEN..end]
    }

    /// Walks the extension headers ([`ext::walk`]) inside the payload length. Offsets in
    /// the result count from the start of this packet (the first is at least 40).
    #[inline]
    pub fn ext_chain(&self) -> Result<ExtChain> {
        let end = HEADER_LEN + usize::from(self.payload_len());
        ext::walk_from(&self.buffer.as_ref()[..end], HEADER_LEN, self.next_header())
    }
}

#[inline]
fn addr16(b: &[u8]) -> [u8; 16] {
    let mut a = [0u8; 16];
    a.copy_from_slice(&b[..16]);
    a
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6Packet<T> {
    #[inline]
    fn set_ver_tc_flow(&mut self, v: u32) {
        write_u32(self.buffer.as_mut(), field::VER_TC_FLOW.start, v);
    }

    /// Sets the version field.
    #[inline]
    pub fn set_version(&mut self, v: u8) {
        let w = (self.ver_tc_flow() & 0x0fff_ffff) | (u32::from(v & 0x0f) << 28);
        self.set_ver_tc_flow(w);
    }

    /// Sets the traffic class.
    #[inline]
    pub fn set_traffic_class(&mut self, v: u8) {
        let w = (self.ver_tc_flow() & 0xf00f_ffff) | (u32::from(v) << 20);
        self.set_ver_tc_flow(w);
    }

    /// Sets the flow label (masked to 20 bits).
    #[inline]
    pub fn set_flow_label(&mut self, v: u32) {
        let w = (self.ver_tc_flow() & 0xfff0_0000) | (v & 0x000f_ffff);
        self.set_ver_tc_flow(w);
    }

    /// Sets the payload length.
    #[inline]
    pub fn set_payload_len(&mut self, v: u16) {
        write_u16(self.buffer.as_mut(), field::LENGTH.start, v);
    }

    /// Sets the next header.
    #[inline]
    pub fn set_next_header(&mut self, v: IpProtocol) {
        self.buffer.as_mut()[field::NXT_HDR] = v.into();
    }

    /// Sets the hop limit.
    #[inline]
    pub fn set_hop_limit(&mut self, v: u8) {
        self.buffer.as_mut()[field::HOP_LIMIT] = v;
    }

    /// The forwarding step: hop limit minus one (no checksum in IPv6). Returns the new
    /// value; 0 is left alone.
    #[inline]
    pub fn decrement_hop_limit(&mut self) -> u8 {
        let h = self.hop_limit().saturating_sub(1);
        self.set_hop_limit(h);
        h
    }

    /// Sets the source address.
    #[inline]
    pub fn set_src_addr(&mut self, a: Ipv6Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&a.octets());
    }

    /// Sets the destination address.
    #[inline]
    pub fn set_dst_addr(&mut self, a: Ipv6Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&a.octets());
    }

    /// The payload (up to the payload length), writable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = HEADER_LEN + usize::from(self.payload_len());
        &mut self.buffer.as_mut()[HEADER_LEN..end]
    }
}

impl<T: AsRef<[u8]>> fmt::Display for Ipv6Packet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.check_len().is_err() {
            return f.write_str("IPv6 (truncated)");
        }
        write!(
            f,
            "IPv6 src={} dst={} nxt={:?} len={} hlim={}",
            self.src_addr(),
            self.dst_addr(),
            self.next_header(),
            self.payload_len(),
            self.hop_limit()
        )
    }
}

/// The meaning of an IPv6 fixed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6Repr {
    /// Source address.
    pub src_addr: Ipv6Addr,
    /// Destination address.
    pub dst_addr: Ipv6Addr,
    /// Next header (first extension header or upper-layer protocol).
    pub next_header: IpProtocol,
    /// Payload length (extension headers included).
    pub payload_len: u16,
    /// Hop limit.
    pub hop_limit: u8,
    /// Traffic class (DSCP << 2 | ECN).
    pub traffic_class: u8,
    /// Flow label, 20 bits.
    pub flow_label: u32,
}

impl Ipv6Repr {
    /// Reads the fixed header. `Err(BadVersion)` if the version is not 6; length errors as
    /// `check_len`. Extension headers are not looked at (see [`Ipv6Packet::ext_chain`]).
    #[inline]
    pub fn parse<T: AsRef<[u8]>>(packet: &Ipv6Packet<T>) -> Result<Ipv6Repr> {
        packet.check_len()?;
        if packet.version() != 6 {
            return Err(Error::BadVersion);
        }
        Ok(Ipv6Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            next_header: packet.next_header(),
            payload_len: packet.payload_len(),
            hop_limit: packet.hop_limit(),
            traffic_class: packet.traffic_class(),
            flow_label: packet.flow_label(),
        })
    }

    /// Bytes [`Self::emit`] writes: 40.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the fixed header; the buffer must hold at least 40 bytes.
    #[inline]
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Ipv6Packet<T>) {
        let w =
            (6u32 << 28) | (u32::from(self.traffic_class) << 20) | (self.flow_label & 0x000f_ffff);
        packet.set_ver_tc_flow(w);
        packet.set_payload_len(self.payload_len);
        packet.set_next_header(self.next_header);
        packet.set_hop_limit(self.hop_limit);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
    }
}

/// An IPv6 address with a prefix length (RFC 4291 §2.3), e.g. `2001:db8::/32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ipv6Cidr {
    address: Ipv6Addr,
    prefix_len: u8,
}

impl Ipv6Cidr {
    /// `address/prefix_len`; `Err(Malformed)` if `prefix_len > 128`.
    #[inline]
    pub const fn new(address: Ipv6Addr, prefix_len: u8) -> Result<Ipv6Cidr> {
        if prefix_len > 128 {
            return Err(Error::Malformed);
        }
        Ok(Ipv6Cidr {
            address,
            prefix_len,
        })
    }

    /// The address as given.
    #[inline]
    pub const fn address(&self) -> Ipv6Addr {
        self.address
    }

    /// The prefix length, 0..=128.
    #[inline]
    pub const fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    #[inline]
    const fn mask_bits(&self) -> u128 {
        if self.prefix_len == 0 {
            0
        } else {
            u128::MAX << (128 - self.prefix_len)
        }
    }

    /// The netmask as an address (`ffff:ffff::` for /32).
    #[inline]
    pub const fn netmask(&self) -> Ipv6Addr {
        Ipv6Addr::from_bits(self.mask_bits())
    }

    /// The prefix with host bits cleared.
    #[inline]
    pub const fn network(&self) -> Ipv6Cidr {
        Ipv6Cidr {
            address: Ipv6Addr::from_bits(self.address.to_bits() & self.mask_bits()),
            prefix_len: self.prefix_len,
        }
    }

    /// `true` if `addr` lies inside the prefix.
    #[inline]
    pub const fn contains_addr(&self, addr: &Ipv6Addr) -> bool {
        (addr.to_bits() ^ self.address.to_bits()) & self.mask_bits() == 0
    }

    /// `true` if `other` is the same prefix or a longer one inside it.
    #[inline]
    pub const fn contains_subnet(&self, other: &Ipv6Cidr) -> bool {
        self.prefix_len <= other.prefix_len && self.contains_addr(&other.address)
    }
}

impl fmt::Display for Ipv6Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix_len)
    }
}

impl FromStr for Ipv6Cidr {
    type Err = Error;

    /// Parses `addr/n`; `Err(Malformed)` otherwise.
    fn from_str(s: &str) -> Result<Ipv6Cidr> {
        let (a, n) = s.split_once('/').ok_or(Error::Malformed)?;
        let address = a.parse().map_err(|_| Error::Malformed)?;
        let len = n.parse().map_err(|_| Error::Malformed)?;
        Ipv6Cidr::new(address, len)
    }
}

/// Fuzz entry point: the checked view, every accessor, parse and the emit round trip, the
/// extension-header walk and every extension header view and option along the chain.
#[doc(hidden)]
pub fn fuzz(data: &[u8]) {
    let Ok(p) = Ipv6Packet::new_checked(data) else {
        return;
    };
    let _ = (
        p.version(),
        p.dscp(),
        p.ecn(),
        p.flow_label(),
        p.next_header(),
        p.hop_limit(),
    );
    let _ = (p.src_addr(), p.dst_addr());
    assert_eq!(p.payload().len(), usize::from(p.payload_len()));
    let _ = format!("{p}");
    if let Ok(repr) = Ipv6Repr::parse(&p) {
        let mut buf = [0u8; HEADER_LEN];
        repr.emit(&mut Ipv6Packet::new_unchecked(&mut buf[..]));
        assert_eq!(&buf[..], &data[..HEADER_LEN]);
    }
    if let Ok(chain) = p.ext_chain() {
        let end = HEADER_LEN + usize::from(p.payload_len());
        assert!(chain.upper_offset >= HEADER_LEN && chain.upper_offset <= end);
        assert!(chain.header_count <= MAX_EXT_HEADERS as u8);
        // Relative walk over the payload agrees with the packet walk.
        let rel = ext::walk(p.next_header(), p.payload()).expect("same walk");
        assert_eq!(rel.upper_offset + HEADER_LEN, chain.upper_offset);
        assert_eq!(rel.upper, chain.upper);
    }
    ext::fuzz_chain(p.next_header(), p.payload());
}

#[cfg(test)]
mod tests;
