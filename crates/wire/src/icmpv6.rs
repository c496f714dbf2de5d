//! ICMP for IPv6 (RFC 4443), and the Neighbor Discovery messages it carries (RFC 4861, in
//! [`crate::ndisc`]).
//!
//! [`Icmpv6Packet`] is a checked view over an ICMPv6 message (the payload after the IPv6
//! header and its extension headers); [`Icmpv6Repr`] its parsed meaning. The checksum covers
//! the IPv6 pseudo-header (RFC 4443 §2.3), so [`Icmpv6Packet::verify_checksum`],
//! [`Icmpv6Packet::fill_checksum`], [`Icmpv6Repr::parse`] and [`Icmpv6Repr::emit`] take the
//! source and destination addresses. Error messages carry the invoking packet as a raw
//! slice ("as much of invoking packet as possible without the ICMPv6 packet exceeding the
//! minimum IPv6 MTU", RFC 4443 §3).
//!
//! `check_len` also checks the fixed body of the Neighbor Discovery types, so their
//! accessors are in bounds; on a message of another type they read whatever lies at their
//! offset (zero past the end) and never panic.

use core::net::Ipv6Addr;

use crate::enum_with_unknown;
use crate::ndisc::{self, NdiscRepr};
use crate::{checksum, read_u16, read_u32, write_u16, write_u32, Error, Result};

enum_with_unknown! {
    /// ICMPv6 message type (RFC 4443 §2.1, RFC 4861 §4, IANA "ICMPv6 Parameters").
    pub enum Icmpv6Message(u8) {
        /// Destination unreachable (RFC 4443 §3.1).
        DstUnreachable = 1,
        /// Packet too big (RFC 4443 §3.2).
        PktTooBig = 2,
        /// Time exceeded (RFC 4443 §3.3).
        TimeExceeded = 3,
        /// Parameter problem (RFC 4443 §3.4).
        ParamProblem = 4,
        /// Echo request (RFC 4443 §4.1).
        EchoRequest = 128,
        /// Echo reply (RFC 4443 §4.2).
        EchoReply = 129,
        /// Multicast listener query (RFC 2710).
        MldQuery = 130,
        /// Multicast listener report (RFC 2710).
        MldReport = 131,
        /// Multicast listener done (RFC 2710).
        MldDone = 132,
        /// Router solicitation (RFC 4861 §4.1).
        RouterSolicit = 133,
        /// Router advertisement (RFC 4861 §4.2).
        RouterAdvert = 134,
        /// Neighbor solicitation (RFC 4861 §4.3).
        NeighborSolicit = 135,
        /// Neighbor advertisement (RFC 4861 §4.4).
        NeighborAdvert = 136,
        /// Redirect (RFC 4861 §4.5).
        Redirect = 137,
        /// Version 2 multicast listener report (RFC 3810).
        MldV2Report = 143,
    }
}

impl Icmpv6Message {
    /// True for error messages (types 0-127, RFC 4443 §2.1).
    #[inline]
    pub fn is_error(self) -> bool {
        u8::from(self) < 128
    }
}

enum_with_unknown! {
    /// Codes of [`Icmpv6Message::DstUnreachable`] (RFC 4443 §3.1).
    pub enum Icmpv6DstUnreachable(u8) {
        /// No route to destination.
        NoRoute = 0,
        /// Communication with destination administratively prohibited.
        AdminProhibit = 1,
        /// Beyond scope of source address.
        BeyondScope = 2,
        /// Address unreachable.
        AddrUnreachable = 3,
        /// Port unreachable.
        PortUnreachable = 4,
        /// Source address failed ingress/egress policy.
        FailedPolicy = 5,
        /// Reject route to destination.
        RejectRoute = 6,
    }
}

enum_with_unknown! {
    /// Codes of [`Icmpv6Message::TimeExceeded`] (RFC 4443 §3.3).
    pub enum Icmpv6TimeExceeded(u8) {
        /// Hop limit exceeded in transit.
        HopLimitExceeded = 0,
        /// Fragment reassembly time exceeded.
        FragReassemblyExceeded = 1,
    }
}

enum_with_unknown! {
    /// Codes of [`Icmpv6Message::ParamProblem`] (RFC 4443 §3.4, RFC 7112).
    pub enum Icmpv6ParamProblem(u8) {
        /// Erroneous header field encountered.
        ErroneousHdrField = 0,
        /// Unrecognized Next Header type encountered.
        UnrecognizedNxtHdr = 1,
        /// Unrecognized IPv6 option encountered.
        UnrecognizedOption = 2,
        /// IPv6 first fragment has incomplete header chain (RFC 7112).
        IncompleteHeaderChain = 3,
    }
}

pub(crate) mod field {
    use crate::Field;
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Field = 2..4;
    pub const ECHO_IDENT: Field = 4..6;
    pub const ECHO_SEQNO: Field = 6..8;
    /// Packet too big: MTU.
    pub const MTU: Field = 4..8;
    /// Parameter problem: pointer.
    pub const POINTER: Field = 4..8;
    /// Reserved word of error messages and of RS/NS/redirect.
    pub const UNUSED: Field = 4..8;
    pub const DATA: usize = 8;
}

/// Length of the ICMPv6 header (type, code, checksum and the 4-byte rest of header).
pub const HEADER_LEN: usize = field::DATA;

/// A zero-copy view of an ICMPv6 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Icmpv6Packet<T: AsRef<[u8]>> {
    pub(crate) buffer: T,
}

impl<T: AsRef<[u8]>> Icmpv6Packet<T> {
    /// Wraps `buffer` without checking it; accessors may panic on a short buffer.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Self {
        Icmpv6Packet { buffer }
    }

    /// Wraps `buffer` and runs [`check_len`](Self::check_len).
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks that the 8-byte header fits and, for Neighbor Discovery messages, their fixed
    /// body (RS 8, RA 16, NS and NA 24, redirect 40 bytes). [`Error::Truncated`] otherwise.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let b = self.buffer.as_ref();
        if b.len() < HEADER_LEN || b.len() < ndisc::body_len(self.msg_type()) {
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

    /// Message type.
    #[inline]
    pub fn msg_type(&self) -> Icmpv6Message {
        Icmpv6Message::from(self.buffer.as_ref()[field::TYPE])
    }

    /// Message code (its meaning depends on the type).
    #[inline]
    pub fn msg_code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    /// Checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// Echo identifier (echo request/reply).
    #[inline]
    pub fn echo_ident(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::ECHO_IDENT.start)
    }

    /// Echo sequence number (echo request/reply).
    #[inline]
    pub fn echo_seq_no(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::ECHO_SEQNO.start)
    }

    /// MTU of the next-hop link (packet too big).
    #[inline]
    pub fn pkt_too_big_mtu(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::MTU.start)
    }

    /// Offset of the offending octet in the invoking packet (parameter problem).
    #[inline]
    pub fn param_problem_ptr(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::POINTER.start)
    }

    /// Verifies the checksum over the pseudo-header of `src`/`dst` and the whole buffer
    /// (RFC 4443 §2.3).
    #[inline]
    pub fn verify_checksum(&self, src: Ipv6Addr, dst: Ipv6Addr) -> bool {
        let b = self.buffer.as_ref();
        let ph = checksum::pseudo_header_v6(src, dst, 58, b.len() as u32);
        checksum::combine(&[ph, checksum::data(b)]) == 0xffff
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Icmpv6Packet<&'a T> {
    /// Everything after the 8-byte header: echo data, the invoking packet of an error, or
    /// the body of a Neighbor Discovery message.
    #[inline]
    pub fn data(&self) -> &'a [u8] {
        &self.buffer.as_ref()[field::DATA..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv6Packet<T> {
    /// Sets the message type.
    #[inline]
    pub fn set_msg_type(&mut self, v: Icmpv6Message) {
        self.buffer.as_mut()[field::TYPE] = v.into();
    }

    /// Sets the message code.
    #[inline]
    pub fn set_msg_code(&mut self, v: u8) {
        self.buffer.as_mut()[field::CODE] = v;
    }

    /// Sets the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, v: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM.start, v)
    }

    /// Sets the echo identifier.
    #[inline]
    pub fn set_echo_ident(&mut self, v: u16) {
        write_u16(self.buffer.as_mut(), field::ECHO_IDENT.start, v)
    }

    /// Sets the echo sequence number.
    #[inline]
    pub fn set_echo_seq_no(&mut self, v: u16) {
        write_u16(self.buffer.as_mut(), field::ECHO_SEQNO.start, v)
    }

    /// Sets the packet-too-big MTU.
    #[inline]
    pub fn set_pkt_too_big_mtu(&mut self, v: u32) {
        write_u32(self.buffer.as_mut(), field::MTU.start, v)
    }

    /// Sets the parameter-problem pointer.
    #[inline]
    pub fn set_param_problem_ptr(&mut self, v: u32) {
        write_u32(self.buffer.as_mut(), field::POINTER.start, v)
    }

    /// Zeroes the 4-byte rest-of-header word (unused in several messages).
    #[inline]
    pub fn clear_reserved(&mut self) {
        write_u32(self.buffer.as_mut(), field::UNUSED.start, 0)
    }

    /// The data after the header, mutable.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::DATA..]
    }

    /// Computes and writes the checksum over the pseudo-header and the whole buffer.
    #[inline]
    pub fn fill_checksum(&mut self, src: Ipv6Addr, dst: Ipv6Addr) {
        self.set_checksum(0);
        let b = self.buffer.as_ref();
        let ph = checksum::pseudo_header_v6(src, dst, 58, b.len() as u32);
        let c = checksum::finish(checksum::combine(&[ph, checksum::data(b)]));
        self.set_checksum(c);
    }
}

/// The parsed meaning of the ICMPv6 messages uplane handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Icmpv6Repr<'a> {
    /// Destination unreachable (type 1).
    DstUnreachable {
        /// Why.
        reason: Icmpv6DstUnreachable,
        /// The invoking packet.
        invoking: &'a [u8],
    },
    /// Packet too big (type 2).
    PktTooBig {
        /// MTU of the next-hop link.
        mtu: u32,
        /// The invoking packet.
        invoking: &'a [u8],
    },
    /// Time exceeded (type 3).
    TimeExceeded {
        /// Why.
        reason: Icmpv6TimeExceeded,
        /// The invoking packet.
        invoking: &'a [u8],
    },
    /// Parameter problem (type 4).
    ParamProblem {
        /// Why.
        reason: Icmpv6ParamProblem,
        /// Offset of the offending octet in the invoking packet.
        pointer: u32,
        /// The invoking packet.
        invoking: &'a [u8],
    },
    /// Echo request (type 128).
    EchoRequest {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Data, echoed back unchanged.
        data: &'a [u8],
    },
    /// Echo reply (type 129).
    EchoReply {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Data from the request.
        data: &'a [u8],
    },
    /// A Neighbor Discovery message (types 133-137).
    Ndisc(NdiscRepr<'a>),
}

impl<'a> Icmpv6Repr<'a> {
    /// Parses a checked view and verifies its checksum over the pseudo-header of
    /// `src`/`dst`.
    ///
    /// Errors: [`Error::Truncated`], [`Error::BadChecksum`]; for Neighbor Discovery the
    /// errors of [`NdiscRepr::parse`] (code not 0, bad options); [`Error::Unsupported`] for
    /// other types (MLD...) and echo with a non-zero code.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &Icmpv6Packet<&'a T>,
        src: Ipv6Addr,
        dst: Ipv6Addr,
    ) -> Result<Self> {
        packet.check_len()?;
        if !packet.verify_checksum(src, dst) {
            return Err(Error::BadChecksum);
        }
        let code = packet.msg_code();
        let data = packet.data();
        Ok(match (packet.msg_type(), code) {
            (Icmpv6Message::DstUnreachable, _) => Icmpv6Repr::DstUnreachable {
                reason: code.into(),
                invoking: data,
            },
            (Icmpv6Message::PktTooBig, 0) => Icmpv6Repr::PktTooBig {
                mtu: packet.pkt_too_big_mtu(),
                invoking: data,
            },
            (Icmpv6Message::TimeExceeded, _) => Icmpv6Repr::TimeExceeded {
                reason: code.into(),
                invoking: data,
            },
            (Icmpv6Message::ParamProblem, _) => Icmpv6Repr::ParamProblem {
                reason: code.into(),
                pointer: packet.param_problem_ptr(),
                invoking: data,
            },
            (Icmpv6Message::EchoRequest, 0) => Icmpv6Repr::EchoRequest {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            },
            (Icmpv6Message::EchoReply, 0) => Icmpv6Repr::EchoReply {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            },
            (
                Icmpv6Message::RouterSolicit
                | Icmpv6Message::RouterAdvert
                | Icmpv6Message::NeighborSolicit
                | Icmpv6Message::NeighborAdvert
                | Icmpv6Message::Redirect,
                _,
            ) => Icmpv6Repr::Ndisc(NdiscRepr::parse(packet)?),
            _ => return Err(Error::Unsupported),
        })
    }

    /// Bytes [`emit`](Self::emit) writes.
    #[inline]
    pub fn buffer_len(&self) -> usize {
        match self {
            Icmpv6Repr::DstUnreachable { invoking, .. }
            | Icmpv6Repr::PktTooBig { invoking, .. }
            | Icmpv6Repr::TimeExceeded { invoking, .. }
            | Icmpv6Repr::ParamProblem { invoking, .. } => HEADER_LEN + invoking.len(),
            Icmpv6Repr::EchoRequest { data, .. } | Icmpv6Repr::EchoReply { data, .. } => {
                HEADER_LEN + data.len()
            }
            Icmpv6Repr::Ndisc(nd) => nd.buffer_len(),
        }
    }

    /// Writes the message and fills the checksum over the pseudo-header of `src`/`dst` and
    /// the whole buffer (make the view exactly [`buffer_len`](Self::buffer_len) bytes).
    ///
    /// # Panics
    /// If the buffer is shorter than [`buffer_len`](Self::buffer_len).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Icmpv6Packet<T>,
        src: Ipv6Addr,
        dst: Ipv6Addr,
    ) {
        let mut body: &[u8] = &[];
        match *self {
            Icmpv6Repr::DstUnreachable { reason, invoking } => {
                packet.set_msg_type(Icmpv6Message::DstUnreachable);
                packet.set_msg_code(reason.into());
                packet.clear_reserved();
                body = invoking;
            }
            Icmpv6Repr::PktTooBig { mtu, invoking } => {
                packet.set_msg_type(Icmpv6Message::PktTooBig);
                packet.set_msg_code(0);
                packet.set_pkt_too_big_mtu(mtu);
                body = invoking;
            }
            Icmpv6Repr::TimeExceeded { reason, invoking } => {
                packet.set_msg_type(Icmpv6Message::TimeExceeded);
                packet.set_msg_code(reason.into());
                packet.clear_reserved();
                body = invoking;
            }
            Icmpv6Repr::ParamProblem {
                reason,
                pointer,
                invoking,
            } => {
                packet.set_msg_type(Icmpv6Message::ParamProblem);
                packet.set_msg_code(reason.into());
                packet.set_param_problem_ptr(pointer);
                body = invoking;
            }
            Icmpv6Repr::EchoRequest {
                ident,
                seq_no,
                data,
            }
            | Icmpv6Repr::EchoReply {
                ident,
                seq_no,
                data,
            } => {
                let ty = if matches!(self, Icmpv6Repr::EchoRequest { .. }) {
                    Icmpv6Message::EchoRequest
                } else {
                    Icmpv6Message::EchoReply
                };
                packet.set_msg_type(ty);
                packet.set_msg_code(0);
                packet.set_echo_ident(ident);
                packet.set_echo_seq_no(seq_no);
                body = data;
            }
            Icmpv6Repr::Ndisc(nd) => nd.emit(packet),
        }
        packet.data_mut()[..body.len()].copy_from_slice(body);
        packet.fill_checksum(src, dst);
    }
}

/// Fuzz entry point: the checked view, every accessor (ND ones included), the ND option
/// walk, parse (on the input and on a copy with its checksum fixed, so parse is reached) and
/// the emit round trip.
#[doc(hidden)]
pub fn fuzz(data: &[u8]) {
    let (src, dst) = (
        Ipv6Addr::LOCALHOST,
        Ipv6Addr::new(0xff02, 0, 0, 0, 0, 1, 0xff00, 1),
    );
    let Ok(p) = Icmpv6Packet::new_checked(data) else {
        return;
    };
    let _ = (
        p.msg_type(),
        p.msg_type().is_error(),
        p.msg_code(),
        p.checksum(),
    );
    let _ = (
        p.echo_ident(),
        p.echo_seq_no(),
        p.pkt_too_big_mtu(),
        p.param_problem_ptr(),
    );
    let _ = (p.data(), p.verify_checksum(src, dst));
    let _ = (
        p.cur_hop_limit(),
        p.router_flags(),
        p.router_lifetime(),
        p.reachable_time(),
    );
    let _ = (
        p.retrans_time(),
        p.neighbor_flags(),
        p.target_addr(),
        p.dest_addr(),
    );
    let mut walked = 0;
    for opt in p.options() {
        match opt {
            Ok(o) => walked += o.buffer_len(),
            Err(_) => break,
        }
    }
    assert!(walked <= data.len());
    let _ = Icmpv6Repr::parse(&p, src, dst);
    let mut fixed = [0u8; 2048];
    let Some(fixed) = fixed.get_mut(..data.len()) else {
        return;
    };
    fixed.copy_from_slice(data);
    Icmpv6Packet::new_unchecked(&mut *fixed).fill_checksum(src, dst);
    let p = Icmpv6Packet::new_checked(&*fixed).expect("same length");
    let Ok(repr) = Icmpv6Repr::parse(&p, src, dst) else {
        return;
    };
    let mut buf = [0u8; 2048];
    let out = &mut buf[..repr.buffer_len()];
    repr.emit(&mut Icmpv6Packet::new_unchecked(&mut *out), src, dst);
    let q = Icmpv6Packet::new_checked(&*out).expect("emitted message checks");
    assert_eq!(Icmpv6Repr::parse(&q, src, dst), Ok(repr));
}

#[cfg(test)]
mod tests;
