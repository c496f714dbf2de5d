//! ICMP for IPv4 (RFC 792), with the fragmentation-needed next-hop MTU of RFC 1191.
//!
//! [`Icmpv4Packet`] is a checked view over an ICMP message (the IPv4 payload); [`Icmpv4Repr`]
//! is the parsed meaning of the messages uplane sends and answers: echo request/reply,
//! destination unreachable, time exceeded, parameter problem and redirect. Error messages
//! carry the *invoking packet* (the original IP header and at least 8 bytes of its payload,
//! RFC 792; up to 576 bytes in all, RFC 1812 §4.3.2.3) as a raw slice: parse it with the
//! IPv4 view if you need it.

use core::net::Ipv4Addr;

use crate::enum_with_unknown;
use crate::{checksum, read_u16, read_u32, write_u16, write_u32, Error, Result};

enum_with_unknown! {
    /// ICMPv4 message type (RFC 792, IANA "ICMP Type Numbers").
    pub enum Icmpv4Message(u8) {
        /// Echo reply.
        EchoReply = 0,
        /// Destination unreachable.
        DstUnreachable = 3,
        /// Source quench (deprecated, RFC 6633).
        SourceQuench = 4,
        /// Redirect.
        Redirect = 5,
        /// Echo request.
        EchoRequest = 8,
        /// Router advertisement (RFC 1256).
        RouterAdvert = 9,
        /// Router solicitation (RFC 1256).
        RouterSolicit = 10,
        /// Time exceeded.
        TimeExceeded = 11,
        /// Parameter problem.
        ParamProblem = 12,
        /// Timestamp request.
        Timestamp = 13,
        /// Timestamp reply.
        TimestampReply = 14,
    }
}

enum_with_unknown! {
    /// Codes of [`Icmpv4Message::DstUnreachable`] (RFC 792, RFC 1122 §3.2.2.1, RFC 1812).
    pub enum Icmpv4DstUnreachable(u8) {
        /// Net unreachable.
        NetUnreachable = 0,
        /// Host unreachable.
        HostUnreachable = 1,
        /// Protocol unreachable.
        ProtoUnreachable = 2,
        /// Port unreachable.
        PortUnreachable = 3,
        /// Fragmentation needed and DF set; carries the next-hop MTU (RFC 1191).
        FragRequired = 4,
        /// Source route failed.
        SrcRouteFailed = 5,
        /// Destination network unknown.
        DstNetUnknown = 6,
        /// Destination host unknown.
        DstHostUnknown = 7,
        /// Source host isolated.
        SrcHostIsolated = 8,
        /// Network administratively prohibited.
        NetProhibited = 9,
        /// Host administratively prohibited.
        HostProhibited = 10,
        /// Network unreachable for ToS.
        NetUnreachToS = 11,
        /// Host unreachable for ToS.
        HostUnreachToS = 12,
        /// Communication administratively prohibited (RFC 1812).
        CommProhibited = 13,
        /// Host precedence violation (RFC 1812).
        HostPrecedViol = 14,
        /// Precedence cutoff in effect (RFC 1812).
        PrecedCutoff = 15,
    }
}

enum_with_unknown! {
    /// Codes of [`Icmpv4Message::TimeExceeded`] (RFC 792).
    pub enum Icmpv4TimeExceeded(u8) {
        /// TTL expired in transit.
        TtlExpired = 0,
        /// Fragment reassembly time exceeded.
        FragExpired = 1,
    }
}

enum_with_unknown! {
    /// Codes of [`Icmpv4Message::ParamProblem`] (RFC 792, RFC 1108).
    pub enum Icmpv4ParamProblem(u8) {
        /// The pointer field indicates the error.
        AtPointer = 0,
        /// A required option is missing.
        MissingOption = 1,
        /// Bad length.
        BadLength = 2,
    }
}

enum_with_unknown! {
    /// Codes of [`Icmpv4Message::Redirect`] (RFC 792).
    pub enum Icmpv4Redirect(u8) {
        /// Redirect datagrams for the network.
        Net = 0,
        /// Redirect datagrams for the host.
        Host = 1,
        /// Redirect for the type of service and network.
        NetTos = 2,
        /// Redirect for the type of service and host.
        HostTos = 3,
    }
}

mod field {
    use crate::Field;
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Field = 2..4;
    /// Echo: identifier and sequence number.
    pub const ECHO_IDENT: Field = 4..6;
    pub const ECHO_SEQNO: Field = 6..8;
    /// Destination unreachable / fragmentation needed: next-hop MTU (RFC 1191).
    pub const UNUSED: Field = 4..6;
    pub const NEXT_HOP_MTU: Field = 6..8;
    /// Parameter problem: pointer.
    pub const POINTER: usize = 4;
    /// Redirect: gateway address.
    pub const GATEWAY: Field = 4..8;
    pub const DATA: usize = 8;
}

/// Length of the ICMPv4 header (type, code, checksum and the 4-byte rest of header).
pub const HEADER_LEN: usize = field::DATA;

/// A zero-copy view of an ICMPv4 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Icmpv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Icmpv4Packet<T> {
    /// Wraps `buffer` without checking it; accessors may panic on a short buffer.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Self {
        Icmpv4Packet { buffer }
    }

    /// Wraps `buffer` and runs [`check_len`](Self::check_len).
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks that the 8-byte header fits ([`Error::Truncated`] otherwise). Every field the
    /// accessors read lies in it.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
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
    pub fn msg_type(&self) -> Icmpv4Message {
        Icmpv4Message::from(self.buffer.as_ref()[field::TYPE])
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

    /// Next-hop MTU (destination unreachable, code 4; RFC 1191). Zero from routers that
    /// predate RFC 1191.
    #[inline]
    pub fn next_hop_mtu(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::NEXT_HOP_MTU.start)
    }

    /// Pointer to the offending octet (parameter problem).
    #[inline]
    pub fn pointer(&self) -> u8 {
        self.buffer.as_ref()[field::POINTER]
    }

    /// Gateway address (redirect).
    #[inline]
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::from(read_u32(self.buffer.as_ref(), field::GATEWAY.start))
    }

    /// Verifies the checksum over the whole buffer (RFC 792: the ICMP message).
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        checksum::data(self.buffer.as_ref()) == 0xffff
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Icmpv4Packet<&'a T> {
    /// Everything after the 8-byte header: echo data, or the invoking packet of an error.
    #[inline]
    pub fn data(&self) -> &'a [u8] {
        &self.buffer.as_ref()[field::DATA..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv4Packet<T> {
    /// Sets the message type.
    #[inline]
    pub fn set_msg_type(&mut self, v: Icmpv4Message) {
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

    /// Sets the next-hop MTU and zeroes the unused half-word before it.
    #[inline]
    pub fn set_next_hop_mtu(&mut self, v: u16) {
        write_u16(self.buffer.as_mut(), field::UNUSED.start, 0);
        write_u16(self.buffer.as_mut(), field::NEXT_HOP_MTU.start, v)
    }

    /// Sets the parameter-problem pointer and zeroes the unused bytes after it.
    #[inline]
    pub fn set_pointer(&mut self, v: u8) {
        write_u32(self.buffer.as_mut(), field::POINTER, u32::from(v) << 24)
    }

    /// Sets the redirect gateway address.
    #[inline]
    pub fn set_gateway(&mut self, v: Ipv4Addr) {
        write_u32(self.buffer.as_mut(), field::GATEWAY.start, v.to_bits())
    }

    /// The data after the header, mutable.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::DATA..]
    }

    /// Computes and writes the checksum over the whole buffer.
    #[inline]
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let c = checksum::finish(checksum::data(self.buffer.as_ref()));
        self.set_checksum(c);
    }
}

/// The parsed meaning of the ICMPv4 messages uplane handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Icmpv4Repr<'a> {
    /// Echo request (type 8).
    EchoRequest {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Data, echoed back unchanged.
        data: &'a [u8],
    },
    /// Echo reply (type 0).
    EchoReply {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Data from the request.
        data: &'a [u8],
    },
    /// Destination unreachable (type 3).
    DstUnreachable {
        /// Why.
        reason: Icmpv4DstUnreachable,
        /// Next-hop MTU for [`Icmpv4DstUnreachable::FragRequired`] (RFC 1191); zero for
        /// other codes.
        next_hop_mtu: u16,
        /// The invoking packet: IP header and leading payload bytes.
        invoking: &'a [u8],
    },
    /// Time exceeded (type 11).
    TimeExceeded {
        /// Why.
        reason: Icmpv4TimeExceeded,
        /// The invoking packet.
        invoking: &'a [u8],
    },
    /// Parameter problem (type 12).
    ParamProblem {
        /// Why.
        reason: Icmpv4ParamProblem,
        /// Offset of the offending octet in the invoking packet.
        pointer: u8,
        /// The invoking packet.
        invoking: &'a [u8],
    },
    /// Redirect (type 5).
    Redirect {
        /// Which traffic to redirect.
        reason: Icmpv4Redirect,
        /// The better first hop.
        gateway: Ipv4Addr,
        /// The invoking packet.
        invoking: &'a [u8],
    },
}

impl<'a> Icmpv4Repr<'a> {
    /// Parses a checked view and verifies its checksum.
    ///
    /// Errors: [`Error::Truncated`] on a short buffer, [`Error::BadChecksum`], and
    /// [`Error::Unsupported`] for message types not listed in [`Icmpv4Repr`] (and echo with
    /// a non-zero code).
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Icmpv4Packet<&'a T>) -> Result<Self> {
        packet.check_len()?;
        if !packet.verify_checksum() {
            return Err(Error::BadChecksum);
        }
        let code = packet.msg_code();
        let data = packet.data();
        Ok(match (packet.msg_type(), code) {
            (Icmpv4Message::EchoRequest, 0) => Icmpv4Repr::EchoRequest {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            },
            (Icmpv4Message::EchoReply, 0) => Icmpv4Repr::EchoReply {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            },
            (Icmpv4Message::DstUnreachable, _) => Icmpv4Repr::DstUnreachable {
                reason: code.into(),
                next_hop_mtu: packet.next_hop_mtu(),
                invoking: data,
            },
            (Icmpv4Message::TimeExceeded, _) => Icmpv4Repr::TimeExceeded {
                reason: code.into(),
                invoking: data,
            },
            (Icmpv4Message::ParamProblem, _) => Icmpv4Repr::ParamProblem {
                reason: code.into(),
                pointer: packet.pointer(),
                invoking: data,
            },
            (Icmpv4Message::Redirect, _) => Icmpv4Repr::Redirect {
                reason: code.into(),
                gateway: packet.gateway(),
                invoking: data,
            },
            _ => return Err(Error::Unsupported),
        })
    }

    fn body(&self) -> &'a [u8] {
        match *self {
            Icmpv4Repr::EchoRequest { data, .. } | Icmpv4Repr::EchoReply { data, .. } => data,
            Icmpv4Repr::DstUnreachable { invoking, .. }
            | Icmpv4Repr::TimeExceeded { invoking, .. }
            | Icmpv4Repr::ParamProblem { invoking, .. }
            | Icmpv4Repr::Redirect { invoking, .. } => invoking,
        }
    }

    /// Bytes [`emit`](Self::emit) writes: header plus data or invoking packet.
    #[inline]
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.body().len()
    }

    /// Writes the message, copies the data or invoking packet after the header and fills
    /// the checksum over the whole buffer (make the view exactly
    /// [`buffer_len`](Self::buffer_len) bytes).
    ///
    /// # Panics
    /// If the buffer is shorter than [`buffer_len`](Self::buffer_len).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Icmpv4Packet<T>) {
        let (ty, code) = match *self {
            Icmpv4Repr::EchoRequest { .. } => (Icmpv4Message::EchoRequest, 0),
            Icmpv4Repr::EchoReply { .. } => (Icmpv4Message::EchoReply, 0),
            Icmpv4Repr::DstUnreachable { reason, .. } => {
                (Icmpv4Message::DstUnreachable, reason.into())
            }
            Icmpv4Repr::TimeExceeded { reason, .. } => (Icmpv4Message::TimeExceeded, reason.into()),
            Icmpv4Repr::ParamProblem { reason, .. } => (Icmpv4Message::ParamProblem, reason.into()),
            Icmpv4Repr::Redirect { reason, .. } => (Icmpv4Message::Redirect, reason.into()),
        };
        packet.set_msg_type(ty);
        packet.set_msg_code(code);
        match *self {
            Icmpv4Repr::EchoRequest { ident, seq_no, .. }
            | Icmpv4Repr::EchoReply { ident, seq_no, .. } => {
                packet.set_echo_ident(ident);
                packet.set_echo_seq_no(seq_no);
            }
            Icmpv4Repr::DstUnreachable { next_hop_mtu, .. } => {
                packet.set_next_hop_mtu(next_hop_mtu)
            }
            Icmpv4Repr::TimeExceeded { .. } => packet.set_next_hop_mtu(0),
            Icmpv4Repr::ParamProblem { pointer, .. } => packet.set_pointer(pointer),
            Icmpv4Repr::Redirect { gateway, .. } => packet.set_gateway(gateway),
        }
        let body = self.body();
        packet.data_mut()[..body.len()].copy_from_slice(body);
        packet.fill_checksum();
    }
}

/// Fuzz entry point: the checked view, every accessor, parse (on the input and on a copy
/// with its checksum fixed, so parse is reached) and the emit round trip.
#[doc(hidden)]
pub fn fuzz(data: &[u8]) {
    let Ok(p) = Icmpv4Packet::new_checked(data) else {
        return;
    };
    let _ = (
        p.msg_type(),
        p.msg_code(),
        p.checksum(),
        p.echo_ident(),
        p.echo_seq_no(),
    );
    let _ = (
        p.next_hop_mtu(),
        p.pointer(),
        p.gateway(),
        p.data(),
        p.verify_checksum(),
    );
    let _ = Icmpv4Repr::parse(&p);
    let mut fixed = [0u8; 2048];
    let Some(fixed) = fixed.get_mut(..data.len()) else {
        return;
    };
    fixed.copy_from_slice(data);
    Icmpv4Packet::new_unchecked(&mut *fixed).fill_checksum();
    let p = Icmpv4Packet::new_checked(&*fixed).expect("same length");
    let Ok(repr) = Icmpv4Repr::parse(&p) else {
        return;
    };
    let mut buf = [0u8; 2048];
    let out = &mut buf[..repr.buffer_len()];
    repr.emit(&mut Icmpv4Packet::new_unchecked(&mut *out));
    let q = Icmpv4Packet::new_checked(&*out).expect("emitted message checks");
    assert_eq!(Icmpv4Repr::parse(&q), Ok(repr));
}

#[cfg(test)]
mod tests;
