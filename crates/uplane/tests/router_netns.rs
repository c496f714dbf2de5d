//! uplane as users run it: `uplane -c FILE` routing between two Linux hosts in network
//! namespaces over AF_PACKET, driven with ping, iperf3 and uplanectl, stopped with SIGTERM.
//!
//! ```text
//!   h1 10.1.0.2 ──veth── lan [uplane] wan ──veth── h2 10.2.0.2
//! ```
//! Needs root, iproute2, ping, ethtool and iperf3 (scripts/setup installs them).

mod netlab;

use netlab::{ctl, have, in_ns, iperf3, lab, Router};
use std::process::Command;
use testkit::Lab;

fn start(lab: &Lab, wan_mtu: u32) -> Router {
    start_tagged(lab, wan_mtu, "v4")
}

/// uplane with both address families on lan (10.1.0.1/24, fd01::1/64) and wan
/// (10.2.0.1/24, fd02::1/64); `tag` keeps the runtime directories of tests apart.
fn start_tagged(lab: &Lab, wan_mtu: u32, tag: &str) -> Router {
    let body = format!(
        r#"[[interface]]
name = "lan"
driver = "af_packet"
host-if = "lan"
address = ["10.1.0.1/24", "fd01::1/64"]
[[interface]]
name = "wan"
driver = "af_packet"
host-if = "wan"
address = ["10.2.0.1/24", "fd02::1/64"]
mtu = {wan_mtu}
[[route]]
prefix = "192.0.2.0/24"
kind = "unreachable"
[[route]]
prefix = "2001:db8:99::/64"
kind = "unreachable"
"#
    );
    netlab::start(lab, tag, &body)
}

#[test]
fn routes_between_two_kernels_over_af_packet() {
    testkit::require_root!();
    for tool in ["ip", "ping", "ethtool", "iperf3"] {
        assert!(have(tool), "{tool} is missing: run scripts/setup");
    }
    let lab = lab();
    let r = start(&lab, 1400);

    // ARP resolves from both sides and pings cross uplane both ways.
    let (ok, out) = in_ns(
        &lab,
        "h1",
        &["ping", "-c", "3", "-i", "0.2", "-W", "2", "10.2.0.2"],
    );
    assert!(ok, "h1 -> h2 ping failed:\n{out}");
    let (ok, out) = in_ns(
        &lab,
        "h2",
        &["ping", "-c", "2", "-i", "0.2", "-W", "2", "10.1.0.2"],
    );
    assert!(ok, "h2 -> h1 ping failed:\n{out}");
    // uplane's own addresses answer.
    let (ok, out) = in_ns(
        &lab,
        "h1",
        &["ping", "-c", "2", "-i", "0.2", "-W", "2", "10.1.0.1"],
    );
    assert!(ok, "ping to uplane failed:\n{out}");
    let (ok, out) = in_ns(&lab, "h2", &["ping", "-c", "1", "-W", "2", "10.2.0.1"]);
    assert!(ok, "ping to uplane's wan address failed:\n{out}");
    // The kernels learned uplane's MACs; uplane learned theirs.
    let (_, neigh) = in_ns(&lab, "h1", &["ip", "neigh", "show", "10.1.0.1"]);
    assert!(neigh.contains("lladdr"), "{neigh}");
    let (ok, out) = ctl(&r, &["show", "ip", "neighbors"]);
    assert!(
        ok && out.contains("10.1.0.2") && out.contains("10.2.0.2"),
        "{out}"
    );

    // TTL 1 across: time exceeded from uplane.
    let (_, out) = in_ns(
        &lab,
        "h1",
        &["ping", "-c", "1", "-t", "1", "-W", "2", "10.2.0.2"],
    );
    assert!(
        out.contains("From 10.1.0.1") && out.contains("Time to live exceeded"),
        "{out}"
    );
    // DF and bigger than the wan MTU (1400): fragmentation needed, with the MTU.
    let (_, out) = in_ns(
        &lab,
        "h1",
        &[
            "ping", "-c", "1", "-M", "do", "-s", "1472", "-W", "2", "10.2.0.2",
        ],
    );
    assert!(out.contains("Frag needed") && out.contains("1400"), "{out}");
    // Not DF: uplane fragments, h2 reassembles and answers.
    let (ok, out) = in_ns(
        &lab,
        "h1",
        &[
            "ping", "-c", "1", "-M", "dont", "-s", "1472", "-W", "2", "10.2.0.2",
        ],
    );
    assert!(ok, "fragmented ping failed:\n{out}");
    // An unreachable route: ICMP unreachable.
    let (_, out) = in_ns(&lab, "h1", &["ping", "-c", "1", "-W", "2", "192.0.2.9"]);
    assert!(out.contains("Unreachable"), "{out}");

    // A 5-second TCP transfer across: the byte counts at both ends agree. iperf3's sender
    // counts what it wrote into its socket by the end of the 5 s, the receiver what arrived:
    // compare what the receiver counted with what the client was told it counted, and check
    // the sender's figure is within the bytes in flight.
    let (received_by_server, received_per_client, sent) = iperf3(&lab, "10.2.0.2", 5, &[]);
    assert!(
        received_by_server > 10_000_000,
        "only {received_by_server} bytes in 5 s"
    );
    assert_eq!(
        received_by_server, received_per_client,
        "the two ends disagree on the bytes received"
    );
    assert!(
        sent >= received_by_server && sent - received_by_server < 16 << 20,
        "sent {sent}, received {received_by_server}"
    );

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
    let pid = r.child.id();
    // `ip netns exec` execs uplane in place, so the child's pid is uplane's.
    unsafe_free_kill(pid);
    let status = r.child.wait().unwrap();
    assert!(status.success(), "uplane exited with {status}");
    assert!(!r.socket.exists(), "the CLI socket was not removed");
}

#[test]
fn routes_ipv6_between_two_kernels_over_af_packet() {
    testkit::require_root!();
    for tool in ["ip", "ping"] {
        assert!(have(tool), "{tool} is missing: run scripts/setup");
    }
    let lab = lab();
    // The hosts get IPv6 (no DAD wait: `nodad`); the router namespace keeps
    // disable_ipv6=1, so only uplane answers there.
    for (h, a, gw) in [
        ("h1", "fd01::2/64", "fd01::1"),
        ("h2", "fd02::2/64", "fd02::1"),
    ] {
        let (ok, out) = in_ns(
            &lab,
            h,
            &["ip", "-6", "addr", "add", a, "dev", "eth0", "nodad"],
        );
        assert!(ok, "{out}");
        let (ok, out) = in_ns(&lab, h, &["ip", "-6", "route", "add", "default", "via", gw]);
        assert!(ok, "{out}");
    }
    let r = start_tagged(&lab, 1400, "v6");

    // ND resolves from both sides and pings cross uplane both ways.
    let (ok, out) = in_ns(
        &lab,
        "h1",
        &["ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", "fd02::2"],
    );
    assert!(ok, "h1 -> h2 ping -6 failed:\n{out}");
    let (ok, out) = in_ns(
        &lab,
        "h2",
        &["ping", "-6", "-c", "2", "-i", "0.2", "-W", "2", "fd01::2"],
    );
    assert!(ok, "h2 -> h1 ping -6 failed:\n{out}");
    // uplane's own addresses answer.
    for (h, a) in [("h1", "fd01::1"), ("h2", "fd02::1")] {
        let (ok, out) = in_ns(
            &lab,
            h,
            &["ping", "-6", "-c", "2", "-i", "0.2", "-W", "2", a],
        );
        assert!(ok, "ping -6 to uplane's {a} failed:\n{out}");
    }
    // The kernels learned uplane's MAC by ND; uplane learned theirs.
    let (_, neigh) = in_ns(&lab, "h1", &["ip", "-6", "neigh", "show", "fd01::1"]);
    assert!(
        neigh.contains("lladdr") && neigh.contains("router"),
        "{neigh}"
    );
    let (ok, out) = ctl(&r, &["show", "ip", "neighbors"]);
    assert!(
        ok && out.contains("fd01::2") && out.contains("fd02::2"),
        "{out}"
    );
    // uplane's link-local answers too (ping to it over the link).
    let (ok, out) = ctl(&r, &["show", "ip6", "fib"]);
    assert!(
        ok && out.contains("fd01::/64") && out.contains("fd02::1/128"),
        "{out}"
    );
    let ll = out
        .lines()
        .find(|l| l.starts_with("fe80::") && l.ends_with("lan"))
        .and_then(|l| l.split('/').next())
        .unwrap_or_else(|| panic!("no link-local on lan in:\n{out}"))
        .to_string();
    let (ok, out) = in_ns(
        &lab,
        "h1",
        &["ping", "-6", "-c", "1", "-W", "2", &format!("{ll}%eth0")],
    );
    assert!(ok, "ping -6 to uplane's link-local {ll} failed:\n{out}");

    // Hop limit 1 across: time exceeded from uplane.
    let (_, out) = in_ns(
        &lab,
        "h1",
        &["ping", "-6", "-c", "1", "-t", "1", "-W", "2", "fd02::2"],
    );
    assert!(
        out.contains("From fd01::1") && out.contains("Time exceeded"),
        "{out}"
    );
    // Bigger than the wan MTU (1400): packet too big with the MTU; routers never fragment.
    let (_, out) = in_ns(
        &lab,
        "h1",
        &[
            "ping", "-6", "-c", "1", "-M", "do", "-s", "1452", "-W", "2", "fd02::2",
        ],
    );
    assert!(
        out.contains("Packet too big") && out.contains("1400"),
        "{out}"
    );
    // The host now fragments to the path MTU itself; uplane forwards the fragments.
    let (ok, out) = in_ns(
        &lab,
        "h1",
        &["ping", "-6", "-c", "1", "-s", "1452", "-W", "2", "fd02::2"],
    );
    assert!(ok, "ping -6 after packet too big failed:\n{out}");
    // An unreachable route: ICMPv6 unreachable.
    let (_, out) = in_ns(
        &lab,
        "h1",
        &["ping", "-6", "-c", "1", "-W", "2", "2001:db8:99::9"],
    );
    assert!(
        out.contains("unreachable") || out.contains("Unreachable"),
        "{out}"
    );
    let (ok, out) = ctl(&r, &["show", "errors"]);
    assert!(ok && out.contains("ip6"), "{out}");
    drop(r);
}

/// `kill -TERM pid` through the kill command (keeps this test free of unsafe).
fn unsafe_free_kill(pid: u32) {
    let ok = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}
