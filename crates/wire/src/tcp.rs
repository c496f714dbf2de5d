//! TCP (RFC 9293), with the options of RFC 9293 §3.2 (EOL, NOP, MSS), RFC 7323 (window
//! scale, timestamps) and RFC 2018 (SACK-permitted, SACK blocks).
//!
//! [`TcpPacket`] is a checked view over one segment: the buffer is the IP payload, exactly
//! (the caller clips it to the IP length, so padding is not taken as data).
//! [`TcpOptions`] walks the option bytes without allocating; [`TcpRepr`] holds the parsed
//! header and the options uplane acts on, and emits them padded to a 32-bit boundary.

use core::{cmp, fmt, ops};

use crate::pseudo::PseudoHeader;
use crate::{checksum, read_u16, read_u32, write_u16, write_u32, Error, IpProtocol, Result};

/// A TCP sequence number: a 32-bit value compared with wrapping (serial-number)
/// arithmetic, as RFC 9293 §3.4 requires (`a < b` iff `b - a` is in `1..2^31`).
///
/// Like smoltcp, it implements `PartialOrd` only: the order is not transitive over the
/// whole space.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TcpSeqNumber(pub i32);

impl TcpSeqNumber {
    /// From the 32-bit value on the wire.
    #[inline]
    pub const fn from_u32(v: u32) -> Self {
        TcpSeqNumber(v as i32)
    }

    /// The 32-bit value on the wire.
    #[inline]
    pub const fn to_u32(self) -> u32 {
        self.0 as u32
    }

    /// The later of two sequence numbers (wrapping comparison).
    #[inline]
    pub fn max(self, rhs: Self) -> Self {
        if self > rhs {
            self
        } else {
            rhs
        }
    }

    /// The earlier of two sequence numbers (wrapping comparison).
    #[inline]
    pub fn min(self, rhs: Self) -> Self {
        if self < rhs {
            self
        } else {
            rhs
        }
    }
}

impl fmt::Display for TcpSeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_u32())
    }
}

impl ops::Add<usize> for TcpSeqNumber {
    type Output = TcpSeqNumber;
    /// Wrapping addition of a byte count (taken modulo 2^32).
    #[inline]
    fn add(self, rhs: usize) -> TcpSeqNumber {
        TcpSeqNumber(self.0.wrapping_add(rhs as u32 as i32))
    }
}

impl ops::AddAssign<usize> for TcpSeqNumber {
    #[inline]
    fn add_assign(&mut self, rhs: usize) {
        *self = *self + rhs;
    }
}

impl ops::Sub<usize> for TcpSeqNumber {
    type Output = TcpSeqNumber;
    /// Wrapping subtraction of a byte count (taken modulo 2^32).
    #[inline]
    fn sub(self, rhs: usize) -> TcpSeqNumber {
        TcpSeqNumber(self.0.wrapping_sub(rhs as u32 as i32))
    }
}

impl ops::Sub for TcpSeqNumber {
    type Output = i32;
    /// The signed distance `self - rhs` in the sequence space; never panics.
    #[inline]
    fn sub(self, rhs: TcpSeqNumber) -> i32 {
        self.0.wrapping_sub(rhs.0)
    }
}

impl cmp::PartialOrd for TcpSeqNumber {
    #[inline]
    fn partial_cmp(&self, other: &TcpSeqNumber) -> Option<cmp::Ordering> {
        self.0.wrapping_sub(other.0).partial_cmp(&0)
    }
}

/// The eight TCP control bits of byte 13 (RFC 9293 §3.1, RFC 3168 for ECE/CWR).
#[derive(Default, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// No more data from sender.
    pub const FIN: TcpFlags = TcpFlags(0x01);
    /// Synchronize sequence numbers.
    pub const SYN: TcpFlags = TcpFlags(0x02);
    /// Reset the connection.
    pub const RST: TcpFlags = TcpFlags(0x04);
    /// Push function.
    pub const PSH: TcpFlags = TcpFlags(0x08);
    /// Acknowledgment field is significant.
    pub const ACK: TcpFlags = TcpFlags(0x10);
    /// Urgent pointer field is significant.
    pub const URG: TcpFlags = TcpFlags(0x20);
    /// ECN-Echo (RFC 3168).
    pub const ECE: TcpFlags = TcpFlags(0x40);
    /// Congestion Window Reduced (RFC 3168).
    pub const CWR: TcpFlags = TcpFlags(0x80);

    /// True if every bit of `other` is set in `self`.
    #[inline]
    pub const fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// The raw bits.
    #[inline]
    pub const fn bits(self) -> u8 {
        self.0
    }
}

impl ops::BitOr for TcpFlags {
    type Output = TcpFlags;
    #[inline]
    fn bitor(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | rhs.0)
    }
}

impl ops::BitOrAssign for TcpFlags {
    #[inline]
    fn bitor_assign(&mut self, rhs: TcpFlags) {
        self.0 |= rhs.0;
    }
}

impl ops::BitAnd for TcpFlags {
    type Output = TcpFlags;
    #[inline]
    fn bitand(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 & rhs.0)
    }
}

impl fmt::Debug for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [&str; 8] = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"];
        let mut first = true;
        for (i, n) in NAMES.iter().enumerate() {
            if self.0 & (1 << i) != 0 {
                if !first {
                    f.write_str("|")?;
                }
                f.write_str(n)?;
                first = false;
            }
        }
        if first {
            f.write_str("-")?;
        }
        Ok(())
    }
}

mod field {
    use crate::Field;
    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    pub const SEQ_NUM: Field = 4..8;
    pub const ACK_NUM: Field = 8..12;
    pub const DATA_OFF: usize = 12;
    pub const FLAGS: usize = 13;
    pub const WINDOW: Field = 14..16;
    pub const CHECKSUM: Field = 16..18;
    pub const URGENT: Field = 18..20;
    pub const OPTIONS: usize = 20;

    pub const OPT_EOL: u8 = 0;
    pub const OPT_NOP: u8 = 1;
    pub const OPT_MSS: u8 = 2;
    pub const OPT_WS: u8 = 3;
    pub const OPT_SACK_PERM: u8 = 4;
    pub const OPT_SACK: u8 = 5;
    pub const OPT_TSTAMP: u8 = 8;
}

/// Length of the TCP header without options.
pub const HEADER_LEN: usize = field::OPTIONS;
/// Largest TCP header: data offset 15.
pub const MAX_HEADER_LEN: usize = 60;
/// Most option bytes a header can carry.
pub const MAX_OPTIONS_LEN: usize = MAX_HEADER_LEN - HEADER_LEN;

/// A zero-copy view of a TCP segment (RFC 9293 §3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> TcpPacket<T> {
    /// Wraps `buffer` without checking it; accessors may panic on a short buffer.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Self {
        TcpPacket { buffer }
    }

    /// Wraps `buffer` and runs [`check_len`](Self::check_len).
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks the fixed header and the data offset.
    ///
    /// Errors: [`Error::Truncated`] if the buffer is shorter than 20 bytes or than the data
    /// offset; [`Error::Malformed`] if the data offset is below 5 words.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let b = self.buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let hl = usize::from(b[field::DATA_OFF] >> 4) * 4;
        if hl < HEADER_LEN {
            Err(Error::Malformed)
        } else if hl > b.len() {
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

    /// Sequence number.
    #[inline]
    pub fn seq_number(&self) -> TcpSeqNumber {
        TcpSeqNumber::from_u32(read_u32(self.buffer.as_ref(), field::SEQ_NUM.start))
    }

    /// Acknowledgment number (meaningful when [`TcpFlags::ACK`] is set).
    #[inline]
    pub fn ack_number(&self) -> TcpSeqNumber {
        TcpSeqNumber::from_u32(read_u32(self.buffer.as_ref(), field::ACK_NUM.start))
    }

    /// Header length in bytes (data offset × 4).
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::DATA_OFF] >> 4) * 4
    }

    /// The eight control bits.
    #[inline]
    pub fn flags(&self) -> TcpFlags {
        TcpFlags(self.buffer.as_ref()[field::FLAGS])
    }

    /// FIN bit.
    #[inline]
    pub fn fin(&self) -> bool {
        self.flags().contains(TcpFlags::FIN)
    }

    /// SYN bit.
    #[inline]
    pub fn syn(&self) -> bool {
        self.flags().contains(TcpFlags::SYN)
    }

    /// RST bit.
    #[inline]
    pub fn rst(&self) -> bool {
        self.flags().contains(TcpFlags::RST)
    }

    /// PSH bit.
    #[inline]
    pub fn psh(&self) -> bool {
        self.flags().contains(TcpFlags::PSH)
    }

    /// ACK bit.
    #[inline]
    pub fn ack(&self) -> bool {
        self.flags().contains(TcpFlags::ACK)
    }

    /// URG bit.
    #[inline]
    pub fn urg(&self) -> bool {
        self.flags().contains(TcpFlags::URG)
    }

    /// Window field (unscaled).
    #[inline]
    pub fn window_len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::WINDOW.start)
    }

    /// Checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// Urgent pointer (meaningful when [`TcpFlags::URG`] is set).
    #[inline]
    pub fn urgent_at(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::URGENT.start)
    }

    /// The raw option bytes, between the fixed header and the data offset.
    #[inline]
    pub fn options_raw(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        b.get(field::OPTIONS..self.header_len()).unwrap_or(&[])
    }

    /// An iterator over the options.
    #[inline]
    pub fn options(&self) -> TcpOptions<'_> {
        TcpOptions::new(self.options_raw())
    }

    /// Bytes of payload after the header.
    #[inline]
    pub fn payload_len(&self) -> usize {
        self.buffer.as_ref().len().saturating_sub(self.header_len())
    }

    /// The number of sequence numbers the segment occupies: payload + SYN + FIN.
    #[inline]
    pub fn segment_len(&self) -> usize {
        self.payload_len() + usize::from(self.syn()) + usize::from(self.fin())
    }

    /// Verifies the checksum over `pseudo` and the whole buffer.
    #[inline]
    pub fn verify_checksum(&self, pseudo: &PseudoHeader) -> bool {
        let b = self.buffer.as_ref();
        let ph = pseudo.sum(IpProtocol::Tcp, b.len() as u32);
        checksum::combine(&[ph, checksum::data(b)]) == 0xffff
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> TcpPacket<&'a T> {
    /// The payload: everything after the header.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        let b = self.buffer.as_ref();
        b.get(usize::from(b[field::DATA_OFF] >> 4) * 4..)
            .unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> TcpPacket<T> {
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

    /// Sets the sequence number.
    #[inline]
    pub fn set_seq_number(&mut self, v: TcpSeqNumber) {
        write_u32(self.buffer.as_mut(), field::SEQ_NUM.start, v.to_u32())
    }

    /// Sets the acknowledgment number.
    #[inline]
    pub fn set_ack_number(&mut self, v: TcpSeqNumber) {
        write_u32(self.buffer.as_mut(), field::ACK_NUM.start, v.to_u32())
    }

    /// Sets the header length in bytes (a multiple of 4 in `20..=60`); clears the reserved
    /// bits and the historic NS bit. Keep it within the buffer: the checked contract relies
    /// on it.
    #[inline]
    pub fn set_header_len(&mut self, len: usize) {
        self.buffer.as_mut()[field::DATA_OFF] = ((len / 4) as u8) << 4;
    }

    /// Sets the eight control bits.
    #[inline]
    pub fn set_flags(&mut self, v: TcpFlags) {
        self.buffer.as_mut()[field::FLAGS] = v.0;
    }

    /// Sets the window field.
    #[inline]
    pub fn set_window_len(&mut self, v: u16) {
        write_u16(self.buffer.as_mut(), field::WINDOW.start, v)
    }

    /// Sets the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, v: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM.start, v)
    }

    /// Sets the urgent pointer.
    #[inline]
    pub fn set_urgent_at(&mut self, v: u16) {
        write_u16(self.buffer.as_mut(), field::URGENT.start, v)
    }

    /// The option bytes, mutable.
    #[inline]
    pub fn options_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len();
        self.buffer
            .as_mut()
            .get_mut(field::OPTIONS..hl)
            .unwrap_or(&mut [])
    }

    /// The payload, mutable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len();
        self.buffer.as_mut().get_mut(hl..).unwrap_or(&mut [])
    }

    /// Computes and writes the checksum over `pseudo` and the whole buffer.
    #[inline]
    pub fn fill_checksum(&mut self, pseudo: &PseudoHeader) {
        self.set_checksum(0);
        let b = self.buffer.as_ref();
        let ph = pseudo.sum(IpProtocol::Tcp, b.len() as u32);
        let c = checksum::finish(checksum::combine(&[ph, checksum::data(b)]));
        self.set_checksum(c);
    }
}

/// One TCP option, borrowed from the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpOption<'a> {
    /// End of option list (kind 0); the iterator stops after it.
    EndOfList,
    /// No-operation padding (kind 1).
    NoOperation,
    /// Maximum segment size (kind 2, RFC 9293 §3.7.1).
    MaxSegmentSize(u16),
    /// Window scale shift count (kind 3, RFC 7323 §2). Values above 14 are passed on as
    /// sent; RFC 7323 §2.3 says to use 14.
    WindowScale(u8),
    /// SACK permitted (kind 4, RFC 2018 §2).
    SackPermitted,
    /// SACK blocks (kind 5, RFC 2018 §3): 1 to 4 `(left, right)` edges, in the first slots.
    SackRange([Option<(u32, u32)>; 4]),
    /// Timestamps (kind 8, RFC 7323 §3): `(TSval, TSecr)`.
    Timestamp(u32, u32),
    /// Any other option: its kind and the bytes after the length byte.
    Unknown {
        /// Option kind.
        kind: u8,
        /// Option data (without kind and length).
        data: &'a [u8],
    },
}

impl TcpOption<'_> {
    /// Bytes the option occupies on the wire.
    #[inline]
    pub fn buffer_len(&self) -> usize {
        match self {
            TcpOption::EndOfList | TcpOption::NoOperation => 1,
            TcpOption::MaxSegmentSize(_) => 4,
            TcpOption::WindowScale(_) => 3,
            TcpOption::SackPermitted => 2,
            TcpOption::SackRange(r) => 2 + 8 * r.iter().flatten().count(),
            TcpOption::Timestamp(..) => 10,
            TcpOption::Unknown { data, .. } => 2 + data.len(),
        }
    }

    /// Writes the option at the start of `buf` and returns the bytes written.
    ///
    /// # Panics
    /// If `buf` is shorter than [`buffer_len`](Self::buffer_len), or an unknown option's
    /// data is longer than 253 bytes.
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let len = self.buffer_len();
        match *self {
            TcpOption::EndOfList => buf[0] = field::OPT_EOL,
            TcpOption::NoOperation => buf[0] = field::OPT_NOP,
            TcpOption::MaxSegmentSize(v) => {
                buf[..2].copy_from_slice(&[field::OPT_MSS, 4]);
                write_u16(buf, 2, v);
            }
            TcpOption::WindowScale(v) => buf[..3].copy_from_slice(&[field::OPT_WS, 3, v]),
            TcpOption::SackPermitted => buf[..2].copy_from_slice(&[field::OPT_SACK_PERM, 2]),
            TcpOption::SackRange(r) => {
                buf[..2].copy_from_slice(&[field::OPT_SACK, len as u8]);
                for (i, (l, rt)) in r.iter().flatten().enumerate() {
                    write_u32(buf, 2 + 8 * i, *l);
                    write_u32(buf, 6 + 8 * i, *rt);
                }
            }
            TcpOption::Timestamp(val, ecr) => {
                buf[..2].copy_from_slice(&[field::OPT_TSTAMP, 10]);
                write_u32(buf, 2, val);
                write_u32(buf, 6, ecr);
            }
            TcpOption::Unknown { kind, data } => {
                buf[0] = kind;
                buf[1] = len as u8;
                buf[2..len].copy_from_slice(data);
            }
        }
        len
    }
}

/// A zero-allocation iterator over the options of a TCP header.
///
/// Yields `Err(Error::Malformed)` once, then stops, when an option's length byte is missing,
/// below 2, runs past the option area, or is wrong for its kind (MSS 4, window scale 3,
/// SACK-permitted 2, SACK 2 + 8n with n in 1..=4, timestamps 10). It stops after
/// [`TcpOption::EndOfList`].
#[derive(Debug, Clone)]
pub struct TcpOptions<'a> {
    rest: &'a [u8],
}

impl<'a> TcpOptions<'a> {
    /// Walks `options`: the bytes between the fixed header and the data offset.
    #[inline]
    pub const fn new(options: &'a [u8]) -> Self {
        TcpOptions { rest: options }
    }

    #[inline]
    fn fail(&mut self) -> Option<Result<TcpOption<'a>>> {
        self.rest = &[];
        Some(Err(Error::Malformed))
    }
}

impl<'a> Iterator for TcpOptions<'a> {
    type Item = Result<TcpOption<'a>>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let (&kind, after) = self.rest.split_first()?;
        match kind {
            field::OPT_EOL => {
                self.rest = &[];
                return Some(Ok(TcpOption::EndOfList));
            }
            field::OPT_NOP => {
                self.rest = after;
                return Some(Ok(TcpOption::NoOperation));
            }
            _ => {}
        }
        let Some(&len) = after.first() else {
            return self.fail();
        };
        let len = usize::from(len);
        if len < 2 || len > self.rest.len() {
            return self.fail();
        }
        let data = &self.rest[2..len];
        let opt = match (kind, len) {
            (field::OPT_MSS, 4) => TcpOption::MaxSegmentSize(read_u16(data, 0)),
            (field::OPT_WS, 3) => TcpOption::WindowScale(data[0]),
            (field::OPT_SACK_PERM, 2) => TcpOption::SackPermitted,
            (field::OPT_SACK, 10 | 18 | 26 | 34) => {
                let mut r = [None; 4];
                for (slot, b) in r.iter_mut().zip(data.chunks_exact(8)) {
                    *slot = Some((read_u32(b, 0), read_u32(b, 4)));
                }
                TcpOption::SackRange(r)
            }
            (field::OPT_TSTAMP, 10) => TcpOption::Timestamp(read_u32(data, 0), read_u32(data, 4)),
            (field::OPT_MSS | field::OPT_WS | field::OPT_SACK_PERM | field::OPT_SACK, _)
            | (field::OPT_TSTAMP, _) => return self.fail(),
            _ => TcpOption::Unknown { kind, data },
        };
        self.rest = &self.rest[len..];
        Some(Ok(opt))
    }
}

/// The parsed meaning of a TCP header and the options uplane acts on.
///
/// Unknown options are dropped by [`parse`](Self::parse). [`emit`](Self::emit) writes the
/// options Linux-style (MSS; SACK-permitted + timestamps or NOP NOP timestamps; NOP window
/// scale; NOP NOP SACK blocks), falling back to an unpadded layout when that would not fit
/// in 40 bytes, and SACK blocks that still do not fit are left out from the last (RFC 2018
/// §3 lets a receiver send fewer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpRepr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq_number: TcpSeqNumber,
    /// Acknowledgment number, as on the wire (meaningful with [`TcpFlags::ACK`]).
    pub ack_number: TcpSeqNumber,
    /// Control bits.
    pub flags: TcpFlags,
    /// Window field (unscaled).
    pub window_len: u16,
    /// Urgent pointer.
    pub urgent_at: u16,
    /// MSS option.
    pub max_seg_size: Option<u16>,
    /// Window scale option (shift count as sent).
    pub window_scale: Option<u8>,
    /// SACK-permitted option.
    pub sack_permitted: bool,
    /// SACK blocks, in the first slots.
    pub sack_ranges: [Option<(u32, u32)>; 4],
    /// Timestamps option `(TSval, TSecr)`.
    pub timestamp: Option<(u32, u32)>,
    /// Payload length in bytes.
    pub payload_len: usize,
}

/// Which option layout [`TcpRepr::emit`] uses.
#[derive(Clone, Copy)]
struct Layout {
    padded: bool,
    sack_blocks: usize,
    options_len: usize,
}

impl TcpRepr {
    /// Parses a checked view. With `Some(pseudo)` the checksum is verified
    /// ([`Error::BadChecksum`]); pass `None` when the NIC has verified it. A malformed
    /// option gives [`Error::Malformed`]; when an option repeats, the last one wins.
    pub fn parse<T: AsRef<[u8]>>(
        packet: &TcpPacket<T>,
        pseudo: Option<&PseudoHeader>,
    ) -> Result<TcpRepr> {
        packet.check_len()?;
        if let Some(ph) = pseudo {
            if !packet.verify_checksum(ph) {
                return Err(Error::BadChecksum);
            }
        }
        let mut r = TcpRepr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            seq_number: packet.seq_number(),
            ack_number: packet.ack_number(),
            flags: packet.flags(),
            window_len: packet.window_len(),
            urgent_at: packet.urgent_at(),
            payload_len: packet.payload_len(),
            ..TcpRepr::default()
        };
        // The options of almost every segment after the handshake, as Linux sends them:
        // NOP, NOP, timestamps. Read in one step (Linux's tcp_parse_aligned_timestamp).
        if let Ok(&[1, 1, field::OPT_TSTAMP, 10, a0, a1, a2, a3, b0, b1, b2, b3]) =
            <&[u8; 12]>::try_from(packet.options_raw())
        {
            r.timestamp = Some((
                u32::from_be_bytes([a0, a1, a2, a3]),
                u32::from_be_bytes([b0, b1, b2, b3]),
            ));
            return Ok(r);
        }
        for opt in packet.options() {
            match opt? {
                TcpOption::MaxSegmentSize(v) => r.max_seg_size = Some(v),
                TcpOption::WindowScale(v) => r.window_scale = Some(v),
                TcpOption::SackPermitted => r.sack_permitted = true,
                TcpOption::SackRange(s) => r.sack_ranges = s,
                TcpOption::Timestamp(a, b) => r.timestamp = Some((a, b)),
                TcpOption::EndOfList | TcpOption::NoOperation | TcpOption::Unknown { .. } => {}
            }
        }
        Ok(r)
    }

    fn layout(&self) -> Layout {
        let mss = if self.max_seg_size.is_some() { 4 } else { 0 };
        let blocks = self.sack_ranges.iter().flatten().count();
        let sack = |n: usize| if n > 0 { 2 + 8 * n } else { 0 };
        // Linux-style, every option on a 32-bit boundary.
        let padded_fixed =
            mss + match (self.sack_permitted, self.timestamp.is_some()) {
                (true, true) | (false, true) => 12,
                (true, false) => 4,
                (false, false) => 0,
            } + if self.window_scale.is_some() { 4 } else { 0 };
        // Packed, padded once at the end.
        let packed_fixed = mss
            + if self.sack_permitted { 2 } else { 0 }
            + if self.timestamp.is_some() { 10 } else { 0 }
            + if self.window_scale.is_some() { 3 } else { 0 };
        let padded = |n: usize| padded_fixed + if n > 0 { 2 + sack(n) } else { 0 };
        let packed = |n: usize| (packed_fixed + sack(n)).next_multiple_of(4);
        for n in (0..=blocks).rev() {
            if padded(n) <= MAX_OPTIONS_LEN {
                return Layout {
                    padded: true,
                    sack_blocks: n,
                    options_len: padded(n),
                };
            }
            if packed(n) <= MAX_OPTIONS_LEN {
                return Layout {
                    padded: false,
                    sack_blocks: n,
                    options_len: packed(n),
                };
            }
        }
        // Unreachable: without SACK blocks the packed layout needs at most 20 bytes.
        Layout {
            padded: false,
            sack_blocks: 0,
            options_len: packed(0),
        }
    }

    /// Length of the header [`emit`](Self::emit) writes, options included.
    #[inline]
    pub fn header_len(&self) -> usize {
        HEADER_LEN + self.layout().options_len
    }

    /// Bytes [`emit`](Self::emit) covers: header plus payload.
    #[inline]
    pub fn buffer_len(&self) -> usize {
        self.header_len() + self.payload_len
    }

    /// Writes the header and options. The view's buffer must be exactly
    /// [`buffer_len`](Self::buffer_len) bytes with the payload already in place after
    /// [`header_len`](Self::header_len) (the checksum covers it). With `Some(pseudo)` the
    /// checksum is filled; with `None` it is left zero (checksum offload).
    ///
    /// # Panics
    /// If the buffer is shorter than [`header_len`](Self::header_len).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut TcpPacket<T>,
        pseudo: Option<&PseudoHeader>,
    ) {
        let lay = self.layout();
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_seq_number(self.seq_number);
        packet.set_ack_number(self.ack_number);
        packet.set_header_len(HEADER_LEN + lay.options_len);
        packet.set_flags(self.flags);
        packet.set_window_len(self.window_len);
        packet.set_checksum(0);
        packet.set_urgent_at(self.urgent_at);

        let mut sack = [None; 4];
        for (slot, r) in sack
            .iter_mut()
            .zip(self.sack_ranges.iter().flatten().take(lay.sack_blocks))
        {
            *slot = Some(*r);
        }
        let opts = packet.options_mut();
        // The usual segment after the handshake: NOP, NOP, timestamps, written at once.
        if let (Some((a, b)), 0, None, None, false, true) = (
            self.timestamp,
            lay.sack_blocks,
            self.max_seg_size,
            self.window_scale,
            self.sack_permitted,
            lay.padded,
        ) {
            if let Ok(o) = <&mut [u8; 12]>::try_from(&mut *opts) {
                o[..4].copy_from_slice(&[1, 1, field::OPT_TSTAMP, 10]);
                o[4..8].copy_from_slice(&a.to_be_bytes());
                o[8..].copy_from_slice(&b.to_be_bytes());
                if let Some(ph) = pseudo {
                    packet.fill_checksum(ph);
                }
                return;
            }
        }
        let mut at = 0;
        let mut put = |o: TcpOption<'_>, at: &mut usize| *at += o.emit(&mut opts[*at..]);
        use TcpOption::{NoOperation as Nop, *};
        if let Some(m) = self.max_seg_size {
            put(MaxSegmentSize(m), &mut at);
        }
        if lay.padded {
            match (self.sack_permitted, self.timestamp) {
                (true, Some((a, b))) => {
                    put(SackPermitted, &mut at);
                    put(Timestamp(a, b), &mut at);
                }
                (false, Some((a, b))) => {
                    put(Nop, &mut at);
                    put(Nop, &mut at);
                    put(Timestamp(a, b), &mut at);
                }
                (true, None) => {
                    put(Nop, &mut at);
                    put(Nop, &mut at);
                    put(SackPermitted, &mut at);
                }
                (false, None) => {}
            }
            if let Some(w) = self.window_scale {
                put(Nop, &mut at);
                put(WindowScale(w), &mut at);
            }
            if lay.sack_blocks > 0 {
                put(Nop, &mut at);
                put(Nop, &mut at);
                put(SackRange(sack), &mut at);
            }
        } else {
            if self.sack_permitted {
                put(SackPermitted, &mut at);
            }
            if let Some((a, b)) = self.timestamp {
                put(Timestamp(a, b), &mut at);
            }
            if let Some(w) = self.window_scale {
                put(WindowScale(w), &mut at);
            }
            if lay.sack_blocks > 0 {
                put(SackRange(sack), &mut at);
            }
            opts[at..].fill(field::OPT_EOL);
        }
        if let Some(ph) = pseudo {
            packet.fill_checksum(ph);
        }
    }

    /// [`emit`](Self::emit) for a payload that is already in place and whose sum the
    /// caller already has: `payload_sum` is [`checksum::data`] of the payload (for
    /// example from [`checksum::copy_and_sum`], which computed it while copying the
    /// payload in). Only the header is read again. The checksum written is the one
    /// `emit(packet, Some(pseudo))` writes, bit for bit.
    ///
    /// # Panics
    /// If the buffer is shorter than [`header_len`](Self::header_len).
    pub fn emit_with_payload_sum<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut TcpPacket<T>,
        pseudo: &PseudoHeader,
        payload_sum: u16,
    ) {
        self.emit(packet, None);
        let b = packet.buffer.as_ref();
        let hl = packet.header_len().min(b.len());
        let ph = pseudo.sum(IpProtocol::Tcp, b.len() as u32);
        let c = checksum::finish(checksum::combine(&[
            ph,
            checksum::data(&b[..hl]),
            payload_sum,
        ]));
        packet.set_checksum(c);
    }
}

/// Fuzz entry point: the checked view, every accessor, the option iterator, parse and the
/// emit round trip.
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
    let Ok(p) = TcpPacket::new_checked(data) else {
        return;
    };
    let _ = (
        p.src_port(),
        p.dst_port(),
        p.seq_number(),
        p.ack_number(),
        p.header_len(),
    );
    let _ = (
        p.flags(),
        p.fin(),
        p.syn(),
        p.rst(),
        p.psh(),
        p.ack(),
        p.urg(),
    );
    let _ = (
        p.window_len(),
        p.checksum(),
        p.urgent_at(),
        p.segment_len(),
        p.payload(),
    );
    let _ = (p.verify_checksum(&ph4), p.verify_checksum(&ph6));
    let mut opt_bytes = 0;
    for opt in p.options() {
        match opt {
            Ok(o) => opt_bytes += o.buffer_len(),
            Err(_) => break,
        }
    }
    assert!(opt_bytes <= p.options_raw().len());
    let _ = TcpRepr::parse(&p, Some(&ph4));
    let Ok(repr) = TcpRepr::parse(&p, None) else {
        return;
    };
    let mut buf = [0u8; 2048];
    if repr.buffer_len() > buf.len() {
        return;
    }
    let hl = repr.header_len();
    let out = &mut buf[..repr.buffer_len()];
    out[hl..].copy_from_slice(p.payload());
    repr.emit(&mut TcpPacket::new_unchecked(&mut *out), Some(&ph6));
    let q = TcpPacket::new_checked(&*out).expect("emitted segment checks");
    assert!(q.header_len() <= MAX_HEADER_LEN);
    assert_eq!(TcpRepr::parse(&q, Some(&ph6)), Ok(repr));
}

#[cfg(test)]
mod tests;
