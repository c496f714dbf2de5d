//! The IPv6 path as a whole graph (`vnet::register`): forwarding with ND resolution,
//! routes, ECMP, hop limit, MTU, ICMPv6 errors and their rules, every malformed case,
//! local delivery and reassembly (RFC 5722). Bytes are built with wire's emitters and what
//! comes out is parsed with etherparse.

mod common;
mod ip6_lab;

use core::net::Ipv6Addr;
use ip6_lab::*;
use vnet::Dpo;
use wire::icmpv6::Icmpv6Repr;
use wire::IpProtocol;

fn to_us(ip: &[u8]) -> Vec<u8> {
    eth(MAC_A, PEER_A, &[], 0x86dd, ip)
}

/// Router with both peers resolved.
fn resolved() -> Router {
    resolved_with(|_| {})
}

fn resolved_with(tweak: impl FnOnce(&vnet::Vnet)) -> Router {
    let mut r = router_with(tweak);
    r.learn(r.a, PEER_A, peer_a_ip(), a_ip(), MAC_A);
    r.learn(r.b, PEER_B, peer_b_ip(), b_ip(), MAC_B);
    r.clear();
    r
}

fn udp_a_to_b(hop: u8) -> Vec<u8> {
    ip6(
        peer_a_ip(),
        peer_b_ip(),
        IpProtocol::Udp,
        hop,
        &udp(1000, 2000, 18),
    )
}

/// The ICMPv6 message that left on `sink` (exactly one frame): (l2 dst, header, icmp).
fn one_icmp(r: &Router, sink: &str) -> (etherparse::Ipv6Header, Icmp) {
    let out = r.got(sink);
    assert_eq!(out.len(), 1, "one frame on {sink}");
    let (_, _, _, et, l3) = split_eth(&out[0]);
    assert_eq!(et, 0x86dd);
    let (h, icmp) = check_ipv6(l3);
    (h, icmp.expect("ICMPv6"))
}

#[test]
fn forwarding_resolves_nd_first() {
    let mut r = router();
    let pkt = udp_a_to_b(64);
    r.inject(&[(to_us(&pkt), r.a)]);
    // Held; an NS for fd02::2 went out of b to its solicited-node group.
    let out = r.got("tx-b");
    assert_eq!(out.len(), 1, "only the NS leaves");
    let (dst, src, tags, et, l3) = split_eth(&out[0]);
    assert_eq!(
        (dst, src, tags.len(), et),
        ([0x33, 0x33, 0xff, 0, 0, 2], MAC_B, 0, 0x86dd)
    );
    let (h, icmp) = check_ipv6(l3);
    let (ty, code, _, body) = icmp.unwrap();
    assert_eq!((ty, code, h.hop_limit), (135, 0, 255));
    assert_eq!(h.source, b_ip().octets());
    assert_eq!(h.destination, ip("ff02::1:ff00:2").octets());
    assert_eq!(&body[..16], &peer_b_ip().octets(), "target");
    assert_eq!(
        &body[16..24],
        &[1, 1, 2, 0, 0, 0, 0, 0x0b],
        "source lladdr option"
    );
    assert_eq!(r.vnet.neighbors().pending_len(), 1);
    assert_eq!(r.err("ip6-discover-neighbor", "SolicitsSent"), 1);
    r.clear();
    // The NA releases the held packet, rewritten.
    r.learn(r.b, PEER_B, peer_b_ip(), b_ip(), MAC_B);
    let out = r.got("tx-b");
    assert_eq!(out.len(), 1);
    let (dst, src, _, et, l3) = split_eth(&out[0]);
    assert_eq!((dst, src, et), (PEER_B, MAC_B, 0x86dd));
    let (h, _) = check_ipv6(l3);
    assert_eq!(h.hop_limit, 63);
    assert_eq!(&l3[8..], &pkt[8..], "addresses and payload untouched");
    assert_eq!(r.vnet.neighbors().pending_len(), 0);
    assert!(matches!(r.vnet.ip6_lookup(peer_b_ip()), Dpo::Adjacency(_)));
    r.clear();
    r.inject(&[(to_us(&pkt), r.a)]);
    assert_eq!(r.got("tx-b").len(), 1);
    assert_eq!(r.err("ip6-nd", "Learned"), 1);
}

#[test]
fn padding_is_trimmed_and_many_packets_share_a_frame() {
    let mut r = resolved();
    let mut f = to_us(&udp_a_to_b(64));
    f.extend_from_slice(&[0xee; 20]);
    let frames: Vec<_> = (0..10).map(|_| (f.clone(), r.a)).collect();
    r.inject(&frames);
    let out = r.got("tx-b");
    assert_eq!(out.len(), 10);
    assert_eq!(out[0].len(), 14 + 40 + 26, "Ethernet padding trimmed");
}

#[test]
fn static_routes_link_local_via_ecmp_blackhole_unreachable() {
    let mut r = resolved();
    let v = &r.vnet;
    // Via a global next hop on a connected subnet.
    v.ip6_add_route("2001:db8:1::/48".parse().unwrap(), Some(peer_b_ip()), None)
        .unwrap();
    // Via a link-local next hop: needs the interface.
    assert_eq!(
        v.ip6_add_route("2001:db8:2::/48".parse().unwrap(), Some(peer_a_ll()), None),
        Err(vnet::ip6::Ip6ConfigError::ViaLinkLocalNeedsInterface(
            peer_a_ll()
        ))
    );
    v.ip6_add_route(
        "2001:db8:2::/48".parse().unwrap(),
        Some(peer_a_ll()),
        Some(r.a),
    )
    .unwrap();
    v.ip6_add_blackhole("2001:db8:dead::/48".parse().unwrap())
        .unwrap();
    v.ip6_add_unreachable("2001:db8:bad::/48".parse().unwrap())
        .unwrap();
    assert!(matches!(
        v.ip6_add_route("fe80::/64".parse().unwrap(), None, Some(r.a)),
        Err(vnet::ip6::Ip6ConfigError::BadPrefix(_))
    ));
    assert!(matches!(
        v.ip6_add_route("2001:db8:9::/48".parse().unwrap(), Some(b_ip()), None),
        Err(vnet::ip6::Ip6ConfigError::ViaIsLocal(_))
    ));
    let routes = v.ip6_routes();
    assert!(routes
        .iter()
        .any(|rt| rt.prefix.to_string() == "2001:db8:2::/48" && rt.paths.len() == 1));
    assert!(routes.iter().any(
        |rt| rt.prefix.to_string() == "fd01::1/128" && rt.dpo == Dpo::Receive { if_index: r.a }
    ));
    let send = |r: &mut Router, dst: &str| {
        r.clear();
        let p = ip6(peer_a_ip(), ip(dst), IpProtocol::Udp, 64, &udp(1, 2, 10));
        r.inject(&[(to_us(&p), r.a)]);
    };
    send(&mut r, "2001:db8:1::7");
    assert_eq!(split_eth(&r.got("tx-b")[0]).0, PEER_B);
    // The link-local next hop is not resolved yet: an NS from our link-local goes out of a.
    send(&mut r, "2001:db8:2::7");
    let out = r.got("tx-a");
    assert_eq!(out.len(), 1);
    let (h, _) = check_ipv6(split_eth(&out[0]).4);
    assert_eq!(
        h.source,
        a_ll().octets(),
        "NS for a link-local target from our link-local"
    );
    r.learn(r.a, PEER_A, peer_a_ll(), a_ll(), MAC_A);
    let out = r.got("tx-a");
    assert_eq!(out.len(), 1 + 1, "the NS, then the released packet");
    assert_eq!(split_eth(&out[1]).0, PEER_A);
    send(&mut r, "2001:db8:dead::1");
    assert!(r.got("tx-a").is_empty() && r.got("tx-b").is_empty());
    assert_eq!(r.err("ip6-lookup", "Blackhole"), 1);
    send(&mut r, "2001:db8:bad::1");
    let (h, (ty, code, _, _)) = one_icmp(&r, "tx-a");
    assert_eq!((ty, code), (1, 0), "destination unreachable, no route");
    assert_eq!(h.source, a_ip().octets());
    // No route at all: unreachable too.
    send(&mut r, "2001:db8:ffff::1");
    assert_eq!(one_icmp(&r, "tx-a").1 .0, 1);
    assert_eq!(r.err("ip6-lookup", "Unreachable"), 2);
    // ECMP over both peers: flows spread, each packet to one of them.
    r.vnet
        .ip6_add_route("2001:db8:e::/48".parse().unwrap(), Some(peer_a_ip()), None)
        .unwrap();
    r.vnet
        .ip6_add_route("2001:db8:e::/48".parse().unwrap(), Some(peer_b_ip()), None)
        .unwrap();
    assert!(matches!(
        r.vnet.ip6_lookup(ip("2001:db8:e::1")),
        Dpo::LoadBalance(_)
    ));
    r.clear();
    let frames: Vec<_> = (0..64u16)
        .map(|i| {
            let p = ip6(
                peer_a_ip(),
                ip("2001:db8:e::1"),
                IpProtocol::Udp,
                64,
                &udp(1000 + i, 53, 10),
            );
            (to_us(&p), r.a)
        })
        .collect();
    r.inject(&frames);
    let (na, nb) = (r.got("tx-a").len(), r.got("tx-b").len());
    assert_eq!(na + nb, 64);
    assert!(na > 5 && nb > 5, "both paths used: {na} / {nb}");
    r.vnet
        .ip6_remove_route("2001:db8:1::/48".parse().unwrap())
        .unwrap();
    assert_eq!(r.vnet.ip6_lookup(ip("2001:db8:1::7")), Dpo::Unreachable);
    assert!(r
        .vnet
        .ip6_remove_route("2001:db8:1::/48".parse().unwrap())
        .is_err());
}

#[test]
fn hop_limit_one_time_exceeded_and_zero_dropped() {
    let mut r = resolved();
    let pkt = udp_a_to_b(1);
    r.inject(&[(to_us(&pkt), r.a)]);
    assert!(r.got("tx-b").is_empty());
    let (h, (ty, code, _, quoted)) = one_icmp(&r, "tx-a");
    assert_eq!((ty, code), (3, 0));
    assert_eq!(h.source, a_ip().octets());
    assert_eq!(h.destination, peer_a_ip().octets());
    assert_eq!(quoted, pkt, "the whole packet quoted");
    assert_eq!(r.err("ip6-rewrite", "HopLimitExpired"), 1);
    assert_eq!(r.err("ip6-icmp-error", "Sent"), 1);
    r.clear();
    r.inject(&[(to_us(&udp_a_to_b(0)), r.a)]);
    assert!(r.got("tx-a").is_empty() && r.got("tx-b").is_empty());
    assert_eq!(r.err("ip6-input", "HopLimitZero"), 1);
    // Hop limit 1 to us is fine.
    r.inject(&[(to_us(&ping(peer_a_ip(), a_ip(), 1, b"x")), r.a)]);
    assert_eq!(one_icmp(&r, "tx-a").1 .0, 129);
}

#[test]
fn packet_too_big_carries_the_mtu() {
    let mut r = resolved_with(|v| {
        let b = v.interfaces().by_name("b").unwrap().index;
        v.interfaces_mut().set_mtu(b, 1300).unwrap();
    });
    let big = ip6(
        peer_a_ip(),
        peer_b_ip(),
        IpProtocol::Udp,
        64,
        &udp(1, 2, 1400),
    );
    r.inject(&[(to_us(&big), r.a)]);
    assert!(r.got("tx-b").is_empty(), "routers never fragment IPv6");
    let (h, (ty, code, mtu, quoted)) = one_icmp(&r, "tx-a");
    assert_eq!((ty, code, u32::from_be_bytes(mtu)), (2, 0, 1300));
    assert_eq!(
        usize::from(h.payload_length),
        1280 - 40,
        "fits the minimum MTU"
    );
    assert_eq!(&quoted[..], &big[..1280 - 48]);
    assert_eq!(r.err("ip6-rewrite", "PacketTooBig"), 1);
    // Exactly the MTU passes.
    r.clear();
    let fits = ip6(
        peer_a_ip(),
        peer_b_ip(),
        IpProtocol::Udp,
        64,
        &udp(1, 2, 1300 - 48),
    );
    r.inject(&[(to_us(&fits), r.a)]);
    assert_eq!(r.got("tx-b").len(), 1);
}

/// A destination-options header (8 bytes) whose next header is `nh`.
fn dst_opts(nh: u8) -> Vec<u8> {
    vec![nh, 0, 1, 4, 0, 0, 0, 0]
}

#[test]
fn every_malformed_case_is_counted_by_name() {
    let mut r = resolved();
    let good = udp_a_to_b(64);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (good[..39].to_vec(), "TooShort"),
        (good[..20].to_vec(), "TooShort"),
        (
            {
                let mut p = good.clone();
                p[0] = 0x45;
                p
            },
            "BadVersion",
        ),
        (good[..50].to_vec(), "LengthAboveBuffer"),
        (
            {
                let mut p = good.clone();
                p[4..6].copy_from_slice(&1000u16.to_be_bytes());
                p
            },
            "LengthAboveBuffer",
        ),
        (
            ip6(
                ip("ff02::1"),
                peer_b_ip(),
                IpProtocol::Udp,
                64,
                &udp(1, 2, 4),
            ),
            "SrcMulticast",
        ),
        (
            ip6(ip("::1"), peer_b_ip(), IpProtocol::Udp, 64, &udp(1, 2, 4)),
            "SrcLoopback",
        ),
        (
            ip6(peer_a_ip(), ip("::1"), IpProtocol::Udp, 64, &udp(1, 2, 4)),
            "BadDestination",
        ),
        // A destination-options header cut off (truncated at the extension header).
        (
            ip6(
                peer_a_ip(),
                peer_b_ip(),
                IpProtocol::Ipv6Opts,
                64,
                &[17, 0, 1],
            ),
            "ExtTruncated",
        ),
        // Its length says 16 bytes, 8 are there.
        (
            ip6(
                peer_a_ip(),
                peer_b_ip(),
                IpProtocol::Ipv6Opts,
                64,
                &[17, 1, 1, 4, 0, 0, 0, 0],
            ),
            "ExtTruncated",
        ),
        // Hop-by-hop after a destination-options header.
        (
            {
                let mut pl = dst_opts(0);
                pl.extend(dst_opts(17));
                ip6(peer_a_ip(), peer_b_ip(), IpProtocol::Ipv6Opts, 64, &pl)
            },
            "HopByHopNotFirst",
        ),
        // An endless chain: 12 destination-options headers.
        (
            {
                let mut pl = Vec::new();
                for _ in 0..12 {
                    pl.extend(dst_opts(60));
                }
                ip6(peer_a_ip(), peer_b_ip(), IpProtocol::Ipv6Opts, 64, &pl)
            },
            "ExtChainTooLong",
        ),
        // Hop-by-hop with an unknown option whose action is "discard" (01).
        (
            ip6(
                peer_a_ip(),
                peer_b_ip(),
                IpProtocol::HopByHop,
                64,
                &[59, 0, 0x47, 2, 0, 0, 1, 0],
            ),
            "UnknownOptionDrop",
        ),
        (
            ip6(
                peer_a_ip(),
                peer_b_ip(),
                IpProtocol::HopByHop,
                64,
                &[59, 0, 0xc2, 4, 0, 0, 0, 0],
            ),
            "Jumbo",
        ),
        (
            ip6(
                peer_a_ip(),
                peer_b_ip(),
                IpProtocol::HopByHop,
                64,
                &[59, 0, 0x07, 9, 0, 0, 0, 0],
            ),
            "BadOption",
        ),
    ];
    for (pkt, name) in &cases {
        let before = r.err("ip6-input", name);
        r.clear();
        r.inject(&[(to_us(pkt), r.a)]);
        assert_eq!(r.err("ip6-input", name), before + 1, "{name}");
        assert!(
            r.got("tx-a").is_empty() && r.got("tx-b").is_empty(),
            "{name}: nothing sent"
        );
    }
    // Unknown hop-by-hop option with action 10: parameter problem code 2 at the option.
    r.clear();
    let p = ip6(
        peer_a_ip(),
        peer_b_ip(),
        IpProtocol::HopByHop,
        64,
        &[59, 0, 1, 0, 0x87, 2, 0, 0],
    );
    r.inject(&[(to_us(&p), r.a)]);
    let (_, (ty, code, ptr, _)) = one_icmp(&r, "tx-a");
    assert_eq!((ty, code, u32::from_be_bytes(ptr)), (4, 2, 44));
    assert_eq!(r.err("ip6-input", "UnknownOptionIcmp"), 1);
    // Known extension headers are forwarded: hop-by-hop (PadN), destination options.
    r.clear();
    let mut pl = vec![60, 0, 1, 4, 0, 0, 0, 0];
    pl.extend(dst_opts(17));
    pl.extend(udp(1, 2, 4));
    r.inject(&[(
        to_us(&ip6(
            peer_a_ip(),
            peer_b_ip(),
            IpProtocol::HopByHop,
            64,
            &pl,
        )),
        r.a,
    )]);
    assert_eq!(r.got("tx-b").len(), 1);
}

#[test]
fn local_delivery_echo_port_and_next_header() {
    let mut r = resolved();
    let req = ping(peer_a_ip(), a_ip(), 64, b"hello uplane");
    r.inject(&[(to_us(&req), r.a)]);
    let (h, (ty, code, idseq, data)) = one_icmp(&r, "tx-a");
    assert_eq!((ty, code), (129, 0));
    assert_eq!(
        (h.source, h.destination),
        (a_ip().octets(), peer_a_ip().octets())
    );
    assert_eq!(idseq, [0x12, 0x34, 0, 7]);
    assert_eq!(data, b"hello uplane");
    assert_eq!(r.err("ip6-local", "EchoReplies"), 1);
    // The other interface's address answers too (from that address).
    r.clear();
    r.inject(&[(to_us(&ping(peer_a_ip(), b_ip(), 64, b"x")), r.a)]);
    assert_eq!(one_icmp(&r, "tx-a").0.source, b_ip().octets());
    // UDP: port unreachable.
    r.clear();
    let u = ip6(peer_a_ip(), a_ip(), IpProtocol::Udp, 64, &udp(5, 9, 4));
    r.inject(&[(to_us(&u), r.a)]);
    let (_, (ty, code, ..)) = one_icmp(&r, "tx-a");
    assert_eq!((ty, code), (1, 4));
    // An unknown next header after a destination-options header: parameter problem code
    // 1, pointing at that header's next-header byte (offset 40).
    r.clear();
    let mut pl = dst_opts(253);
    pl.extend([0; 8]);
    r.inject(&[(
        to_us(&ip6(peer_a_ip(), a_ip(), IpProtocol::Ipv6Opts, 64, &pl)),
        r.a,
    )]);
    let (_, (ty, code, ptr, _)) = one_icmp(&r, "tx-a");
    assert_eq!((ty, code, u32::from_be_bytes(ptr)), (4, 1, 40));
    assert_eq!(r.err("ip6-local", "UnknownNextHeader"), 1);
    // No next header: consumed.
    r.clear();
    r.inject(&[(
        to_us(&ip6(peer_a_ip(), a_ip(), IpProtocol::Ipv6NoNxt, 64, &[])),
        r.a,
    )]);
    assert!(r.got("tx-a").is_empty());
    assert_eq!(r.err("ip6-local", "NoNextHeader"), 1);
    // A bad ICMPv6 checksum.
    r.clear();
    let mut bad = ping(peer_a_ip(), a_ip(), 64, b"x");
    bad[43] ^= 1;
    r.inject(&[(to_us(&bad), r.a)]);
    assert_eq!(r.err("ip6-local", "IcmpBadChecksum"), 1);
}

#[test]
fn link_local_scope() {
    let mut r = router();
    // Ping our link-local from the peer's: the reply needs the peer's MAC first (NS).
    let req = ping(peer_a_ll(), a_ll(), 64, b"ll");
    r.inject(&[(to_us(&req), r.a)]);
    let out = r.got("tx-a");
    assert_eq!(out.len(), 1);
    let (h, icmp) = check_ipv6(split_eth(&out[0]).4);
    assert_eq!(icmp.unwrap().0, 135, "NS first");
    assert_eq!(h.source, a_ll().octets());
    r.clear();
    r.learn(r.a, PEER_A, peer_a_ll(), a_ll(), MAC_A);
    let (h, (ty, ..)) = one_icmp(&r, "tx-a");
    assert_eq!(ty, 129);
    assert_eq!(
        (h.source, h.destination),
        (a_ll().octets(), peer_a_ll().octets())
    );
    // Another interface's link-local, or someone else's: never forwarded.
    r.clear();
    let b_ll = r.vnet.ip6_link_local(r.b).unwrap();
    r.inject(&[
        (to_us(&ping(peer_a_ll(), b_ll, 64, b"x")), r.a),
        (to_us(&ping(peer_a_ll(), ip("fe80::99"), 64, b"x")), r.a),
    ]);
    assert!(r.got("tx-a").is_empty() && r.got("tx-b").is_empty());
    assert_eq!(r.err("ip6-lookup", "LinkLocalNotOurs"), 2);
    // A link-local source is not forwarded off its link: beyond scope.
    r.learn(r.b, PEER_B, peer_b_ip(), b_ip(), MAC_B);
    r.clear();
    let p = ip6(peer_a_ll(), peer_b_ip(), IpProtocol::Udp, 64, &udp(1, 2, 4));
    r.inject(&[(to_us(&p), r.a)]);
    assert!(r.got("tx-b").is_empty());
    let (h, (ty, code, ..)) = one_icmp(&r, "tx-a");
    assert_eq!((ty, code), (1, 2));
    assert_eq!(
        h.source,
        a_ll().octets(),
        "to a link-local, from our link-local"
    );
    assert_eq!(r.err("ip6-lookup", "SourceBeyondScope"), 1);
    // Multicast not joined is not ours; all-nodes is.
    r.clear();
    r.inject(&[(
        eth(
            [0x33, 0x33, 0, 0, 0, 1],
            PEER_A,
            &[],
            0x86dd,
            &ping(peer_a_ll(), ip("ff02::1"), 1, b"all"),
        ),
        r.a,
    )]);
    let (h, (ty, ..)) = one_icmp(&r, "tx-a");
    assert_eq!(ty, 129);
    assert_eq!(
        h.source,
        a_ll().octets(),
        "reply from the interface's address"
    );
}

#[test]
fn icmp_error_rules() {
    let mut r = resolved_with(|v| {
        let mut ip6 = v.ip6_mut();
        ip6.params.icmp_burst = 3;
        ip6.params.icmp_rate_per_sec = 1;
    });
    // Never about an ICMPv6 error.
    let te = icmp6(
        &Icmpv6Repr::TimeExceeded {
            reason: 0.into(),
            invoking: &[0; 48],
        },
        peer_a_ip(),
        peer_b_ip(),
    );
    r.inject(&[(
        to_us(&ip6(peer_a_ip(), peer_b_ip(), IpProtocol::Icmpv6, 1, &te)),
        r.a,
    )]);
    assert_eq!(r.err("ip6-icmp-error", "ForIcmpError"), 1);
    // Never about a non-first fragment.
    let frag = [17u8, 0, 0, 8 * 10, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
    r.inject(&[(
        to_us(&ip6(
            peer_a_ip(),
            peer_b_ip(),
            IpProtocol::Ipv6Frag,
            1,
            &frag,
        )),
        r.a,
    )]);
    assert_eq!(r.err("ip6-icmp-error", "ForFragment"), 1);
    // Never about a multicast destination (UDP to all-nodes: no port unreachable).
    r.inject(&[(
        eth(
            [0x33, 0x33, 0, 0, 0, 1],
            PEER_A,
            &[],
            0x86dd,
            &ip6(
                peer_a_ip(),
                ip("ff02::1"),
                IpProtocol::Udp,
                1,
                &udp(1, 2, 4),
            ),
        ),
        r.a,
    )]);
    assert_eq!(r.err("ip6-icmp-error", "ForMulticast"), 1);
    assert!(r.got("tx-a").is_empty());
    // Rate limited per interface: a burst of 3, then nothing.
    let frames: Vec<_> = (0..6).map(|_| (to_us(&udp_a_to_b(1)), r.a)).collect();
    r.inject(&frames);
    assert_eq!(r.got("tx-a").len(), 3);
    assert_eq!(r.err("ip6-icmp-error", "RateLimited"), 3);
}

/// Fragment `i` of a ping to us: the ICMPv6 message split at 8-byte multiples.
fn frags(icmp: &[u8], cuts: &[(usize, usize)], ident: u32) -> Vec<Vec<u8>> {
    cuts.iter()
        .map(|&(s, e)| {
            let more = e < icmp.len();
            let mut pl = vec![58u8, 0];
            pl.extend((((s as u16) & 0xfff8) | u16::from(more)).to_be_bytes());
            pl.extend(ident.to_be_bytes());
            pl.extend(&icmp[s..e.min(icmp.len())]);
            ip6(peer_a_ip(), a_ip(), IpProtocol::Ipv6Frag, 64, &pl)
        })
        .collect()
}

#[test]
fn reassembly_and_rfc5722_overlaps() {
    let mut r = resolved();
    let data: Vec<u8> = (0..100u8).collect();
    let icmp = icmp6(
        &Icmpv6Repr::EchoRequest {
            ident: 1,
            seq_no: 2,
            data: &data,
        },
        peer_a_ip(),
        a_ip(),
    );
    // Out of order, in three pieces.
    let f = frags(&icmp, &[(48, 108), (0, 24), (24, 48)], 0x77);
    r.inject(&f.iter().map(|p| (to_us(p), r.a)).collect::<Vec<_>>());
    let (_, (ty, _, _, echoed)) = one_icmp(&r, "tx-a");
    assert_eq!(ty, 129);
    assert_eq!(echoed, data);
    assert_eq!(r.err("ip6-local", "Reassembled"), 1);
    // Overlapping fragments: the whole datagram is dropped, held pieces too.
    r.clear();
    let f = frags(&icmp, &[(0, 32), (24, 48), (48, 108)], 0x78);
    r.inject(&f.iter().map(|p| (to_us(p), r.a)).collect::<Vec<_>>());
    assert!(
        r.got("tx-a").is_empty(),
        "no reply to an overlapped datagram"
    );
    assert_eq!(r.err("ip6-local", "FragmentOverlap"), 1);
    assert_eq!(r.err("ip6-local", "FragmentsDiscarded"), 1);
    // An exact duplicate is an overlap too.
    let f = frags(&icmp, &[(0, 24), (0, 24)], 0x79);
    r.inject(&f.iter().map(|p| (to_us(p), r.a)).collect::<Vec<_>>());
    assert_eq!(r.err("ip6-local", "FragmentOverlap"), 2);
    // A non-last fragment not a multiple of 8.
    let f = frags(&icmp, &[(0, 20)], 0x7a);
    r.inject(&[(to_us(&f[0]), r.a)]);
    assert_eq!(r.err("ip6-local", "FragmentBadLength"), 1);
    // Held fragments time out: this one, and the piece of 0x78 that came after its
    // datagram was dropped (it started a new one).
    let f = frags(&icmp, &[(0, 24)], 0x7b);
    r.inject(&[(to_us(&f[0]), r.a)]);
    assert_eq!(r.err("ip6-local", "FragmentsDiscarded"), 2);
    r.inject_at(
        10_000_000_000,
        &[(to_us(&ping(peer_a_ip(), a_ip(), 64, b"t")), r.a)],
    );
    assert_eq!(r.err("ip6-local", "FragmentsDiscarded"), 4);
}

/// One frame mixing runs to two routes, a link-local source, a blackhole and no route:
/// `ip6-lookup` answers the runs from the slot of their first packet and sends the rest
/// through the bulk lookup; every packet still goes its own way, in frame order.
#[test]
fn one_frame_mixing_routes_and_special_packets() {
    let mut r = resolved();
    r.vnet
        .ip6_add_route("2001:db8:1::/48".parse().unwrap(), Some(peer_b_ip()), None)
        .unwrap();
    r.vnet
        .ip6_add_route("2001:db8:2::/48".parse().unwrap(), Some(peer_a_ip()), None)
        .unwrap();
    r.vnet
        .ip6_add_blackhole("2001:db8:dead::/48".parse().unwrap())
        .unwrap();
    // (source, destination) in frame order.
    let mut plan: Vec<(Ipv6Addr, String)> = Vec::new();
    let to = |plan: &mut Vec<(Ipv6Addr, String)>, n: u32, prefix: &str| {
        for i in 0..n {
            plan.push((peer_a_ip(), format!("{prefix}{:x}", i + 1)));
        }
    };
    to(&mut plan, 5, "2001:db8:1::");
    plan.push((ip("fe80::99"), "2001:db8:1::77".into()));
    to(&mut plan, 3, "2001:db8:2::");
    to(&mut plan, 2, "2001:db8:1:5::");
    to(&mut plan, 1, "2001:db8:dead::");
    to(&mut plan, 1, "2001:db8:ffff::");
    to(&mut plan, 4, "2001:db8:1:ff::");
    let frames: Vec<_> = plan
        .iter()
        .map(|(s, d)| {
            let p = ip6(*s, ip(d), IpProtocol::Udp, 64, &udp(1000, 2000, 10));
            (to_us(&p), r.a)
        })
        .collect();
    r.inject(&frames);
    // Every global-source packet to 2001:db8:1::/48, in order, via peer B, one hop less.
    let want_b: Vec<Ipv6Addr> = plan
        .iter()
        .filter(|(s, d)| *s == peer_a_ip() && d.starts_with("2001:db8:1:"))
        .map(|(_, d)| ip(d))
        .collect();
    let out_b = r.got("tx-b");
    assert_eq!(out_b.len(), want_b.len(), "to 2001:db8:1::/48 via b");
    for (f, want) in out_b.iter().zip(&want_b) {
        let (dst_mac, _, _, _, l3) = split_eth(f);
        assert_eq!(dst_mac, PEER_B);
        let (h, _) = check_ipv6(l3);
        assert_eq!(Ipv6Addr::from(h.destination), *want);
        assert_eq!(h.hop_limit, 63);
    }
    // The three to 2001:db8:2::/48 via peer A, in order; ICMP errors may follow on a.
    let fwd_a: Vec<Ipv6Addr> = r
        .got("tx-a")
        .iter()
        .filter(|f| split_eth(f).0 == PEER_A)
        .map(|f| check_ipv6(split_eth(f).4).0)
        .filter(|h| h.next_header == etherparse::IpNumber::UDP)
        .map(|h| Ipv6Addr::from(h.destination))
        .collect();
    assert_eq!(
        fwd_a,
        [
            ip("2001:db8:2::1"),
            ip("2001:db8:2::2"),
            ip("2001:db8:2::3")
        ]
    );
    assert_eq!(r.err("ip6-lookup", "SourceBeyondScope"), 1);
    assert_eq!(r.err("ip6-lookup", "Blackhole"), 1);
    assert_eq!(r.err("ip6-lookup", "Unreachable"), 1);
}
