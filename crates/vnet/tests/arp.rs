//! ARP: replies (also on VLAN sub-interfaces), learning, malformed packets by name, the
//! bounded pending queue, request rate limit, aging, gratuitous ARP on address add.

mod common;
mod ip4_lab;

use core::net::{IpAddr, Ipv4Addr};
use ip4_lab::*;
use vnet::{AdjState, Dpo};
use wire::arp::{ArpPacket, ArpRepr, Operation};
use wire::IpProtocol;

fn parse_arp(f: &[u8]) -> ([u8; 6], Vec<u16>, ArpRepr) {
    let (dst, _, tags, et, payload) = split_eth(f);
    assert_eq!(et, 0x0806);
    (
        dst,
        tags,
        ArpRepr::parse(&ArpPacket::new_checked(payload).unwrap()).unwrap(),
    )
}

#[test]
fn request_for_us_is_answered_and_learned() {
    let mut r = router();
    let req = arp_frame(
        [0xff; 6],
        &[],
        Operation::Request,
        PEER_A,
        PEER_A_IP,
        [0; 6],
        A_IP,
    );
    r.inject(&[(req, r.a)]);
    let out = r.got("tx-a");
    assert_eq!(out.len(), 1);
    let (dst, tags, rep) = parse_arp(&out[0]);
    assert_eq!(dst, PEER_A);
    assert!(tags.is_empty());
    assert_eq!(rep.operation, Operation::Reply);
    assert_eq!(rep.source_hardware_addr.0, MAC_A);
    assert_eq!(rep.source_protocol_addr, A_IP);
    assert_eq!(rep.target_hardware_addr.0, PEER_A);
    assert_eq!(rep.target_protocol_addr, PEER_A_IP);
    assert_eq!(&out[0][6..12], &MAC_A);
    assert_eq!(out[0].len(), 14 + 28);
    assert_eq!(r.err("arp-input", "RepliesSent"), 1);
    let n = r.vnet.neighbors();
    assert_eq!(n.lookup(r.a, IpAddr::V4(PEER_A_IP)).unwrap().mac.0, PEER_A);
    drop(n);
    assert!(matches!(r.vnet.ip4_lookup(PEER_A_IP), Dpo::Adjacency(_)));
}

#[test]
fn request_on_a_vlan_is_answered_with_its_tag() {
    let mut r = router();
    let peer = Ipv4Addr::new(10, 100, 0, 2);
    let req = arp_frame(
        [0xff; 6],
        &[100],
        Operation::Request,
        PEER_A,
        peer,
        [0; 6],
        V_IP,
    );
    r.inject(&[(req, r.a)]);
    let out = r.got("tx-a");
    assert_eq!(out.len(), 1, "the sub-interface sends through its parent");
    let (dst, tags, rep) = parse_arp(&out[0]);
    assert_eq!((dst, tags), (PEER_A, vec![100]));
    assert_eq!(rep.source_protocol_addr, V_IP);
    // Forwarding to that neighbour uses the VLAN too.
    r.clear();
    let pkt = Ip::new(PEER_B_IP, peer, IpProtocol::Udp).bytes(&udp(1, 2, 6));
    r.inject(&[(eth(MAC_B, PEER_B, &[], 0x0800, &pkt), r.b)]);
    let out = r.got("tx-a");
    assert_eq!(out.len(), 1);
    let (dst, src, tags, et, l3) = split_eth(&out[0]);
    assert_eq!((dst, src, tags, et), (PEER_A, MAC_A, vec![100], 0x0800));
    assert_eq!(check_ipv4(l3).time_to_live, 63);
}

#[test]
fn malformed_and_foreign_arp_each_have_a_counter() {
    let mut r = router();
    let good = arp_frame(
        [0xff; 6],
        &[],
        Operation::Request,
        PEER_A,
        PEER_A_IP,
        [0; 6],
        A_IP,
    );
    let arp_at = 14;
    let mut cases: Vec<(Vec<u8>, &str)> = Vec::new();
    cases.push((good[..arp_at + 20].to_vec(), "Truncated"));
    let mut v = good.clone();
    v[arp_at + 1] = 6; // hardware type 6 (IEEE 802)
    cases.push((v, "BadHardwareType"));
    let mut v = good.clone();
    v[arp_at + 2..arp_at + 4].copy_from_slice(&0x86ddu16.to_be_bytes());
    cases.push((v, "BadProtocolType"));
    let mut v = good.clone();
    v[arp_at + 4] = 8;
    cases.push((v, "BadAddressLength"));
    let mut v = good.clone();
    v[arp_at + 7] = 9;
    cases.push((v, "BadOperation"));
    cases.push((
        arp_frame(
            [0xff; 6],
            &[],
            Operation::Request,
            PEER_A,
            PEER_A_IP,
            [0; 6],
            Ipv4Addr::new(10, 0, 0, 77),
        ),
        "NotForUs",
    ));
    cases.push((
        arp_frame(
            [0xff; 6],
            &[],
            Operation::Request,
            PEER_A,
            Ipv4Addr::new(172, 16, 0, 1),
            [0; 6],
            A_IP,
        ),
        "SenderNotOnLink",
    ));
    cases.push((
        arp_frame(
            [0xff; 6],
            &[],
            Operation::Request,
            [0x01, 0, 0x5e, 0, 0, 1],
            PEER_A_IP,
            [0; 6],
            A_IP,
        ),
        "BadSenderMac",
    ));
    cases.push((
        arp_frame(
            [0xff; 6],
            &[],
            Operation::Request,
            PEER_A,
            A_IP,
            [0; 6],
            A_IP,
        ),
        "AddressConflict",
    ));
    for (bytes, name) in &cases {
        r.inject(&[(bytes.clone(), r.a)]);
        assert_eq!(r.err("arp-input", name), 1, "{name}");
    }
    assert!(r.got("tx-a").is_empty(), "nothing answered");
    assert!(r.vnet.neighbors().is_empty(), "nothing learned");
}

#[test]
fn gratuitous_arp_is_learned() {
    let mut r = router();
    let g = arp_frame(
        [0xff; 6],
        &[],
        Operation::Request,
        PEER_B,
        PEER_B_IP,
        [0; 6],
        PEER_B_IP,
    );
    r.inject(&[(g, r.b)]);
    assert_eq!(r.err("arp-input", "Gratuitous"), 1);
    assert!(r.got("tx-b").is_empty());
    let adj = r
        .vnet
        .adjacencies()
        .find(r.b, IpAddr::V4(PEER_B_IP))
        .unwrap();
    assert_eq!(
        r.vnet.adjacencies().get(adj).unwrap().state,
        AdjState::Complete
    );
}

#[test]
fn pending_queue_is_bounded_requests_rate_limited_and_expired() {
    let mut r = router();
    let target = Ipv4Addr::new(10, 1, 0, 9);
    let pkt = Ip::new(PEER_A_IP, target, IpProtocol::Udp).bytes(&udp(1, 2, 6));
    let frames: Vec<_> = (0..6)
        .map(|_| (eth(MAC_A, PEER_A, &[], 0x0800, &pkt), r.a))
        .collect();
    r.inject_at(1_000, &frames);
    let cap = vnet::NeighborTable::PENDING_PER_NEIGHBOR as u64;
    assert_eq!(r.err("ip4-arp", "Held"), cap);
    assert_eq!(r.err("ip4-arp", "PendingFull"), 6 - cap);
    assert_eq!(r.err("ip4-arp", "RequestsSent"), 1);
    assert_eq!(r.err("ip4-arp", "RequestsThrottled"), cap - 1);
    assert_eq!(r.got("tx-b").len(), 1);
    // After the pending timeout the neighbour process frees them.
    r.run(10_000_000_000);
    assert_eq!(r.err("ip4-neighbor-process", "PendingExpired"), cap);
    assert_eq!(r.vnet.neighbors().pending_len(), 0);
    // And a new packet may ask again.
    r.inject_at(10_000_000_001, &frames[..1]);
    assert_eq!(r.err("ip4-arp", "RequestsSent"), 2);
}

#[test]
fn held_packets_are_released_when_the_graph_drops() {
    let mut r = router();
    let pkt = Ip::new(PEER_A_IP, Ipv4Addr::new(10, 1, 0, 9), IpProtocol::Udp).bytes(&udp(1, 2, 6));
    r.inject(&[(eth(MAC_A, PEER_A, &[], 0x0800, &pkt), r.a)]);
    assert_eq!(r.vnet.neighbors().pending_len(), 1);
    let vnet = r.vnet.clone();
    drop(r); // debug builds panic on a leaked buffer
    assert_eq!(vnet.neighbors().pending_len(), 0);
}

/// Runs the graph at every 100 ms of graph time in `from..=to` (ns).
fn run_until(r: &mut Router, from: u64, to: u64) {
    let mut t = from;
    while t <= to {
        r.run(t);
        t += 100_000_000;
    }
}

const SEC: u64 = 1_000_000_000;

#[test]
fn aged_neighbours_are_probed_at_their_mac_and_removed_only_unanswered() {
    let mut r = router_with(|v| v.ip4_mut().params.neighbor_max_age_ns = SEC);
    r.learn(r.b, PEER_B, PEER_B_IP, B_IP, MAC_B);
    r.clear();
    let complete = |r: &Router| {
        let adjs = r.vnet.adjacencies();
        let adj = adjs.find(r.b, IpAddr::V4(PEER_B_IP)).unwrap();
        adjs.get(adj).unwrap().state == AdjState::Complete
    };
    let probes = |r: &Router| {
        r.got("tx-b")
            .iter()
            .map(|f| {
                let (dst, tags, a) = parse_arp(f);
                assert_eq!((dst, tags), (PEER_B, vec![]), "unicast to the known MAC");
                assert_eq!(a.operation, Operation::Request);
                assert_eq!(a.source_hardware_addr.0, MAC_B);
                assert_eq!(
                    (a.source_protocol_addr, a.target_protocol_addr),
                    (B_IP, PEER_B_IP)
                );
            })
            .count()
    };
    // Aged after 1 s: one probe, and forwarding to it goes on meanwhile.
    run_until(&mut r, SEC / 10, SEC * 3 / 2);
    assert_eq!(probes(&r), 1);
    assert_eq!(r.err("ip4-neighbor-process", "NeighborsProbed"), 1);
    assert!(complete(&r));
    assert!(matches!(r.vnet.ip4_lookup(PEER_B_IP), Dpo::Adjacency(_)));
    // It answers: fresh again, so nothing more for a whole max age.
    let reply = arp_frame(MAC_B, &[], Operation::Reply, PEER_B, PEER_B_IP, MAC_B, B_IP);
    r.inject_at(SEC * 3 / 2, &[(reply, r.b)]);
    r.clear();
    run_until(&mut r, SEC * 16 / 10, SEC * 24 / 10);
    assert_eq!(probes(&r), 0);
    assert_eq!(r.err("ip4-neighbor-process", "NeighborsExpired"), 0);
    // Silent from now on: three probes a second apart, then it is removed.
    run_until(&mut r, SEC * 25 / 10, SEC * 7);
    assert_eq!(probes(&r), 3);
    assert_eq!(r.err("ip4-neighbor-process", "NeighborsProbed"), 4);
    assert_eq!(r.err("ip4-neighbor-process", "NeighborsExpired"), 1);
    assert!(matches!(r.vnet.ip4_lookup(PEER_B_IP), Dpo::Glean { .. }));
    assert!(!complete(&r));
}

#[test]
fn adding_an_address_sends_a_gratuitous_arp() {
    let mut r = router();
    let new = Ipv4Addr::new(10, 9, 0, 1);
    r.vnet
        .ip4_add_address(r.b, wire::ipv4::Ipv4Cidr::new(new, 24).unwrap())
        .unwrap();
    let p = r.lab.graph.node_index("ip4-neighbor-process").unwrap();
    r.lab.graph.signal(p);
    r.run(2);
    let out = r.got("tx-b");
    assert_eq!(out.len(), 1);
    let (dst, _, a) = parse_arp(&out[0]);
    assert_eq!(dst, [0xff; 6]);
    assert_eq!((a.source_protocol_addr, a.target_protocol_addr), (new, new));
    assert_eq!(a.source_hardware_addr.0, MAC_B);
    assert_eq!(
        r.err("ip4-neighbor-process", "GratuitousSent"),
        4,
        "three at setup, one now"
    );
    // And the address answers pings.
    assert!(matches!(r.vnet.ip4_lookup(new), Dpo::Receive { .. }));
}

#[test]
fn address_removal_removes_its_routes() {
    let r = router();
    let c: wire::ipv4::Ipv4Cidr = "10.1.0.1/24".parse().unwrap();
    r.vnet.ip4_del_address(r.b, c).unwrap();
    assert_eq!(r.vnet.ip4_lookup(B_IP), Dpo::Unreachable);
    assert_eq!(r.vnet.ip4_lookup(PEER_B_IP), Dpo::Unreachable);
    assert!(r.vnet.ip4_del_address(r.b, c).is_err());
}
