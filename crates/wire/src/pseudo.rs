//! The IP pseudo-header that TCP, UDP and ICMPv6 checksums cover.
//!
//! A transport view does not know the IP header it travelled in, so the checksum methods of
//! [`crate::udp`] and [`crate::tcp`] take the addresses as a [`PseudoHeader`] (RFC 768,
//! RFC 9293 §3.1, RFC 8200 §8.1). The caller reads them from its own IPv4 or IPv6 view.

use core::net::{Ipv4Addr, Ipv6Addr};

use crate::{checksum, IpProtocol};

/// The source and destination addresses of the IP header that carries a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PseudoHeader {
    /// IPv4 (RFC 768, RFC 9293 §3.1).
    V4 {
        /// Source address.
        src: Ipv4Addr,
        /// Destination address.
        dst: Ipv4Addr,
    },
    /// IPv6 (RFC 8200 §8.1).
    V6 {
        /// Source address.
        src: Ipv6Addr,
        /// Final destination address (after any routing header).
        dst: Ipv6Addr,
    },
}

impl PseudoHeader {
    /// Folded, uncomplemented sum of the pseudo-header for an upper-layer packet of
    /// `length` bytes carrying `protocol`.
    ///
    /// For IPv4 a `length` above 65,535 (BIG TCP) is summed as two 16-bit words, as Linux
    /// does.
    #[inline]
    pub fn sum(&self, protocol: IpProtocol, length: u32) -> u16 {
        let proto = u8::from(protocol);
        match *self {
            PseudoHeader::V4 { src, dst } => {
                let low = checksum::pseudo_header_v4(src, dst, proto, length as u16);
                checksum::combine(&[low, (length >> 16) as u16])
            }
            PseudoHeader::V6 { src, dst } => checksum::pseudo_header_v6(src, dst, proto, length),
        }
    }

    /// True for [`PseudoHeader::V6`].
    #[inline]
    pub fn is_ipv6(&self) -> bool {
        matches!(self, PseudoHeader::V6 { .. })
    }
}

impl From<(Ipv4Addr, Ipv4Addr)> for PseudoHeader {
    #[inline]
    fn from((src, dst): (Ipv4Addr, Ipv4Addr)) -> Self {
        PseudoHeader::V4 { src, dst }
    }
}

impl From<(Ipv6Addr, Ipv6Addr)> for PseudoHeader {
    #[inline]
    fn from((src, dst): (Ipv6Addr, Ipv6Addr)) -> Self {
        PseudoHeader::V6 { src, dst }
    }
}
