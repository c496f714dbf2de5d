//! IPv6 extension headers (RFC 8200 §4) and the walk over them.
//!
//! * [`Ipv6ExtHeader`]: the generic `next header, hdr ext len, data` layout shared by
//!   hop-by-hop options (0), routing (43) and destination options (60); its
//!   [`Ipv6ExtHeader::options`] iterates the TLV options of hop-by-hop and destination
//!   options headers (RFC 8200 §4.2) with Pad1 and PadN.
//! * [`Ipv6RoutingHeader`]: routing type and segments left (RFC 8200 §4.4).
//! * [`Ipv6FragmentHeader`] / [`Ipv6FragmentRepr`]: offset, M flag, identification
//!   (RFC 8200 §4.5).
//! * [`walk`]: follows next-header through those four kinds, at most [`MAX_EXT_HEADERS`],
//!   and reports the upper-layer protocol, where it starts, and the fragment and routing
//!   headers met on the way ([`ExtChain`]). No allocation.

use crate::{read_u16, read_u32, write_u16, write_u32, Error, IpProtocol, Result};

/// The most extension headers [`walk`] follows; one more is [`Error::TooLong`].
///
/// RFC 8200 §4.1 allows each header once (destination options twice), so a legitimate
/// chain of these four kinds has at most five.
pub const MAX_EXT_HEADERS: usize = 8;

/// `true` for the next-header values [`walk`] steps over: hop-by-hop (0), routing (43),
/// fragment (44) and destination options (60).
#[inline]
pub const fn is_ext_header(nh: IpProtocol) -> bool {
    matches!(
        nh,
        IpProtocol::HopByHop | IpProtocol::Ipv6Route | IpProtocol::Ipv6Frag | IpProtocol::Ipv6Opts
    )
}

mod field {
    use crate::Field;
    pub const NXT_HDR: usize = 0;
    pub const LENGTH: usize = 1;
    pub const DATA_START: usize = 2;
    // Routing header.
    pub const ROUTING_TYPE: usize = 2;
    pub const SEG_LEFT: usize = 3;
    pub const ROUTING_DATA: usize = 4;
    // Fragment header.
    pub const RESERVED: usize = 1;
    pub const FR_OF_M: Field = 2..4;
    pub const IDENT: Field = 4..8;
}

/// Smallest extension header: 8 bytes.
pub const MIN_HEADER_LEN: usize = 8;
/// Length of a fragment header.
pub const FRAGMENT_HEADER_LEN: usize = 8;

/// A view of a hop-by-hop, destination options or routing header: next header, length in
/// 8-octet units not counting the first 8, and the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6ExtHeader<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv6ExtHeader<T> {
    /// Wraps a buffer without checking it.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Ipv6ExtHeader<T> {
        Ipv6ExtHeader { buffer }
    }

    /// Wraps a buffer and runs [`Self::check_len`].
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Ipv6ExtHeader<T>> {
        let h = Self::new_unchecked(buffer);
        h.check_len()?;
        Ok(h)
    }

    /// `Err(Truncated)` if the buffer is shorter than 8 bytes or than the header length
    /// `(hdr_ext_len + 1) * 8`.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let b = self.buffer.as_ref();
        if b.len() < MIN_HEADER_LEN || b.len() < self.header_len() {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// Gives the buffer back.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The header after this one.
    #[inline]
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::NXT_HDR])
    }

    /// The raw `Hdr Ext Len` field.
    #[inline]
    pub fn header_len_field(&self) -> u8 {
        self.buffer.as_ref()[field::LENGTH]
    }

    /// Length of the whole header in bytes: `(hdr_ext_len + 1) * 8`, 8..=2048.
    #[inline]
    pub fn header_len(&self) -> usize {
        (usize::from(self.header_len_field()) + 1) * 8
    }

    /// The bytes after next-header and length, up to the end of the header.
    #[inline]
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[field::DATA_START..self.header_len()]
    }

    /// The TLV options of a hop-by-hop or destination options header.
    #[inline]
    pub fn options(&self) -> Ipv6OptionIter<'_> {
        Ipv6OptionIter::new(self.data())
    }

    /// What follows the header.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6ExtHeader<T> {
    /// Sets the next header.
    #[inline]
    pub fn set_next_header(&mut self, v: IpProtocol) {
        self.buffer.as_mut()[field::NXT_HDR] = v.into();
    }

    /// Sets the raw `Hdr Ext Len` field; re-check the length afterwards.
    #[inline]
    pub fn set_header_len_field(&mut self, v: u8) {
        self.buffer.as_mut()[field::LENGTH] = v;
    }

    /// The data, writable.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        let end = self.header_len();
        &mut self.buffer.as_mut()[field::DATA_START..end]
    }
}

/// Option types of hop-by-hop and destination options headers (IANA "Destination Options
/// and Hop-by-Hop Options").
pub mod option_type {
    /// One byte of padding (RFC 8200 §4.2).
    pub const PAD1: u8 = 0;
    /// N bytes of padding (RFC 8200 §4.2).
    pub const PADN: u8 = 1;
    /// Router Alert (RFC 2711).
    pub const ROUTER_ALERT: u8 = 0x05;
    /// Jumbo Payload (RFC 2675).
    pub const JUMBO: u8 = 0xc2;

    /// What a node that does not know the option must do (the two high bits, RFC 8200
    /// §4.2): 0 skip, 1 discard, 2 discard and send ICMP, 3 discard and send ICMP unless
    /// the destination was multicast.
    #[inline]
    pub const fn action(kind: u8) -> u8 {
        kind >> 6
    }

    /// The option data may change en route (third-highest bit).
    #[inline]
    pub const fn may_change(kind: u8) -> bool {
        kind & 0x20 != 0
    }
}

/// One option of a hop-by-hop or destination options header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ipv6Option<'a> {
    /// Pad1: a single zero byte.
    Pad1,
    /// PadN: type, length, and `len` bytes of padding.
    PadN(u8),
    /// Any other option.
    Other {
        /// The option type byte.
        kind: u8,
        /// The option data.
        data: &'a [u8],
    },
}

impl Ipv6Option<'_> {
    /// The option type byte.
    #[inline]
    pub fn kind(&self) -> u8 {
        match *self {
            Ipv6Option::Pad1 => option_type::PAD1,
            Ipv6Option::PadN(_) => option_type::PADN,
            Ipv6Option::Other { kind, .. } => kind,
        }
    }

    /// Bytes the option takes.
    #[inline]
    pub fn len(&self) -> usize {
        match *self {
            Ipv6Option::Pad1 => 1,
            Ipv6Option::PadN(n) => usize::from(n) + 2,
            Ipv6Option::Other { data, .. } => data.len() + 2,
        }
    }

    /// Never true: every option takes at least one byte.
    #[inline]
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// Iterator over the options of a hop-by-hop or destination options header. Yields
/// `Err(Malformed)` once and stops when an option's length byte is missing or its data runs
/// past the header.
#[derive(Debug, Clone)]
pub struct Ipv6OptionIter<'a> {
    rest: &'a [u8],
}

impl<'a> Ipv6OptionIter<'a> {
    /// Iterates over `data`, the header bytes after next-header and length.
    #[inline]
    pub const fn new(data: &'a [u8]) -> Self {
        Ipv6OptionIter { rest: data }
    }
}

impl<'a> Iterator for Ipv6OptionIter<'a> {
    type Item = Result<Ipv6Option<'a>>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let (&kind, tail) = self.rest.split_first()?;
        if kind == option_type::PAD1 {
            self.rest = tail;
            return Some(Ok(Ipv6Option::Pad1));
        }
        let Some(&len) = tail.first() else {
            self.rest = &[];
            return Some(Err(Error::Malformed));
        };
        let end = 2 + usize::from(len);
        if end > self.rest.len() {
            self.rest = &[];
            return Some(Err(Error::Malformed));
        }
        let data = &self.rest[2..end];
        self.rest = &self.rest[end..];
        Some(Ok(if kind == option_type::PADN {
            Ipv6Option::PadN(len)
        } else {
            Ipv6Option::Other { kind, data }
        }))
    }
}

/// A view of a routing header (RFC 8200 §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6RoutingHeader<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv6RoutingHeader<T> {
    /// Wraps a buffer without checking it.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Ipv6RoutingHeader<T> {
        Ipv6RoutingHeader { buffer }
    }

    /// Wraps a buffer and runs [`Self::check_len`].
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Ipv6RoutingHeader<T>> {
        let h = Self::new_unchecked(buffer);
        h.check_len()?;
        Ok(h)
    }

    /// `Err(Truncated)` if the buffer is shorter than 8 bytes or than the header length.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let b = self.buffer.as_ref();
        if b.len() < MIN_HEADER_LEN || b.len() < self.header_len() {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// Gives the buffer back.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The header after this one.
    #[inline]
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::NXT_HDR])
    }

    /// Length of the whole header in bytes.
    #[inline]
    pub fn header_len(&self) -> usize {
        (usize::from(self.buffer.as_ref()[field::LENGTH]) + 1) * 8
    }

    /// Routing type (IANA: 0 deprecated RH0, 2 Mobile IPv6, 3 RPL, 4 Segment Routing).
    #[inline]
    pub fn routing_type(&self) -> u8 {
        self.buffer.as_ref()[field::ROUTING_TYPE]
    }

    /// Segments left: route segments still to visit.
    #[inline]
    pub fn segments_left(&self) -> u8 {
        self.buffer.as_ref()[field::SEG_LEFT]
    }

    /// The type-specific data after the first four bytes.
    #[inline]
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[field::ROUTING_DATA..self.header_len()]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6RoutingHeader<T> {
    /// Sets segments left (a router does this when it processes the header).
    #[inline]
    pub fn set_segments_left(&mut self, v: u8) {
        self.buffer.as_mut()[field::SEG_LEFT] = v;
    }

    /// Sets the routing type.
    #[inline]
    pub fn set_routing_type(&mut self, v: u8) {
        self.buffer.as_mut()[field::ROUTING_TYPE] = v;
    }

    /// Sets the next header.
    #[inline]
    pub fn set_next_header(&mut self, v: IpProtocol) {
        self.buffer.as_mut()[field::NXT_HDR] = v.into();
    }
}

/// A view of a fragment header (RFC 8200 §4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6FragmentHeader<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv6FragmentHeader<T> {
    /// Wraps a buffer without checking it.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Ipv6FragmentHeader<T> {
        Ipv6FragmentHeader { buffer }
    }

    /// Wraps a buffer and runs [`Self::check_len`].
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Ipv6FragmentHeader<T>> {
        let h = Self::new_unchecked(buffer);
        h.check_len()?;
        Ok(h)
    }

    /// `Err(Truncated)` if the buffer is shorter than 8 bytes.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < FRAGMENT_HEADER_LEN {
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

    /// The header of the fragmentable part.
    #[inline]
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::NXT_HDR])
    }

    /// The reserved byte after next header.
    #[inline]
    pub fn reserved(&self) -> u8 {
        self.buffer.as_ref()[field::RESERVED]
    }

    /// Fragment offset **in bytes** (the 13-bit field times 8).
    #[inline]
    pub fn frag_offset(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::FR_OF_M.start) & 0xfff8
    }

    /// The M flag: more fragments follow.
    #[inline]
    pub fn more_frags(&self) -> bool {
        read_u16(self.buffer.as_ref(), field::FR_OF_M.start) & 0x1 != 0
    }

    /// Identification.
    #[inline]
    pub fn ident(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::IDENT.start)
    }

    /// The fragment data after the header.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[FRAGMENT_HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6FragmentHeader<T> {
    /// Sets the next header.
    #[inline]
    pub fn set_next_header(&mut self, v: IpProtocol) {
        self.buffer.as_mut()[field::NXT_HDR] = v.into();
    }

    /// Clears the reserved byte and the two reserved bits.
    #[inline]
    pub fn clear_reserved(&mut self) {
        self.buffer.as_mut()[field::RESERVED] = 0;
        let v = read_u16(self.buffer.as_ref(), field::FR_OF_M.start) & 0xfff9;
        write_u16(self.buffer.as_mut(), field::FR_OF_M.start, v);
    }

    /// Sets the offset from a byte offset (rounded down to a multiple of 8).
    #[inline]
    pub fn set_frag_offset(&mut self, bytes: u16) {
        let v = (read_u16(self.buffer.as_ref(), field::FR_OF_M.start) & 0x0007) | (bytes & 0xfff8);
        write_u16(self.buffer.as_mut(), field::FR_OF_M.start, v);
    }

    /// Sets or clears the M flag.
    #[inline]
    pub fn set_more_frags(&mut self, on: bool) {
        let v = (read_u16(self.buffer.as_ref(), field::FR_OF_M.start) & 0xfffe) | u16::from(on);
        write_u16(self.buffer.as_mut(), field::FR_OF_M.start, v);
    }

    /// Sets the identification.
    #[inline]
    pub fn set_ident(&mut self, v: u32) {
        write_u32(self.buffer.as_mut(), field::IDENT.start, v);
    }
}

/// The meaning of a fragment header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6FragmentRepr {
    /// Header of the fragmentable part.
    pub next_header: IpProtocol,
    /// Offset in bytes (a multiple of 8).
    pub frag_offset: u16,
    /// More fragments follow.
    pub more_frags: bool,
    /// Identification.
    pub ident: u32,
}

impl Ipv6FragmentRepr {
    /// Reads a checked fragment header. Reserved bits are ignored (RFC 8200 §4.5).
    #[inline]
    pub fn parse<T: AsRef<[u8]>>(h: &Ipv6FragmentHeader<T>) -> Result<Ipv6FragmentRepr> {
        h.check_len()?;
        Ok(Ipv6FragmentRepr {
            next_header: h.next_header(),
            frag_offset: h.frag_offset(),
            more_frags: h.more_frags(),
            ident: h.ident(),
        })
    }

    /// Bytes [`Self::emit`] writes: 8.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        FRAGMENT_HEADER_LEN
    }

    /// Writes the header with zero reserved fields; the buffer must hold 8 bytes.
    #[inline]
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, h: &mut Ipv6FragmentHeader<T>) {
        h.set_next_header(self.next_header);
        h.clear_reserved();
        h.set_frag_offset(self.frag_offset);
        h.set_more_frags(self.more_frags);
        h.set_ident(self.ident);
    }
}

/// The fragment header met by [`walk`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FragmentInfo {
    /// Where the fragment header starts (same base as [`ExtChain::upper_offset`]).
    pub header_offset: usize,
    /// Offset of this fragment's data in the original packet, in bytes.
    pub frag_offset: u16,
    /// More fragments follow.
    pub more_frags: bool,
    /// Identification.
    pub ident: u32,
}

impl FragmentInfo {
    /// `true` for the first fragment (offset 0), the only one whose upper-layer header the
    /// walk can see.
    #[inline]
    pub const fn is_first(&self) -> bool {
        self.frag_offset == 0
    }

    /// `true` for an atomic fragment (offset 0, M clear; RFC 6946): a whole packet.
    #[inline]
    pub const fn is_atomic(&self) -> bool {
        self.frag_offset == 0 && !self.more_frags
    }
}

/// The routing header met by [`walk`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoutingInfo {
    /// Where the routing header starts (same base as [`ExtChain::upper_offset`]).
    pub header_offset: usize,
    /// Routing type.
    pub routing_type: u8,
    /// Segments left.
    pub segments_left: u8,
}

/// What [`walk`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExtChain {
    /// The first next-header value that is not one of the four walked kinds (TCP, UDP,
    /// ICMPv6, No Next Header, ESP, AH, anything unknown). For a non-first fragment it is
    /// the fragment header's next header, and `upper_offset` is where the fragment data
    /// starts: that data is *not* the upper-layer header.
    pub upper: IpProtocol,
    /// Where `upper` starts.
    pub upper_offset: usize,
    /// Number of extension headers stepped over.
    pub header_count: u8,
    /// `true` if the chain starts with a hop-by-hop options header (a router must look at
    /// it).
    pub hop_by_hop: bool,
    /// The first fragment header, if any.
    pub fragment: Option<FragmentInfo>,
    /// The first routing header, if any.
    pub routing: Option<RoutingInfo>,
}

/// Walks the extension headers of an IPv6 payload. `first` is the IPv6 header's next
/// header and `payload` the bytes after the fixed header (clipped to the payload length);
/// offsets in the result count from the start of `payload`.
///
/// Errors: `Truncated` if a header runs past the buffer; `Malformed` if a hop-by-hop header
/// is not first (RFC 8200 §4.3); `TooLong` after [`MAX_EXT_HEADERS`] headers.
#[inline]
pub fn walk(first: IpProtocol, payload: &[u8]) -> Result<ExtChain> {
    walk_from(payload, 0, first)
}

/// [`walk`] starting at `start` inside `buf`; offsets count from the start of `buf`.
pub(crate) fn walk_from(buf: &[u8], start: usize, first: IpProtocol) -> Result<ExtChain> {
    let mut chain = ExtChain {
        upper: first,
        upper_offset: start,
        header_count: 0,
        hop_by_hop: false,
        fragment: None,
        routing: None,
    };
    let mut nh = first;
    let mut at = start;
    while is_ext_header(nh) {
        if usize::from(chain.header_count) == MAX_EXT_HEADERS {
            return Err(Error::TooLong);
        }
        let Some(h) = buf.get(at..at + MIN_HEADER_LEN) else {
            return Err(Error::Truncated);
        };
        let next = IpProtocol::from(h[0]);
        let len = match nh {
            IpProtocol::Ipv6Frag => {
                let off_m = read_u16(h, 2);
                let info = FragmentInfo {
                    header_offset: at,
                    frag_offset: off_m & 0xfff8,
                    more_frags: off_m & 1 != 0,
                    ident: read_u32(h, 4),
                };
                chain.fragment.get_or_insert(info);
                if info.frag_offset != 0 {
                    // Later fragments carry only fragment data: stop here.
                    chain.header_count += 1;
                    chain.upper = next;
                    chain.upper_offset = at + FRAGMENT_HEADER_LEN;
                    return Ok(chain);
                }
                FRAGMENT_HEADER_LEN
            }
            _ => {
                if nh == IpProtocol::HopByHop {
                    if chain.header_count != 0 {
                        return Err(Error::Malformed);
                    }
                    chain.hop_by_hop = true;
                } else if nh == IpProtocol::Ipv6Route && chain.routing.is_none() {
                    chain.routing = Some(RoutingInfo {
                        header_offset: at,
                        routing_type: h[2],
                        segments_left: h[3],
                    });
                }
                (usize::from(h[1]) + 1) * 8
            }
        };
        if at + len > buf.len() {
            return Err(Error::Truncated);
        }
        at += len;
        nh = next;
        chain.header_count += 1;
    }
    chain.upper = nh;
    chain.upper_offset = at;
    Ok(chain)
}

/// Fuzz helper for [`super::fuzz`]: steps through the chain with the views (not the
/// walker), touching every accessor and option, and checks both agree.
pub(crate) fn fuzz_chain(first: IpProtocol, payload: &[u8]) {
    let walked = walk(first, payload);
    let mut nh = first;
    let mut at = 0usize;
    let mut n = 0;
    while is_ext_header(nh) && n < MAX_EXT_HEADERS {
        let rest = &payload[at..];
        if nh == IpProtocol::Ipv6Frag {
            let Ok(f) = Ipv6FragmentHeader::new_checked(rest) else {
                return;
            };
            let repr = Ipv6FragmentRepr::parse(&f).expect("checked");
            let mut b = [0u8; FRAGMENT_HEADER_LEN];
            repr.emit(&mut Ipv6FragmentHeader::new_unchecked(&mut b[..]));
            assert_eq!(
                Ipv6FragmentRepr::parse(&Ipv6FragmentHeader::new_unchecked(&b[..])),
                Ok(repr)
            );
            let _ = (f.reserved(), f.payload().len());
            if f.frag_offset() != 0 {
                return;
            }
            nh = f.next_header();
            at += FRAGMENT_HEADER_LEN;
        } else {
            let Ok(h) = Ipv6ExtHeader::new_checked(rest) else {
                return;
            };
            for o in h.options() {
                match o {
                    Ok(o) => {
                        let _ = (o.kind(), o.len(), option_type::action(o.kind()));
                    }
                    Err(_) => break,
                }
            }
            if nh == IpProtocol::Ipv6Route {
                let r = Ipv6RoutingHeader::new_checked(rest).expect("same length rule");
                let _ = (
                    r.routing_type(),
                    r.segments_left(),
                    r.data().len(),
                    r.next_header(),
                );
            }
            let _ = (h.data().len(), h.payload().len());
            nh = h.next_header();
            at += h.header_len();
        }
        n += 1;
    }
    if let Ok(c) = walked {
        if !is_ext_header(nh) {
            assert_eq!((c.upper, c.upper_offset), (nh, at));
        }
    }
}
