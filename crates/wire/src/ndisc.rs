//! Neighbor Discovery for IPv6 (RFC 4861): router solicitation and advertisement, neighbor
//! solicitation and advertisement, redirect, and their options.
//!
//! The messages travel in ICMPv6, so their fields are read through accessors on
//! [`Icmpv6Packet`] added here. [`NdiscRepr`] keeps its options as the validated raw bytes:
//! parsing and emitting never allocate, and [`NdiscOptions`] walks them on demand. Build an
//! options area with [`NdiscOption::emit`] into a stack buffer.
//!
//! Option rules (RFC 4861 §4.6): the length byte counts 8-octet units; a length of 0 is
//! [`Error::Malformed`] (and the whole message must be dropped, §6.1, §7.1); an option that
//! runs past the end of the message is [`Error::Truncated`].

use core::net::Ipv6Addr;

use crate::icmpv6::{field as icmp_field, Icmpv6Message, Icmpv6Packet};
use crate::{read_u16, read_u32, write_u16, write_u32, Error, Result};

mod field {
    use crate::Field;
    // Router advertisement.
    pub const CUR_HOP_LIMIT: usize = 4;
    pub const ROUTER_FLAGS: usize = 5;
    pub const ROUTER_LIFETIME: Field = 6..8;
    pub const REACHABLE_TIME: Field = 8..12;
    pub const RETRANS_TIME: Field = 12..16;
    // Neighbor solicitation / advertisement / redirect.
    pub const NEIGH_FLAGS: usize = 4;
    pub const TARGET_ADDR: Field = 8..24;
    pub const DEST_ADDR: Field = 24..40;

    pub const RS_OPTIONS: usize = 8;
    pub const RA_OPTIONS: usize = 16;
    pub const NS_NA_OPTIONS: usize = 24;
    pub const REDIRECT_OPTIONS: usize = 40;

    // Option types.
    pub const OPT_SOURCE_LLADDR: u8 = 1;
    pub const OPT_TARGET_LLADDR: u8 = 2;
    pub const OPT_PREFIX_INFO: u8 = 3;
    pub const OPT_REDIRECTED_HDR: u8 = 4;
    pub const OPT_MTU: u8 = 5;

    // Prefix information option layout (from the option's start).
    pub const PREFIX_LEN: usize = 2;
    pub const PREFIX_FLAGS: usize = 3;
    pub const VALID_LIFETIME: usize = 4;
    pub const PREFERRED_LIFETIME: usize = 8;
    pub const PREFIX: usize = 16;
}

/// Fixed length (ICMPv6 header included) of a Neighbor Discovery message of type `ty`, or
/// the plain ICMPv6 header length for other types.
#[inline]
pub(crate) fn body_len(ty: Icmpv6Message) -> usize {
    match ty {
        Icmpv6Message::RouterSolicit => field::RS_OPTIONS,
        Icmpv6Message::RouterAdvert => field::RA_OPTIONS,
        Icmpv6Message::NeighborSolicit | Icmpv6Message::NeighborAdvert => field::NS_NA_OPTIONS,
        Icmpv6Message::Redirect => field::REDIRECT_OPTIONS,
        _ => icmp_field::DATA,
    }
}

#[inline]
fn get_u32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4).map_or(0, |s| read_u32(s, 0))
}

#[inline]
fn get_addr(b: &[u8], at: usize) -> Ipv6Addr {
    b.get(at..at + 16)
        .and_then(|s| <[u8; 16]>::try_from(s).ok())
        .map_or(Ipv6Addr::UNSPECIFIED, Ipv6Addr::from)
}

/// Router advertisement flags (RFC 4861 §4.2, RFC 4191 preference, RFC 3775 home agent).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RouterFlags(pub u8);

impl RouterFlags {
    /// M: addresses are available via DHCPv6.
    pub const MANAGED: RouterFlags = RouterFlags(0x80);
    /// O: other configuration is available via DHCPv6.
    pub const OTHER: RouterFlags = RouterFlags(0x40);

    /// True if every bit of `other` is set.
    #[inline]
    pub const fn contains(self, other: RouterFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

/// Neighbor advertisement flags (RFC 4861 §4.4).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NeighborFlags(pub u8);

impl NeighborFlags {
    /// R: the sender is a router.
    pub const ROUTER: NeighborFlags = NeighborFlags(0x80);
    /// S: sent in response to a neighbor solicitation.
    pub const SOLICITED: NeighborFlags = NeighborFlags(0x40);
    /// O: override an existing cache entry.
    pub const OVERRIDE: NeighborFlags = NeighborFlags(0x20);

    /// True if every bit of `other` is set.
    #[inline]
    pub const fn contains(self, other: NeighborFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl core::ops::BitOr for NeighborFlags {
    type Output = NeighborFlags;
    #[inline]
    fn bitor(self, rhs: NeighborFlags) -> NeighborFlags {
        NeighborFlags(self.0 | rhs.0)
    }
}

/// Prefix information flags (RFC 4861 §4.6.2).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PrefixFlags(pub u8);

impl PrefixFlags {
    /// L: the prefix is on-link.
    pub const ON_LINK: PrefixFlags = PrefixFlags(0x80);
    /// A: the prefix can be used for SLAAC.
    pub const AUTONOMOUS: PrefixFlags = PrefixFlags(0x40);

    /// True if every bit of `other` is set.
    #[inline]
    pub const fn contains(self, other: PrefixFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

/// The prefix information option (type 3, RFC 4861 §4.6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PrefixInfo {
    /// Number of leading bits of `prefix` that are valid.
    pub prefix_len: u8,
    /// L and A flags.
    pub flags: PrefixFlags,
    /// Valid lifetime in seconds (all ones = infinity).
    pub valid_lifetime: u32,
    /// Preferred lifetime in seconds (all ones = infinity).
    pub preferred_lifetime: u32,
    /// The prefix.
    pub prefix: Ipv6Addr,
}

/// One Neighbor Discovery option, borrowed from the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NdiscOption<'a> {
    /// Source link-layer address (type 1): the bytes after the length byte, padding
    /// included (6 bytes on Ethernet).
    SourceLinkLayerAddr(&'a [u8]),
    /// Target link-layer address (type 2), as above.
    TargetLinkLayerAddr(&'a [u8]),
    /// Prefix information (type 3).
    PrefixInformation(PrefixInfo),
    /// Redirected header (type 4): the IP header and data of the redirected packet (after
    /// the 6 reserved bytes).
    RedirectedHeader(&'a [u8]),
    /// Link MTU (type 5).
    Mtu(u32),
    /// Any other option: its type and the bytes after the length byte.
    Unknown {
        /// Option type.
        kind: u8,
        /// Option data (without type and length).
        data: &'a [u8],
    },
}

impl NdiscOption<'_> {
    /// Bytes the option occupies on the wire: a multiple of 8.
    #[inline]
    pub fn buffer_len(&self) -> usize {
        let raw = match self {
            NdiscOption::SourceLinkLayerAddr(a) | NdiscOption::TargetLinkLayerAddr(a) => {
                2 + a.len()
            }
            NdiscOption::PrefixInformation(_) => 32,
            NdiscOption::RedirectedHeader(h) => 8 + h.len(),
            NdiscOption::Mtu(_) => 8,
            NdiscOption::Unknown { data, .. } => 2 + data.len(),
        };
        raw.next_multiple_of(8)
    }

    /// Writes the option, zero-padded to 8 octets, at the start of `buf`; returns the bytes
    /// written.
    ///
    /// # Panics
    /// If `buf` is shorter than [`buffer_len`](Self::buffer_len), or the option is longer
    /// than 2,040 bytes.
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let len = self.buffer_len();
        let out = &mut buf[..len];
        out.fill(0);
        out[1] = (len / 8) as u8;
        match *self {
            NdiscOption::SourceLinkLayerAddr(a) | NdiscOption::TargetLinkLayerAddr(a) => {
                out[0] = if matches!(self, NdiscOption::SourceLinkLayerAddr(_)) {
                    field::OPT_SOURCE_LLADDR
                } else {
                    field::OPT_TARGET_LLADDR
                };
                out[2..2 + a.len()].copy_from_slice(a);
            }
            NdiscOption::PrefixInformation(p) => {
                out[0] = field::OPT_PREFIX_INFO;
                out[field::PREFIX_LEN] = p.prefix_len;
                out[field::PREFIX_FLAGS] = p.flags.0;
                write_u32(out, field::VALID_LIFETIME, p.valid_lifetime);
                write_u32(out, field::PREFERRED_LIFETIME, p.preferred_lifetime);
                out[field::PREFIX..field::PREFIX + 16].copy_from_slice(&p.prefix.octets());
            }
            NdiscOption::RedirectedHeader(h) => {
                out[0] = field::OPT_REDIRECTED_HDR;
                out[8..8 + h.len()].copy_from_slice(h);
            }
            NdiscOption::Mtu(m) => {
                out[0] = field::OPT_MTU;
                write_u32(out, 4, m);
            }
            NdiscOption::Unknown { kind, data } => {
                out[0] = kind;
                out[2..2 + data.len()].copy_from_slice(data);
            }
        }
        len
    }
}

/// A zero-allocation iterator over Neighbor Discovery options (RFC 4861 §4.6).
///
/// Yields `Err(Error::Malformed)` for a zero length or a known option with the wrong
/// length (prefix information 4, MTU 1), `Err(Error::Truncated)` when an option runs past
/// the end; after an error it stops.
#[derive(Debug, Clone)]
pub struct NdiscOptions<'a> {
    rest: &'a [u8],
}

impl<'a> NdiscOptions<'a> {
    /// Walks `options`: the bytes after the fixed part of a Neighbor Discovery message.
    #[inline]
    pub const fn new(options: &'a [u8]) -> Self {
        NdiscOptions { rest: options }
    }

    /// Walks every option and returns the first error, if any.
    #[inline]
    pub fn validate(self) -> Result<()> {
        for o in self {
            o?;
        }
        Ok(())
    }

    /// The first source link-layer address option, if any (stops at a malformed option).
    #[inline]
    pub fn source_lladdr(self) -> Option<&'a [u8]> {
        self.map_while(|o| o.ok()).find_map(|o| match o {
            NdiscOption::SourceLinkLayerAddr(a) => Some(a),
            _ => None,
        })
    }

    /// The first target link-layer address option, if any (stops at a malformed option).
    #[inline]
    pub fn target_lladdr(self) -> Option<&'a [u8]> {
        self.map_while(|o| o.ok()).find_map(|o| match o {
            NdiscOption::TargetLinkLayerAddr(a) => Some(a),
            _ => None,
        })
    }
}

impl<'a> Iterator for NdiscOptions<'a> {
    type Item = Result<NdiscOption<'a>>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let fail = |s: &mut Self, e| {
            s.rest = &[];
            Some(Err(e))
        };
        let Some(&units) = self.rest.get(1) else {
            return fail(self, Error::Truncated);
        };
        let kind = self.rest[0];
        let len = usize::from(units) * 8;
        if len == 0 {
            return fail(self, Error::Malformed);
        }
        let Some(opt) = self.rest.get(..len) else {
            return fail(self, Error::Truncated);
        };
        let o = match (kind, units) {
            (field::OPT_SOURCE_LLADDR, _) => NdiscOption::SourceLinkLayerAddr(&opt[2..]),
            (field::OPT_TARGET_LLADDR, _) => NdiscOption::TargetLinkLayerAddr(&opt[2..]),
            (field::OPT_PREFIX_INFO, 4) => NdiscOption::PrefixInformation(PrefixInfo {
                prefix_len: opt[field::PREFIX_LEN],
                flags: PrefixFlags(opt[field::PREFIX_FLAGS]),
                valid_lifetime: read_u32(opt, field::VALID_LIFETIME),
                preferred_lifetime: read_u32(opt, field::PREFERRED_LIFETIME),
                prefix: get_addr(opt, field::PREFIX),
            }),
            (field::OPT_REDIRECTED_HDR, _) => NdiscOption::RedirectedHeader(&opt[8..]),
            (field::OPT_MTU, 1) => NdiscOption::Mtu(read_u32(opt, 4)),
            (field::OPT_PREFIX_INFO | field::OPT_MTU, _) => return fail(self, Error::Malformed),
            _ => NdiscOption::Unknown {
                kind,
                data: &opt[2..],
            },
        };
        self.rest = &self.rest[len..];
        Some(Ok(o))
    }
}

/// Neighbor Discovery accessors. On a checked view of the matching type they read the
/// field; on another type they read whatever lies at the offset, or zero past the end.
impl<T: AsRef<[u8]>> Icmpv6Packet<T> {
    /// Cur hop limit (router advertisement).
    #[inline]
    pub fn cur_hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::CUR_HOP_LIMIT]
    }

    /// M/O flags (router advertisement).
    #[inline]
    pub fn router_flags(&self) -> RouterFlags {
        RouterFlags(self.buffer.as_ref()[field::ROUTER_FLAGS])
    }

    /// Router lifetime in seconds; 0 = not a default router (router advertisement).
    #[inline]
    pub fn router_lifetime(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::ROUTER_LIFETIME.start)
    }

    /// Reachable time in milliseconds (router advertisement).
    #[inline]
    pub fn reachable_time(&self) -> u32 {
        get_u32(self.buffer.as_ref(), field::REACHABLE_TIME.start)
    }

    /// Retransmission timer in milliseconds (router advertisement).
    #[inline]
    pub fn retrans_time(&self) -> u32 {
        get_u32(self.buffer.as_ref(), field::RETRANS_TIME.start)
    }

    /// R/S/O flags (neighbor advertisement).
    #[inline]
    pub fn neighbor_flags(&self) -> NeighborFlags {
        NeighborFlags(self.buffer.as_ref()[field::NEIGH_FLAGS])
    }

    /// Target address (neighbor solicitation/advertisement, redirect).
    #[inline]
    pub fn target_addr(&self) -> Ipv6Addr {
        get_addr(self.buffer.as_ref(), field::TARGET_ADDR.start)
    }

    /// Destination address (redirect).
    #[inline]
    pub fn dest_addr(&self) -> Ipv6Addr {
        get_addr(self.buffer.as_ref(), field::DEST_ADDR.start)
    }

    /// The options of a Neighbor Discovery message (empty for other types).
    #[inline]
    pub fn options(&self) -> NdiscOptions<'_> {
        let b = self.buffer.as_ref();
        let at = match self.msg_type() {
            Icmpv6Message::RouterSolicit
            | Icmpv6Message::RouterAdvert
            | Icmpv6Message::NeighborSolicit
            | Icmpv6Message::NeighborAdvert
            | Icmpv6Message::Redirect => body_len(self.msg_type()),
            _ => b.len(),
        };
        NdiscOptions::new(b.get(at..).unwrap_or(&[]))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv6Packet<T> {
    /// Sets the cur hop limit (router advertisement).
    #[inline]
    pub fn set_cur_hop_limit(&mut self, v: u8) {
        self.buffer.as_mut()[field::CUR_HOP_LIMIT] = v;
    }

    /// Sets the M/O flags (router advertisement).
    #[inline]
    pub fn set_router_flags(&mut self, v: RouterFlags) {
        self.buffer.as_mut()[field::ROUTER_FLAGS] = v.0;
    }

    /// Sets the router lifetime (router advertisement).
    #[inline]
    pub fn set_router_lifetime(&mut self, v: u16) {
        write_u16(self.buffer.as_mut(), field::ROUTER_LIFETIME.start, v)
    }

    /// Sets the reachable time (router advertisement; needs a 16-byte buffer).
    #[inline]
    pub fn set_reachable_time(&mut self, v: u32) {
        write_u32(self.buffer.as_mut(), field::REACHABLE_TIME.start, v)
    }

    /// Sets the retransmission timer (router advertisement; needs a 16-byte buffer).
    #[inline]
    pub fn set_retrans_time(&mut self, v: u32) {
        write_u32(self.buffer.as_mut(), field::RETRANS_TIME.start, v)
    }

    /// Sets the R/S/O flags and zeroes the reserved bytes (neighbor advertisement).
    #[inline]
    pub fn set_neighbor_flags(&mut self, v: NeighborFlags) {
        write_u32(
            self.buffer.as_mut(),
            field::NEIGH_FLAGS,
            u32::from(v.0) << 24,
        )
    }

    /// Sets the target address (needs a 24-byte buffer).
    #[inline]
    pub fn set_target_addr(&mut self, v: Ipv6Addr) {
        self.buffer.as_mut()[field::TARGET_ADDR].copy_from_slice(&v.octets());
    }

    /// Sets the redirect destination address (needs a 40-byte buffer).
    #[inline]
    pub fn set_dest_addr(&mut self, v: Ipv6Addr) {
        self.buffer.as_mut()[field::DEST_ADDR].copy_from_slice(&v.octets());
    }
}

/// The parsed meaning of a Neighbor Discovery message. Options are kept as their
/// validated raw bytes; walk them with [`NdiscRepr::options`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NdiscRepr<'a> {
    /// Router solicitation (RFC 4861 §4.1).
    RouterSolicit {
        /// Options (source link-layer address).
        options: &'a [u8],
    },
    /// Router advertisement (RFC 4861 §4.2).
    RouterAdvert {
        /// Hop limit hosts should use; 0 = unspecified.
        hop_limit: u8,
        /// M/O flags.
        flags: RouterFlags,
        /// Router lifetime in seconds.
        router_lifetime: u16,
        /// Reachable time in milliseconds; 0 = unspecified.
        reachable_time: u32,
        /// Retransmission timer in milliseconds; 0 = unspecified.
        retrans_time: u32,
        /// Options (source link-layer address, MTU, prefix information).
        options: &'a [u8],
    },
    /// Neighbor solicitation (RFC 4861 §4.3).
    NeighborSolicit {
        /// The address being resolved.
        target_addr: Ipv6Addr,
        /// Options (source link-layer address).
        options: &'a [u8],
    },
    /// Neighbor advertisement (RFC 4861 §4.4).
    NeighborAdvert {
        /// R/S/O flags (the reserved bits are kept as received).
        flags: NeighborFlags,
        /// The address whose link-layer address is advertised.
        target_addr: Ipv6Addr,
        /// Options (target link-layer address).
        options: &'a [u8],
    },
    /// Redirect (RFC 4861 §4.5).
    Redirect {
        /// The better first hop.
        target_addr: Ipv6Addr,
        /// The destination being redirected.
        dest_addr: Ipv6Addr,
        /// Options (target link-layer address, redirected header).
        options: &'a [u8],
    },
}

impl<'a> NdiscRepr<'a> {
    /// Parses the Neighbor Discovery message in a checked view (its checksum is verified by
    /// [`crate::icmpv6::Icmpv6Repr::parse`]).
    ///
    /// Errors: [`Error::Unsupported`] if the type is not Neighbor Discovery;
    /// [`Error::Malformed`] if the code is not 0 (RFC 4861 §6.1.1, §7.1.1, §8.1) or an option
    /// has length 0; [`Error::Truncated`] if an option runs past the end.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Icmpv6Packet<&'a T>) -> Result<Self> {
        packet.check_len()?;
        if packet.msg_code() != 0 {
            return Err(Error::Malformed);
        }
        let b: &'a [u8] = packet.buffer.as_ref();
        let ty = packet.msg_type();
        let options = b.get(body_len(ty)..).unwrap_or(&[]);
        let repr = match ty {
            Icmpv6Message::RouterSolicit => NdiscRepr::RouterSolicit { options },
            Icmpv6Message::RouterAdvert => NdiscRepr::RouterAdvert {
                hop_limit: packet.cur_hop_limit(),
                flags: packet.router_flags(),
                router_lifetime: packet.router_lifetime(),
                reachable_time: packet.reachable_time(),
                retrans_time: packet.retrans_time(),
                options,
            },
            Icmpv6Message::NeighborSolicit => NdiscRepr::NeighborSolicit {
                target_addr: packet.target_addr(),
                options,
            },
            Icmpv6Message::NeighborAdvert => NdiscRepr::NeighborAdvert {
                flags: packet.neighbor_flags(),
                target_addr: packet.target_addr(),
                options,
            },
            Icmpv6Message::Redirect => NdiscRepr::Redirect {
                target_addr: packet.target_addr(),
                dest_addr: packet.dest_addr(),
                options,
            },
            _ => return Err(Error::Unsupported),
        };
        NdiscOptions::new(options).validate()?;
        Ok(repr)
    }

    /// The raw options bytes.
    #[inline]
    pub fn options_raw(&self) -> &'a [u8] {
        match *self {
            NdiscRepr::RouterSolicit { options }
            | NdiscRepr::RouterAdvert { options, .. }
            | NdiscRepr::NeighborSolicit { options, .. }
            | NdiscRepr::NeighborAdvert { options, .. }
            | NdiscRepr::Redirect { options, .. } => options,
        }
    }

    /// An iterator over the options.
    #[inline]
    pub fn options(&self) -> NdiscOptions<'a> {
        NdiscOptions::new(self.options_raw())
    }

    /// The ICMPv6 type of this message.
    #[inline]
    pub fn msg_type(&self) -> Icmpv6Message {
        match self {
            NdiscRepr::RouterSolicit { .. } => Icmpv6Message::RouterSolicit,
            NdiscRepr::RouterAdvert { .. } => Icmpv6Message::RouterAdvert,
            NdiscRepr::NeighborSolicit { .. } => Icmpv6Message::NeighborSolicit,
            NdiscRepr::NeighborAdvert { .. } => Icmpv6Message::NeighborAdvert,
            NdiscRepr::Redirect { .. } => Icmpv6Message::Redirect,
        }
    }

    /// Bytes the message occupies, ICMPv6 header included.
    #[inline]
    pub fn buffer_len(&self) -> usize {
        body_len(self.msg_type()) + self.options_raw().len()
    }

    /// Writes the ICMPv6 type and code, the fixed body and the options; the caller fills
    /// the checksum ([`crate::icmpv6::Icmpv6Repr::emit`] does).
    ///
    /// # Panics
    /// If the buffer is shorter than [`buffer_len`](Self::buffer_len).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Icmpv6Packet<T>) {
        packet.set_msg_type(self.msg_type());
        packet.set_msg_code(0);
        packet.clear_reserved();
        match *self {
            NdiscRepr::RouterSolicit { .. } => {}
            NdiscRepr::RouterAdvert {
                hop_limit,
                flags,
                router_lifetime,
                reachable_time,
                retrans_time,
                ..
            } => {
                packet.set_cur_hop_limit(hop_limit);
                packet.set_router_flags(flags);
                packet.set_router_lifetime(router_lifetime);
                packet.set_reachable_time(reachable_time);
                packet.set_retrans_time(retrans_time);
            }
            NdiscRepr::NeighborSolicit { target_addr, .. } => packet.set_target_addr(target_addr),
            NdiscRepr::NeighborAdvert {
                flags, target_addr, ..
            } => {
                packet.set_neighbor_flags(flags);
                packet.set_target_addr(target_addr);
            }
            NdiscRepr::Redirect {
                target_addr,
                dest_addr,
                ..
            } => {
                packet.set_target_addr(target_addr);
                packet.set_dest_addr(dest_addr);
            }
        }
        let at = body_len(self.msg_type());
        let opts = self.options_raw();
        packet.buffer.as_mut()[at..at + opts.len()].copy_from_slice(opts);
    }
}
