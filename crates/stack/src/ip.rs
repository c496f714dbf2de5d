//! The stack behind a router's local delivery: IP packets in, IP packets out, no link layer.
//!
//! [`IpHost`] is what runs inside uplane's graph behind `ip4-local`/`ip6-local`: the
//! router already did Ethernet, ARP/ND, the IP header checks, reassembly, echo replies and
//! next-hop resolution, so the host only sees IP packets for its addresses and hands out
//! IP packets that the router routes (`ip4-lookup`/`ip6-lookup`). It holds the same
//! [`Endpoint`] (TCP) and [`UdpTable`]; [`crate::iface::Interface`], the same stack on an
//! Ethernet link by itself, contains an `IpHost` for everything at and above IP and adds
//! the link layer (framing, ARP/ND, echo replies, ICMP errors it sends).
//!
//! Every packet is untrusted: read only through `wire`'s checked views; what cannot be
//! used is dropped and the [`DropReason`] returned (and counted in [`IpHostStats`]).
//! A UDP datagram nobody listens to comes back as [`IpArrival::UdpNoListener`] so that the
//! caller answers it (the router has a rate-limited ICMP error node); TCP to a port nobody
//! listens to is answered by the endpoint with a RST.
//!
//! # Call order
//! [`handle_ip_packet`](IpHost::handle_ip_packet) per received packet,
//! [`handle_timeout`](IpHost::handle_timeout) once [`poll_timeout`](IpHost::poll_timeout)
//! has passed, application calls on [`endpoint_mut`](IpHost::endpoint_mut) /
//! [`udp_mut`](IpHost::udp_mut); then [`poll_transmit`](IpHost::poll_transmit) until
//! `None`. Nothing allocates per packet after warm-up (one reused scratch buffer).

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use wire::icmpv4::{Icmpv4DstUnreachable, Icmpv4Packet, Icmpv4Repr};
use wire::icmpv6::{Icmpv6DstUnreachable, Icmpv6Packet, Icmpv6Repr};
use wire::ipv4::{Ipv4Options, Ipv4Packet, Ipv4Repr};
use wire::ipv6::{Ipv6Packet, Ipv6Repr};
use wire::pseudo::PseudoHeader;
use wire::tcp::{TcpPacket, TcpRepr};
use wire::udp::{UdpPacket, UdpRepr};
use wire::{checksum, IpProtocol};

use crate::endpoint::{Endpoint, EndpointConfig};
use crate::iface::DropReason;
use crate::udp::{UdpConfig, UdpError, UdpTable};
use crate::{FourTuple, Instant};

const IP4: usize = wire::ipv4::HEADER_LEN;
const IP6: usize = wire::ipv6::HEADER_LEN;
const UDP: usize = wire::udp::HEADER_LEN;

/// Settings of an [`IpHost`].
#[derive(Debug, Clone)]
pub struct IpHostConfig {
    /// The largest IP packet sent (default 1500). TCP's MSS is clamped to fit it.
    pub mtu: u16,
    /// TCP settings and the secret keying hashes and ISNs.
    pub endpoint: EndpointConfig,
    /// UDP bounds.
    pub udp: UdpConfig,
}

impl Default for IpHostConfig {
    fn default() -> Self {
        IpHostConfig {
            mtu: 1500,
            endpoint: EndpointConfig::default(),
            udp: UdpConfig::default(),
        }
    }
}

/// What a received packet was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpArrival {
    /// A TCP segment, handed to the endpoint. `handshake_ack` is true when it completed a
    /// handshake: the listener on `local` (or on its port's wildcard) has a connection to
    /// accept.
    Tcp {
        /// The segment's destination.
        local: SocketAddr,
        /// The segment put a connection in a listener's accept queue.
        handshake_ack: bool,
    },
    /// A UDP datagram a socket took.
    Udp,
    /// A well-formed UDP datagram no socket listens to: answer with port unreachable.
    UdpNoListener,
    /// An ICMP error delivered to the connection or socket it concerns.
    IcmpDelivered,
}

/// Counters of an [`IpHost`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpHostStats {
    /// Packets handed to `handle_ip_packet`.
    pub rx_packets: u64,
    /// Packets handed out by `poll_transmit`.
    pub tx_packets: u64,
    /// UDP datagrams nobody listened to.
    pub udp_no_listener: u64,
    /// Drops, indexed like [`DropReason::ALL`].
    pub drops: [u64; 18],
}

impl IpHostStats {
    /// The drop counter of `r`.
    pub fn dropped(&self, r: DropReason) -> u64 {
        self.drops[r as usize]
    }

    /// All drops.
    pub fn total_drops(&self) -> u64 {
        self.drops.iter().sum()
    }
}

/// TCP and UDP at the IP level. See the module documentation.
#[derive(Debug)]
pub struct IpHost {
    config: IpHostConfig,
    endpoint: Endpoint,
    udp: UdpTable,
    scratch: Vec<u8>,
    ident: u16,
    stats: IpHostStats,
}

fn pseudo(src: IpAddr, dst: IpAddr) -> Option<PseudoHeader> {
    match (src, dst) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => Some(PseudoHeader::V4 { src, dst }),
        (IpAddr::V6(src), IpAddr::V6(dst)) => Some(PseudoHeader::V6 { src, dst }),
        _ => None,
    }
}

/// Source and destination ports of a quoted transport header.
fn quoted_ports(l4: &[u8]) -> Option<(u16, u16)> {
    let p = l4.get(..4)?;
    Some((
        u16::from_be_bytes([p[0], p[1]]),
        u16::from_be_bytes([p[2], p[3]]),
    ))
}

/// The IP header of a packet with `l4_len` transport bytes from `src` to `dst`, written
/// at the start of `out` (`ident` is advanced for IPv4); the transport header's offset, or
/// why it was not written. A free function so that the TCP path can write it while it
/// holds the payload borrowed from its connection.
fn write_ip_header(
    mtu: u16,
    ident: &mut u16,
    src: IpAddr,
    dst: IpAddr,
    proto: IpProtocol,
    l4_len: usize,
    out: &mut [u8],
) -> Result<usize, DropReason> {
    let ip_len = if dst.is_ipv4() { IP4 } else { IP6 };
    if ip_len + l4_len > usize::from(mtu) || out.len() < ip_len + l4_len {
        return Err(DropReason::TooBig);
    }
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            *ident = ident.wrapping_add(1);
            Ipv4Repr {
                src_addr: s,
                dst_addr: d,
                protocol: proto,
                payload_len: l4_len as u16,
                ttl: 64,
                dscp: 0,
                ecn: 0,
                ident: *ident,
                dont_frag: true,
                more_frags: false,
                frag_offset: 0,
                options: Ipv4Options::default(),
            }
            .emit(&mut Ipv4Packet::new_unchecked(&mut out[..IP4]));
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => Ipv6Repr {
            src_addr: s,
            dst_addr: d,
            next_header: proto,
            payload_len: l4_len as u16,
            hop_limit: 64,
            traffic_class: 0,
            flow_label: 0,
        }
        .emit(&mut Ipv6Packet::new_unchecked(&mut out[..IP6])),
        _ => return Err(DropReason::NoRoute),
    }
    Ok(ip_len)
}

/// The header of a checked segment (`l4` passed `TcpPacket::new_checked`) with no
/// options, or only timestamps in Linux's NOP, NOP, TS layout: what
/// `TcpRepr::parse(_, None)` reads from it, built from the header's words. `None` for
/// any other header (parse it).
#[inline(always)]
fn usual_tcp_repr(l4: &[u8]) -> Option<TcpRepr> {
    let h = l4.first_chunk::<32>()?;
    let word = |i: usize| u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
    let (w0, w3, w4) = (word(0), word(12), word(16));
    let timestamp = match w3 >> 28 {
        5 => None,
        8 if word(20) == 0x0101_080a => Some((word(24), word(28))),
        _ => return None,
    };
    let hl = (w3 >> 28) as usize * 4;
    Some(TcpRepr {
        src_port: (w0 >> 16) as u16,
        dst_port: w0 as u16,
        seq_number: wire::tcp::TcpSeqNumber::from_u32(word(4)),
        ack_number: wire::tcp::TcpSeqNumber::from_u32(word(8)),
        flags: wire::tcp::TcpFlags((w3 >> 16) as u8),
        window_len: w3 as u16,
        urgent_at: w4 as u16,
        timestamp,
        payload_len: l4.len() - hl,
        ..TcpRepr::default()
    })
}

/// A 32-bit header word as the sum of its two 16-bit halves: the word-wise header code
/// adds these into a `u64` and [`fold`]s once (RFC 1071).
#[inline(always)]
pub(crate) fn halves(w: u32) -> u64 {
    u64::from(w >> 16) + u64::from(w & 0xffff)
}

/// Folds a sum of [`halves`] (below 2^48) to 16 bits, not complemented.
#[inline(always)]
pub(crate) fn fold(acc: u64) -> u16 {
    checksum::combine(&[acc as u16, (acc >> 16) as u16, (acc >> 32) as u16])
}

/// The TCP header length of a segment [`usual_headers`] can write: no urgent data and
/// no options but timestamps (written NOP, NOP, TS as `TcpRepr::emit` does), which is
/// every segment after the handshake unless it carries SACK blocks.
#[inline]
fn usual_tcp_header_len(r: &TcpRepr) -> Option<usize> {
    let plain = r.max_seg_size.is_none()
        && r.window_scale.is_none()
        && !r.sack_permitted
        && r.sack_ranges[0].is_none()
        && r.urgent_at == 0;
    plain.then_some(if r.timestamp.is_some() { 32 } else { 20 })
}

/// Writes the IPv4 header (no options, DF, TTL 64, as [`write_ip_header`] does) and the
/// TCP header of `r` ([`usual_tcp_header_len`] bytes) into `hdr`, for a packet of
/// `total_len` bytes whose payload sums to `payload_sum` (already in place after `hdr`).
/// Each header is a handful of 32-bit words computed from the values, stored whole, and
/// the checksums are the same words' sums: nothing written is read back.
#[inline]
fn usual_headers(
    hdr: &mut [u8],
    ident: u16,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    r: &TcpRepr,
    total_len: u16,
    payload_sum: u16,
) {
    let (s, d) = (src.to_bits(), dst.to_bits());
    let ip0 = 0x4500_0000 | u32::from(total_len);
    let ip1 = u32::from(ident) << 16 | 0x4000;
    let ttl_proto = 64 << 24 | u32::from(u8::from(IpProtocol::Tcp)) << 16;
    let addrs = halves(s) + halves(d);
    let ip_sum = checksum::finish(fold(halves(ip0) + halves(ip1) + halves(ttl_proto) + addrs));
    let hl = hdr.len() - IP4;
    let t0 = u32::from(r.src_port) << 16 | u32::from(r.dst_port);
    let t1 = r.seq_number.0 as u32;
    let t2 = r.ack_number.0 as u32;
    let t3 = ((hl as u32 / 4) << 28) | u32::from(r.flags.bits()) << 16 | u32::from(r.window_len);
    let (ts0, ts1) = r.timestamp.unwrap_or((0, 0));
    let opts = if hl == 32 {
        halves(0x0101_080a) + halves(ts0) + halves(ts1)
    } else {
        0
    };
    let pseudo = addrs + u64::from(u8::from(IpProtocol::Tcp)) + u64::from(total_len) - IP4 as u64;
    let tcp_sum = checksum::finish(fold(
        pseudo + halves(t0) + halves(t1) + halves(t2) + halves(t3) + opts + u64::from(payload_sum),
    ));
    let ip2 = ttl_proto | u32::from(ip_sum);
    let t4 = u32::from(tcp_sum) << 16;
    // Stored straight into the packet, two words per 8-byte store. Gathered into an array
    // first, the words were copied out with 16-byte loads that their 4-byte stores could
    // not forward (perf annotate: a quarter of `poll_transmit`); one 4-byte store per
    // word was slower still (tcp-bulk-memory 41.6 against 42.6 Gbit/s, median of 10, and
    // 42.0 for the array).
    let pair = |hi: u32, lo: u32| (u64::from(hi) << 32 | u64::from(lo)).to_be_bytes();
    let Some((h, rest)) = hdr.split_first_chunk_mut::<40>() else {
        return;
    };
    h[..8].copy_from_slice(&pair(ip0, ip1));
    h[8..16].copy_from_slice(&pair(ip2, s));
    h[16..24].copy_from_slice(&pair(d, t0));
    h[24..32].copy_from_slice(&pair(t1, t2));
    h[32..40].copy_from_slice(&pair(t3, t4));
    if let Some(o) = rest.first_chunk_mut::<12>() {
        o[..4].copy_from_slice(&0x0101_080a_u32.to_be_bytes());
        o[4..].copy_from_slice(&pair(ts0, ts1));
    }
}

/// Clamps the TCP MSS of `endpoint` to fit `mtu` (IPv4 and TCP headers off; the endpoint
/// takes IPv6's 20 extra header bytes off for IPv6 connections).
pub(crate) fn clamp_mss(mtu: u16, endpoint: &mut EndpointConfig) {
    let mss_cap = mtu.saturating_sub((IP4 + 20) as u16).max(64);
    if endpoint.tcp.mss > mss_cap {
        let mut tcp = (*endpoint.tcp).clone();
        tcp.mss = mss_cap;
        endpoint.tcp = std::sync::Arc::new(tcp);
    }
}

impl IpHost {
    /// A new host. The TCP MSS is clamped to the MTU (IPv4 and TCP headers off).
    pub fn new(mut config: IpHostConfig) -> Self {
        clamp_mss(config.mtu, &mut config.endpoint);
        let secret = config.endpoint.secret;
        IpHost {
            endpoint: Endpoint::new(config.endpoint.clone()),
            udp: UdpTable::new(config.udp, secret),
            scratch: Vec::with_capacity(usize::from(config.mtu)),
            ident: 1,
            stats: IpHostStats::default(),
            config,
        }
    }

    /// Counters.
    pub fn stats(&self) -> &IpHostStats {
        &self.stats
    }

    /// The TCP endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The TCP endpoint, for application calls.
    pub fn endpoint_mut(&mut self) -> &mut Endpoint {
        &mut self.endpoint
    }

    /// The UDP sockets.
    pub fn udp(&self) -> &UdpTable {
        &self.udp
    }

    /// The UDP sockets, for application calls.
    pub fn udp_mut(&mut self) -> &mut UdpTable {
        &mut self.udp
    }

    /// The largest packet [`poll_transmit`](Self::poll_transmit) writes.
    pub fn max_packet_len(&self) -> usize {
        usize::from(self.config.mtu)
    }

    /// Counts a drop of `r` (the [`Interface`](crate::iface::Interface) around this host
    /// counts its link-level drops here too).
    pub(crate) fn count(&mut self, r: DropReason) {
        self.count_n(r, 1);
    }

    /// Counts `n` drops of `r`.
    pub(crate) fn count_n(&mut self, r: DropReason, n: u64) {
        self.stats.drops[r as usize] += n;
    }

    fn drop(&mut self, r: DropReason) -> Result<IpArrival, DropReason> {
        self.count(r);
        Err(r)
    }

    // ----- input ----------------------------------------------------------------------

    /// Processes one received IP packet (untrusted; the router has checked that it is for
    /// one of our addresses and reassembled it).
    pub fn handle_ip_packet(&mut self, now: Instant, pkt: &[u8]) -> Result<IpArrival, DropReason> {
        self.stats.rx_packets += 1;
        match pkt.first().map(|b| b >> 4) {
            Some(4) => self.handle_ipv4(now, pkt),
            Some(6) => self.handle_ipv6(now, pkt),
            _ => self.drop(DropReason::BadIpHeader),
        }
    }

    fn handle_ipv4(&mut self, now: Instant, bytes: &[u8]) -> Result<IpArrival, DropReason> {
        let Ok(pkt) = Ipv4Packet::new_checked(bytes) else {
            return self.drop(DropReason::BadIpHeader);
        };
        // The router checked the header checksum (or rebuilt the header when reassembling).
        let ip = match Ipv4Repr::parse(&pkt, false) {
            Ok(r) => r,
            Err(_) => return self.drop(DropReason::BadIpHeader),
        };
        if ip.more_frags || ip.frag_offset != 0 {
            return self.drop(DropReason::Fragment);
        }
        let (src, dst) = (IpAddr::V4(ip.src_addr), IpAddr::V4(ip.dst_addr));
        self.handle_l4(now, src, dst, ip.protocol, pkt.payload())
    }

    fn handle_ipv6(&mut self, now: Instant, bytes: &[u8]) -> Result<IpArrival, DropReason> {
        let Ok(pkt) = Ipv6Packet::new_checked(bytes) else {
            return self.drop(DropReason::BadIpHeader);
        };
        let Ok(ip) = Ipv6Repr::parse(&pkt) else {
            return self.drop(DropReason::BadIpHeader);
        };
        let (src, dst) = (IpAddr::V6(ip.src_addr), IpAddr::V6(ip.dst_addr));
        // Extension headers are stepped over (a datagram the router reassembled keeps its
        // fragment header as an atomic fragment, RFC 6946); a real fragment is refused.
        let Ok(chain) = pkt.ext_chain() else {
            return self.drop(DropReason::ExtensionHeader);
        };
        if chain.fragment.is_some_and(|f| !f.is_atomic()) {
            return self.drop(DropReason::Fragment);
        }
        let end = IP6 + usize::from(pkt.payload_len());
        let Some(l4) = bytes.get(chain.upper_offset..end) else {
            return self.drop(DropReason::BadIpHeader);
        };
        self.handle_l4(now, src, dst, chain.upper, l4)
    }

    /// The transport part of a packet for us from `src` to `dst` (checked by the caller):
    /// TCP, UDP, or an ICMP error for one of our connections or sockets.
    pub(crate) fn handle_l4(
        &mut self,
        now: Instant,
        src: IpAddr,
        dst: IpAddr,
        proto: IpProtocol,
        l4: &[u8],
    ) -> Result<IpArrival, DropReason> {
        match (proto, src, dst) {
            (IpProtocol::Tcp, ..) => self.handle_tcp(now, src, dst, l4),
            (IpProtocol::Udp, ..) => self.handle_udp(src, dst, l4),
            (IpProtocol::Icmp, _, IpAddr::V4(dst)) => self.handle_icmpv4(dst, l4),
            (IpProtocol::Icmpv6, IpAddr::V6(src), IpAddr::V6(dst)) => {
                self.handle_icmpv6(src, dst, l4)
            }
            _ => self.drop(DropReason::UnknownProtocol),
        }
    }

    /// A TCP segment in an IPv4 packet from `src` to `dst` (checked by the caller): what
    /// [`handle_l4`](Self::handle_l4) does with it, the pseudo-header summed from the
    /// addresses as register values (not read back from the `IpAddr`s just built) and the
    /// checksum verified before the header is parsed (a segment failing either is
    /// dropped as `BadTcp` all the same).
    pub(crate) fn handle_tcp4(
        &mut self,
        now: Instant,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        l4: &[u8],
    ) -> Result<IpArrival, DropReason> {
        let pseudo = halves(src.to_bits())
            + halves(dst.to_bits())
            + u64::from(u8::from(IpProtocol::Tcp))
            + l4.len() as u64;
        // The checksum is verified in a pass of its own, then the payload is copied.
        // Verifying while copying it into the receive buffer (the send side's fusion,
        // undone for a bad segment) was measured and not kept: a VecDeque lends no
        // uninitialised room, so the staged copy needed a zero fill first, and
        // tcp-bulk-memory went 32.3 -> 28.3 Gbit/s (uplane only, CPU time, 11 alternating
        // runs each).
        let sum = pseudo + u64::from(checksum::data(l4));
        let folded = fold(sum);
        // The header is used where `parse` wrote it: moved into a tuple with the payload
        // (as `handle_tcp` does), it was copied with 16-byte loads over the fields
        // `parse` had just stored one by one, a store-forwarding stall per segment (perf
        // annotate: half of this function's time).
        let Ok(p) = TcpPacket::new_checked(l4) else {
            return self.drop(DropReason::BadTcp);
        };
        if folded != 0xffff {
            return self.drop(DropReason::BadTcp);
        }
        // The usual header is read from its words straight into the `TcpRepr` used below;
        // `parse`'s result, returned out of line in a `Result`, was still copied out of it
        // with 16-byte loads over its narrow stores (perf annotate: half of this
        // function's time).
        let seg = match usual_tcp_repr(l4) {
            Some(r) => r,
            None => match TcpRepr::parse(&p, None) {
                Ok(r) => r,
                Err(_) => return self.drop(DropReason::BadTcp),
            },
        };
        debug_assert_eq!(Ok(seg), TcpRepr::parse(&p, None));
        self.deliver_tcp(now, IpAddr::V4(src), IpAddr::V4(dst), &seg, p.payload())
    }

    fn handle_tcp(
        &mut self,
        now: Instant,
        src: IpAddr,
        dst: IpAddr,
        l4: &[u8],
    ) -> Result<IpArrival, DropReason> {
        if let (IpAddr::V4(s), IpAddr::V4(d)) = (src, dst) {
            return self.handle_tcp4(now, s, d, l4);
        }
        let Some(ph) = pseudo(src, dst) else {
            return self.drop(DropReason::BadIpHeader);
        };
        // Parsed in place, not moved (see `handle_tcp4`).
        let Ok(p) = TcpPacket::new_checked(l4) else {
            return self.drop(DropReason::BadTcp);
        };
        let Ok(seg) = TcpRepr::parse(&p, Some(&ph)) else {
            return self.drop(DropReason::BadTcp);
        };
        self.deliver_tcp(now, src, dst, &seg, p.payload())
    }

    /// A parsed, checked segment to the endpoint.
    fn deliver_tcp(
        &mut self,
        now: Instant,
        src: IpAddr,
        dst: IpAddr,
        seg: &TcpRepr,
        data: &[u8],
    ) -> Result<IpArrival, DropReason> {
        let tuple = FourTuple {
            local: SocketAddr::new(dst, seg.dst_port),
            remote: SocketAddr::new(src, seg.src_port),
        };
        let queued = self.endpoint.accept_queued();
        self.endpoint.handle_segment(now, tuple, seg, data);
        Ok(IpArrival::Tcp {
            local: tuple.local,
            handshake_ack: self.endpoint.accept_queued() != queued,
        })
    }

    fn handle_udp(&mut self, src: IpAddr, dst: IpAddr, l4: &[u8]) -> Result<IpArrival, DropReason> {
        let Some(ph) = pseudo(src, dst) else {
            return self.drop(DropReason::BadIpHeader);
        };
        let Ok(p) = UdpPacket::new_checked(l4) else {
            return self.drop(DropReason::BadUdp);
        };
        // IPv4 may omit the checksum (zero); IPv6 may not (RFC 8200 §8.1).
        let check = p.checksum() != 0 || ph.is_ipv6();
        let Ok(repr) = UdpRepr::parse(&p, check.then_some(&ph)) else {
            return self.drop(DropReason::BadUdp);
        };
        let local = SocketAddr::new(dst, repr.dst_port);
        let remote = SocketAddr::new(src, repr.src_port);
        if self.udp.handle_datagram(local, remote, p.payload()) {
            Ok(IpArrival::Udp)
        } else {
            self.stats.udp_no_listener += 1;
            Ok(IpArrival::UdpNoListener)
        }
    }

    fn handle_icmpv4(&mut self, dst: Ipv4Addr, l4: &[u8]) -> Result<IpArrival, DropReason> {
        let Ok(p) = Icmpv4Packet::new_checked(l4) else {
            return self.drop(DropReason::BadIcmp);
        };
        match Icmpv4Repr::parse(&p) {
            Ok(Icmpv4Repr::DstUnreachable {
                reason,
                next_hop_mtu,
                invoking,
            }) => self.icmp4_unreachable(dst, reason, next_hop_mtu, invoking),
            _ => self.drop(DropReason::BadIcmp),
        }
    }

    /// Destination unreachable sent to `dst`, quoting one of our packets (IPv4 header + 8
    /// bytes) whose source must be `dst`.
    pub(crate) fn icmp4_unreachable(
        &mut self,
        dst: Ipv4Addr,
        reason: Icmpv4DstUnreachable,
        mtu: u16,
        invoking: &[u8],
    ) -> Result<IpArrival, DropReason> {
        if invoking.len() < IP4 {
            return self.drop(DropReason::IcmpUnmatched);
        }
        // The quote is usually cut short: read the header fields without check_len.
        let q = Ipv4Packet::new_unchecked(invoking);
        let hl = q.header_len();
        let ports = invoking.get(hl..).and_then(quoted_ports);
        let ok = q.version() == 4 && hl >= IP4 && q.src_addr() == dst;
        let (Some((sport, dport)), true) = (ports, ok) else {
            return self.drop(DropReason::IcmpUnmatched);
        };
        let tuple = FourTuple {
            local: SocketAddr::new(IpAddr::V4(q.src_addr()), sport),
            remote: SocketAddr::new(IpAddr::V4(q.dst_addr()), dport),
        };
        let what = match (q.protocol(), reason) {
            (IpProtocol::Tcp, Icmpv4DstUnreachable::FragRequired) => {
                // RFC 1191: zero (old routers) says nothing usable; 68 is the IPv4 minimum.
                let mtu = if mtu == 0 { 576 } else { mtu.max(68) };
                Ok(mtu.saturating_sub((IP4 + 20) as u16))
            }
            (_, Icmpv4DstUnreachable::PortUnreachable) => Err(UdpError::PortUnreachable),
            _ => Err(UdpError::Unreachable),
        };
        self.deliver_icmp_error(q.protocol(), tuple, what)
    }

    /// Hands an ICMP error about `tuple` to its TCP connection (`Ok(mss)`: the path's
    /// MSS) or UDP socket (`Err`).
    fn deliver_icmp_error(
        &mut self,
        proto: IpProtocol,
        tuple: FourTuple,
        what: Result<u16, UdpError>,
    ) -> Result<IpArrival, DropReason> {
        match (proto, what) {
            (IpProtocol::Tcp, Ok(mss)) if self.endpoint.handle_path_mtu(tuple, mss) => {
                Ok(IpArrival::IcmpDelivered)
            }
            (IpProtocol::Udp, Err(e)) => {
                self.udp.handle_icmp_error(tuple.local, tuple.remote, e);
                Ok(IpArrival::IcmpDelivered)
            }
            _ => self.drop(DropReason::IcmpUnmatched),
        }
    }

    fn handle_icmpv6(
        &mut self,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        l4: &[u8],
    ) -> Result<IpArrival, DropReason> {
        let Ok(p) = Icmpv6Packet::new_checked(l4) else {
            return self.drop(DropReason::BadIcmp);
        };
        let Ok(r) = Icmpv6Repr::parse(&p, src, dst) else {
            return self.drop(DropReason::BadIcmp);
        };
        match r {
            Icmpv6Repr::PktTooBig { mtu, invoking } => self.icmp6_error(dst, invoking, Ok(mtu)),
            Icmpv6Repr::DstUnreachable { reason, invoking } => {
                self.icmp6_error(dst, invoking, Err(reason))
            }
            _ => self.drop(DropReason::BadIcmp),
        }
    }

    /// Packet too big (`Ok(mtu)`) or destination unreachable sent to `dst`, quoting one of
    /// our packets whose source must be `dst`.
    pub(crate) fn icmp6_error(
        &mut self,
        dst: Ipv6Addr,
        invoking: &[u8],
        what: Result<u32, Icmpv6DstUnreachable>,
    ) -> Result<IpArrival, DropReason> {
        if invoking.len() < IP6 {
            return self.drop(DropReason::IcmpUnmatched);
        }
        let q = Ipv6Packet::new_unchecked(invoking);
        let ports = invoking.get(IP6..).and_then(quoted_ports);
        let (Some((sport, dport)), true) = (ports, q.src_addr() == dst) else {
            return self.drop(DropReason::IcmpUnmatched);
        };
        let tuple = FourTuple {
            local: SocketAddr::new(IpAddr::V6(q.src_addr()), sport),
            remote: SocketAddr::new(IpAddr::V6(q.dst_addr()), dport),
        };
        let what = match what {
            Ok(mtu) => Ok(mtu.clamp(1280, 65535) as u16 - (IP6 + 20) as u16),
            Err(Icmpv6DstUnreachable::PortUnreachable) => Err(UdpError::PortUnreachable),
            Err(_) => Err(UdpError::Unreachable),
        };
        self.deliver_icmp_error(q.next_header(), tuple, what)
    }

    // ----- output ---------------------------------------------------------------------

    /// Writes the next IP packet to send into `out` and returns its length. `out` should
    /// hold [`max_packet_len`](Self::max_packet_len) bytes; a packet that does not fit is
    /// dropped (`TooBig`). Call until `None` after every input.
    pub fn poll_transmit(&mut self, now: Instant, out: &mut [u8]) -> Option<usize> {
        self.poll_transmit_with(now, out, |_| None).map(|(n, _)| n)
    }

    /// [`poll_transmit`](Self::poll_transmit) where `source` picks the source address of a
    /// UDP datagram from an unbound socket to the given destination; also gives the
    /// packet's destination (for the link layer's next hop).
    pub(crate) fn poll_transmit_with(
        &mut self,
        now: Instant,
        out: &mut [u8],
        source: impl Fn(IpAddr) -> Option<IpAddr>,
    ) -> Option<(usize, IpAddr)> {
        loop {
            if self.udp.has_transmit() {
                let mut scratch = core::mem::take(&mut self.scratch);
                scratch.resize(usize::from(self.config.mtu), 0);
                let t = self.udp.poll_transmit(&mut scratch);
                let r = t.and_then(|t| {
                    let dst = t.remote.ip();
                    Some((self.emit_udp(t, &scratch, out, &source)?, dst))
                });
                self.scratch = scratch;
                match r {
                    Some((n, dst)) => return self.sent(n, dst),
                    None => continue,
                }
            }
            let mut t = crate::Transmit::blank();
            let slot = self.endpoint.poll_segment(now, &mut t)?;
            match self.emit_tcp(&t, slot, out) {
                Some(n) => return self.sent(n, t.tuple.remote.ip()),
                None => continue,
            }
        }
    }

    fn sent(&mut self, n: usize, dst: IpAddr) -> Option<(usize, IpAddr)> {
        self.stats.tx_packets += 1;
        Some((n, dst))
    }

    /// Writes the IP header of a packet with `l4_len` transport bytes; returns the
    /// transport header's offset, or `None` when dropped (counted).
    pub(crate) fn emit_ip(
        &mut self,
        src: IpAddr,
        dst: IpAddr,
        proto: IpProtocol,
        l4_len: usize,
        out: &mut [u8],
    ) -> Option<usize> {
        let r = write_ip_header(
            self.config.mtu,
            &mut self.ident,
            src,
            dst,
            proto,
            l4_len,
            out,
        );
        r.map_err(|e| self.count(e)).ok()
    }

    /// Writes a TCP segment's packet. The payload goes straight from the connection's
    /// send buffer into `out`, summed while it is copied
    /// ([`wire::checksum::copy_and_sum`]); only the header is summed apart. Before, the
    /// endpoint copied it into a scratch buffer, this copied it again, and the checksum
    /// read it a third time. tcp-bulk-memory, uplane only, CPU time of 3 x 256 MiB as
    /// Gbit/s, 9 alternating runs each (load ~4 on 2 cores): median 27.2 -> 28.0, best
    /// 27.9 -> 28.3; callgrind 4.11 G -> 4.09 G instructions (memcpy 1.91 G -> 1.74 G).
    /// The checksum itself (SSE2, ~30 GB/s) now costs what the pass did: a copy into a
    /// frame in L1 was cheap next to it.
    fn emit_tcp(
        &mut self,
        t: &crate::Transmit,
        slot: Option<u32>,
        out: &mut [u8],
    ) -> Option<usize> {
        let (src, dst) = (t.tuple.local.ip(), t.tuple.remote.ip());
        if let (IpAddr::V4(s), IpAddr::V4(d), Some(hl)) = (src, dst, usual_tcp_header_len(&t.repr))
        {
            return self.emit_tcp4_usual(t, slot, s, d, hl, out);
        }
        // The option layout is worked out once here (`header_len` computes it).
        let hl = t.repr.header_len();
        let ip_len = if dst.is_ipv4() { IP4 } else { IP6 };
        let mtu = usize::from(self.config.mtu);
        if ip_len + hl + t.repr.payload_len > mtu && t.repr.payload_len > 0 {
            // Never larger than our MTU. The MSS clamp in `new` and the endpoint's
            // per-family MSS keep segments within it; should one not fit anyway, it is a
            // local PMTU signal and the connection resends at the smaller size.
            let mss = mtu.saturating_sub(ip_len + 20) as u16;
            self.endpoint.handle_path_mtu(t.tuple, mss);
            self.count(DropReason::TooBig);
            return None;
        }
        let ph = pseudo(src, dst)?;
        // The payload, borrowed from the connection while the headers are written (the
        // fields used below are disjoint from `endpoint`).
        let (a, b) = self.endpoint.segment_payload(slot, &t.repr);
        let l4_len = hl + a.len() + b.len();
        let at = match write_ip_header(
            self.config.mtu,
            &mut self.ident,
            src,
            dst,
            IpProtocol::Tcp,
            l4_len,
            out,
        ) {
            Ok(at) => at,
            Err(r) => {
                self.stats.drops[r as usize] += 1;
                return None;
            }
        };
        let seg = &mut out[at..at + l4_len];
        let (to_a, to_b) = seg[hl..].split_at_mut(a.len());
        let sum_a = checksum::copy_and_sum(to_a, a);
        let mut sum_b = checksum::copy_and_sum(to_b, b);
        if a.len() % 2 == 1 {
            sum_b = checksum::at_odd_offset(sum_b);
        }
        let sum = checksum::combine(&[sum_a, sum_b]);
        // `emit` takes the TCP length from the buffer, not from `payload_len`.
        t.repr
            .emit_with_payload_sum(&mut TcpPacket::new_unchecked(&mut seg[..]), &ph, sum);
        Some(at + l4_len)
    }

    /// [`emit_tcp`](Self::emit_tcp) for the segment of almost every IPv4 packet after the
    /// handshake ([`usual_tcp_header_len`]): both headers are computed as 32-bit words
    /// and stored whole, their checksums summed from the same words ([`usual_headers`]).
    /// The general path built an `Ipv4Repr` and a `TcpRepr` layout, wrote the fields a
    /// byte or two at a time and read the TCP header back to sum it (loads wider than the
    /// stores that had just written it, which cannot be forwarded), and summed the
    /// pseudo-header apart. Debug builds check every header against that path.
    fn emit_tcp4_usual(
        &mut self,
        t: &crate::Transmit,
        slot: Option<u32>,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        hl: usize,
        out: &mut [u8],
    ) -> Option<usize> {
        let (a, b) = self.endpoint.segment_payload(slot, &t.repr);
        let l4_len = hl + a.len() + b.len();
        let len = IP4 + l4_len;
        if len > usize::from(self.config.mtu) {
            if a.len() + b.len() > 0 {
                // As in the general path: a local PMTU signal.
                let mss = usize::from(self.config.mtu).saturating_sub(IP4 + 20) as u16;
                self.endpoint.handle_path_mtu(t.tuple, mss);
            }
            self.count(DropReason::TooBig);
            return None;
        }
        let Some(pkt) = out.get_mut(..len) else {
            self.count(DropReason::TooBig);
            return None;
        };
        self.ident = self.ident.wrapping_add(1);
        let (hdr, seg) = pkt.split_at_mut(IP4 + hl);
        let (to_a, to_b) = seg.split_at_mut(a.len());
        let sum_a = checksum::copy_and_sum(to_a, a);
        // The second half is empty unless the segment wraps the send buffer's ring: no
        // call for it then (the short-buffer path is out of line).
        let payload_sum = if b.is_empty() {
            sum_a
        } else {
            let mut sum_b = checksum::copy_and_sum(to_b, b);
            if a.len() % 2 == 1 {
                sum_b = checksum::at_odd_offset(sum_b);
            }
            checksum::combine(&[sum_a, sum_b])
        };
        usual_headers(hdr, self.ident, src, dst, &t.repr, len as u16, payload_sum);
        #[cfg(debug_assertions)]
        {
            let mut check = pkt.to_vec();
            let mut ident = self.ident.wrapping_sub(1);
            let (s, d) = (IpAddr::V4(src), IpAddr::V4(dst));
            let at = write_ip_header(
                self.config.mtu,
                &mut ident,
                s,
                d,
                IpProtocol::Tcp,
                l4_len,
                &mut check,
            );
            assert_eq!(at, Ok(IP4));
            t.repr.emit_with_payload_sum(
                &mut TcpPacket::new_unchecked(&mut check[IP4..]),
                &PseudoHeader::V4 { src, dst },
                payload_sum,
            );
            assert_eq!(&check[..], &pkt[..], "usual headers differ from wire's");
        }
        Some(len)
    }

    fn emit_udp(
        &mut self,
        t: crate::udp::UdpTransmit,
        payload: &[u8],
        out: &mut [u8],
        source: impl Fn(IpAddr) -> Option<IpAddr>,
    ) -> Option<usize> {
        let dst = t.remote.ip();
        let src = match t.local.ip() {
            // Behind a router nobody picks a source for us (bind UDP sockets to one); on a
            // link the interface does.
            s if s.is_unspecified() => match source(dst) {
                Some(s) => s,
                None => {
                    self.count(DropReason::NoRoute);
                    return None;
                }
            },
            s => s,
        };
        let l4_len = UDP + t.len;
        let at = self.emit_ip(src, dst, IpProtocol::Udp, l4_len, out)?;
        let ph = pseudo(src, dst)?;
        let dg = &mut out[at..at + l4_len];
        dg[UDP..].copy_from_slice(&payload[..t.len]);
        UdpRepr {
            src_port: t.local.port(),
            dst_port: t.remote.port(),
            payload_len: t.len,
        }
        .emit(&mut UdpPacket::new_unchecked(&mut dg[..]), Some(&ph));
        Some(at + l4_len)
    }

    // ----- timers ---------------------------------------------------------------------

    /// The earliest instant at which [`handle_timeout`](Self::handle_timeout) must run.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        self.endpoint.poll_timeout()
    }

    /// Runs the TCP timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.endpoint.handle_timeout(now);
    }
}
