//! The IPv4 path as a whole graph (`vnet::register`): forwarding with ARP resolution,
//! routes, ECMP, TTL, MTU, ICMP errors and their rules, local delivery and reassembly.

mod common;
mod ip4_lab;

use core::net::Ipv4Addr;
use ip4_lab::*;
use vnet::Dpo;
use wire::arp::Operation;
use wire::IpProtocol;

const EXT: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 9);

fn to_us(rx_mac: [u8; 6], from_mac: [u8; 6], ip: &[u8]) -> Vec<u8> {
    eth(rx_mac, from_mac, &[], 0x0800, ip)
}

/// Router with both peers resolved.
fn resolved() -> Router {
    let mut r = router();
    r.learn(r.a, PEER_A, PEER_A_IP, A_IP, MAC_A);
    r.learn(r.b, PEER_B, PEER_B_IP, B_IP, MAC_B);
    r.clear();
    r
}

#[test]
fn end_to_end_forwarding_resolves_arp_first() {
    let mut r = router();
    let pkt = Ip::new(PEER_A_IP, PEER_B_IP, IpProtocol::Udp).bytes(&udp(1000, 2000, 18));
    r.inject(&[(to_us(MAC_A, PEER_A, &pkt), r.a)]);
    // Held; an ARP request went out of b.
    assert!(r.got("tx-b").len() == 1, "only the ARP request leaves");
    let req = &r.got("tx-b")[0];
    let (dst, src, tags, et, arp) = split_eth(req);
    assert_eq!((dst, src, tags.len(), et), ([0xff; 6], MAC_B, 0, 0x0806));
    let a = wire::arp::ArpRepr::parse(&wire::arp::ArpPacket::new_checked(arp).unwrap()).unwrap();
    assert_eq!(a.operation, Operation::Request);
    assert_eq!(a.source_protocol_addr, B_IP);
    assert_eq!(a.target_protocol_addr, PEER_B_IP);
    assert_eq!(r.vnet.neighbors().pending_len(), 1);
    r.clear();
    // The reply releases the held packet, rewritten.
    r.learn(r.b, PEER_B, PEER_B_IP, B_IP, MAC_B);
    let out = r.got("tx-b");
    assert_eq!(out.len(), 1);
    let (dst, src, _, et, l3) = split_eth(&out[0]);
    assert_eq!((dst, src, et), (PEER_B, MAC_B, 0x0800));
    let h = check_ipv4(l3);
    assert_eq!(h.time_to_live, 63);
    assert_eq!(&l3[20..], &pkt[20..], "payload untouched");
    assert_eq!(r.vnet.neighbors().pending_len(), 0);
    // Later packets go straight through the neighbour's /32.
    assert!(matches!(r.vnet.ip4_lookup(PEER_B_IP), Dpo::Adjacency(_)));
    r.clear();
    r.inject(&[(to_us(MAC_A, PEER_A, &pkt), r.a)]);
    assert_eq!(r.got("tx-b").len(), 1);
    assert_eq!(r.err("arp-input", "Learned"), 1);
}

#[test]
fn static_route_via_next_hop_and_removal() {
    let mut r = resolved();
    r.vnet
        .ip4_add_route("198.51.100.0/24".parse().unwrap(), Some(PEER_B_IP), None)
        .unwrap();
    let pkt =
        Ip::new(PEER_A_IP, Ipv4Addr::new(198, 51, 100, 7), IpProtocol::Udp).bytes(&udp(1, 2, 10));
    r.inject(&[(to_us(MAC_A, PEER_A, &pkt), r.a)]);
    let out = r.got("tx-b");
    assert_eq!(out.len(), 1);
    assert_eq!(split_eth(&out[0]).0, PEER_B);
    let routes = r.vnet.ip4_routes();
    assert!(routes
        .iter()
        .any(|rt| rt.prefix.to_string() == "198.51.100.0/24" && rt.paths.len() == 1));
    r.vnet
        .ip4_remove_route("198.51.100.0/24".parse().unwrap())
        .unwrap();
    assert!(r
        .vnet
        .ip4_remove_route("198.51.100.0/24".parse().unwrap())
        .is_err());
    r.clear();
    r.inject(&[(to_us(MAC_A, PEER_A, &pkt), r.a)]);
    assert!(r.got("tx-b").is_empty());
    assert_eq!(r.err("ip4-lookup", "Unreachable"), 1);
    // The net unreachable went back to the sender.
    let back = r.got("tx-a");
    assert_eq!(back.len(), 1);
    let (_, _, _, _, l3) = split_eth(&back[0]);
    let h = check_ipv4(l3);
    assert_eq!(h.source, A_IP.octets());
    assert_eq!(h.destination, PEER_A_IP.octets());
    assert_eq!(&l3[20..22], &[3, 0], "ICMP destination unreachable, net");
}

#[test]
fn config_errors_name_the_field() {
    let r = router();
    let e = r
        .vnet
        .ip4_add_route("1.0.0.0/8".parse().unwrap(), Some(EXT), None)
        .unwrap_err();
    assert!(e.to_string().starts_with("via:"), "{e}");
    let e = r
        .vnet
        .ip4_add_route("1.0.0.0/8".parse().unwrap(), None, Some(99))
        .unwrap_err();
    assert!(e.to_string().starts_with("if_index:"), "{e}");
    let e = r
        .vnet
        .ip4_add_address(r.a, "10.0.0.1/24".parse().unwrap())
        .unwrap_err();
    assert!(e.to_string().starts_with("address:"), "{e}");
    let e = r
        .vnet
        .ip4_add_route("1.0.0.0/8".parse().unwrap(), Some(A_IP), None)
        .unwrap_err();
    assert!(e.to_string().starts_with("via:"), "{e}");
}

#[test]
fn ecmp_spreads_flows() {
    let mut r = resolved();
    let peer2 = Ipv4Addr::new(10, 1, 0, 3);
    let mac2 = [0x02, 0, 0, 0, 0xbb, 0x03];
    r.learn(r.b, mac2, peer2, B_IP, MAC_B);
    let p: wire::ipv4::Ipv4Cidr = "203.0.113.0/24".parse().unwrap();
    r.vnet.ip4_add_route(p, Some(PEER_B_IP), None).unwrap();
    r.vnet.ip4_add_route(p, Some(peer2), None).unwrap();
    assert!(
        matches!(r.vnet.ip4_lookup(Ipv4Addr::new(203, 0, 113, 1)), Dpo::LoadBalance(ref a) if a.len() == 2)
    );
    r.clear();
    let frames: Vec<_> = (0..64u16)
        .map(|i| {
            let pkt = Ip::new(PEER_A_IP, Ipv4Addr::new(203, 0, 113, 1), IpProtocol::Udp)
                .bytes(&udp(1000 + i, 53, 10));
            (to_us(MAC_A, PEER_A, &pkt), r.a)
        })
        .collect();
    r.inject(&frames);
    let out = r.got("tx-b");
    assert_eq!(out.len(), 64);
    let to1 = out.iter().filter(|f| split_eth(f).0 == PEER_B).count();
    let to2 = out.iter().filter(|f| split_eth(f).0 == mac2).count();
    assert_eq!(to1 + to2, 64);
    assert!(to1 >= 16 && to2 >= 16, "spread {to1}/{to2}");
    // One flow always takes the same path.
    r.clear();
    let same: Vec<_> = (0..8)
        .map(|_| {
            let pkt = Ip::new(PEER_A_IP, Ipv4Addr::new(203, 0, 113, 1), IpProtocol::Udp)
                .bytes(&udp(4242, 53, 10));
            (to_us(MAC_A, PEER_A, &pkt), r.a)
        })
        .collect();
    r.inject(&same);
    let macs: Vec<_> = r.got("tx-b").iter().map(|f| split_eth(f).0).collect();
    assert!(macs.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn malformed_headers_each_have_a_counter() {
    let mut r = resolved();
    let good = Ip::new(PEER_A_IP, PEER_B_IP, IpProtocol::Udp).bytes(&udp(1, 2, 20));
    let mut cases: Vec<(Vec<u8>, &str)> = Vec::new();
    cases.push((good[..19].to_vec(), "TooShort"));
    let mut v = good.clone();
    v[0] = 0x65;
    cases.push((v, "BadVersion"));
    let mut v = good.clone();
    v[0] = 0x44;
    cases.push((v, "BadHeaderLength"));
    let mut v = good[..22].to_vec();
    v[0] = 0x46; // 24-byte header in a 22-byte packet
    cases.push((v, "HeaderTruncated"));
    let mut v = good.clone();
    v[2..4].copy_from_slice(&10u16.to_be_bytes());
    cases.push((v, "BadLength"));
    let mut v = good.clone();
    v[2..4].copy_from_slice(&500u16.to_be_bytes());
    cases.push((v, "LengthAboveBuffer"));
    let mut v = good.clone();
    v[10] ^= 0xff;
    cases.push((v, "BadChecksum"));
    let mut ttl0 = Ip::new(PEER_A_IP, PEER_B_IP, IpProtocol::Udp);
    ttl0.ttl = 0;
    cases.push((ttl0.bytes(&udp(1, 2, 20)), "TtlZero"));
    for (bytes, name) in &cases {
        r.inject(&[(to_us(MAC_A, PEER_A, bytes), r.a)]);
        assert_eq!(r.err("ip4-input", name), 1, "{name}");
    }
    assert!(r.got("tx-b").is_empty(), "nothing malformed is forwarded");
    // Truncated at the Ethernet header: ethernet-input's counter.
    r.inject(&[(MAC_A[..].to_vec(), r.a)]);
    assert_eq!(r.err("ethernet-input", "Truncated"), 1);
}

#[test]
fn ethernet_padding_is_trimmed() {
    let mut r = resolved();
    let pkt = Ip::new(PEER_A_IP, PEER_B_IP, IpProtocol::Udp).bytes(&udp(1, 2, 0));
    let mut f = to_us(MAC_A, PEER_A, &pkt);
    f.resize(60, 0xee);
    r.inject(&[(f, r.a)]);
    let out = r.got("tx-b");
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].len(), 14 + 28, "padding removed");
}

#[test]
fn ttl_1_forwarded_is_time_exceeded_ttl_1_to_us_is_delivered() {
    let mut r = resolved();
    let mut ip = Ip::new(PEER_A_IP, PEER_B_IP, IpProtocol::Udp);
    ip.ttl = 1;
    r.inject(&[(to_us(MAC_A, PEER_A, &ip.bytes(&udp(1, 2, 8))), r.a)]);
    assert!(r.got("tx-b").is_empty());
    assert_eq!(r.err("ip4-rewrite", "TtlExpired"), 1);
    let back = r.got("tx-a");
    assert_eq!(back.len(), 1);
    let (dst, _, _, _, l3) = split_eth(&back[0]);
    assert_eq!(dst, PEER_A);
    let h = check_ipv4(l3);
    assert_eq!(h.source, A_IP.octets(), "from the rx interface's address");
    assert_eq!(&l3[20..22], &[11, 0], "time exceeded in transit");
    // The quote is the original header, TTL still 1.
    assert_eq!(l3[28 + 8], 1);
    r.clear();
    let mut ping = Ip::new(PEER_A_IP, A_IP, IpProtocol::Icmp);
    ping.ttl = 1;
    r.inject(&[(
        to_us(MAC_A, PEER_A, &ping.bytes(&echo_request(1, 1, b"hi"))),
        r.a,
    )]);
    assert_eq!(r.err("ip4-local", "EchoReplies"), 1);
    assert_eq!(r.got("tx-a").len(), 1);
}

#[test]
fn ping_gets_an_echo_reply() {
    let mut r = resolved();
    let req =
        Ip::new(PEER_A_IP, B_IP, IpProtocol::Icmp).bytes(&echo_request(0x1234, 9, b"abcdefgh"));
    r.inject(&[(to_us(MAC_A, PEER_A, &req), r.a)]);
    let back = r.got("tx-a");
    assert_eq!(back.len(), 1);
    let (dst, src, _, _, l3) = split_eth(&back[0]);
    assert_eq!((dst, src), (PEER_A, MAC_A));
    let h = check_ipv4(l3);
    assert_eq!(h.source, B_IP.octets(), "replies from the address pinged");
    assert_eq!(h.destination, PEER_A_IP.octets());
    let icmp = wire::icmpv4::Icmpv4Packet::new_checked(&l3[20..]).unwrap();
    let repr = wire::icmpv4::Icmpv4Repr::parse(&icmp).expect("valid checksum");
    assert_eq!(
        repr,
        wire::icmpv4::Icmpv4Repr::EchoReply {
            ident: 0x1234,
            seq_no: 9,
            data: b"abcdefgh"
        }
    );
}

#[test]
fn udp_and_unknown_protocols_to_us_get_unreachables() {
    let mut r = resolved();
    let u = Ip::new(PEER_A_IP, A_IP, IpProtocol::Udp).bytes(&udp(5, 6, 4));
    let x = Ip::new(PEER_A_IP, A_IP, IpProtocol::from(99)).bytes(&[1, 2, 3, 4]);
    r.inject(&[
        (to_us(MAC_A, PEER_A, &u), r.a),
        (to_us(MAC_A, PEER_A, &x), r.a),
    ]);
    let back = r.got("tx-a");
    assert_eq!(back.len(), 2);
    let codes: Vec<_> = back
        .iter()
        .map(|f| {
            let l3 = split_eth(f).4;
            check_ipv4(l3);
            (l3[20], l3[21])
        })
        .collect();
    assert_eq!(codes, [(3, 3), (3, 2)]);
    assert_eq!(r.err("ip4-local", "PortUnreachable"), 1);
    assert_eq!(r.err("ip4-local", "ProtocolUnreachable"), 1);
}

#[test]
fn l4_handoff_when_a_stack_is_attached() {
    let mut r = resolved();
    vnet::ip4::local::Ip4Local::attach_l4(&mut r.lab.graph, "l4").unwrap();
    let u = Ip::new(PEER_A_IP, A_IP, IpProtocol::Udp).bytes(&udp(5, 6, 4));
    r.inject(&[(to_us(MAC_A, PEER_A, &u), r.a)]);
    assert_eq!(r.got("l4").len(), 1);
    assert_eq!(r.got("l4")[0], u);
    assert!(r.got("tx-a").is_empty());
}

#[test]
fn icmp_error_rules() {
    let mut r = resolved();
    // About an ICMP error: nothing.
    let mut e = Ip::new(PEER_A_IP, EXT, IpProtocol::Icmp);
    e.ttl = 1;
    let unreach = [3u8, 1, 0xfc, 0xfe, 0, 0, 0, 0];
    r.inject(&[(to_us(MAC_A, PEER_A, &e.bytes(&unreach)), r.a)]);
    assert_eq!(r.err("ip4-icmp-error", "ForIcmpError"), 1);
    // Non-first fragment: nothing.
    let mut f = Ip::new(PEER_A_IP, EXT, IpProtocol::Udp);
    f.ttl = 1;
    f.frag_offset = 8;
    r.inject(&[(to_us(MAC_A, PEER_A, &f.bytes(&[0; 16])), r.a)]);
    assert_eq!(r.err("ip4-icmp-error", "ForFragment"), 1);
    // Came as an L2 broadcast: nothing.
    let mut bc = Ip::new(PEER_A_IP, EXT, IpProtocol::Udp);
    bc.ttl = 1;
    r.inject(&[(
        eth([0xff; 6], PEER_A, &[], 0x0800, &bc.bytes(&udp(1, 2, 4))),
        r.a,
    )]);
    assert_eq!(r.err("ip4-icmp-error", "ForBroadcast"), 1);
    assert!(r.got("tx-a").is_empty());
    assert!(r.got("tx-b").is_empty());
}

#[test]
fn icmp_errors_are_rate_limited_per_interface() {
    let mut r = router_with(|v| {
        let mut ip4 = v.ip4_mut();
        ip4.params.icmp_rate_per_sec = 1;
        ip4.params.icmp_burst = 3;
    });
    r.learn(r.a, PEER_A, PEER_A_IP, A_IP, MAC_A);
    r.clear();
    let mut ip = Ip::new(PEER_A_IP, EXT, IpProtocol::Udp);
    ip.ttl = 1;
    let frames: Vec<_> = (0..10)
        .map(|_| (to_us(MAC_A, PEER_A, &ip.bytes(&udp(1, 2, 4))), r.a))
        .collect();
    r.inject(&frames);
    // No route to EXT: unreachable errors, 3 sent, 7 limited.
    assert_eq!(r.err("ip4-icmp-error", "Sent"), 3);
    assert_eq!(r.err("ip4-icmp-error", "RateLimited"), 7);
    // A second later, one more token.
    r.inject_at(1_000_000_010, &frames[..2]);
    assert_eq!(r.err("ip4-icmp-error", "Sent"), 4);
}

#[test]
fn mtu_fragments_or_frag_needed_with_df() {
    let mut r = resolved();
    r.vnet.interfaces_mut().set_mtu(r.b, 576).unwrap();
    r.vnet
        .adjacencies_mut()
        .refresh_interface(&r.vnet.interfaces(), r.b);
    let payload: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
    let mut df = Ip::new(PEER_A_IP, PEER_B_IP, IpProtocol::Udp);
    df.df = true;
    r.inject(&[(to_us(MAC_A, PEER_A, &df.bytes(&payload)), r.a)]);
    assert!(r.got("tx-b").is_empty());
    let back = r.got("tx-a");
    assert_eq!(back.len(), 1);
    let l3 = split_eth(&back[0]).4;
    check_ipv4(l3);
    assert_eq!(&l3[20..22], &[3, 4], "fragmentation needed");
    assert_eq!(&l3[26..28], &576u16.to_be_bytes(), "next-hop MTU");
    r.clear();
    let plain = Ip::new(PEER_A_IP, PEER_B_IP, IpProtocol::Udp);
    r.inject(&[(to_us(MAC_A, PEER_A, &plain.bytes(&payload)), r.a)]);
    let out = r.got("tx-b");
    assert_eq!(out.len(), 2);
    let mut data = Vec::new();
    for (i, f) in out.iter().enumerate() {
        let l3 = split_eth(f).4;
        let h = check_ipv4(l3);
        assert!(l3.len() <= 576);
        assert_eq!(h.time_to_live, 63);
        assert_eq!(h.more_fragments, i == 0);
        assert_eq!(usize::from(h.fragment_offset.byte_offset()), data.len());
        data.extend_from_slice(&l3[20..]);
    }
    assert_eq!(data, payload, "fragments carry the payload in order");
    assert_eq!(r.err("ip4-frag", "Fragments"), 2);
}

fn fragments(payload: &[u8], cuts: &[(usize, usize, bool)], ident: u16) -> Vec<Vec<u8>> {
    cuts.iter()
        .map(|&(off, len, mf)| {
            let mut ip = Ip::new(PEER_A_IP, A_IP, IpProtocol::Icmp);
            ip.ident = ident;
            ip.frag_offset = off as u16;
            ip.mf = mf;
            eth(
                MAC_A,
                PEER_A,
                &[],
                0x0800,
                &ip.bytes(&payload[off..off + len]),
            )
        })
        .collect()
}

#[test]
fn fragmented_ping_is_reassembled_and_answered() {
    let mut r = resolved();
    let data: Vec<u8> = (0..100).collect();
    let icmp = echo_request(5, 6, &data);
    let frs = fragments(&icmp, &[(48, icmp.len() - 48, false), (0, 48, true)], 77);
    r.inject(&frs.iter().map(|f| (f.clone(), r.a)).collect::<Vec<_>>());
    assert_eq!(r.err("ip4-local", "Reassembled"), 1);
    assert_eq!(r.err("ip4-local", "EchoReplies"), 1);
    let back = r.got("tx-a");
    assert_eq!(back.len(), 1);
    let l3 = split_eth(&back[0]).4;
    check_ipv4(l3);
    assert_eq!(&l3[28..], &data[..]);
}

#[test]
fn overlapping_fragments_drop_the_datagram() {
    let mut r = resolved();
    let icmp = echo_request(5, 6, &[0u8; 100]);
    // Second fragment overlaps the first by 8 bytes.
    let frs = fragments(
        &icmp,
        &[(0, 48, true), (40, 48, true), (88, icmp.len() - 88, false)],
        78,
    );
    r.inject(&frs.iter().map(|f| (f.clone(), r.a)).collect::<Vec<_>>());
    assert_eq!(r.err("ip4-local", "FragmentOverlap"), 1);
    assert_eq!(
        r.err("ip4-local", "FragmentsDiscarded"),
        1,
        "the held first fragment"
    );
    assert_eq!(r.err("ip4-local", "Reassembled"), 0);
    assert!(r.got("tx-a").is_empty());
    // Bad length (not a multiple of 8) and past 64 KiB.
    let bad = fragments(&icmp, &[(0, 47, true)], 79);
    r.inject(&[(bad[0].clone(), r.a)]);
    assert_eq!(r.err("ip4-local", "FragmentBadLength"), 1);
    let mut big = Ip::new(PEER_A_IP, A_IP, IpProtocol::Icmp);
    big.frag_offset = 65528;
    big.ident = 80;
    r.inject(&[(eth(MAC_A, PEER_A, &[], 0x0800, &big.bytes(&[0; 16])), r.a)]);
    assert_eq!(r.err("ip4-local", "FragmentTooBig"), 1);
}

#[test]
fn blackhole_and_unreachable_routes() {
    let mut r = resolved();
    r.vnet
        .ip4_add_blackhole("192.0.2.0/24".parse().unwrap())
        .unwrap();
    r.vnet
        .ip4_add_unreachable("198.18.0.0/15".parse().unwrap())
        .unwrap();
    let bh = Ip::new(PEER_A_IP, EXT, IpProtocol::Udp).bytes(&udp(1, 2, 3));
    let un = Ip::new(PEER_A_IP, Ipv4Addr::new(198, 18, 0, 1), IpProtocol::Udp).bytes(&udp(1, 2, 3));
    r.inject(&[
        (to_us(MAC_A, PEER_A, &bh), r.a),
        (to_us(MAC_A, PEER_A, &un), r.a),
    ]);
    assert_eq!(r.err("ip4-lookup", "Blackhole"), 1);
    assert_eq!(r.err("ip4-lookup", "Unreachable"), 1);
    assert_eq!(
        r.got("tx-a").len(),
        1,
        "one unreachable, none for the blackhole"
    );
    // Multicast and the limited broadcast are dropped by the built-in routes.
    let mc = Ip::new(PEER_A_IP, Ipv4Addr::new(239, 1, 1, 1), IpProtocol::Udp).bytes(&udp(1, 2, 3));
    r.inject(&[(to_us(MAC_A, PEER_A, &mc), r.a)]);
    assert_eq!(r.err("ip4-lookup", "Blackhole"), 2);
}

#[test]
fn routes_change_while_traffic_flows() {
    let mut r = resolved();
    let prefix: wire::ipv4::Ipv4Cidr = "100.64.0.0/16".parse().unwrap();
    let vnet = r.vnet.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s2 = stop.clone();
    let writer = std::thread::spawn(move || {
        let mut n = 0u32;
        while !s2.load(std::sync::atomic::Ordering::Relaxed) {
            vnet.ip4_add_route(prefix, Some(PEER_B_IP), None).unwrap();
            vnet.ip4_add_route(
                format!("100.64.{}.0/24", n % 255).parse().unwrap(),
                Some(PEER_A_IP),
                None,
            )
            .unwrap();
            vnet.ip4_remove_route(prefix).unwrap();
            n += 1;
        }
        n
    });
    let pkt =
        Ip::new(PEER_A_IP, Ipv4Addr::new(100, 64, 255, 1), IpProtocol::Udp).bytes(&udp(1, 2, 10));
    let frames: Vec<_> = (0..64).map(|_| (to_us(MAC_A, PEER_A, &pkt), r.a)).collect();
    for i in 0..200 {
        r.inject_at(10 + i, &frames);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let changes = writer.join().unwrap();
    let forwarded = r.got("tx-b").len() as u64;
    let unreachable = r.err("ip4-lookup", "Unreachable");
    assert_eq!(
        forwarded + unreachable,
        200 * 64,
        "every packet either forwarded or unreachable, none lost ({changes} changes)"
    );
    for f in r.got("tx-b") {
        check_ipv4(split_eth(&f).4);
    }
}

#[test]
fn trace_follows_a_packet_through_the_chain() {
    use io::pg::{PacketSpec, PgInput, Source, StreamSpec};
    let mut r = resolved();
    let mut gb = graph::GraphBuilder::new();
    let vnet = r.vnet.clone();
    vnet::register(&mut gb, &vnet);
    gb.add(PgInput::new());
    for name in ["tx-a", "tx-b"] {
        gb.add(common::Sink {
            name,
            seen: r.lab.seen.clone(),
        });
    }
    let mut g = gb.build(buf::BufferCache::new(r.lab.pool.clone())).unwrap();
    vnet::attach_interfaces(&mut g, &vnet).unwrap();
    let spec = PacketSpec {
        src_mac: wire::ethernet::EthernetAddress(PEER_A),
        dst_mac: wire::ethernet::EthernetAddress(MAC_A),
        ip: io::pg::IpSpec::V4 {
            src: io::pg::Ip4Range {
                first: PEER_A_IP,
                count: 1,
            },
            dst: io::pg::Ip4Range {
                first: PEER_B_IP,
                count: 1,
            },
        },
        ..PacketSpec::default()
    };
    PgInput::add_stream(
        &mut g,
        StreamSpec {
            name: "t".into(),
            source: Source::Generate(spec),
            count: Some(3),
            rate_pps: None,
            rx_if: r.a,
        },
        "ethernet-input",
    )
    .unwrap();
    let pg = g.node_index("pg-input").unwrap();
    g.node_mut::<PgInput>(pg).unwrap().enable();
    g.trace_add("pg-input", 1).unwrap();
    for t in 1..10 {
        g.dispatch(t);
    }
    let text = g.format_trace();
    for node in [
        "ethernet-input",
        "ip4-input",
        "ip4-lookup",
        "ip4-rewrite",
        "interface-output",
        "tx-b",
    ] {
        assert!(text.contains(node), "{node} missing in\n{text}");
    }
    assert!(
        text.contains("10.0.0.2 -> 10.1.0.2 proto 17 ttl 64"),
        "{text}"
    );
    assert!(text.contains("fib dst 10.1.0.2"), "{text}");
    r.clear();
    drop(g);
}

#[test]
fn truncated_and_corrupt_icmp_to_us_are_counted() {
    let mut r = resolved();
    let short = Ip::new(PEER_A_IP, A_IP, IpProtocol::Icmp).bytes(&[8, 0, 0, 0]);
    let mut bad = echo_request(1, 1, b"xyz");
    bad[2] ^= 0x55;
    let corrupt = Ip::new(PEER_A_IP, A_IP, IpProtocol::Icmp).bytes(&bad);
    let reply = wire::icmpv4::Icmpv4Repr::EchoReply {
        ident: 1,
        seq_no: 1,
        data: b"",
    };
    let mut rb = vec![0; reply.buffer_len()];
    reply.emit(&mut wire::icmpv4::Icmpv4Packet::new_unchecked(&mut rb[..]));
    let stray = Ip::new(PEER_A_IP, A_IP, IpProtocol::Icmp).bytes(&rb);
    r.inject(&[
        (to_us(MAC_A, PEER_A, &short), r.a),
        (to_us(MAC_A, PEER_A, &corrupt), r.a),
        (to_us(MAC_A, PEER_A, &stray), r.a),
    ]);
    assert_eq!(r.err("ip4-local", "IcmpTruncated"), 1);
    assert_eq!(r.err("ip4-local", "IcmpBadChecksum"), 1);
    assert_eq!(r.err("ip4-local", "IcmpNotHandled"), 1);
    assert!(r.got("tx-a").is_empty(), "no reply, no error about ICMP");
}
