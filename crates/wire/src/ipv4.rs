//! IPv4 (RFC 791): the header view [`Ipv4Packet`], its options ([`Ipv4OptionIter`]),
//! [`Ipv4Repr`], and the prefix type [`Ipv4Cidr`].
//!
//! `check_len` makes every length field safe to follow: IHL >= 5, header <= buffer,
//! header <= total length <= buffer. [`Ipv4Packet::payload`] stops at the total length, so
//! the Ethernet padding of short frames never reaches the upper layer.

use core::fmt;
use core::net::Ipv4Addr;
use core::str::FromStr;

use crate::{checksum, read_u16, write_u16, Error, IpProtocol, Result};

mod field {
    use crate::Field;
    pub const VER_IHL: usize = 0;
    pub const DSCP_ECN: usize = 1;
    pub const LENGTH: Field = 2..4;
    pub const IDENT: Field = 4..6;
    pub const FLG_OFF: Field = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Field = 10..12;
    pub const SRC_ADDR: Field = 12..16;
    pub const DST_ADDR: Field = 16..20;
}

/// Length of a header without options.
pub const HEADER_LEN: usize = field::DST_ADDR.end;
/// Longest header: IHL 15.
pub const MAX_HEADER_LEN: usize = 60;
/// Most option bytes a header can carry.
pub const MAX_OPTIONS_LEN: usize = MAX_HEADER_LEN - HEADER_LEN;

const FLAG_RESERVED: u16 = 0x8000;
const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const OFFSET_MASK: u16 = 0x1fff;

/// A read/write view of an IPv4 packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Wraps a buffer without checking it.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Ipv4Packet<T> {
        Ipv4Packet { buffer }
    }

    /// Wraps a buffer and runs [`Self::check_len`].
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Ipv4Packet<T>> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks the length fields against each other and the buffer:
    ///
    /// * buffer < 20 bytes: `Truncated`;
    /// * IHL < 5: `Malformed`;
    /// * IHL * 4 > buffer: `Truncated`;
    /// * total length < IHL * 4: `Malformed`;
    /// * total length > buffer: `Truncated`.
    ///
    /// It does not look at the version (that is [`Ipv4Repr::parse`]'s job). Bytes after the
    /// total length (Ethernet padding) are allowed.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let b = self.buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let ihl = usize::from(b[field::VER_IHL] & 0x0f);
        if ihl < 5 {
            return Err(Error::Malformed);
        }
        let hlen = ihl * 4;
        if hlen > b.len() {
            return Err(Error::Truncated);
        }
        let total = usize::from(read_u16(b, field::LENGTH.start));
        if total < hlen {
            return Err(Error::Malformed);
        }
        if total > b.len() {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// Gives the buffer back.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The version field (4 for IPv4).
    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// Header length in bytes (IHL * 4), 20..=60 after `new_checked`.
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }

    /// Differentiated Services Code Point (RFC 2474), 0..=63.
    #[inline]
    pub fn dscp(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN] >> 2
    }

    /// Explicit Congestion Notification bits (RFC 3168), 0..=3.
    #[inline]
    pub fn ecn(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN] & 0x03
    }

    /// Total length of the datagram (header + payload).
    #[inline]
    pub fn total_len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::LENGTH.start)
    }

    /// Identification (for fragment reassembly).
    #[inline]
    pub fn ident(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::IDENT.start)
    }

    #[inline]
    fn flg_off(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::FLG_OFF.start)
    }

    /// The reserved flag bit (must be zero; RFC 3514 aside).
    #[inline]
    pub fn reserved_flag(&self) -> bool {
        self.flg_off() & FLAG_RESERVED != 0
    }

    /// Don't Fragment.
    #[inline]
    pub fn dont_frag(&self) -> bool {
        self.flg_off() & FLAG_DF != 0
    }

    /// More Fragments.
    #[inline]
    pub fn more_frags(&self) -> bool {
        self.flg_off() & FLAG_MF != 0
    }

    /// Fragment offset **in bytes** (the field times 8), 0..=65528.
    #[inline]
    pub fn frag_offset(&self) -> u16 {
        (self.flg_off() & OFFSET_MASK) << 3
    }

    /// `true` if this datagram is a fragment (MF set or a non-zero offset).
    #[inline]
    pub fn is_fragment(&self) -> bool {
        self.flg_off() & (FLAG_MF | OFFSET_MASK) != 0
    }

    /// Time to live.
    #[inline]
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    /// The upper-layer protocol.
    #[inline]
    pub fn protocol(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::PROTOCOL])
    }

    /// The header checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// Source address.
    #[inline]
    pub fn src_addr(&self) -> Ipv4Addr {
        let b = self.buffer.as_ref();
        Ipv4Addr::new(b[12], b[13], b[14], b[15])
    }

    /// Destination address.
    #[inline]
    pub fn dst_addr(&self) -> Ipv4Addr {
        let b = self.buffer.as_ref();
        Ipv4Addr::new(b[16], b[17], b[18], b[19])
    }

    /// `true` if the header checksum (RFC 791 §3.1, computed per RFC 1071) verifies.
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        let h = &self.buffer.as_ref()[..self.header_len()];
        // The usual option-less header as a fixed-size array: the sum compiles to five
        // straight-line adds instead of the variable-length tail steps.
        match <&[u8; HEADER_LEN]>::try_from(h) {
            Ok(h20) => checksum::data(h20) == 0xffff,
            Err(_) => checksum::data(h) == 0xffff,
        }
    }

    /// The option bytes between the fixed header and the payload (0..=40 bytes).
    #[inline]
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.header_len()]
    }

    /// Iterates over the options (RFC 791 §3.1).
    #[inline]
    pub fn options_iter(&self) -> Ipv4OptionIter<'_> {
        Ipv4OptionIter::new(self.options())
    }

    /// The payload, from the end of the header to the total length: link-layer padding
    /// after the datagram is left out.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        let range = self.header_len()..usize::from(self.total_len());
        &self.buffer.as_ref()[range]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    /// Sets the version field.
    #[inline]
    pub fn set_version(&mut self, v: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0x0f) | (v << 4);
    }

    /// Sets IHL from a header length in bytes (a multiple of 4 in 20..=60).
    #[inline]
    pub fn set_header_len(&mut self, len: usize) {
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0xf0) | ((len / 4) as u8 & 0x0f);
    }

    /// Sets the DSCP (masked to 6 bits).
    #[inline]
    pub fn set_dscp(&mut self, v: u8) {
        let b = &mut self.buffer.as_mut()[field::DSCP_ECN];
        *b = (*b & 0x03) | (v << 2);
    }

    /// Sets the ECN bits (masked to 2 bits).
    #[inline]
    pub fn set_ecn(&mut self, v: u8) {
        let b = &mut self.buffer.as_mut()[field::DSCP_ECN];
        *b = (*b & 0xfc) | (v & 0x03);
    }

    /// Sets the total length.
    #[inline]
    pub fn set_total_len(&mut self, v: u16) {
        write_u16(self.buffer.as_mut(), field::LENGTH.start, v);
    }

    /// Sets the identification.
    #[inline]
    pub fn set_ident(&mut self, v: u16) {
        write_u16(self.buffer.as_mut(), field::IDENT.start, v);
    }

    #[inline]
    fn set_flag(&mut self, flag: u16, on: bool) {
        let old = self.flg_off();
        let new = if on { old | flag } else { old & !flag };
        write_u16(self.buffer.as_mut(), field::FLG_OFF.start, new);
    }

    /// Clears all flags and the offset.
    #[inline]
    pub fn clear_flags(&mut self) {
        write_u16(self.buffer.as_mut(), field::FLG_OFF.start, 0);
    }

    /// Sets or clears Don't Fragment.
    #[inline]
    pub fn set_dont_frag(&mut self, on: bool) {
        self.set_flag(FLAG_DF, on);
    }

    /// Sets or clears More Fragments.
    #[inline]
    pub fn set_more_frags(&mut self, on: bool) {
        self.set_flag(FLAG_MF, on);
    }

    /// Sets the fragment offset from a byte offset (rounded down to a multiple of 8).
    #[inline]
    pub fn set_frag_offset(&mut self, bytes: u16) {
        let v = (self.flg_off() & !OFFSET_MASK) | (bytes >> 3);
        write_u16(self.buffer.as_mut(), field::FLG_OFF.start, v);
    }

    /// Sets the TTL.
    #[inline]
    pub fn set_ttl(&mut self, v: u8) {
        self.buffer.as_mut()[field::TTL] = v;
    }

    /// Sets the protocol.
    #[inline]
    pub fn set_protocol(&mut self, v: IpProtocol) {
        self.buffer.as_mut()[field::PROTOCOL] = v.into();
    }

    /// Sets the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, v: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM.start, v);
    }

    /// Sets the source address.
    #[inline]
    pub fn set_src_addr(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&a.octets());
    }

    /// Sets the destination address.
    #[inline]
    pub fn set_dst_addr(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&a.octets());
    }

    /// Computes and writes the header checksum over `header_len()` bytes.
    #[inline]
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let sum = checksum::data(&self.buffer.as_ref()[..self.header_len()]);
        self.set_checksum(checksum::finish(sum));
    }

    /// The forwarding step: TTL minus one with the checksum updated incrementally
    /// (RFC 1624 eqn. 3). Returns the new TTL; a TTL of 0 is left alone.
    #[inline]
    pub fn decrement_ttl(&mut self) -> u8 {
        let b = self.buffer.as_ref();
        let ttl = b[field::TTL];
        if ttl == 0 {
            return 0;
        }
        let old = read_u16(b, field::TTL);
        let new = old - 0x0100;
        let c = checksum::update(self.checksum(), old, new);
        self.set_ttl(ttl - 1);
        self.set_checksum(c);
        ttl - 1
    }

    /// The option bytes, writable.
    #[inline]
    pub fn options_mut(&mut self) -> &mut [u8] {
        let end = self.header_len();
        &mut self.buffer.as_mut()[HEADER_LEN..end]
    }

    /// The payload (up to the total length), writable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let range = self.header_len()..usize::from(self.total_len());
        &mut self.buffer.as_mut()[range]
    }
}

impl<T: AsRef<[u8]>> fmt::Display for Ipv4Packet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.check_len().is_err() {
            return f.write_str("IPv4 (malformed)");
        }
        write!(
            f,
            "IPv4 src={} dst={} proto={:?} len={} ttl={} id={:#06x}",
            self.src_addr(),
            self.dst_addr(),
            self.protocol(),
            self.total_len(),
            self.ttl(),
            self.ident()
        )?;
        if self.is_fragment() {
            write!(
                f,
                " frag off={} mf={}",
                self.frag_offset(),
                self.more_frags()
            )?;
        }
        Ok(())
    }
}

/// Option type numbers (IANA "IP Option Numbers"; the whole type octet).
pub mod option_kind {
    /// End of Option List (RFC 791).
    pub const END_OF_LIST: u8 = 0;
    /// No Operation (RFC 791).
    pub const NOP: u8 = 1;
    /// Record Route (RFC 791).
    pub const RECORD_ROUTE: u8 = 7;
    /// Timestamp (RFC 791).
    pub const TIMESTAMP: u8 = 68;
    /// Loose Source and Record Route (RFC 791).
    pub const LSRR: u8 = 131;
    /// Strict Source and Record Route (RFC 791).
    pub const SSRR: u8 = 137;
    /// Router Alert (RFC 2113).
    pub const ROUTER_ALERT: u8 = 148;

    /// The "copied" bit: the option goes into every fragment (RFC 791 §3.1).
    #[inline]
    pub const fn is_copied(kind: u8) -> bool {
        kind & 0x80 != 0
    }
}

/// One IPv4 option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ipv4Option<'a> {
    /// End of Option List (type 0): the rest of the options area is padding.
    EndOfList,
    /// No Operation (type 1), one byte of alignment.
    Nop,
    /// A type-length-value option; `data` excludes the type and length bytes.
    Other {
        /// The option type octet (copied flag, class and number).
        kind: u8,
        /// The option data (length field minus 2 bytes).
        data: &'a [u8],
    },
}

impl Ipv4Option<'_> {
    /// The option type octet.
    #[inline]
    pub fn kind(&self) -> u8 {
        match *self {
            Ipv4Option::EndOfList => option_kind::END_OF_LIST,
            Ipv4Option::Nop => option_kind::NOP,
            Ipv4Option::Other { kind, .. } => kind,
        }
    }

    /// Bytes the option takes in the header.
    #[inline]
    pub fn len(&self) -> usize {
        match *self {
            Ipv4Option::EndOfList | Ipv4Option::Nop => 1,
            Ipv4Option::Other { data, .. } => data.len() + 2,
        }
    }

    /// Never true: every option takes at least one byte. (Here for clippy's `len`
    /// convention.)
    #[inline]
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// Iterator over IPv4 options. Yields `Err(Malformed)` once, then stops, when a length
/// byte is missing, below 2, or runs past the options area. Stops after `EndOfList`.
#[derive(Debug, Clone)]
pub struct Ipv4OptionIter<'a> {
    rest: &'a [u8],
}

impl<'a> Ipv4OptionIter<'a> {
    /// Iterates over the option bytes `options` (the area after the fixed header).
    #[inline]
    pub const fn new(options: &'a [u8]) -> Self {
        Ipv4OptionIter { rest: options }
    }

    /// `Ok` if every option is well formed.
    #[inline]
    pub fn validate(self) -> Result<()> {
        for o in self {
            o?;
        }
        Ok(())
    }
}

impl<'a> Iterator for Ipv4OptionIter<'a> {
    type Item = Result<Ipv4Option<'a>>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let (&kind, tail) = self.rest.split_first()?;
        match kind {
            option_kind::END_OF_LIST => {
                self.rest = &[];
                Some(Ok(Ipv4Option::EndOfList))
            }
            option_kind::NOP => {
                self.rest = tail;
                Some(Ok(Ipv4Option::Nop))
            }
            _ => {
                let len = tail.first().map_or(0, |&l| usize::from(l));
                if len < 2 || len > self.rest.len() {
                    self.rest = &[];
                    return Some(Err(Error::Malformed));
                }
                let data = &self.rest[2..len];
                self.rest = &self.rest[len..];
                Some(Ok(Ipv4Option::Other { kind, data }))
            }
        }
    }
}

/// The options of an [`Ipv4Repr`]: up to 40 bytes held inline (no allocation).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Options {
    bytes: [u8; MAX_OPTIONS_LEN],
    len: u8,
}

impl Ipv4Options {
    /// No options.
    pub const EMPTY: Ipv4Options = Ipv4Options {
        bytes: [0; MAX_OPTIONS_LEN],
        len: 0,
    };

    /// Options from their wire bytes. The length must be a multiple of 4 and at most 40
    /// (pad with NOP or EOL), and every option must be well formed; otherwise
    /// `Err(Malformed)`.
    #[inline]
    pub fn new(options: &[u8]) -> Result<Ipv4Options> {
        if options.is_empty() {
            return Ok(Ipv4Options::EMPTY); // nearly every header
        }
        if options.len() > MAX_OPTIONS_LEN || !options.len().is_multiple_of(4) {
            return Err(Error::Malformed);
        }
        Ipv4OptionIter::new(options).validate()?;
        let mut o = Ipv4Options::EMPTY;
        o.bytes[..options.len()].copy_from_slice(options);
        o.len = options.len() as u8;
        Ok(o)
    }

    /// The wire bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// Number of option bytes.
    #[inline]
    pub const fn len(&self) -> usize {
        self.len as usize
    }

    /// `true` if there are no options.
    #[inline]
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Iterates over the options.
    #[inline]
    pub fn iter(&self) -> Ipv4OptionIter<'_> {
        Ipv4OptionIter::new(self.as_bytes())
    }
}

impl Default for Ipv4Options {
    fn default() -> Self {
        Ipv4Options::EMPTY
    }
}

impl fmt::Debug for Ipv4Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// The meaning of an IPv4 header: what a host or a forwarder needs to rebuild it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Repr {
    /// Source address.
    pub src_addr: Ipv4Addr,
    /// Destination address.
    pub dst_addr: Ipv4Addr,
    /// Upper-layer protocol.
    pub protocol: IpProtocol,
    /// Payload length (total length minus header length).
    pub payload_len: u16,
    /// Time to live.
    pub ttl: u8,
    /// DSCP, 0..=63.
    pub dscp: u8,
    /// ECN, 0..=3.
    pub ecn: u8,
    /// Identification.
    pub ident: u16,
    /// Don't Fragment.
    pub dont_frag: bool,
    /// More Fragments.
    pub more_frags: bool,
    /// Fragment offset in bytes (a multiple of 8).
    pub frag_offset: u16,
    /// Options, if any.
    pub options: Ipv4Options,
}

impl Ipv4Repr {
    /// Reads a header. `Err(BadVersion)` if the version is not 4, `Err(BadChecksum)` if
    /// `verify_checksum` is set and the header checksum is wrong (pass `false` when the NIC
    /// checked it), `Err(Malformed)` for a malformed option. Length errors as `check_len`.
    pub fn parse<T: AsRef<[u8]>>(
        packet: &Ipv4Packet<T>,
        verify_checksum: bool,
    ) -> Result<Ipv4Repr> {
        packet.check_len()?;
        if packet.version() != 4 {
            return Err(Error::BadVersion);
        }
        if verify_checksum && !packet.verify_checksum() {
            return Err(Error::BadChecksum);
        }
        let options = Ipv4Options::new(packet.options())?;
        Ok(Ipv4Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            protocol: packet.protocol(),
            payload_len: packet.total_len() - packet.header_len() as u16,
            ttl: packet.ttl(),
            dscp: packet.dscp(),
            ecn: packet.ecn(),
            ident: packet.ident(),
            dont_frag: packet.dont_frag(),
            more_frags: packet.more_frags(),
            frag_offset: packet.frag_offset(),
            options,
        })
    }

    /// Header length [`Self::emit`] writes: 20 plus the options.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.options.len()
    }

    /// Writes the header (not the payload) and its checksum. The buffer must hold
    /// `buffer_len()` bytes; `payload_len + buffer_len()` must fit in 16 bits.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Ipv4Packet<T>) {
        let hlen = self.buffer_len();
        packet.set_version(4);
        packet.set_header_len(hlen);
        packet.set_dscp(self.dscp);
        packet.set_ecn(self.ecn);
        packet.set_total_len(self.payload_len.wrapping_add(hlen as u16));
        packet.set_ident(self.ident);
        packet.clear_flags();
        packet.set_dont_frag(self.dont_frag);
        packet.set_more_frags(self.more_frags);
        packet.set_frag_offset(self.frag_offset);
        packet.set_ttl(self.ttl);
        packet.set_protocol(self.protocol);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
        packet.buffer.as_mut()[HEADER_LEN..hlen].copy_from_slice(self.options.as_bytes());
        // The checksum from the values just written, not from reading the bytes back:
        // the bytes were stored one and two at a time a moment ago, and the 4-byte loads
        // of the sum cannot be forwarded from such stores (a stall on every packet; 62%
        // of the TCP send path's IP header time in tcp-bulk-memory, perf annotate). Same
        // words as the bytes, so the same checksum (`repr_round_trip` checks it against
        // `fill_checksum`).
        let word = |hi: u8, lo: u8| u64::from(u16::from_be_bytes([hi, lo]));
        let ver_ihl = 0x40 | ((hlen / 4) as u8 & 0x0f);
        let dscp_ecn = (self.dscp << 2) | (self.ecn & 0x03);
        let flags = if self.dont_frag { FLAG_DF } else { 0 }
            | if self.more_frags { FLAG_MF } else { 0 }
            | (self.frag_offset >> 3);
        let (s, d) = (self.src_addr.to_bits(), self.dst_addr.to_bits());
        let acc = word(ver_ihl, dscp_ecn)
            + u64::from(self.payload_len.wrapping_add(hlen as u16))
            + u64::from(self.ident)
            + u64::from(flags)
            + word(self.ttl, self.protocol.into())
            + u64::from(s >> 16)
            + u64::from(s & 0xffff)
            + u64::from(d >> 16)
            + u64::from(d & 0xffff)
            + u64::from(checksum::data(self.options.as_bytes()));
        let sum = checksum::combine(&[(acc & 0xffff) as u16, (acc >> 16) as u16]);
        packet.set_checksum(checksum::finish(sum));
    }
}

/// An IPv4 address with a prefix length (RFC 4632), e.g. `10.0.0.0/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ipv4Cidr {
    address: Ipv4Addr,
    prefix_len: u8,
}

impl Ipv4Cidr {
    /// `address/prefix_len`; `Err(Malformed)` if `prefix_len > 32`. Host bits are kept (use
    /// [`Self::network`] to clear them).
    #[inline]
    pub const fn new(address: Ipv4Addr, prefix_len: u8) -> Result<Ipv4Cidr> {
        if prefix_len > 32 {
            return Err(Error::Malformed);
        }
        Ok(Ipv4Cidr {
            address,
            prefix_len,
        })
    }

    /// The address as given.
    #[inline]
    pub const fn address(&self) -> Ipv4Addr {
        self.address
    }

    /// The prefix length, 0..=32.
    #[inline]
    pub const fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    #[inline]
    const fn mask_bits(&self) -> u32 {
        if self.prefix_len == 0 {
            0
        } else {
            u32::MAX << (32 - self.prefix_len)
        }
    }

    /// The netmask, e.g. `255.255.255.0` for /24.
    #[inline]
    pub const fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from_bits(self.mask_bits())
    }

    /// The prefix with host bits cleared.
    #[inline]
    pub const fn network(&self) -> Ipv4Cidr {
        Ipv4Cidr {
            address: Ipv4Addr::from_bits(self.address.to_bits() & self.mask_bits()),
            prefix_len: self.prefix_len,
        }
    }

    /// The directed broadcast address; `None` for /31 and /32 (RFC 3021).
    #[inline]
    pub const fn broadcast(&self) -> Option<Ipv4Addr> {
        if self.prefix_len >= 31 {
            return None;
        }
        Some(Ipv4Addr::from_bits(
            self.address.to_bits() | !self.mask_bits(),
        ))
    }

    /// `true` if `addr` lies inside the prefix.
    #[inline]
    pub const fn contains_addr(&self, addr: &Ipv4Addr) -> bool {
        (addr.to_bits() ^ self.address.to_bits()) & self.mask_bits() == 0
    }

    /// `true` if `other` is the same prefix or a longer one inside it.
    #[inline]
    pub const fn contains_subnet(&self, other: &Ipv4Cidr) -> bool {
        self.prefix_len <= other.prefix_len && self.contains_addr(&other.address)
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix_len)
    }
}

impl FromStr for Ipv4Cidr {
    type Err = Error;

    /// Parses `a.b.c.d/n`; `Err(Malformed)` otherwise.
    fn from_str(s: &str) -> Result<Ipv4Cidr> {
        let (a, n) = s.split_once('/').ok_or(Error::Malformed)?;
        let address = a.parse().map_err(|_| Error::Malformed)?;
        let len = n.parse().map_err(|_| Error::Malformed)?;
        Ipv4Cidr::new(address, len)
    }
}

/// Fuzz entry point: the checked view, every accessor, the options, parse and the emit
/// round trip, and the in-place TTL decrement.
#[doc(hidden)]
pub fn fuzz(data: &[u8]) {
    let Ok(p) = Ipv4Packet::new_checked(data) else {
        return;
    };
    let _ = (
        p.version(),
        p.dscp(),
        p.ecn(),
        p.ident(),
        p.reserved_flag(),
        p.dont_frag(),
    );
    let _ = (
        p.more_frags(),
        p.frag_offset(),
        p.is_fragment(),
        p.ttl(),
        p.protocol(),
    );
    let _ = (
        p.checksum(),
        p.src_addr(),
        p.dst_addr(),
        p.verify_checksum(),
    );
    assert!(p.payload().len() + p.header_len() == usize::from(p.total_len()));
    let mut walked = 0;
    for o in p.options_iter() {
        match o {
            Ok(o) => walked += o.len(),
            Err(_) => break,
        }
    }
    assert!(walked <= p.options().len());
    let _ = format!("{p}");
    for verify in [false, true] {
        if let Ok(repr) = Ipv4Repr::parse(&p, verify) {
            assert_eq!(repr.buffer_len(), p.header_len());
            // Emit into a buffer of header + payload so the re-parse sees a full datagram.
            let mut whole = vec![0u8; usize::from(p.total_len())];
            repr.emit(&mut Ipv4Packet::new_unchecked(&mut whole[..]));
            let q = Ipv4Packet::new_checked(&whole[..]).expect("emitted header checks");
            assert!(q.verify_checksum());
            assert_eq!(Ipv4Repr::parse(&q, true), Ok(repr));
            // Forwarding step keeps the checksum valid.
            let mut h = Ipv4Packet::new_unchecked(&mut whole[..]);
            h.decrement_ttl();
            assert!(h.verify_checksum());
        }
    }
}

#[cfg(test)]
mod tests;
