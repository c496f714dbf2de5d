//! `ethernet-input`: what it accepts, where it sends it, and what it drops under which name.

mod common;

use common::Lab;
use vnet::ethernet::EthernetInput;
use vnet::{SubTags, Vnet};
use wire::ethernet::EthernetAddress;
use wire::EtherType;

const OUR_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
const PEER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x99];

fn frame(dst: [u8; 6], tags: &[(u16, u16)], ethertype: u16, payload_len: usize) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&dst);
    f.extend_from_slice(&PEER_MAC);
    for &(tpid, vid) in tags {
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&vid.to_be_bytes());
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend((0..payload_len).map(|i| i as u8));
    f
}

fn lab() -> (Lab, Vnet, u32, u32, u32) {
    let vnet = Vnet::new();
    let (hw, s100, qinq);
    {
        let mut ifs = vnet.interfaces_mut();
        hw = ifs
            .add_hw("lan", EthernetAddress(OUR_MAC), "null-output")
            .unwrap();
        s100 = ifs
            .add_sub(
                hw,
                100,
                SubTags {
                    outer: (EtherType::Vlan, 100),
                    inner: None,
                },
            )
            .unwrap();
        qinq = ifs
            .add_sub(
                hw,
                200,
                SubTags {
                    outer: (EtherType::QinQ, 20),
                    inner: Some(30),
                },
            )
            .unwrap();
        for i in [hw, s100, qinq] {
            ifs.set_admin_up(i, true).unwrap();
        }
        ifs.get_mut(hw)
            .unwrap()
            .ip6
            .push(wire::ipv6::Ipv6Cidr::new("fd00::1:203".parse().unwrap(), 64).unwrap());
    }
    let lab = Lab::new(
        vec![Box::new(EthernetInput::new(&vnet))],
        &["ip4-input", "ip6-input", "arp-input"],
    );
    (lab, vnet, hw, s100, qinq)
}

#[test]
fn dispatches_by_ethertype_and_strips_l2() {
    let (mut l, _, hw, _, _) = lab();
    l.inject(
        "ethernet-input",
        &[
            (frame(OUR_MAC, &[], 0x0800, 30), hw),
            (frame(OUR_MAC, &[], 0x86dd, 50), hw),
            (frame([0xff; 6], &[], 0x0806, 28), hw),
        ],
    );
    let ip4 = l.got("ip4-input");
    assert_eq!(ip4.len(), 1);
    assert_eq!(
        ip4[0].2,
        (0..30).map(|i| i as u8).collect::<Vec<_>>(),
        "L2 header stripped"
    );
    assert_eq!(ip4[0].0, hw);
    assert_eq!(l.got("ip6-input").len(), 1);
    assert_eq!(l.got("arp-input").len(), 1);
}

#[test]
fn vlan_tags_select_sub_interfaces() {
    let (mut l, _, hw, s100, qinq) = lab();
    l.inject(
        "ethernet-input",
        &[
            (frame(OUR_MAC, &[(0x8100, 100)], 0x0800, 20), hw),
            (
                frame(OUR_MAC, &[(0x88a8, 20), (0x8100, 30)], 0x0800, 20),
                hw,
            ),
            (frame(OUR_MAC, &[(0x8100, 101)], 0x0800, 20), hw),
            (
                frame(
                    OUR_MAC,
                    &[(0x8100, 1), (0x8100, 2), (0x8100, 3)],
                    0x0800,
                    20,
                ),
                hw,
            ),
        ],
    );
    let got: Vec<u32> = l.got("ip4-input").iter().map(|p| p.0).collect();
    assert_eq!(got, [s100, qinq]);
    assert!(l.got("ip4-input").iter().all(|p| p.2.len() == 20));
    assert_eq!(l.err("ethernet-input", "UnknownVlan"), 2);
}

#[test]
fn nine_stacked_tags_are_too_many() {
    let (mut l, _, hw, _, _) = lab();
    let tags: Vec<(u16, u16)> = (1..=9).map(|v| (0x8100, v)).collect();
    let eight: Vec<(u16, u16)> = (1..=8).map(|v| (0x8100, v)).collect();
    l.inject(
        "ethernet-input",
        &[
            (frame(OUR_MAC, &tags, 0x0800, 20), hw),
            (frame(OUR_MAC, &eight, 0x0800, 20), hw),
        ],
    );
    assert_eq!(l.err("ethernet-input", "TooManyTags"), 1);
    assert_eq!(
        l.err("ethernet-input", "UnknownVlan"),
        1,
        "eight tags parse but select nothing"
    );
}

#[test]
fn mac_filter_and_multicast_groups() {
    let (mut l, vnet, hw, _, _) = lab();
    l.inject(
        "ethernet-input",
        &[
            (frame([0x02, 0, 0, 0, 0, 0x55], &[], 0x0800, 20), hw),
            (frame([0x33, 0x33, 0, 0, 0, 1], &[], 0x86dd, 40), hw),
            (frame([0x33, 0x33, 0xff, 1, 2, 3], &[], 0x86dd, 40), hw),
            (frame([0x33, 0x33, 0xff, 9, 9, 9], &[], 0x86dd, 40), hw),
            (frame([0x01, 0, 0x5e, 0, 0, 0x42], &[], 0x0800, 20), hw),
        ],
    );
    assert_eq!(l.err("ethernet-input", "MacMismatch"), 1);
    assert_eq!(l.err("ethernet-input", "MulticastNotJoined"), 2);
    assert_eq!(
        l.got("ip6-input").len(),
        2,
        "all-nodes and our solicited-node group"
    );
    vnet.interfaces_mut().get_mut(hw).unwrap().promiscuous = true;
    l.inject(
        "ethernet-input",
        &[(frame([0x02, 0, 0, 0, 0, 0x55], &[], 0x0800, 20), hw)],
    );
    assert_eq!(
        l.got("ip4-input").len(),
        1,
        "promiscuous accepts any unicast"
    );
}

#[test]
fn malformed_and_unknown_are_counted_by_name() {
    let (mut l, vnet, hw, _, _) = lab();
    let mut cut_tag = frame(OUR_MAC, &[(0x8100, 100)], 0x0800, 0);
    cut_tag.truncate(15);
    l.inject(
        "ethernet-input",
        &[
            (vec![0; 13], hw),
            (cut_tag, hw),
            (frame(OUR_MAC, &[], 0x88cc, 20), hw),
            (frame(OUR_MAC, &[], 0x0800, 20), 77),
        ],
    );
    assert_eq!(l.err("ethernet-input", "Truncated"), 2);
    assert_eq!(l.err("ethernet-input", "UnknownEthertype"), 1);
    assert_eq!(l.err("ethernet-input", "UnknownInterface"), 1);
    vnet.interfaces_mut().set_admin_up(hw, false).unwrap();
    l.inject("ethernet-input", &[(frame(OUR_MAC, &[], 0x0800, 20), hw)]);
    assert_eq!(l.err("ethernet-input", "InterfaceDown"), 1);
    assert_eq!(l.pool.in_use(), 0);
}

#[test]
fn every_prefix_of_a_frame_is_handled() {
    let (mut l, _, hw, _, _) = lab();
    let f = frame(OUR_MAC, &[(0x88a8, 20), (0x8100, 30)], 0x0800, 4);
    let all: Vec<(Vec<u8>, u32)> = (0..=f.len()).map(|n| (f[..n].to_vec(), hw)).collect();
    l.inject("ethernet-input", &all);
    assert_eq!(
        l.got("ip4-input").len(),
        5,
        "from the full L2 header on, ip4-input judges the rest"
    );
    assert_eq!(l.pool.in_use(), 0);
}

#[test]
fn trace_names_macs_type_and_interface() {
    let (mut l, _, hw, _, _) = lab();
    // Mark packets at a fake input: inject does not mark, so trace from a pg-like node is
    // exercised in the ip4 tests; here check the error text path via show errors.
    l.inject("ethernet-input", &[(frame(OUR_MAC, &[], 0x88cc, 20), hw)]);
    let text = l.graph.stats().format_errors();
    assert!(
        text.contains("ethernet-input") && text.contains("unknown ethernet type"),
        "{text}"
    );
}
