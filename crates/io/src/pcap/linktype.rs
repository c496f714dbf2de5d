//! Link types and their normalization to Ethernet II.
//!
//! | link type | header | EtherType of the synthesized header |
//! | --- | --- | --- |
//! | `ETHERNET` (1) | passes through | - |
//! | `LINUX_SLL` (113) | 16 bytes, protocol at 14 | the protocol field |
//! | `LINUX_SLL2` (276) | 20 bytes, protocol at 0 | the protocol field |
//! | `RAW` (101, and 12/14 from old files), `IPV4` (228), `IPV6` (229) | none | IP version nibble |
//! | `NULL` (0) | 4-byte family, capturing host's byte order | family |
//! | `LOOP` (108) | 4-byte family, big-endian | family |

use std::fmt;

use pcap_file::DataLink;

use super::error::NormalizeError;
use super::input::array;

/// Length of an Ethernet II header.
pub const ETHERNET_HEADER_LEN: usize = 14;

/// A pcap/pcapng link type (`LINKTYPE_*` from tcpdump.org/linktypes.html).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    /// BSD loopback: 4-byte address family in the capturing host's byte order.
    pub const NULL: LinkType = LinkType(0);
    /// Ethernet II / 802.3.
    pub const ETHERNET: LinkType = LinkType(1);
    /// `DLT_RAW` as written by old BSD/Linux libpcap: raw IP.
    pub const RAW_DLT12: LinkType = LinkType(12);
    /// `DLT_RAW` as written by old OpenBSD libpcap: raw IP.
    pub const RAW_DLT14: LinkType = LinkType(14);
    /// Raw IPv4 or IPv6, no link header.
    pub const RAW: LinkType = LinkType(101);
    /// OpenBSD loopback: 4-byte address family, big-endian.
    pub const LOOP: LinkType = LinkType(108);
    /// Linux cooked capture v1.
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// Raw IPv4.
    pub const IPV4: LinkType = LinkType(228);
    /// Raw IPv6.
    pub const IPV6: LinkType = LinkType(229);
    /// Linux cooked capture v2.
    pub const LINUX_SLL2: LinkType = LinkType(276);

    /// True for the link types [`normalize_to_ethernet`] understands.
    pub fn is_normalizable(self) -> bool {
        matches!(
            self,
            LinkType::NULL
                | LinkType::ETHERNET
                | LinkType::RAW_DLT12
                | LinkType::RAW_DLT14
                | LinkType::RAW
                | LinkType::LOOP
                | LinkType::LINUX_SLL
                | LinkType::IPV4
                | LinkType::IPV6
                | LinkType::LINUX_SLL2
        )
    }
}

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match DataLink::from(self.0) {
            DataLink::Unknown(n) => write!(f, "LINKTYPE {n}"),
            name => write!(f, "{name:?} ({})", self.0),
        }
    }
}

/// The addresses put into a synthesized Ethernet header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MacPair {
    /// Source MAC.
    pub src: [u8; 6],
    /// Destination MAC.
    pub dst: [u8; 6],
}

/// A record seen as an Ethernet II frame: an optional synthesized header, then a payload
/// borrowed from the record. With no header, the payload is the whole Ethernet frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Normalized<'a> {
    header: Option<[u8; ETHERNET_HEADER_LEN]>,
    payload: &'a [u8],
}

impl<'a> Normalized<'a> {
    /// The synthesized Ethernet header, `None` when the record already was Ethernet.
    pub fn header(&self) -> Option<&[u8; ETHERNET_HEADER_LEN]> {
        self.header.as_ref()
    }

    /// The bytes after the synthesized header (the whole frame for Ethernet records).
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// Length of the whole frame.
    pub fn len(&self) -> usize {
        self.header.map_or(0, |h| h.len()) + self.payload.len()
    }

    /// True when the frame has no bytes (never, for a successful normalization).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Copies the whole frame to the start of `out`; returns its length.
    ///
    /// # Errors
    /// [`NormalizeError::BufferTooSmall`] when `out` is shorter than [`Self::len`].
    pub fn copy_to(&self, out: &mut [u8]) -> Result<usize, NormalizeError> {
        let len = self.len();
        let available = out.len();
        let dst = out.get_mut(..len).ok_or(NormalizeError::BufferTooSmall {
            needed: len,
            available,
        })?;
        let (head, tail) = dst.split_at_mut(len - self.payload.len());
        if let Some(h) = &self.header {
            head.copy_from_slice(h);
        }
        tail.copy_from_slice(self.payload);
        Ok(len)
    }
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
/// ARPHRD_NETLINK: the SLL protocol field is a netlink family, not an EtherType.
const ARPHRD_NETLINK: u16 = 824;

/// Turns a record of link type `link` into an Ethernet II frame.
///
/// Ethernet passes through unchanged. Linux cooked (SLL, SLL2), raw IP and BSD/OpenBSD
/// loopback lose their link header and get a synthesized 14-byte header with `macs` and an
/// EtherType from the SLL protocol field, the IP version nibble or the loopback family.
///
/// # Errors
/// [`NormalizeError::UnknownLinkType`] for link types with no mapping (NFLOG, 802.11, ...);
/// the other variants when the link header is short or names no IPv4/IPv6/EtherType payload.
pub fn normalize_to_ethernet<'a>(
    link: LinkType,
    data: &'a [u8],
    macs: &MacPair,
) -> Result<Normalized<'a>, NormalizeError> {
    let (header_len, ethertype) = match link {
        LinkType::ETHERNET => {
            need(link, data, ETHERNET_HEADER_LEN)?;
            return Ok(Normalized {
                header: None,
                payload: data,
            });
        }
        LinkType::LINUX_SLL => {
            need(link, data, 16)?;
            let hatype = u16::from_be_bytes(array(data, 2));
            (
                16,
                sll_protocol(link, u16::from_be_bytes(array(data, 14)), hatype)?,
            )
        }
        LinkType::LINUX_SLL2 => {
            need(link, data, 20)?;
            let hatype = u16::from_be_bytes(array(data, 8));
            (
                20,
                sll_protocol(link, u16::from_be_bytes(array(data, 0)), hatype)?,
            )
        }
        LinkType::RAW | LinkType::RAW_DLT12 | LinkType::RAW_DLT14 => {
            need(link, data, 1)?;
            let version = data.first().map_or(0, |b| b >> 4);
            match version {
                4 => (0, ETHERTYPE_IPV4),
                6 => (0, ETHERTYPE_IPV6),
                _ => return Err(NormalizeError::UnknownIpVersion { link, version }),
            }
        }
        LinkType::IPV4 => (0, ETHERTYPE_IPV4),
        LinkType::IPV6 => (0, ETHERTYPE_IPV6),
        LinkType::NULL | LinkType::LOOP => {
            need(link, data, 4)?;
            let raw = array::<4>(data, 0);
            let family = if link == LinkType::LOOP {
                u32::from_be_bytes(raw)
            } else {
                // Host byte order of the capturing machine: families are small numbers, so
                // a value with high bits set was written by the other byte order.
                let le = u32::from_le_bytes(raw);
                if le & 0xffff_0000 != 0 {
                    le.swap_bytes()
                } else {
                    le
                }
            };
            (4, null_family(link, family)?)
        }
        _ => return Err(NormalizeError::UnknownLinkType(link)),
    };
    let payload = data.get(header_len..).unwrap_or_default();
    let mut header = [0u8; ETHERNET_HEADER_LEN];
    header[0..6].copy_from_slice(&macs.dst);
    header[6..12].copy_from_slice(&macs.src);
    header[12..14].copy_from_slice(&ethertype.to_be_bytes());
    Ok(Normalized {
        header: Some(header),
        payload,
    })
}

fn need(link: LinkType, data: &[u8], needed: usize) -> Result<(), NormalizeError> {
    if data.len() < needed {
        return Err(NormalizeError::Truncated {
            link,
            len: data.len(),
            needed,
        });
    }
    Ok(())
}

fn sll_protocol(link: LinkType, protocol: u16, hatype: u16) -> Result<u16, NormalizeError> {
    // Values below 0x0600 are 802.3 lengths / Linux pseudo-protocols (ETH_P_802_2, CAN...).
    if protocol < 0x0600 || hatype == ARPHRD_NETLINK {
        return Err(NormalizeError::NotEtherType {
            link,
            protocol,
            hatype,
        });
    }
    Ok(protocol)
}

fn null_family(link: LinkType, family: u32) -> Result<u16, NormalizeError> {
    match family {
        2 => Ok(ETHERTYPE_IPV4),
        // AF_INET6 on Linux, Windows, Open/NetBSD, FreeBSD/DragonFly, macOS.
        10 | 23 | 24 | 28 | 30 => Ok(ETHERTYPE_IPV6),
        _ => Err(NormalizeError::UnknownAddressFamily { link, family }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MACS: MacPair = MacPair {
        src: [2, 0, 0, 0, 0, 1],
        dst: [2, 0, 0, 0, 0, 2],
    };

    fn frame(n: &Normalized<'_>) -> Vec<u8> {
        let mut out = vec![0u8; n.len()];
        assert_eq!(n.copy_to(&mut out), Ok(n.len()));
        out
    }

    fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
        v.extend_from_slice(&ethertype.to_be_bytes());
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn ethernet_passes_through() {
        let data = eth(0x0806, &[1, 2, 3]);
        let n = normalize_to_ethernet(LinkType::ETHERNET, &data, &MacPair::default()).unwrap();
        assert!(n.header().is_none());
        assert_eq!(frame(&n), data);
    }

    #[test]
    fn sll_uses_protocol_field() {
        let mut data = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x86, 0xdd];
        data.extend_from_slice(&[0x60, 0, 0, 0]);
        let n = normalize_to_ethernet(LinkType::LINUX_SLL, &data, &MACS).unwrap();
        assert_eq!(frame(&n), eth(0x86dd, &[0x60, 0, 0, 0]));
    }

    #[test]
    fn sll_llc_is_not_an_ethertype() {
        let data = [0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x00, 0x04, 0xaa];
        assert_eq!(
            normalize_to_ethernet(LinkType::LINUX_SLL, &data, &MACS),
            Err(NormalizeError::NotEtherType {
                link: LinkType::LINUX_SLL,
                protocol: 4,
                hatype: 1
            })
        );
    }

    #[test]
    fn sll2_uses_protocol_field() {
        let mut data = vec![
            0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0,
        ];
        data.extend_from_slice(&[0x45, 0]);
        let n = normalize_to_ethernet(LinkType::LINUX_SLL2, &data, &MACS).unwrap();
        assert_eq!(frame(&n), eth(0x0800, &[0x45, 0]));
    }

    #[test]
    fn raw_uses_version_nibble() {
        for link in [LinkType::RAW, LinkType::RAW_DLT12, LinkType::RAW_DLT14] {
            let n = normalize_to_ethernet(link, &[0x45, 1], &MACS).unwrap();
            assert_eq!(frame(&n), eth(0x0800, &[0x45, 1]));
            let n = normalize_to_ethernet(link, &[0x60, 1], &MACS).unwrap();
            assert_eq!(frame(&n), eth(0x86dd, &[0x60, 1]));
            assert_eq!(
                normalize_to_ethernet(link, &[0x50], &MACS),
                Err(NormalizeError::UnknownIpVersion { link, version: 5 })
            );
            assert!(matches!(
                normalize_to_ethernet(link, &[], &MACS),
                Err(NormalizeError::Truncated { .. })
            ));
        }
    }

    #[test]
    fn null_family_in_either_byte_order() {
        let n = normalize_to_ethernet(LinkType::NULL, &[2, 0, 0, 0, 0x45], &MACS).unwrap();
        assert_eq!(frame(&n), eth(0x0800, &[0x45]));
        let n = normalize_to_ethernet(LinkType::NULL, &[0, 0, 0, 30, 0x60], &MACS).unwrap();
        assert_eq!(frame(&n), eth(0x86dd, &[0x60]));
        let n = normalize_to_ethernet(LinkType::LOOP, &[0, 0, 0, 24, 0x60], &MACS).unwrap();
        assert_eq!(frame(&n), eth(0x86dd, &[0x60]));
        assert_eq!(
            normalize_to_ethernet(LinkType::LOOP, &[7, 0, 0, 0], &MACS),
            Err(NormalizeError::UnknownAddressFamily {
                link: LinkType::LOOP,
                family: 0x0700_0000
            })
        );
    }

    #[test]
    fn unknown_link_type_is_an_error() {
        assert_eq!(
            normalize_to_ethernet(LinkType(239), &[0; 64], &MACS),
            Err(NormalizeError::UnknownLinkType(LinkType(239)))
        );
        assert_eq!(LinkType(239).to_string(), "NFLOG (239)");
        assert_eq!(LinkType(60000).to_string(), "LINKTYPE 60000");
    }

    #[test]
    fn short_headers_are_errors() {
        for (link, len) in [
            (LinkType::ETHERNET, 14),
            (LinkType::LINUX_SLL, 16),
            (LinkType::LINUX_SLL2, 20),
            (LinkType::NULL, 4),
        ] {
            let data = vec![0u8; len - 1];
            assert_eq!(
                normalize_to_ethernet(link, &data, &MACS),
                Err(NormalizeError::Truncated {
                    link,
                    len: len - 1,
                    needed: len
                })
            );
        }
    }

    #[test]
    fn copy_to_checks_the_buffer() {
        let n = normalize_to_ethernet(LinkType::RAW, &[0x45; 20], &MACS).unwrap();
        let mut small = [0u8; 33];
        assert_eq!(
            n.copy_to(&mut small),
            Err(NormalizeError::BufferTooSmall {
                needed: 34,
                available: 33
            })
        );
    }
}
