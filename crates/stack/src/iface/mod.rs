//! An interface: the stack on an Ethernet link by itself (the libuinet mode).
//!
//! [`Interface`] takes whole Ethernet frames in and hands whole frames out, around an
//! [`IpHost`] that holds the [`Endpoint`] (TCP) and the [`UdpTable`] and does everything
//! at and above IP (transport input, ICMP errors to sockets, IP output; `poll_transmit`
//! asks it for an IP packet and frames it). Around that it answers ARP and Neighbor
//! Solicitation for its own addresses, resolves next hops (holding a few packets while it
//! asks), answers echo requests and sends port unreachable for UDP nobody listens to; the
//! host delivers ICMP errors to the socket they concern: fragmentation-needed /
//! packet-too-big lowers the TCP connection's MSS, port unreachable becomes an error on
//! the UDP socket.
//!
//! Every received frame is untrusted: it is read only through `wire`'s checked views, and
//! whatever cannot be used is dropped and counted by a named [`DropReason`]. Nothing here
//! panics on input.
//!
//! # Call order
//! * inputs: [`handle_frame`](Interface::handle_frame) per received frame,
//!   [`handle_timeout`](Interface::handle_timeout) once
//!   [`poll_timeout`](Interface::poll_timeout) has passed, and the application's calls on
//!   [`endpoint_mut`](Interface::endpoint_mut) / [`udp_mut`](Interface::udp_mut);
//! * outputs: [`poll_transmit`](Interface::poll_transmit) until `None`, then
//!   [`poll_timeout`](Interface::poll_timeout).
//!
//! Not handled (dropped and counted): IP fragments, IPv4 options are accepted but not
//! acted on, IPv6 extension headers, VLAN tags.

mod neighbor;

use std::collections::VecDeque;

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use wire::arp::{ArpPacket, ArpRepr, Operation};
use wire::ethernet::{EthernetAddress, EthernetFrame, EthernetRepr};
use wire::icmpv4::{Icmpv4DstUnreachable, Icmpv4Packet, Icmpv4Repr};
use wire::icmpv6::{Icmpv6DstUnreachable, Icmpv6Packet, Icmpv6Repr};
use wire::ipv4::{Ipv4Packet, Ipv4Repr};
use wire::ipv6::{Ipv6Packet, Ipv6Repr};
use wire::ndisc::{NdiscRepr, NeighborFlags};
use wire::{EtherType, IpProtocol};

use crate::endpoint::{Endpoint, EndpointConfig};
use crate::ip::{clamp_mss, fold, halves, IpArrival, IpHost, IpHostConfig};
use crate::udp::{UdpConfig, UdpTable};
use crate::{Instant, SECONDS};

use neighbor::{Lookup, NeighborCache};

const ETH: usize = wire::ethernet::HEADER_LEN;
const IP4: usize = wire::ipv4::HEADER_LEN;
const IP6: usize = wire::ipv6::HEADER_LEN;
const UDP: usize = wire::udp::HEADER_LEN;
/// ICMP errors we send quote at most this much of the invoking packet.
const ICMP_QUOTE: usize = 548;

/// Settings of an [`Interface`].
#[derive(Debug, Clone)]
pub struct InterfaceConfig {
    /// Our Ethernet address.
    pub mac: [u8; 6],
    /// Our IPv4 address and prefix length (on-link subnet), if any.
    pub ipv4: Option<(Ipv4Addr, u8)>,
    /// The IPv4 default gateway, if any.
    pub gateway4: Option<Ipv4Addr>,
    /// Our IPv6 address and prefix length, if any. The EUI-64 link-local address derived
    /// from `mac` is always ours too.
    pub ipv6: Option<(Ipv6Addr, u8)>,
    /// The IPv6 default gateway, if any.
    pub gateway6: Option<Ipv6Addr>,
    /// The link MTU (IP bytes; default 1500). TCP's MSS is clamped to fit it.
    pub mtu: u16,
    /// TCP settings and the secret keying hashes and ISNs.
    pub endpoint: EndpointConfig,
    /// UDP bounds.
    pub udp: UdpConfig,
    /// ICMP errors (port unreachable) sent per second at most (default 100).
    pub icmp_rate: u32,
}

impl InterfaceConfig {
    /// A configuration with `mac` and no addresses; fill in `ipv4`/`ipv6`.
    pub fn new(mac: [u8; 6]) -> Self {
        InterfaceConfig {
            mac,
            ipv4: None,
            gateway4: None,
            ipv6: None,
            gateway6: None,
            mtu: 1500,
            endpoint: EndpointConfig::default(),
            udp: UdpConfig::default(),
            icmp_rate: 100,
        }
    }
}

macro_rules! drop_reasons {
    ($( $(#[$m:meta])* $v:ident = $msg:literal, )+) => {
        /// Why the interface dropped a frame or a packet (each a counter).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum DropReason { $( $(#[$m])* $v, )+ }

        impl DropReason {
            /// Every reason, in counter order.
            pub const ALL: &'static [DropReason] = &[$(DropReason::$v,)+];

            /// What the counter means.
            pub fn message(self) -> &'static str {
                match self { $( DropReason::$v => $msg, )+ }
            }
        }
    };
}

drop_reasons! {
    /// Shorter than an Ethernet header.
    Truncated = "frame shorter than an Ethernet header",
    /// Addressed to another station's MAC.
    NotOurMac = "destination MAC is not ours",
    /// An EtherType we do not speak (VLAN tags included).
    UnknownEtherType = "unknown EtherType",
    /// A malformed or unsupported ARP packet, or one for another address.
    BadArp = "bad or foreign ARP packet",
    /// IP header malformed or truncated (length fields, version).
    BadIpHeader = "malformed IP header",
    /// IPv4 header checksum wrong.
    BadIpChecksum = "bad IPv4 header checksum",
    /// IP destination is none of our addresses.
    NotOurAddress = "IP destination is not ours",
    /// IP fragments are not reassembled.
    Fragment = "IP fragment (no reassembly)",
    /// IPv6 extension headers are not followed.
    ExtensionHeader = "IPv6 extension header",
    /// Upper-layer protocol we do not handle.
    UnknownProtocol = "unknown upper-layer protocol",
    /// TCP segment malformed or its checksum wrong.
    BadTcp = "malformed TCP segment or bad checksum",
    /// UDP datagram malformed or its checksum wrong.
    BadUdp = "malformed UDP datagram or bad checksum",
    /// ICMP message malformed, its checksum wrong, or a type we ignore.
    BadIcmp = "malformed or unhandled ICMP message",
    /// An ICMP error quoting a packet that is not ours or too short to match.
    IcmpUnmatched = "ICMP error for no socket of ours",
    /// Outgoing: no route (off-link destination without a gateway, or no address of
    /// the family).
    NoRoute = "no route to destination",
    /// Outgoing: the neighbour's queue or the cache was full.
    NeighborQueueFull = "neighbour queue full",
    /// Outgoing: held packets of a neighbour that never answered.
    NeighborUnreachable = "neighbour did not answer",
    /// Outgoing: larger than the MTU or the caller's buffer.
    TooBig = "packet larger than the MTU",
}

/// Counters of an [`Interface`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InterfaceStats {
    /// Frames handed to `handle_frame`.
    pub rx_frames: u64,
    /// Frames handed out by `poll_transmit`.
    pub tx_frames: u64,
    /// ICMP errors delivered to a socket (PMTU or unreachable).
    pub icmp_delivered: u64,
    /// Drops, indexed like [`DropReason::ALL`].
    pub drops: [u64; 18],
}

impl InterfaceStats {
    /// The drop counter of `r`.
    pub fn dropped(&self, r: DropReason) -> u64 {
        self.drops[r as usize]
    }

    /// All drops.
    pub fn total_drops(&self) -> u64 {
        self.drops.iter().sum()
    }
}

/// What a received frame turned out to be, for the socket layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// Nothing the socket layer needs to look at.
    Other,
    /// A TCP segment to `local` that completed a handshake: the listener on `local` (or
    /// on its port's wildcard) has a connection to accept.
    TcpAck {
        /// The segment's destination.
        local: SocketAddr,
    },
}

/// The stack on one Ethernet link. See the module documentation.
#[derive(Debug)]
pub struct Interface {
    config: InterfaceConfig,
    link_local: Ipv6Addr,
    /// Everything at and above IP; also holds the drop counters.
    ip: IpHost,
    neighbors: NeighborCache,
    /// Frames ready to send (ARP/ND, ICMP, packets released by a resolution).
    ready: VecDeque<Vec<u8>>,
    icmp_window: Instant,
    icmp_sent: u32,
    rx_frames: u64,
    tx_frames: u64,
    icmp_delivered: u64,
}

fn eui64_link_local(mac: [u8; 6]) -> Ipv6Addr {
    Ipv6Addr::from([
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        mac[0] ^ 2,
        mac[1],
        mac[2],
        0xff,
        0xfe,
        mac[3],
        mac[4],
        mac[5],
    ])
}

fn solicited_node(ip: Ipv6Addr) -> Ipv6Addr {
    let o = ip.octets();
    Ipv6Addr::from([
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, o[13], o[14], o[15],
    ])
}

fn multicast_mac(ip: Ipv6Addr) -> [u8; 6] {
    let o = ip.octets();
    [0x33, 0x33, o[12], o[13], o[14], o[15]]
}

fn same_subnet4(a: Ipv4Addr, b: Ipv4Addr, prefix: u8) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix.min(32)))
    };
    u32::from(a) & mask == u32::from(b) & mask
}

fn same_subnet6(a: Ipv6Addr, b: Ipv6Addr, prefix: u8) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(prefix.min(128)))
    };
    u128::from(a) & mask == u128::from(b) & mask
}

impl Interface {
    /// A new interface. The TCP MSS is clamped to the MTU (IPv4 and TCP headers off).
    pub fn new(mut config: InterfaceConfig) -> Self {
        clamp_mss(config.mtu, &mut config.endpoint);
        let ip = IpHost::new(IpHostConfig {
            mtu: config.mtu,
            endpoint: config.endpoint.clone(),
            udp: config.udp,
        });
        Interface {
            link_local: eui64_link_local(config.mac),
            ip,
            neighbors: NeighborCache::new(config.endpoint.secret),
            ready: VecDeque::new(),
            icmp_window: 0,
            icmp_sent: 0,
            rx_frames: 0,
            tx_frames: 0,
            icmp_delivered: 0,
            config,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &InterfaceConfig {
        &self.config
    }

    /// Counters (the IP host's drops included).
    pub fn stats(&self) -> InterfaceStats {
        InterfaceStats {
            rx_frames: self.rx_frames,
            tx_frames: self.tx_frames,
            icmp_delivered: self.icmp_delivered,
            drops: self.ip.stats().drops,
        }
    }

    /// The TCP endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        self.ip.endpoint()
    }

    /// The TCP endpoint, for application calls.
    pub fn endpoint_mut(&mut self) -> &mut Endpoint {
        self.ip.endpoint_mut()
    }

    /// The UDP sockets.
    pub fn udp(&self) -> &UdpTable {
        self.ip.udp()
    }

    /// The UDP sockets, for application calls.
    pub fn udp_mut(&mut self) -> &mut UdpTable {
        self.ip.udp_mut()
    }

    /// Our address of `ip`'s family (to fill an unspecified local address).
    pub fn source_for(&self, remote: IpAddr) -> Option<IpAddr> {
        source_for(&self.config, self.link_local, remote)
    }

    /// The largest UDP payload one packet to `remote` carries.
    pub fn max_udp_payload(&self, remote: IpAddr) -> usize {
        let ip = if remote.is_ipv4() { IP4 } else { IP6 };
        usize::from(self.config.mtu).saturating_sub(ip + UDP)
    }

    /// The largest frame `poll_transmit` writes (MTU plus the Ethernet header).
    pub fn max_frame_len(&self) -> usize {
        usize::from(self.config.mtu) + ETH
    }

    fn drop(&mut self, r: DropReason) {
        self.ip.count(r);
    }

    fn is_our_v4(&self, a: Ipv4Addr) -> bool {
        self.config.ipv4.is_some_and(|(ours, _)| ours == a)
    }

    fn is_our_v6(&self, a: Ipv6Addr) -> bool {
        a == self.link_local || self.config.ipv6.is_some_and(|(ours, _)| ours == a)
    }

    // ----- input ----------------------------------------------------------------------

    /// Processes one received Ethernet frame (untrusted).
    pub fn handle_frame(&mut self, now: Instant, frame: &[u8]) -> Arrival {
        self.rx_frames += 1;
        if let Some((src, dst, l4)) = self.usual_tcp4(frame) {
            let r = self.ip.handle_tcp4(now, src, dst, l4);
            return self.arrival(r);
        }
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            self.drop(DropReason::Truncated);
            return Arrival::Other;
        };
        let dst = eth.dst_addr();
        if dst.0 != self.config.mac && !dst.is_multicast() {
            self.drop(DropReason::NotOurMac);
            return Arrival::Other;
        }
        let src_mac = eth.src_addr().0;
        match eth.ethertype() {
            EtherType::Arp => {
                self.handle_arp(eth.payload());
                Arrival::Other
            }
            EtherType::Ipv4 => self.handle_ipv4(now, eth.payload()),
            EtherType::Ipv6 => self.handle_ipv6(now, src_mac, eth.payload()),
            _ => {
                self.drop(DropReason::UnknownEtherType);
                Arrival::Other
            }
        }
    }

    /// The usual frame, checked in one go: to our MAC, IPv4 without options or
    /// fragmentation, a correct header checksum and lengths, to our address, carrying TCP.
    /// Its source, destination and TCP bytes; `None` sends the frame the general way
    /// (which also counts whatever is wrong with it). The general way gives such a frame
    /// to the same [`IpHost::handle_tcp4`] after building an `Ipv4Repr` and checking
    /// broadcast, options and the protocol one at a time.
    #[inline]
    fn usual_tcp4<'f>(&self, frame: &'f [u8]) -> Option<(Ipv4Addr, Ipv4Addr, &'f [u8])> {
        let (ours, _) = self.config.ipv4?;
        let (eth, ip) = frame.split_first_chunk::<ETH>()?;
        let h = ip.first_chunk::<IP4>()?;
        if eth[..6] != self.config.mac || eth[12..] != [0x08, 0x00] {
            return None;
        }
        let word = |i: usize| u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let (w0, w1, w2, src, dst) = (word(0), word(4), word(8), word(12), word(16));
        let total = (w0 & 0xffff) as usize;
        let usual = w0 >> 24 == 0x45
            && (IP4..=ip.len()).contains(&total)
            && w1 & 0x3fff == 0
            && (w2 >> 16) as u8 == u8::from(IpProtocol::Tcp)
            && dst == ours.to_bits();
        let sum = halves(w0) + halves(w1) + halves(w2) + halves(src) + halves(dst);
        let folded = fold(sum);
        let r = (usual && folded == 0xffff).then(|| {
            (
                Ipv4Addr::from_bits(src),
                Ipv4Addr::from_bits(dst),
                &ip[IP4..total],
            )
        });
        #[cfg(debug_assertions)]
        if let Some((s, d, l4)) = r {
            // Every test's frames: the general way agrees on what it would deliver.
            let p = Ipv4Packet::new_checked(ip).expect("usual frame: checked view");
            let repr = Ipv4Repr::parse(&p, true).expect("usual frame: header parses");
            assert!(!repr.more_frags && repr.frag_offset == 0 && p.header_len() == IP4);
            assert_eq!((repr.src_addr, repr.dst_addr), (s, d));
            assert_eq!((repr.protocol, p.payload()), (IpProtocol::Tcp, l4));
            assert!(self.is_our_v4(d) && EthernetFrame::new_checked(frame).is_ok());
        }
        r
    }

    fn handle_arp(&mut self, payload: &[u8]) {
        let Some((ours, _)) = self.config.ipv4 else {
            self.drop(DropReason::BadArp);
            return;
        };
        let repr = ArpPacket::new_checked(payload).and_then(|p| ArpRepr::parse(&p));
        let Ok(arp) = repr else {
            self.drop(DropReason::BadArp);
            return;
        };
        let sender = IpAddr::V4(arp.source_protocol_addr);
        let mac = arp.source_hardware_addr.0;
        if arp.target_protocol_addr != ours {
            // Not for us: only refresh an entry we already have.
            let held = self.neighbors.refresh(sender, mac);
            self.release(mac, held);
            self.drop(DropReason::BadArp);
            return;
        }
        let held = self.neighbors.learn(sender, mac);
        self.release(mac, held);
        if arp.operation == Operation::Request {
            let reply = ArpRepr {
                operation: Operation::Reply,
                source_hardware_addr: EthernetAddress(self.config.mac),
                source_protocol_addr: ours,
                target_hardware_addr: arp.source_hardware_addr,
                target_protocol_addr: arp.source_protocol_addr,
            };
            self.queue_arp(mac, &reply);
        }
    }

    fn queue_arp(&mut self, dst: [u8; 6], arp: &ArpRepr) {
        let mut f = vec![0u8; ETH + arp.buffer_len()];
        self.eth_header(&mut f, dst, EtherType::Arp);
        arp.emit(&mut ArpPacket::new_unchecked(&mut f[ETH..]));
        self.ready.push_back(f);
    }

    fn eth_header(&self, f: &mut [u8], dst: [u8; 6], ethertype: EtherType) {
        EthernetRepr {
            src_addr: EthernetAddress(self.config.mac),
            dst_addr: EthernetAddress(dst),
            ethertype,
        }
        .emit(&mut EthernetFrame::new_unchecked(f));
    }

    /// Packets held for a neighbour that just resolved, framed and queued.
    fn release(&mut self, mac: [u8; 6], held: VecDeque<Vec<u8>>) {
        for pkt in held {
            self.queue_ip_frame(mac, &pkt);
        }
    }

    /// Frames the IP packet `pkt` to `mac` into the ready queue.
    fn queue_ip_frame(&mut self, mac: [u8; 6], pkt: &[u8]) {
        let mut f = vec![0u8; ETH + pkt.len()];
        self.eth_header(&mut f, mac, ip_ethertype(pkt));
        f[ETH..].copy_from_slice(pkt);
        self.ready.push_back(f);
    }

    fn handle_ipv4(&mut self, now: Instant, payload: &[u8]) -> Arrival {
        let pkt = match Ipv4Packet::new_checked(payload) {
            Ok(p) => p,
            Err(_) => {
                self.drop(DropReason::BadIpHeader);
                return Arrival::Other;
            }
        };
        let ip = match Ipv4Repr::parse(&pkt, true) {
            Ok(r) => r,
            Err(wire::Error::BadChecksum) => {
                self.drop(DropReason::BadIpChecksum);
                return Arrival::Other;
            }
            Err(_) => {
                self.drop(DropReason::BadIpHeader);
                return Arrival::Other;
            }
        };
        let to_us = self.is_our_v4(ip.dst_addr);
        let broadcast = ip.dst_addr.is_broadcast()
            || self.config.ipv4.is_some_and(|(a, p)| {
                p < 31 && same_subnet4(a, ip.dst_addr, p) && {
                    let host = !(u32::MAX << (32 - u32::from(p)));
                    u32::from(ip.dst_addr) & host == host
                }
            });
        if !to_us && !broadcast {
            self.drop(DropReason::NotOurAddress);
            return Arrival::Other;
        }
        if ip.more_frags || ip.frag_offset != 0 {
            self.drop(DropReason::Fragment);
            return Arrival::Other;
        }
        let src = IpAddr::V4(ip.src_addr);
        let dst = IpAddr::V4(ip.dst_addr);
        let l4 = pkt.payload();
        match ip.protocol {
            IpProtocol::Tcp if to_us => self.handle_l4(now, src, dst, ip.protocol, l4),
            IpProtocol::Udp => {
                let r = self.ip.handle_l4(now, src, dst, ip.protocol, l4);
                if r == Ok(IpArrival::UdpNoListener) && to_us {
                    self.icmp4_error(
                        now,
                        ip.src_addr,
                        Icmpv4DstUnreachable::PortUnreachable,
                        payload,
                    );
                }
                Arrival::Other
            }
            IpProtocol::Icmp if to_us => {
                self.handle_icmpv4(now, ip.src_addr, ip.dst_addr, l4);
                Arrival::Other
            }
            _ => {
                self.drop(DropReason::UnknownProtocol);
                Arrival::Other
            }
        }
    }

    fn handle_ipv6(&mut self, now: Instant, src_mac: [u8; 6], payload: &[u8]) -> Arrival {
        let pkt = match Ipv6Packet::new_checked(payload) {
            Ok(p) => p,
            Err(_) => {
                self.drop(DropReason::BadIpHeader);
                return Arrival::Other;
            }
        };
        let Ok(ip) = Ipv6Repr::parse(&pkt) else {
            self.drop(DropReason::BadIpHeader);
            return Arrival::Other;
        };
        let to_us = self.is_our_v6(ip.dst_addr);
        let multicast_ok = ip.dst_addr == Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1)
            || ip.dst_addr == solicited_node(self.link_local)
            || self
                .config
                .ipv6
                .is_some_and(|(a, _)| ip.dst_addr == solicited_node(a));
        if !to_us && !multicast_ok {
            self.drop(DropReason::NotOurAddress);
            return Arrival::Other;
        }
        let src = IpAddr::V6(ip.src_addr);
        let dst = IpAddr::V6(ip.dst_addr);
        let l4 = pkt.payload();
        match ip.next_header {
            IpProtocol::Tcp if to_us => self.handle_l4(now, src, dst, ip.next_header, l4),
            IpProtocol::Udp if to_us => {
                let r = self.ip.handle_l4(now, src, dst, ip.next_header, l4);
                if r == Ok(IpArrival::UdpNoListener) {
                    self.icmp6_error(
                        now,
                        ip.src_addr,
                        ip.dst_addr,
                        Icmpv6DstUnreachable::PortUnreachable,
                        payload,
                    );
                }
                Arrival::Other
            }
            IpProtocol::Icmpv6 => {
                self.handle_icmpv6(now, src_mac, &ip, l4);
                Arrival::Other
            }
            IpProtocol::HopByHop
            | IpProtocol::Ipv6Route
            | IpProtocol::Ipv6Frag
            | IpProtocol::Ipv6Opts => {
                self.drop(DropReason::ExtensionHeader);
                Arrival::Other
            }
            _ => {
                self.drop(DropReason::UnknownProtocol);
                Arrival::Other
            }
        }
    }

    /// Hands a transport payload to the IP host; what the socket layer needs to know.
    fn handle_l4(
        &mut self,
        now: Instant,
        src: IpAddr,
        dst: IpAddr,
        proto: IpProtocol,
        l4: &[u8],
    ) -> Arrival {
        let r = self.ip.handle_l4(now, src, dst, proto, l4);
        self.arrival(r)
    }

    /// What the IP host's verdict on a transport payload means for the socket layer.
    fn arrival(&mut self, r: Result<IpArrival, DropReason>) -> Arrival {
        match r {
            Ok(IpArrival::Tcp {
                local,
                handshake_ack: true,
            }) => Arrival::TcpAck { local },
            Ok(IpArrival::IcmpDelivered) => {
                self.icmp_delivered += 1;
                Arrival::Other
            }
            _ => Arrival::Other,
        }
    }

    fn handle_icmpv4(&mut self, now: Instant, src: Ipv4Addr, dst: Ipv4Addr, l4: &[u8]) {
        let parsed = Icmpv4Packet::new_checked(l4).and_then(|p| {
            let r = Icmpv4Repr::parse(&p)?;
            Ok(match r {
                Icmpv4Repr::EchoRequest {
                    ident,
                    seq_no,
                    data,
                } => Some((ident, seq_no, data)),
                Icmpv4Repr::DstUnreachable {
                    reason,
                    next_hop_mtu,
                    invoking,
                } => {
                    let r = self
                        .ip
                        .icmp4_unreachable(dst, reason, next_hop_mtu, invoking);
                    self.icmp_delivered += u64::from(r.is_ok());
                    None
                }
                _ => None,
            })
        });
        match parsed {
            Ok(Some((ident, seq_no, data))) => {
                let reply = Icmpv4Repr::EchoReply {
                    ident,
                    seq_no,
                    data,
                };
                let len = reply.buffer_len();
                let mut body = vec![0u8; len];
                reply.emit(&mut Icmpv4Packet::new_unchecked(&mut body[..]));
                self.queue_ip4(now, src, IpProtocol::Icmp, &body);
            }
            Ok(None) => {}
            Err(_) => self.drop(DropReason::BadIcmp),
        }
    }

    fn handle_icmpv6(&mut self, now: Instant, src_mac: [u8; 6], ip: &Ipv6Repr, l4: &[u8]) {
        let Ok(p) = Icmpv6Packet::new_checked(l4) else {
            self.drop(DropReason::BadIcmp);
            return;
        };
        let Ok(r) = Icmpv6Repr::parse(&p, ip.src_addr, ip.dst_addr) else {
            self.drop(DropReason::BadIcmp);
            return;
        };
        match r {
            Icmpv6Repr::EchoRequest {
                ident,
                seq_no,
                data,
            } if self.is_our_v6(ip.dst_addr) => {
                let reply = Icmpv6Repr::EchoReply {
                    ident,
                    seq_no,
                    data,
                };
                let mut body = vec![0u8; reply.buffer_len()];
                reply.emit(
                    &mut Icmpv6Packet::new_unchecked(&mut body[..]),
                    ip.dst_addr,
                    ip.src_addr,
                );
                self.queue_ip6(now, ip.dst_addr, ip.src_addr, IpProtocol::Icmpv6, 64, &body);
            }
            Icmpv6Repr::PktTooBig { mtu, invoking } if self.is_our_v6(ip.dst_addr) => {
                let r = self.ip.icmp6_error(ip.dst_addr, invoking, Ok(mtu));
                self.icmp_delivered += u64::from(r.is_ok());
            }
            Icmpv6Repr::DstUnreachable { reason, invoking } if self.is_our_v6(ip.dst_addr) => {
                let r = self.ip.icmp6_error(ip.dst_addr, invoking, Err(reason));
                self.icmp_delivered += u64::from(r.is_ok());
            }
            Icmpv6Repr::PktTooBig { .. } | Icmpv6Repr::DstUnreachable { .. } => {
                self.drop(DropReason::IcmpUnmatched)
            }
            Icmpv6Repr::Ndisc(nd) if ip.hop_limit == 255 => self.handle_ndisc(now, src_mac, ip, nd),
            _ => self.drop(DropReason::BadIcmp),
        }
    }

    fn handle_ndisc(&mut self, now: Instant, src_mac: [u8; 6], ip: &Ipv6Repr, nd: NdiscRepr<'_>) {
        let _ = src_mac;
        match nd {
            NdiscRepr::NeighborSolicit { target_addr, .. } => {
                if !self.is_our_v6(target_addr) {
                    return;
                }
                let from = nd
                    .options()
                    .source_lladdr()
                    .and_then(|a| <[u8; 6]>::try_from(a.get(..6)?).ok());
                if let (Some(mac), false) = (from, ip.src_addr.is_unspecified()) {
                    let held = self.neighbors.learn(IpAddr::V6(ip.src_addr), mac);
                    self.release(mac, held);
                }
                // Unspecified source (DAD): answer to all-nodes.
                let (dst, flags) = if ip.src_addr.is_unspecified() {
                    (
                        Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1),
                        NeighborFlags::OVERRIDE,
                    )
                } else {
                    (
                        ip.src_addr,
                        NeighborFlags::SOLICITED | NeighborFlags::OVERRIDE,
                    )
                };
                let mut opt = [0u8; 8];
                opt[0] = 2; // target link-layer address
                opt[1] = 1;
                opt[2..].copy_from_slice(&self.config.mac);
                let na = Icmpv6Repr::Ndisc(NdiscRepr::NeighborAdvert {
                    flags,
                    target_addr,
                    options: &opt,
                });
                let mut body = vec![0u8; na.buffer_len()];
                na.emit(
                    &mut Icmpv6Packet::new_unchecked(&mut body[..]),
                    target_addr,
                    dst,
                );
                self.queue_ip6(now, target_addr, dst, IpProtocol::Icmpv6, 255, &body);
            }
            NdiscRepr::NeighborAdvert { target_addr, .. } => {
                let mac = nd
                    .options()
                    .target_lladdr()
                    .and_then(|a| <[u8; 6]>::try_from(a.get(..6)?).ok());
                if let Some(mac) = mac {
                    let held = self.neighbors.learn(IpAddr::V6(target_addr), mac);
                    self.release(mac, held);
                }
            }
            _ => {}
        }
    }

    // ----- ICMP errors we send --------------------------------------------------------

    fn icmp_allowed(&mut self, now: Instant) -> bool {
        if now.saturating_sub(self.icmp_window) >= SECONDS {
            self.icmp_window = now;
            self.icmp_sent = 0;
        }
        if self.icmp_sent >= self.config.icmp_rate {
            return false;
        }
        self.icmp_sent += 1;
        true
    }

    fn icmp4_error(
        &mut self,
        now: Instant,
        to: Ipv4Addr,
        reason: Icmpv4DstUnreachable,
        invoking: &[u8],
    ) {
        if !self.icmp_allowed(now) {
            return;
        }
        let quote = &invoking[..invoking.len().min(ICMP_QUOTE)];
        let msg = Icmpv4Repr::DstUnreachable {
            reason,
            next_hop_mtu: 0,
            invoking: quote,
        };
        let mut body = vec![0u8; msg.buffer_len()];
        msg.emit(&mut Icmpv4Packet::new_unchecked(&mut body[..]));
        self.queue_ip4(now, to, IpProtocol::Icmp, &body);
    }

    fn icmp6_error(
        &mut self,
        now: Instant,
        to: Ipv6Addr,
        from: Ipv6Addr,
        reason: Icmpv6DstUnreachable,
        invoking: &[u8],
    ) {
        if !self.icmp_allowed(now) {
            return;
        }
        let quote = &invoking[..invoking.len().min(1232 - 8)];
        let msg = Icmpv6Repr::DstUnreachable {
            reason,
            invoking: quote,
        };
        let mut body = vec![0u8; msg.buffer_len()];
        msg.emit(&mut Icmpv6Packet::new_unchecked(&mut body[..]), from, to);
        self.queue_ip6(now, from, to, IpProtocol::Icmpv6, 64, &body);
    }

    // ----- output ---------------------------------------------------------------------

    /// Wraps `body` in an IPv4 header to `dst` and queues it (slow path: ICMP).
    fn queue_ip4(&mut self, now: Instant, dst: Ipv4Addr, proto: IpProtocol, body: &[u8]) {
        let Some((src, _)) = self.config.ipv4 else {
            return;
        };
        let mut pkt = vec![0u8; IP4 + body.len()];
        let ips = (IpAddr::V4(src), IpAddr::V4(dst));
        if self
            .ip
            .emit_ip(ips.0, ips.1, proto, body.len(), &mut pkt)
            .is_none()
        {
            return;
        }
        pkt[IP4..].copy_from_slice(body);
        self.route_and_queue(now, IpAddr::V4(dst), pkt);
    }

    fn queue_ip6(
        &mut self,
        now: Instant,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        proto: IpProtocol,
        hop_limit: u8,
        body: &[u8],
    ) {
        let mut pkt = vec![0u8; IP6 + body.len()];
        Ipv6Repr {
            src_addr: src,
            dst_addr: dst,
            next_header: proto,
            payload_len: body.len() as u16,
            hop_limit,
            traffic_class: 0,
            flow_label: 0,
        }
        .emit(&mut Ipv6Packet::new_unchecked(&mut pkt[..]));
        pkt[IP6..].copy_from_slice(body);
        self.route_and_queue(now, IpAddr::V6(dst), pkt);
    }

    /// Frames a queued IP packet (resolving its next hop) into the ready queue.
    fn route_and_queue(&mut self, now: Instant, dst: IpAddr, pkt: Vec<u8>) {
        if let Some(mac) = self.resolve(now, dst, &pkt) {
            self.queue_ip_frame(mac, &pkt);
        }
    }

    /// The next-hop MAC of `dst`, or `None` when the packet was held (a request queued) or
    /// dropped (counted).
    fn resolve(&mut self, now: Instant, dst: IpAddr, pkt: &[u8]) -> Option<[u8; 6]> {
        let hop = match dst {
            IpAddr::V4(d) => {
                if d.is_broadcast() {
                    return Some([0xff; 6]);
                }
                let hop = match self.config.ipv4 {
                    Some((a, p)) if same_subnet4(a, d, p) => d,
                    Some(_) => match self.config.gateway4 {
                        Some(g) => g,
                        None => {
                            self.drop(DropReason::NoRoute);
                            return None;
                        }
                    },
                    None => {
                        self.drop(DropReason::NoRoute);
                        return None;
                    }
                };
                if let Some(mac) = self.neighbors.last_v4(hop) {
                    return Some(mac);
                }
                IpAddr::V4(hop)
            }
            IpAddr::V6(d) => {
                if d.is_multicast() {
                    return Some(multicast_mac(d));
                }
                let on_link = d.is_unicast_link_local()
                    || self.config.ipv6.is_some_and(|(a, p)| same_subnet6(a, d, p));
                if on_link {
                    IpAddr::V6(d)
                } else if let Some(g) = self.config.gateway6 {
                    IpAddr::V6(g)
                } else {
                    self.drop(DropReason::NoRoute);
                    return None;
                }
            }
        };
        match self.neighbors.lookup_or_hold(now, hop, pkt) {
            Lookup::Known(mac) => Some(mac),
            Lookup::Held(ask) => {
                if ask {
                    self.request(now, hop);
                }
                None
            }
            Lookup::Full => {
                self.drop(DropReason::NeighborQueueFull);
                None
            }
        }
    }

    /// Queues an ARP request or a Neighbor Solicitation for `ip`.
    fn request(&mut self, now: Instant, ip: IpAddr) {
        match ip {
            IpAddr::V4(target) => {
                let Some((ours, _)) = self.config.ipv4 else {
                    return;
                };
                let arp = ArpRepr {
                    operation: Operation::Request,
                    source_hardware_addr: EthernetAddress(self.config.mac),
                    source_protocol_addr: ours,
                    target_hardware_addr: EthernetAddress([0; 6]),
                    target_protocol_addr: target,
                };
                self.queue_arp([0xff; 6], &arp);
            }
            IpAddr::V6(target) => {
                let src = if target.is_unicast_link_local() {
                    self.link_local
                } else {
                    self.config.ipv6.map_or(self.link_local, |(a, _)| a)
                };
                let mut opt = [0u8; 8];
                opt[0] = 1; // source link-layer address
                opt[1] = 1;
                opt[2..].copy_from_slice(&self.config.mac);
                let ns = Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit {
                    target_addr: target,
                    options: &opt,
                });
                let dst = solicited_node(target);
                let mut body = vec![0u8; ns.buffer_len()];
                ns.emit(&mut Icmpv6Packet::new_unchecked(&mut body[..]), src, dst);
                // To a multicast address: framed at once, never held.
                self.queue_ip6(now, src, dst, IpProtocol::Icmpv6, 255, &body);
            }
        }
    }

    /// Writes the next frame to send into `out` and returns its length. `out` should hold
    /// [`max_frame_len`](Self::max_frame_len) bytes; a frame that does not fit is dropped
    /// (`TooBig`). Call until `None` after every input.
    pub fn poll_transmit(&mut self, now: Instant, out: &mut [u8]) -> Option<usize> {
        loop {
            if let Some(f) = self.ready.pop_front() {
                let Some(dst) = out.get_mut(..f.len()) else {
                    self.drop(DropReason::TooBig);
                    continue;
                };
                dst.copy_from_slice(&f);
                self.tx_frames += 1;
                return Some(f.len());
            }
            let ip_out = match out.get_mut(ETH..) {
                Some(o) => o,
                None => &mut [],
            };
            let (config, link_local) = (&self.config, self.link_local);
            let (n, dst) = self
                .ip
                .poll_transmit_with(now, ip_out, |d| source_for(config, link_local, d))?;
            // The destination sent to last goes to the same MAC while the neighbour cache
            // is unchanged (the route choice depends only on the configuration).
            let (mac, ethertype) = match dst {
                IpAddr::V4(d) => {
                    let mac = match self.neighbors.last_dst_v4(d) {
                        Some(mac) => mac,
                        None => {
                            let Some(mac) = self.resolve(now, dst, &out[ETH..ETH + n]) else {
                                continue;
                            };
                            self.neighbors.note_dst_v4(d, mac);
                            mac
                        }
                    };
                    (mac, EtherType::Ipv4)
                }
                IpAddr::V6(_) => {
                    let Some(mac) = self.resolve(now, dst, &out[ETH..ETH + n]) else {
                        continue;
                    };
                    (mac, EtherType::Ipv6)
                }
            };
            self.eth_header(out, mac, ethertype);
            self.tx_frames += 1;
            return Some(ETH + n);
        }
    }

    // ----- timers ---------------------------------------------------------------------

    /// The earliest instant at which [`handle_timeout`](Self::handle_timeout) must run.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        match (self.ip.poll_timeout(), self.neighbors.next_retry()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Runs TCP timers and neighbour retries due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.ip.handle_timeout(now);
        let mut asks = Vec::new();
        let dropped = self.neighbors.handle_timeout(now, |ip| asks.push(ip));
        self.ip.count_n(DropReason::NeighborUnreachable, dropped);
        for ip in asks {
            self.request(now, ip);
        }
    }
}

/// Our address of `remote`'s family (to fill an unspecified local address).
fn source_for(config: &InterfaceConfig, link_local: Ipv6Addr, remote: IpAddr) -> Option<IpAddr> {
    match remote {
        IpAddr::V4(_) => config.ipv4.map(|(a, _)| IpAddr::V4(a)),
        IpAddr::V6(r) if r.is_unicast_link_local() => Some(IpAddr::V6(link_local)),
        IpAddr::V6(_) => Some(IpAddr::V6(config.ipv6.map_or(link_local, |(a, _)| a))),
    }
}

/// The EtherType of an IP packet (from its version nibble).
fn ip_ethertype(pkt: &[u8]) -> EtherType {
    if pkt.first().is_some_and(|b| b >> 4 == 6) {
        EtherType::Ipv6
    } else {
        EtherType::Ipv4
    }
}
