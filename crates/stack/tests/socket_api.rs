//! The socket layer over the interface, two stacks on a simulated Ethernet link: ARP and
//! ND resolve, TCP moves bytes both ways on IPv4 and IPv6 through readiness events, UDP
//! datagrams (bounded queues, ICMP port unreachable as an error), PMTU from ICMP, and
//! malformed frames dropped and counted.

mod frames;

use std::net::SocketAddr;

use frames::{pattern, Link};
use stack::iface::DropReason;
use stack::socket::{Interest, SocketError, SocketHandle, Stack, Token};
use stack::{MILLIS, SECONDS};
use wire::ethernet::{EthernetAddress, EthernetFrame, EthernetRepr};
use wire::icmpv4::{Icmpv4DstUnreachable, Icmpv4Packet, Icmpv4Repr};
use wire::ipv4::{Ipv4Options, Ipv4Packet, Ipv4Repr};
use wire::{EtherType, IpProtocol};

const LISTENER: Token = Token(1);
const SERVER: Token = Token(2);
const CLIENT: Token = Token(3);

/// Moves `a_to_b` from A (client) to B (server) and `b_to_a` back over one connection,
/// driven only by readiness events; returns what each side received.
fn transfer(
    link: &mut Link,
    server: SocketAddr,
    a_to_b: &[u8],
    b_to_a: &[u8],
) -> (Vec<u8>, Vec<u8>) {
    let l = link.b.tcp_listen(server, 16).unwrap();
    link.b.register(l, LISTENER, Interest::READABLE).unwrap();
    let c = link.a.tcp_connect(link.now, server).unwrap();
    link.a
        .register(c, CLIENT, Interest::READABLE | Interest::WRITABLE)
        .unwrap();
    let mut srv: Option<SocketHandle> = None;
    let (mut a_sent, mut b_sent) = (0usize, 0usize);
    let (mut got_a, mut got_b) = (Vec::new(), Vec::new());
    let (mut a_shut, mut b_shut) = (false, false);
    let mut buf = vec![0u8; 65536];
    let ok = link.run_until(120 * SECONDS, |link| {
        let now = link.now;
        for ev in Link::events(&mut link.b) {
            if ev.token == LISTENER {
                while let Ok((s, _peer)) = link.b.tcp_accept(l) {
                    link.b
                        .register(s, SERVER, Interest::READABLE | Interest::WRITABLE)
                        .unwrap();
                    srv = Some(s);
                }
            }
        }
        if let Some(s) = srv {
            loop {
                match link.b.tcp_recv(s, &mut buf) {
                    Ok(0) => break,
                    Ok(n) => got_b.extend_from_slice(&buf[..n]),
                    Err(SocketError::WouldBlock) => break,
                    Err(e) => panic!("server recv: {e}"),
                }
            }
            while b_sent < b_to_a.len() {
                match link.b.tcp_send(s, &b_to_a[b_sent..]) {
                    Ok(n) => b_sent += n,
                    Err(SocketError::WouldBlock) => break,
                    Err(e) => panic!("server send: {e}"),
                }
            }
            if b_sent == b_to_a.len() && !b_shut {
                link.b.tcp_shutdown_write(now, s).unwrap();
                b_shut = true;
            }
        }
        let _ = Link::events(&mut link.a);
        loop {
            match link.a.tcp_recv(c, &mut buf) {
                Ok(0) => break,
                Ok(n) => got_a.extend_from_slice(&buf[..n]),
                Err(SocketError::WouldBlock) => break,
                Err(e) => panic!("client recv: {e}"),
            }
        }
        if link.a.tcp_is_connected(c).unwrap() {
            while a_sent < a_to_b.len() {
                match link.a.tcp_send(c, &a_to_b[a_sent..]) {
                    Ok(n) => a_sent += n,
                    Err(SocketError::WouldBlock) => break,
                    Err(e) => panic!("client send: {e}"),
                }
            }
            if a_sent == a_to_b.len() && !a_shut {
                link.a.tcp_shutdown_write(now, c).unwrap();
                a_shut = true;
            }
        }
        got_a.len() == b_to_a.len() && got_b.len() == a_to_b.len()
    });
    assert!(
        ok,
        "transfer finished (a got {}, b got {})",
        got_a.len(),
        got_b.len()
    );
    (got_a, got_b)
}

#[test]
fn tcp_both_ways_ipv4_through_arp() {
    let mut link = Link::new();
    let up = pattern(300_000, 1);
    let down = pattern(200_000, 2);
    let (got_a, got_b) = transfer(&mut link, "10.0.0.2:80".parse().unwrap(), &up, &down);
    assert!(got_b == up, "server got the client's bytes");
    assert!(got_a == down, "client got the server's bytes");
    assert_eq!(link.a.iface().stats().total_drops(), 0);
    assert_eq!(link.b.iface().stats().total_drops(), 0);
}

#[test]
fn tcp_both_ways_ipv6_through_nd() {
    let mut link = Link::new();
    let up = pattern(300_000, 3);
    let down = pattern(100_000, 4);
    let (got_a, got_b) = transfer(&mut link, "[fd00::2]:8080".parse().unwrap(), &up, &down);
    assert!(got_b == up && got_a == down, "bytes identical both ways");
    // The SYNs advertise an MSS sized for IPv6's larger headers (the endpoint's per-family
    // MSS), so no segment is too big for the link and nothing is dropped.
    assert_eq!(link.a.iface().stats().total_drops(), 0);
    assert_eq!(link.b.iface().stats().total_drops(), 0);
}

#[test]
fn listener_readiness_is_an_event_and_accept_drains_it() {
    let mut link = Link::new();
    let server: SocketAddr = "10.0.0.2:7".parse().unwrap();
    let l = link.b.tcp_listen(server, 4).unwrap();
    link.b.register(l, LISTENER, Interest::READABLE).unwrap();
    assert_eq!(link.b.tcp_accept(l), Err(SocketError::WouldBlock));
    let clients: Vec<_> = (0..3)
        .map(|_| link.a.tcp_connect(link.now, server).unwrap())
        .collect();
    let mut events = 0;
    let mut accepted = Vec::new();
    link.run_until(5 * SECONDS, |link| {
        for ev in Link::events(&mut link.b) {
            assert_eq!(ev.token, LISTENER);
            assert!(ev.is_readable());
            events += 1;
            while let Ok((s, peer)) = link.b.tcp_accept(l) {
                accepted.push((s, peer));
            }
        }
        accepted.len() == 3
    });
    assert_eq!(accepted.len(), 3);
    assert!(events >= 1);
    let mut peers: Vec<_> = accepted.iter().map(|a| a.1).collect();
    peers.sort();
    let mut locals: Vec<_> = clients
        .iter()
        .map(|&c| link.a.local_addr(c).unwrap())
        .collect();
    locals.sort();
    assert_eq!(peers, locals, "each accepted stream names its client");
    // No more events once drained and nothing new happens.
    link.run_until(100 * MILLIS, |_| false);
    assert!(Link::events(&mut link.b).is_empty());
}

#[test]
fn connect_to_closed_port_is_refused() {
    let mut link = Link::new();
    let c = link
        .a
        .tcp_connect(link.now, "10.0.0.2:9".parse().unwrap())
        .unwrap();
    link.a.register(c, CLIENT, Interest::WRITABLE).unwrap();
    let mut closed = false;
    link.run_until(5 * SECONDS, |link| {
        closed |= Link::events(&mut link.a).iter().any(|e| e.is_closed());
        closed
    });
    assert!(closed, "the RST closed the stream");
    assert_eq!(
        link.a.tcp_send(c, b"x"),
        Err(SocketError::ConnectionRefused)
    );
}

fn udp_round(link: &mut Link, a_addr: &str, b_addr: &str, to: &str) {
    let a = link.a.udp_bind(a_addr.parse().unwrap()).unwrap();
    let b = link.b.udp_bind(b_addr.parse().unwrap()).unwrap();
    link.b.register(b, SERVER, Interest::READABLE).unwrap();
    let to: SocketAddr = to.parse().unwrap();
    let from = link.a.local_addr(a).unwrap();
    for i in 0..10u8 {
        link.a.udp_send_to(a, &[i; 100], to).unwrap();
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 2000];
    link.run_until(SECONDS, |link| {
        if !Link::events(&mut link.b).is_empty() {
            while let Ok((n, peer)) = link.b.udp_recv_from(b, &mut buf) {
                assert_eq!(peer, from);
                got.push(buf[..n].to_vec());
            }
        }
        got.len() == 10
    });
    assert_eq!(got, (0..10u8).map(|i| vec![i; 100]).collect::<Vec<_>>());
}

#[test]
fn udp_datagrams_ipv4_and_ipv6() {
    let mut link = Link::new();
    udp_round(&mut link, "10.0.0.1:0", "0.0.0.0:5353", "10.0.0.2:5353");
    udp_round(&mut link, "[fd00::1]:0", "[::]:5353", "[fd00::2]:5353");
}

#[test]
fn udp_receive_queue_is_bounded() {
    let mut link = Link::new();
    let a = link.a.udp_bind("0.0.0.0:1000".parse().unwrap()).unwrap();
    let b = link.b.udp_bind("10.0.0.2:2000".parse().unwrap()).unwrap();
    let to = link.b.local_addr(b).unwrap();
    // Resolve B first, so that the 300 datagrams go out at once.
    link.a.udp_send_to(a, &[7; 10], to).unwrap();
    link.run_until(SECONDS, |_| false);
    let mut buf = [0u8; 64];
    assert!(link.b.udp_recv_from(b, &mut buf).is_ok());
    for _ in 0..300 {
        link.a.udp_send_to(a, &[7; 10], to).unwrap();
    }
    link.run_until(SECONDS, |_| false);
    let mut n = 0;
    while link.b.udp_recv_from(b, &mut buf).is_ok() {
        n += 1;
    }
    assert_eq!(n, 256, "the default queue holds 256 datagrams");
    assert_eq!(link.b.iface().udp().stats().queue_full, 44);
    assert_eq!(
        link.a.udp_send_to(a, &[0; 1473], to),
        Err(SocketError::TooLarge)
    );
}

#[test]
fn udp_port_unreachable_is_an_error_on_the_socket() {
    for (local, remote) in [("0.0.0.0:0", "10.0.0.2:4444"), ("[::]:0", "[fd00::2]:4444")] {
        let mut link = Link::new();
        let a = link.a.udp_bind(local.parse().unwrap()).unwrap();
        link.a.register(a, CLIENT, Interest::READABLE).unwrap();
        link.a
            .udp_send_to(a, b"anyone?", remote.parse().unwrap())
            .unwrap();
        let mut readable = false;
        link.run_until(SECONDS, |link| {
            readable |= Link::events(&mut link.a).iter().any(|e| e.is_readable());
            readable
        });
        assert!(
            readable,
            "the ICMP error made the socket readable ({remote})"
        );
        let mut buf = [0u8; 16];
        assert_eq!(
            link.a.udp_recv_from(a, &mut buf),
            Err(SocketError::ConnectionRefused)
        );
        // Reported once.
        assert_eq!(
            link.a.udp_recv_from(a, &mut buf),
            Err(SocketError::WouldBlock)
        );
        assert!(link.a.iface().stats().icmp_delivered >= 1);
    }
}

/// A link whose "router" drops IPv4 frames over 1000 bytes and answers frag-needed.
#[test]
fn icmp_frag_needed_lowers_the_mss_and_the_transfer_completes() {
    let mut link = Link::new();
    let counter = std::rc::Rc::new(std::cell::Cell::new(0u32));
    let seen = counter.clone();
    link.hook = Some(Box::new(move |from_a, f| {
        if !(from_a && f.len() > 1014) {
            return vec![(from_a, f.to_vec())];
        }
        seen.set(seen.get() + 1);
        let eth = EthernetFrame::new_checked(f).unwrap();
        let ip = Ipv4Packet::new_checked(eth.payload()).unwrap();
        let quote = &eth.payload()[..28];
        let icmp = Icmpv4Repr::DstUnreachable {
            reason: Icmpv4DstUnreachable::FragRequired,
            next_hop_mtu: 1000,
            invoking: quote,
        };
        let mut out = vec![0u8; 14 + 20 + icmp.buffer_len()];
        EthernetRepr {
            src_addr: eth.dst_addr(),
            dst_addr: eth.src_addr(),
            ethertype: EtherType::Ipv4,
        }
        .emit(&mut EthernetFrame::new_unchecked(&mut out[..]));
        Ipv4Repr {
            src_addr: ip.dst_addr(),
            dst_addr: ip.src_addr(),
            protocol: IpProtocol::Icmp,
            payload_len: icmp.buffer_len() as u16,
            ttl: 64,
            dscp: 0,
            ecn: 0,
            ident: 9,
            dont_frag: false,
            more_frags: false,
            frag_offset: 0,
            options: Ipv4Options::default(),
        }
        .emit(&mut Ipv4Packet::new_unchecked(&mut out[14..34]));
        icmp.emit(&mut Icmpv4Packet::new_unchecked(&mut out[34..]));
        // Back to A (the sender), not on to B.
        vec![(false, out)]
    }));
    let up = pattern(100_000, 9);
    let (_, got_b) = transfer(&mut link, "10.0.0.2:80".parse().unwrap(), &up, &[]);
    assert!(got_b == up);
    assert!(counter.get() >= 1, "the router refused big frames");
    assert!(link.a.iface().stats().icmp_delivered >= 1);
}

#[test]
fn malformed_frames_are_dropped_and_counted() {
    let mut s = Stack::new(stack::iface::Interface::new(frames::config(
        frames::MAC_B,
        "10.0.0.2",
        "fd00::2",
        3,
    )));
    let mac = frames::MAC_B;
    let eth = |t: EtherType, body: &[u8]| {
        let mut f = vec![0u8; 14 + body.len()];
        EthernetRepr {
            src_addr: EthernetAddress([2, 9, 9, 9, 9, 9]),
            dst_addr: EthernetAddress(mac),
            ethertype: t,
        }
        .emit(&mut EthernetFrame::new_unchecked(&mut f[..]));
        f[14..].copy_from_slice(body);
        f
    };
    s.handle_frame(0, &[1, 2, 3]);
    s.handle_frame(0, &eth(EtherType::Unknown(0x1234), &[0; 40]));
    s.handle_frame(0, &eth(EtherType::Ipv4, &[0x45, 0, 0, 10]));
    let mut ip = [0u8; 40];
    {
        Ipv4Repr {
            src_addr: "10.0.0.1".parse().unwrap(),
            dst_addr: "10.0.0.2".parse().unwrap(),
            protocol: IpProtocol::Tcp,
            payload_len: 20,
            ttl: 64,
            dscp: 0,
            ecn: 0,
            ident: 1,
            dont_frag: true,
            more_frags: false,
            frag_offset: 0,
            options: Ipv4Options::default(),
        }
        .emit(&mut Ipv4Packet::new_unchecked(&mut ip[..20]));
    }
    // A TCP header of zeros: bad checksum (data offset 0 is malformed too).
    s.handle_frame(0, &eth(EtherType::Ipv4, &ip));
    ip[10] ^= 0xff; // break the IP checksum
    s.handle_frame(0, &eth(EtherType::Ipv4, &ip));
    let mut other = eth(EtherType::Ipv4, &ip);
    other[5] ^= 1; // someone else's unicast MAC
    s.handle_frame(0, &other);
    let st = s.iface().stats();
    assert_eq!(st.dropped(DropReason::Truncated), 1);
    assert_eq!(st.dropped(DropReason::UnknownEtherType), 1);
    assert_eq!(st.dropped(DropReason::BadIpHeader), 1);
    assert_eq!(st.dropped(DropReason::BadTcp), 1);
    assert_eq!(st.dropped(DropReason::BadIpChecksum), 1);
    assert_eq!(st.dropped(DropReason::NotOurMac), 1);
    assert_eq!(st.total_drops(), 6);
    let mut out = [0u8; 1600];
    assert_eq!(
        s.poll_transmit(0, &mut out),
        None,
        "nothing answers garbage"
    );
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]
        /// Arbitrary bytes after a valid Ethernet header (of each EtherType we parse):
        /// never a panic, and a frame is either used or counted.
        #[test]
        fn arbitrary_frames_never_panic(kind in 0usize..3, body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut s = Stack::new(stack::iface::Interface::new(frames::config(
                frames::MAC_B, "10.0.0.2", "fd00::2", 3)));
            let t = [EtherType::Ipv4, EtherType::Ipv6, EtherType::Arp][kind];
            let mut f = vec![0u8; 14 + body.len()];
            EthernetRepr {
                src_addr: EthernetAddress([2, 9, 9, 9, 9, 9]),
                dst_addr: EthernetAddress(frames::MAC_B),
                ethertype: t,
            }
            .emit(&mut EthernetFrame::new_unchecked(&mut f[..]));
            f[14..].copy_from_slice(&body);
            s.handle_frame(0, &f);
            let mut out = [0u8; 1600];
            while s.poll_transmit(0, &mut out).is_some() {}
            prop_assert!(s.iface().stats().rx_frames == 1);
        }
    }
}
