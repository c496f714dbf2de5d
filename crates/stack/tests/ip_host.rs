//! `ip::IpHost`, the stack at the IP level (what runs behind uplane's `ip4-local` /
//! `ip6-local`): two hosts joined by a lossless in-memory IP link move bytes both ways
//! over IPv4 and IPv6; a port nobody listens to gets RST; UDP to no socket is reported
//! for an ICMP error; broken packets are dropped by named reason and never panic.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use stack::iface::DropReason;
use stack::ip::{IpArrival, IpHost, IpHostConfig};
use stack::{ConnectionHandle, Event};
use wire::pseudo::PseudoHeader;
use wire::tcp::{TcpPacket, TcpRepr};
use wire::udp::{UdpPacket, UdpRepr};

fn host(seed: u8) -> IpHost {
    host_mtu(seed, 1500)
}

fn host_mtu(seed: u8, mtu: u16) -> IpHost {
    let mut c = IpHostConfig::default();
    c.endpoint.secret = [seed; 16];
    c.mtu = mtu;
    IpHost::new(c)
}

/// Moves every packet each host has to the other until both are quiet; `now` advances
/// 100 µs per round. Returns the packets moved. No packet is over 1500 bytes.
fn pump(a: &mut IpHost, b: &mut IpHost, now: &mut u64) -> usize {
    let mut buf = vec![0u8; 9000];
    let mut moved = 0;
    loop {
        let mut any = false;
        for dir in 0..2 {
            let (from, to) = if dir == 0 {
                (&mut *a, &mut *b)
            } else {
                (&mut *b, &mut *a)
            };
            while let Some(n) = from.poll_transmit(*now, &mut buf) {
                assert!(n <= 1500);
                let r = to.handle_ip_packet(*now, &buf[..n]);
                assert!(r.is_ok(), "{r:?}");
                any = true;
                moved += 1;
            }
        }
        *now += 100_000;
        for h in [&mut *a, &mut *b] {
            if h.poll_timeout().is_some_and(|t| t <= *now) {
                h.handle_timeout(*now);
            }
        }
        if !any {
            return moved;
        }
    }
}

/// The client (MTU 1500) opens a connection to the server (`server_mtu`), sends 300 kB
/// and reads them echoed back.
fn transfer(server_ip: IpAddr, client_ip: IpAddr, server_mtu: u16) {
    let (mut a, mut b) = (host(1), host_mtu(2, server_mtu));
    let server = SocketAddr::new(server_ip, 7);
    b.endpoint_mut().listen(server, 8).unwrap();
    let mut now = 1_000_000;
    let c = a
        .endpoint_mut()
        .connect(now, SocketAddr::new(client_ip, 40000), server)
        .unwrap();
    pump(&mut a, &mut b, &mut now);
    let s: ConnectionHandle = b.endpoint_mut().accept(server).expect("no connection");
    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
    let (mut sent, mut got, mut back) = (0, Vec::new(), Vec::new());
    let mut buf = vec![0u8; 65536];
    for _ in 0..100_000 {
        if sent < data.len() {
            if let Ok(n) = a.endpoint_mut().send(c, &data[sent..]) {
                sent += n;
            }
        }
        pump(&mut a, &mut b, &mut now);
        // b echoes what it reads.
        while let Ok(Some(n)) = b.endpoint_mut().recv(s, &mut buf) {
            got.extend_from_slice(&buf[..n]);
            let mut off = 0;
            while off < n {
                off += b.endpoint_mut().send(s, &buf[off..n]).unwrap_or(0);
                pump(&mut a, &mut b, &mut now);
            }
        }
        while let Ok(Some(n)) = a.endpoint_mut().recv(c, &mut buf) {
            back.extend_from_slice(&buf[..n]);
        }
        if back.len() == data.len() {
            break;
        }
    }
    assert_eq!(got, data, "server side");
    assert_eq!(back, data, "echoed back");
    a.endpoint_mut().close(now, c).unwrap();
    b.endpoint_mut().close(now, s).unwrap();
    pump(&mut a, &mut b, &mut now);
    // No drops on either side, over IPv6 too: each side's MSS fits its MTU with the
    // family's header, so even the connection we open to a peer that advertises a larger
    // MSS never builds a segment too big for our MTU (no local TooBig).
    assert_eq!(b.stats().total_drops(), 0, "{:?}", b.stats());
    assert_eq!(a.stats().dropped(DropReason::TooBig), 0, "{:?}", a.stats());
    assert_eq!(a.stats().total_drops(), 0, "{:?}", a.stats());
    assert!(a.stats().tx_packets > 200 && b.stats().rx_packets == a.stats().tx_packets);
    let mut closed = false;
    while let Some((h, e)) = a.endpoint_mut().poll_event() {
        closed |= h == c && matches!(e, Event::Closed(_));
    }
    now += 300 * stack::SECONDS;
    a.handle_timeout(now);
    while let Some((h, e)) = a.endpoint_mut().poll_event() {
        closed |= h == c && matches!(e, Event::Closed(_));
    }
    assert!(closed, "the client never closed");
}

const V4: (IpAddr, IpAddr) = (
    IpAddr::V4(Ipv4Addr::new(10, 1, 0, 1)),
    IpAddr::V4(Ipv4Addr::new(10, 1, 0, 2)),
);
const V6: (IpAddr, IpAddr) = (
    IpAddr::V6(Ipv6Addr::new(0xfd01, 0, 0, 0, 0, 0, 0, 1)),
    IpAddr::V6(Ipv6Addr::new(0xfd01, 0, 0, 0, 0, 0, 0, 2)),
);

#[test]
fn echo_both_ways_over_ipv4() {
    transfer(V4.0, V4.1, 1500);
}

#[test]
fn echo_both_ways_over_ipv6() {
    transfer(V6.0, V6.1, 1500);
}

/// The peer's SYN-ACK offers a 9000-byte MTU's MSS: what we send is still capped by our
/// own IPv6-sized MSS, so no first full-size segment is dropped and resent smaller.
#[test]
fn ipv6_connection_we_open_to_a_larger_mtu_peer_sends_nothing_too_big() {
    transfer(V6.0, V6.1, 9000);
}

#[test]
fn ipv4_connection_we_open_to_a_larger_mtu_peer_sends_nothing_too_big() {
    transfer(V4.0, V4.1, 9000);
}

fn ip4(src: [u8; 4], dst: [u8; 4], proto: u8, l4: &[u8]) -> Vec<u8> {
    let mut p = vec![0u8; 20 + l4.len()];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
    p[6] = 0x40;
    p[8] = 64;
    p[9] = proto;
    p[12..16].copy_from_slice(&src);
    p[16..20].copy_from_slice(&dst);
    let c = !wire::checksum::data(&p[..20]);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p[20..].copy_from_slice(l4);
    p
}

const SRC: [u8; 4] = [10, 1, 0, 2];
const DST: [u8; 4] = [10, 1, 0, 1];

fn ph() -> PseudoHeader {
    PseudoHeader::V4 {
        src: Ipv4Addr::from(SRC),
        dst: Ipv4Addr::from(DST),
    }
}

fn syn(port: u16) -> Vec<u8> {
    let repr = TcpRepr {
        src_port: 40000,
        dst_port: port,
        seq_number: wire::tcp::TcpSeqNumber(1000),
        flags: wire::tcp::TcpFlags::SYN,
        window_len: 65535,
        max_seg_size: Some(1460),
        ..TcpRepr::default()
    };
    let mut seg = vec![0u8; repr.header_len()];
    repr.emit(&mut TcpPacket::new_unchecked(&mut seg[..]), Some(&ph()));
    seg
}

#[test]
fn closed_tcp_port_gets_rst_and_udp_no_socket_is_reported() {
    let mut h = host(3);
    let r = h.handle_ip_packet(0, &ip4(SRC, DST, 6, &syn(81)));
    assert!(matches!(r, Ok(IpArrival::Tcp { .. })), "{r:?}");
    let mut out = vec![0u8; 1500];
    let n = h.poll_transmit(0, &mut out).expect("no RST");
    let ip = wire::ipv4::Ipv4Packet::new_checked(&out[..n]).unwrap();
    assert_eq!(ip.dst_addr(), Ipv4Addr::from(SRC));
    let t = TcpPacket::new_checked(ip.payload()).unwrap();
    assert!(t.rst() && t.ack(), "not a RST|ACK");
    assert_eq!(h.endpoint().stats().rst_sent, 1);

    let repr = UdpRepr {
        src_port: 5000,
        dst_port: 5555,
        payload_len: 3,
    };
    let mut dg = vec![0u8; 8 + 3];
    dg[8..].copy_from_slice(b"abc");
    repr.emit(&mut UdpPacket::new_unchecked(&mut dg[..]), Some(&ph()));
    assert_eq!(
        h.handle_ip_packet(0, &ip4(SRC, DST, 17, &dg)),
        Ok(IpArrival::UdpNoListener)
    );
    // A bound socket takes it.
    let s = h
        .udp_mut()
        .bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::from(DST)), 5555))
        .unwrap();
    assert_eq!(
        h.handle_ip_packet(0, &ip4(SRC, DST, 17, &dg)),
        Ok(IpArrival::Udp)
    );
    let mut b = [0u8; 16];
    let (n, from) = h.udp_mut().recv_from(s, &mut b).unwrap();
    assert_eq!((&b[..n], from.port()), (&b"abc"[..], 5000));
    assert_eq!(h.stats().udp_no_listener, 1);
}

#[test]
fn broken_packets_are_dropped_by_reason() {
    let mut h = host(4);
    let good = syn(7);
    // Bad TCP checksum.
    let mut bad = good.clone();
    bad[16] ^= 0xff;
    assert_eq!(
        h.handle_ip_packet(0, &ip4(SRC, DST, 6, &bad)),
        Err(DropReason::BadTcp)
    );
    // Truncated TCP header.
    assert_eq!(
        h.handle_ip_packet(0, &ip4(SRC, DST, 6, &good[..10])),
        Err(DropReason::BadTcp)
    );
    // UDP length larger than the packet.
    let mut dg = [0u8; 8];
    dg[4..6].copy_from_slice(&100u16.to_be_bytes());
    assert_eq!(
        h.handle_ip_packet(0, &ip4(SRC, DST, 17, &dg)),
        Err(DropReason::BadUdp)
    );
    // Not IP, short, an unknown protocol, a fragment, ICMP nobody asked for.
    assert_eq!(h.handle_ip_packet(0, &[]), Err(DropReason::BadIpHeader));
    assert_eq!(
        h.handle_ip_packet(0, &[0x45, 0]),
        Err(DropReason::BadIpHeader)
    );
    assert_eq!(
        h.handle_ip_packet(0, &ip4(SRC, DST, 47, &[0; 8])),
        Err(DropReason::UnknownProtocol)
    );
    let mut frag = ip4(SRC, DST, 6, &good);
    frag[6] = 0x20; // more fragments
    assert_eq!(h.handle_ip_packet(0, &frag), Err(DropReason::Fragment));
    let mut unreach = vec![3u8, 3, 0, 0, 0, 0, 0, 0];
    unreach.extend_from_slice(&ip4(DST, SRC, 17, &[0x13, 0x88, 0x15, 0xb3, 0, 8, 0, 0])[..28]);
    let c = !wire::checksum::data(&unreach);
    unreach[2..4].copy_from_slice(&c.to_be_bytes());
    assert!(h.handle_ip_packet(0, &ip4(SRC, DST, 1, &unreach)).is_ok());
    assert_eq!(
        h.handle_ip_packet(0, &ip4(SRC, DST, 1, &[8, 0, 0, 0])),
        Err(DropReason::BadIcmp)
    );
    assert_eq!(h.stats().dropped(DropReason::BadTcp), 2);
    assert_eq!(h.stats().total_drops(), 8);
    // Nothing came of them but nothing (no RST for unparsable segments).
    let mut out = vec![0u8; 1500];
    assert_eq!(h.poll_transmit(0, &mut out), None);

    // Every prefix and single-byte corruption of a good SYN: no panic.
    let pkt = ip4(SRC, DST, 6, &good);
    for len in 0..pkt.len() {
        let _ = h.handle_ip_packet(0, &pkt[..len]);
    }
    for i in 0..pkt.len() {
        for v in [0u8, 0xff, 0x45, 0x60] {
            let mut p = pkt.clone();
            p[i] = v;
            let _ = h.handle_ip_packet(0, &p);
        }
    }
    while h.poll_transmit(0, &mut out).is_some() {}
}

/// An IPv6 TCP SYN from fd01::2 to fd01::1, with an 8-byte fragment header in front of
/// TCP when `frag` is `Some((offset, more))`.
fn syn6(port: u16, frag: Option<(u16, bool)>) -> Vec<u8> {
    let (src, dst) = (
        Ipv6Addr::new(0xfd01, 0, 0, 0, 0, 0, 0, 2),
        Ipv6Addr::new(0xfd01, 0, 0, 0, 0, 0, 0, 1),
    );
    let repr = TcpRepr {
        src_port: 40000,
        dst_port: port,
        seq_number: wire::tcp::TcpSeqNumber(1000),
        flags: wire::tcp::TcpFlags::SYN,
        window_len: 65535,
        ..TcpRepr::default()
    };
    let mut seg = vec![0u8; repr.header_len()];
    repr.emit(
        &mut TcpPacket::new_unchecked(&mut seg[..]),
        Some(&PseudoHeader::V6 { src, dst }),
    );
    let ext = if frag.is_some() { 8 } else { 0 };
    let mut p = vec![0u8; 40 + ext + seg.len()];
    p[0] = 0x60;
    p[4..6].copy_from_slice(&((ext + seg.len()) as u16).to_be_bytes());
    p[6] = if frag.is_some() { 44 } else { 6 };
    p[7] = 64;
    p[8..24].copy_from_slice(&src.octets());
    p[24..40].copy_from_slice(&dst.octets());
    if let Some((off, more)) = frag {
        p[40] = 6;
        p[42..44].copy_from_slice(&((off << 3) | u16::from(more)).to_be_bytes());
        p[44..48].copy_from_slice(&7u32.to_be_bytes());
    }
    p[40 + ext..].copy_from_slice(&seg);
    p
}

#[test]
fn ipv6_extension_headers_are_stepped_over_and_fragments_refused() {
    let mut h = host(5);
    let us = SocketAddr::new(IpAddr::V6(Ipv6Addr::new(0xfd01, 0, 0, 0, 0, 0, 0, 1)), 80);
    h.endpoint_mut().listen(us, 4).unwrap();
    let mut out = vec![0u8; 1500];
    for frag in [None, Some((0, false))] {
        let r = h.handle_ip_packet(0, &syn6(80, frag));
        assert!(matches!(r, Ok(IpArrival::Tcp { .. })), "{frag:?}: {r:?}");
        let n = h.poll_transmit(0, &mut out).expect("no SYN-ACK");
        let t = TcpPacket::new_checked(&out[40..n]).unwrap();
        assert!(t.syn() && t.ack(), "{frag:?}");
    }
    assert_eq!(
        h.handle_ip_packet(0, &syn6(80, Some((0, true)))),
        Err(DropReason::Fragment)
    );
    assert_eq!(
        h.handle_ip_packet(0, &syn6(80, Some((2, false)))),
        Err(DropReason::Fragment)
    );
}
