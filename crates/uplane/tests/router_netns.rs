//! uplane as users run it: `uplane -c FILE` routing between two Linux hosts in network
//! namespaces over AF_PACKET, driven with ping, iperf3 and uplanectl, stopped with SIGTERM.
//! The checks shared with AF_XDP (`router_af_xdp.rs`) are `netlab::routes_both_families`.
//!
//! ```text
//!   h1 10.1.0.2 fd01::2 ──veth── lan [uplane] wan ──veth── h2 10.2.0.2 fd02::2
//! ```
//! Needs root, iproute2, ping, ethtool, python3 and iperf3 (scripts/setup installs them).

mod netlab;

use netlab::{ctl, have, lab, Driver};

#[test]
fn routes_between_two_kernels_over_af_packet() {
    testkit::require_root!();
    for tool in ["ip", "ping", "ethtool", "iperf3", "python3"] {
        assert!(have(tool), "{tool} is missing: run scripts/setup");
    }
    let lab = lab();
    let r = netlab::start_router(&lab, Driver::AfPacket, "packet", "");
    netlab::routes_both_families(&lab, &r, Driver::AfPacket);

    // The CLI's JSON views.
    let (ok, out) = ctl(&r, &["--json", "show", "interfaces"]);
    assert!(ok, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let lan = v
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "lan")
        .unwrap();
    for k in [
        "name",
        "index",
        "state",
        "mtu",
        "rx_packets",
        "rx_bytes",
        "tx_packets",
        "tx_bytes",
        "drops",
    ] {
        assert!(lan.get(k).is_some(), "show interfaces lacks {k}: {lan}");
    }
    assert!(lan["rx_packets"].as_u64().unwrap() > 1000);
    let (ok, out) = ctl(&r, &["show", "runtime", "--json"]);
    assert!(ok, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["node"] == "ip4-lookup" && n["vectors"].as_u64().unwrap() > 1000));
    let (ok, out) = ctl(&r, &["show", "errors", "--json"]);
    assert!(ok, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e.get("node").is_some() && e.get("reason").is_some() && e.get("count").is_some()));
    // A bad command changes nothing and says how to use the nearest one.
    let (ok, out) = ctl(&r, &["set", "interface", "mtu", "lan", "99999"]);
    assert!(!ok && out.contains("usage: set interface mtu"), "{out}");

    // SIGTERM: a clean stop that removes the socket.
    let mut r = r;
    netlab::signal(&r, "TERM");
    let status = r.child.wait().unwrap();
    assert!(status.success(), "uplane exited with {status}");
    assert!(!r.socket.exists(), "the CLI socket was not removed");
}
