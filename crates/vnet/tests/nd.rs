//! Neighbor Discovery through the whole graph: NS for us → NA with the right flags and
//! option, learning from NS and NA (completing adjacencies and releasing held packets),
//! DAD probes, the ND validity checks, router advertisements, VLANs and the pending bound.

mod common;
mod ip6_lab;

use ip6_lab::*;
use vnet::NeighborTable;
use wire::ndisc::NeighborFlags;
use wire::IpProtocol;

/// The NA that left on `sink`: (l2 dst, src, dst, flags byte, target, option bytes).
/// An NA as it left: (l2 dst, tags, src, dst, flags byte, body after the flags word).
type Na = ([u8; 6], Vec<u16>, [u8; 16], [u8; 16], u8, Vec<u8>);

fn one_na(r: &Router, sink: &str) -> Na {
    let out = r.got(sink);
    assert_eq!(out.len(), 1, "one frame on {sink}");
    let (l2dst, l2src, tags, et, l3) = split_eth(&out[0]);
    assert_eq!(
        (l2src, et),
        (if sink == "tx-a" { MAC_A } else { MAC_B }, 0x86dd)
    );
    let (h, icmp) = check_ipv6(l3);
    assert_eq!(h.hop_limit, 255);
    let (ty, code, flags, body) = icmp.unwrap();
    assert_eq!((ty, code), (136, 0));
    (l2dst, tags, h.source, h.destination, flags[0], body)
}

#[test]
fn ns_for_us_gets_na_and_teaches_the_sender() {
    let mut r = router();
    let f = eth(
        [0x33, 0x33, 0xff, 0, 0, 1],
        PEER_A,
        &[],
        0x86dd,
        &ns(peer_a_ip(), ip("ff02::1:ff00:1"), a_ip(), Some(PEER_A)),
    );
    r.inject(&[(f, r.a)]);
    let (l2dst, _, src, dst, flags, body) = one_na(&r, "tx-a");
    assert_eq!(l2dst, PEER_A);
    assert_eq!((src, dst), (a_ip().octets(), peer_a_ip().octets()));
    assert_eq!(flags, 0x80 | 0x40 | 0x20, "router, solicited, override");
    assert_eq!(&body[..16], &a_ip().octets(), "target");
    assert_eq!(
        &body[16..24],
        &[2, 1, 2, 0, 0, 0, 0, 0x0a],
        "target lladdr = our MAC"
    );
    let n = r.vnet.neighbors();
    let nb = n
        .lookup(r.a, core::net::IpAddr::V6(peer_a_ip()))
        .expect("learned from the source lladdr option");
    assert_eq!(nb.mac.0, PEER_A);
    drop(n);
    assert_eq!(r.err("ip6-nd", "AdvertsSent"), 1);
    assert_eq!(r.err("ip6-nd", "Learned"), 1);
    // Forwarding to it now needs no NS.
    assert!(matches!(
        r.vnet.ip6_lookup(peer_a_ip()),
        vnet::Dpo::Adjacency(_)
    ));
}

#[test]
fn ns_for_our_link_local_and_unicast_nud() {
    let mut r = router();
    // To the link-local's solicited-node group (ethernet-input joined it).
    let f = eth(
        [0x33, 0x33, 0xff, 0, 0, 0x0a],
        PEER_A,
        &[],
        0x86dd,
        &ns(peer_a_ll(), ip("ff02::1:ff00:a"), a_ll(), Some(PEER_A)),
    );
    r.inject(&[(f, r.a)]);
    let (_, _, src, dst, _, _) = one_na(&r, "tx-a");
    assert_eq!((src, dst), (a_ll().octets(), peer_a_ll().octets()));
    // Unicast NUD probe without a lladdr option from a known neighbour: answered to it.
    r.clear();
    let f = eth(
        MAC_A,
        PEER_A,
        &[],
        0x86dd,
        &ns(peer_a_ll(), a_ll(), a_ll(), None),
    );
    r.inject(&[(f, r.a)]);
    assert_eq!(one_na(&r, "tx-a").0, PEER_A);
    // ... from an unknown one: no way to answer.
    r.clear();
    let f = eth(
        MAC_A,
        PEER_B,
        &[],
        0x86dd,
        &ns(ip("fe80::77"), a_ll(), a_ll(), None),
    );
    r.inject(&[(f, r.a)]);
    assert!(r.got("tx-a").is_empty());
    assert_eq!(r.err("ip6-nd", "NoLinkLayerAddress"), 1);
}

#[test]
fn dad_probe_is_defended_and_nothing_learned() {
    let mut r = router();
    let probe = ns(ip("::"), ip("ff02::1:ff00:1"), a_ip(), None);
    let f = eth([0x33, 0x33, 0xff, 0, 0, 1], PEER_A, &[], 0x86dd, &probe);
    r.inject(&[(f, r.a)]);
    let (l2dst, _, src, dst, flags, _) = one_na(&r, "tx-a");
    assert_eq!(l2dst, [0x33, 0x33, 0, 0, 0, 1]);
    assert_eq!((src, dst), (a_ip().octets(), ip("ff02::1").octets()));
    assert_eq!(flags, 0x80 | 0x20, "no solicited flag to all-nodes");
    assert_eq!(r.err("ip6-nd", "DadDefended"), 1);
    assert!(r.vnet.neighbors().is_empty());
    // A DAD probe carrying a source lladdr option is invalid (RFC 4861 §7.1.1).
    r.clear();
    let bad = ns(ip("::"), ip("ff02::1:ff00:1"), a_ip(), Some(PEER_A));
    r.inject(&[(
        eth([0x33, 0x33, 0xff, 0, 0, 1], PEER_A, &[], 0x86dd, &bad),
        r.a,
    )]);
    assert!(r.got("tx-a").is_empty());
    assert_eq!(r.err("ip6-nd", "BadDadSolicit"), 1);
}

#[test]
fn nd_validity_checks_are_counted() {
    let mut r = router();
    let mcast = [0x33, 0x33, 0xff, 0, 0, 1];
    // Hop limit not 255.
    let mut p = ns(peer_a_ip(), ip("ff02::1:ff00:1"), a_ip(), Some(PEER_A));
    p[7] = 64;
    let icmp_fix = p.clone();
    r.inject(&[(eth(mcast, PEER_A, &[], 0x86dd, &icmp_fix), r.a)]);
    assert_eq!(r.err("ip6-nd", "BadHopLimit"), 1);
    // Not our target (fd01::9 shares no group with us: sent to fd01::1's group anyway).
    let p = ns(
        peer_a_ip(),
        ip("ff02::1:ff00:1"),
        ip("fd01::9"),
        Some(PEER_A),
    );
    r.inject(&[(eth(mcast, PEER_A, &[], 0x86dd, &p), r.a)]);
    assert_eq!(r.err("ip6-nd", "NotForUs"), 1);
    // NA for our own address: a conflict.
    let p = na(
        peer_a_ip(),
        a_ip(),
        NeighborFlags::OVERRIDE,
        a_ip(),
        Some(PEER_A),
    );
    r.inject(&[(eth(MAC_A, PEER_A, &[], 0x86dd, &p), r.a)]);
    assert_eq!(r.err("ip6-nd", "AddressConflict"), 1);
    // NA without target lladdr.
    let p = na(
        peer_a_ip(),
        a_ip(),
        NeighborFlags::SOLICITED,
        peer_a_ip(),
        None,
    );
    r.inject(&[(eth(MAC_A, PEER_A, &[], 0x86dd, &p), r.a)]);
    assert_eq!(r.err("ip6-nd", "NoTargetLinkLayer"), 1);
    // Unsolicited NA for a stranger: ignored.
    let p = na(
        peer_a_ip(),
        a_ip(),
        NeighborFlags::OVERRIDE,
        peer_a_ip(),
        Some(PEER_A),
    );
    r.inject(&[(eth(MAC_A, PEER_A, &[], 0x86dd, &p), r.a)]);
    assert_eq!(r.err("ip6-nd", "UnsolicitedIgnored"), 1);
    // Solicited NA to all-nodes is invalid.
    let p = na(
        peer_a_ll(),
        ip("ff02::1"),
        NeighborFlags::SOLICITED,
        peer_a_ip(),
        Some(PEER_A),
    );
    r.inject(&[(eth([0x33, 0x33, 0, 0, 0, 1], PEER_A, &[], 0x86dd, &p), r.a)]);
    assert_eq!(r.err("ip6-nd", "BadAdvert"), 1);
    assert!(r.vnet.neighbors().is_empty());
    assert!(r.got("tx-a").is_empty());
}

/// A router advertisement from `src` with a source lladdr option.
fn ra(src: core::net::Ipv6Addr) -> Vec<u8> {
    let mut o = [0u8; 8];
    wire::ndisc::NdiscOption::SourceLinkLayerAddr(&PEER_A).emit(&mut o);
    let r = wire::icmpv6::Icmpv6Repr::Ndisc(wire::ndisc::NdiscRepr::RouterAdvert {
        hop_limit: 64,
        flags: wire::ndisc::RouterFlags(0),
        router_lifetime: 1800,
        reachable_time: 0,
        retrans_time: 0,
        options: &o,
    });
    let dst = ip("ff02::1");
    ip6(src, dst, IpProtocol::Icmpv6, 255, &icmp6(&r, src, dst))
}

#[test]
fn router_advertisements_ignored_unless_configured() {
    let mut r = router();
    r.inject(&[(
        eth(
            [0x33, 0x33, 0, 0, 0, 1],
            PEER_A,
            &[],
            0x86dd,
            &ra(peer_a_ll()),
        ),
        r.a,
    )]);
    assert_eq!(r.err("ip6-nd", "RouterAdvertIgnored"), 1);
    assert!(r.vnet.neighbors().is_empty());
    let mut r = router_with(|v| v.ip6_mut().params.accept_ra = true);
    r.inject(&[(
        eth(
            [0x33, 0x33, 0, 0, 0, 1],
            PEER_A,
            &[],
            0x86dd,
            &ra(peer_a_ll()),
        ),
        r.a,
    )]);
    assert_eq!(r.err("ip6-nd", "RouterAdvertAccepted"), 1);
    assert_eq!(r.vnet.neighbors().len(), 1);
}

#[test]
fn ns_on_a_vlan_is_answered_tagged() {
    let mut r = router();
    let f = eth(
        [0x33, 0x33, 0xff, 0, 0, 1],
        PEER_A,
        &[100],
        0x86dd,
        &ns(
            ip("fd64::2"),
            ip("ff02::1:ff00:1"),
            ip("fd64::1"),
            Some(PEER_A),
        ),
    );
    r.inject(&[(f, r.a)]);
    let (l2dst, tags, src, ..) = one_na(&r, "tx-a");
    assert_eq!((l2dst, tags), (PEER_A, vec![100]));
    assert_eq!(src, ip("fd64::1").octets());
}

#[test]
fn pending_queue_is_bounded_and_ns_throttled() {
    let mut r = router();
    let frames: Vec<_> = (0..6)
        .map(|i| {
            let p = ip6(
                peer_a_ip(),
                ip("fd02::2"),
                IpProtocol::Udp,
                64,
                &udp(i, 2, 4),
            );
            (eth(MAC_A, PEER_A, &[], 0x86dd, &p), r.a)
        })
        .collect();
    r.inject(&frames);
    let held = NeighborTable::PENDING_PER_NEIGHBOR as u64;
    assert_eq!(r.err("ip6-discover-neighbor", "Held"), held);
    assert_eq!(r.err("ip6-discover-neighbor", "PendingFull"), 6 - held);
    assert_eq!(r.err("ip6-discover-neighbor", "SolicitsSent"), 1);
    assert_eq!(
        r.err("ip6-discover-neighbor", "SolicitsThrottled"),
        held - 1
    );
    r.clear();
    // The NA releases every held packet.
    r.learn(r.b, PEER_B, peer_b_ip(), b_ip(), MAC_B);
    assert_eq!(r.got("tx-b").len(), held as usize);
    assert_eq!(r.vnet.neighbors().pending_len(), 0);
}

#[test]
fn aged_neighbours_get_unicast_solicitations_then_are_removed() {
    const SEC: u64 = 1_000_000_000;
    let mut r = router_with(|v| v.ip4_mut().params.neighbor_max_age_ns = SEC);
    r.learn(r.b, PEER_B, peer_b_ip(), b_ip(), MAC_B);
    r.clear();
    let run_until = |r: &mut Router, from: u64, to: u64| {
        let mut t = from;
        while t <= to {
            r.run(t);
            t += SEC / 10;
        }
    };
    let probes = |r: &Router| {
        r.got("tx-b")
            .iter()
            .map(|f| {
                let (l2dst, l2src, tags, et, l3) = split_eth(f);
                assert_eq!((l2dst, l2src, tags, et), (PEER_B, MAC_B, vec![], 0x86dd));
                let (h, icmp) = check_ipv6(l3);
                assert_eq!(h.hop_limit, 255);
                assert_eq!(
                    (h.source, h.destination),
                    (b_ip().octets(), peer_b_ip().octets()),
                    "unicast to the neighbour (RFC 4861 7.3.3 PROBE)"
                );
                let (ty, code, _, body) = icmp.unwrap();
                assert_eq!((ty, code), (135, 0));
                assert_eq!(&body[..16], &peer_b_ip().octets(), "target");
                assert_eq!(&body[16..24], &[1, 1, 2, 0, 0, 0, 0, 0x0b], "our lladdr");
            })
            .count()
    };
    run_until(&mut r, SEC / 10, SEC * 3 / 2);
    assert_eq!(probes(&r), 1);
    assert!(matches!(
        r.vnet.ip6_lookup(peer_b_ip()),
        vnet::Dpo::Adjacency(_)
    ));
    // The answer makes it fresh again.
    let answer = na(
        peer_b_ip(),
        b_ip(),
        NeighborFlags::SOLICITED,
        peer_b_ip(),
        Some(PEER_B),
    );
    r.inject_at(
        SEC * 3 / 2,
        &[(eth(MAC_B, PEER_B, &[], 0x86dd, &answer), r.b)],
    );
    r.clear();
    run_until(&mut r, SEC * 16 / 10, SEC * 24 / 10);
    assert_eq!(probes(&r), 0);
    run_until(&mut r, SEC * 25 / 10, SEC * 7);
    assert_eq!(probes(&r), 3);
    assert_eq!(r.err("ip4-neighbor-process", "NeighborsExpired"), 1);
    assert!(r
        .vnet
        .neighbors()
        .lookup(r.b, core::net::IpAddr::V6(peer_b_ip()))
        .is_none());
    assert!(!matches!(
        r.vnet.ip6_lookup(peer_b_ip()),
        vnet::Dpo::Adjacency(_)
    ));
}
