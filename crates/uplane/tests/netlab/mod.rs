//! The lab the end-to-end tests share: two Linux hosts and a router namespace, uplane
//! started in the router namespace as users run it (`uplane -c FILE`), and helpers to drive
//! it with ping, iperf3 and uplanectl.
//!
//! ```text
//!   h1 10.1.0.2 fd01::2 ──veth── lan [uplane] wan ──veth── h2 10.2.0.2 fd02::2
//! ```
//! [`routes_both_families`] is the body the issue asks of every packet driver (AF_PACKET in
//! `router_netns.rs`, AF_XDP in `router_af_xdp.rs`): one test per driver, the same checks.
#![allow(dead_code)]

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use testkit::Lab;

/// A running uplane; killed and its runtime directory removed on drop.
pub struct Router {
    pub child: Child,
    pub socket: PathBuf,
    pub dir: PathBuf,
}

impl Drop for Router {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// h1, h2 and router namespaces; hosts with IPv4 and IPv6 addresses (no DAD wait), default
/// routes via uplane and offloads off; the router namespace's kernel neither forwards nor
/// speaks IPv6, so every packet across was routed by uplane.
pub fn lab() -> Lab {
    let mut lab = Lab::new();
    for ns in ["h1", "h2", "router"] {
        lab.netns(ns).unwrap();
    }
    lab.veth("h1", "eth0", "router", "lan").unwrap();
    lab.veth("h2", "eth0", "router", "wan").unwrap();
    for (h, a, gw) in [
        ("h1", "10.1.0.2/24", "10.1.0.1"),
        ("h2", "10.2.0.2/24", "10.2.0.1"),
    ] {
        lab.addr(h, "eth0", a).unwrap();
        lab.up(h, "eth0").unwrap();
        lab.route(h, "default", gw).unwrap();
        lab.offloads_off(h, "eth0").unwrap();
    }
    for (h, a, gw) in [
        ("h1", "fd01::2/64", "fd01::1"),
        ("h2", "fd02::2/64", "fd02::1"),
    ] {
        lab.ip(h, &["-6", "addr", "add", a, "dev", "eth0", "nodad"])
            .unwrap();
        lab.ip(h, &["-6", "route", "add", "default", "via", gw])
            .unwrap();
    }
    lab.sysctl("router", "net.ipv4.ip_forward", "0").unwrap();
    lab.sysctl("router", "net.ipv6.conf.all.disable_ipv6", "1")
        .unwrap();
    for dev in ["lan", "wan"] {
        lab.up("router", dev).unwrap();
        lab.offloads_off("router", dev).unwrap();
    }
    lab
}

/// Starts uplane in the router namespace with `body` as its config after a `[cli]` section
/// (and metrics off) that this function writes; `tag` keeps tests' directories apart.
/// Returns once the CLI socket exists (the daemon is ready).
pub fn start(lab: &Lab, tag: &str, body: &str) -> Router {
    let dir = std::env::temp_dir().join(format!("uplane-lab-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let socket = dir.join("cli.sock");
    let cfg = dir.join("uplane.toml");
    let text = format!(
        "[cli]\nsocket = \"{}\"\n[metrics]\nenable = false\n{body}",
        socket.display()
    );
    std::fs::write(&cfg, text).unwrap();
    let child = Command::new("ip")
        .args([
            "netns",
            "exec",
            lab.ns("router").unwrap(),
            env!("CARGO_BIN_EXE_uplane"),
            "-c",
        ])
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !socket.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(socket.exists(), "uplane did not open its CLI socket");
    Router { child, socket, dir }
}

fn joined(out: std::process::Output) -> (bool, String) {
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// Runs `uplanectl -s SOCKET args...`: (success, stdout + stderr).
pub fn ctl(r: &Router, args: &[&str]) -> (bool, String) {
    joined(
        Command::new(env!("CARGO_BIN_EXE_uplanectl"))
            .arg("-s")
            .arg(&r.socket)
            .args(args)
            .output()
            .unwrap(),
    )
}

/// Runs `args` in lab namespace `ns`: (success, stdout + stderr).
pub fn in_ns(lab: &Lab, ns: &str, args: &[&str]) -> (bool, String) {
    joined(
        Command::new("ip")
            .args(["netns", "exec", lab.ns(ns).unwrap()])
            .args(args)
            .output()
            .unwrap(),
    )
}

/// True if `tool` runs.
pub fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok()
        || Command::new(tool).arg("-V").output().is_ok()
}

/// A `seconds`-long iperf3 TCP transfer from h1 to `server_addr` in h2. Returns (bytes the
/// server counted, bytes the client was told were received, bytes the client sent).
pub fn iperf3(lab: &Lab, server_addr: &str, seconds: u32, extra: &[&str]) -> (u64, u64, u64) {
    let mut server = Command::new("ip")
        .args([
            "netns",
            "exec",
            lab.ns("h2").unwrap(),
            "iperf3",
            "-s",
            "-1",
            "-J",
            "-B",
            server_addr,
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let secs = seconds.to_string();
    let mut args = vec!["iperf3", "-c", server_addr, "-t", &secs, "-J"];
    args.extend_from_slice(extra);
    let (ok, client) = in_ns(lab, "h1", &args);
    let mut server_out = String::new();
    server
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut server_out)
        .unwrap();
    let _ = server.wait();
    assert!(ok, "iperf3 client failed:\n{client}");
    let get = |t: &str, section: &str| {
        let v: serde_json::Value = serde_json::from_str(t).unwrap_or_else(|e| panic!("{e}: {t}"));
        v["end"][section]["bytes"].as_f64().unwrap_or(0.0) as u64
    };
    (
        get(&server_out, "sum_received"),
        get(&client, "sum_received"),
        get(&client, "sum_sent"),
    )
}

/// `rx_packets` of interface `name` from `show interfaces --json`.
pub fn rx_packets(r: &Router, name: &str) -> u64 {
    let (_, out) = ctl(r, &["--json", "show", "interfaces"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .unwrap()["rx_packets"]
        .as_u64()
        .unwrap()
}

/// The packet drivers that route between the hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    AfPacket,
    AfXdp,
}

impl Driver {
    /// The config file's `driver = ...`.
    pub fn config_name(self) -> &'static str {
        match self {
            Driver::AfPacket => "af_packet",
            Driver::AfXdp => "af_xdp",
        }
    }
}

/// The lan/wan MTU uplane uses on wan (the host interfaces keep 1500): what the
/// fragmentation-needed and packet-too-big checks expect.
pub const WAN_MTU: u32 = 1400;

/// uplane's config for `driver`: lan 10.1.0.1/24 fd01::1/64, wan 10.2.0.1/24 fd02::1/64
/// with MTU [`WAN_MTU`], and an unreachable route per family; `extra` is appended.
pub fn router_config(driver: Driver, extra: &str) -> String {
    let d = driver.config_name();
    format!(
        r#"[[interface]]
name = "lan"
driver = "{d}"
host-if = "lan"
address = ["10.1.0.1/24", "fd01::1/64"]
[[interface]]
name = "wan"
driver = "{d}"
host-if = "wan"
address = ["10.2.0.1/24", "fd02::1/64"]
mtu = {WAN_MTU}
[[route]]
prefix = "192.0.2.0/24"
kind = "unreachable"
[[route]]
prefix = "2001:db8:99::/64"
kind = "unreachable"
{extra}"#
    )
}

/// Starts uplane routing with `driver` (see [`router_config`]) and checks it runs that
/// driver (no silent fallback).
pub fn start_router(lab: &Lab, driver: Driver, tag: &str, extra: &str) -> Router {
    let r = start(lab, tag, &router_config(driver, extra));
    let (ok, hw) = ctl(&r, &["show", "hardware-interfaces"]);
    let want = match driver {
        Driver::AfPacket => "TPACKET_V3",
        Driver::AfXdp => "AF_XDP",
    };
    assert!(ok && hw.contains(want), "not running {driver:?}:\n{hw}");
    r
}

/// Runs `ping ARGS` in `ns` and asserts it succeeded.
fn ping_ok(lab: &Lab, ns: &str, args: &[&str], what: &str) {
    let mut a = vec!["ping", "-W", "2"];
    a.extend_from_slice(args);
    let (ok, out) = in_ns(lab, ns, &a);
    assert!(ok, "{what} failed:\n{out}");
}

/// Runs `ping ARGS` in `ns` (expected to fail): its output.
fn ping_out(lab: &Lab, ns: &str, args: &[&str]) -> String {
    let mut a = vec!["ping", "-W", "2"];
    a.extend_from_slice(args);
    in_ns(lab, ns, &a).1
}

/// IPv4: ARP from both sides, pings across both ways and to uplane's addresses, TTL
/// exceeded, fragmentation needed for DF, fragmentation without DF, unreachable.
pub fn check_ipv4(lab: &Lab, r: &Router) {
    let mtu = WAN_MTU.to_string();
    ping_ok(
        lab,
        "h1",
        &["-c", "3", "-i", "0.2", "10.2.0.2"],
        "h1 -> h2 ping",
    );
    ping_ok(
        lab,
        "h2",
        &["-c", "2", "-i", "0.2", "10.1.0.2"],
        "h2 -> h1 ping",
    );
    ping_ok(
        lab,
        "h1",
        &["-c", "2", "-i", "0.2", "10.1.0.1"],
        "ping to uplane's lan",
    );
    ping_ok(lab, "h2", &["-c", "1", "10.2.0.1"], "ping to uplane's wan");
    // The kernels learned uplane's MACs by ARP; uplane learned theirs.
    for (h, a) in [("h1", "10.1.0.1"), ("h2", "10.2.0.1")] {
        let (_, neigh) = in_ns(lab, h, &["ip", "neigh", "show", a]);
        assert!(neigh.contains("lladdr"), "{h}: {neigh}");
    }
    let (ok, out) = ctl(r, &["show", "ip", "neighbors"]);
    assert!(
        ok && out.contains("10.1.0.2") && out.contains("10.2.0.2"),
        "{out}"
    );
    let out = ping_out(lab, "h1", &["-c", "1", "-t", "1", "10.2.0.2"]);
    assert!(
        out.contains("From 10.1.0.1") && out.contains("Time to live exceeded"),
        "{out}"
    );
    // DF and bigger than the wan MTU: fragmentation needed, with the MTU.
    let out = ping_out(
        lab,
        "h1",
        &["-c", "1", "-M", "do", "-s", "1472", "10.2.0.2"],
    );
    assert!(out.contains("Frag needed") && out.contains(&mtu), "{out}");
    // Not DF: uplane fragments, h2 reassembles and answers.
    ping_ok(
        lab,
        "h1",
        &["-c", "1", "-M", "dont", "-s", "1472", "10.2.0.2"],
        "fragmented ping",
    );
    let out = ping_out(lab, "h1", &["-c", "1", "192.0.2.9"]);
    assert!(out.contains("Unreachable"), "{out}");
}

/// IPv6: ND from both sides, `ping -6` across both ways and to uplane's global and
/// link-local addresses, hop limit exceeded, packet too big, unreachable.
pub fn check_ipv6(lab: &Lab, r: &Router) {
    let mtu = WAN_MTU.to_string();
    ping_ok(
        lab,
        "h1",
        &["-6", "-c", "3", "-i", "0.2", "fd02::2"],
        "h1 -> h2 ping -6",
    );
    ping_ok(
        lab,
        "h2",
        &["-6", "-c", "2", "-i", "0.2", "fd01::2"],
        "h2 -> h1 ping -6",
    );
    for (h, a) in [("h1", "fd01::1"), ("h2", "fd02::1")] {
        ping_ok(
            lab,
            h,
            &["-6", "-c", "2", "-i", "0.2", a],
            &format!("ping -6 to uplane's {a}"),
        );
        // Learned by ND (the router namespace's kernel has IPv6 off: only uplane answers).
        // h2 may have learned it from uplane's own solicitation (no router flag yet).
        let (_, neigh) = in_ns(lab, h, &["ip", "-6", "neigh", "show", a]);
        assert!(neigh.contains("lladdr"), "{h}: {neigh}");
        assert!(h == "h2" || neigh.contains("router"), "{h}: {neigh}");
    }
    let (ok, out) = ctl(r, &["show", "ip", "neighbors"]);
    assert!(
        ok && out.contains("fd01::2") && out.contains("fd02::2"),
        "{out}"
    );
    let (ok, out) = ctl(r, &["show", "ip6", "fib"]);
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
    ping_ok(
        lab,
        "h1",
        &["-6", "-c", "1", &format!("{ll}%eth0")],
        &format!("ping -6 to uplane's link-local {ll}"),
    );
    let out = ping_out(lab, "h1", &["-6", "-c", "1", "-t", "1", "fd02::2"]);
    assert!(
        out.contains("From fd01::1") && out.contains("Time exceeded"),
        "{out}"
    );
    // Bigger than the wan MTU: packet too big with the MTU; routers never fragment IPv6.
    let out = ping_out(
        lab,
        "h1",
        &["-6", "-c", "1", "-M", "do", "-s", "1452", "fd02::2"],
    );
    assert!(
        out.contains("Packet too big") && out.contains(&mtu),
        "{out}"
    );
    // The host now fragments to the path MTU itself; uplane forwards the fragments.
    ping_ok(
        lab,
        "h1",
        &["-6", "-c", "1", "-s", "1452", "fd02::2"],
        "ping -6 after packet too big",
    );
    let out = ping_out(lab, "h1", &["-6", "-c", "1", "2001:db8:99::9"]);
    assert!(out.contains("nreachable"), "{out}");
}

/// A 5-second iperf3 TCP transfer h1 -> h2: the receiver's count and what the client was
/// told agree, and the sender's figure is within the bytes in flight.
pub fn check_iperf3(lab: &Lab) {
    let (received_by_server, received_per_client, sent) = iperf3(lab, "10.2.0.2", 5, &[]);
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
}

/// Sends `signal` (`STOP`, `CONT`, `TERM`) to uplane (`ip netns exec` execs in place, so
/// the child's pid is uplane's).
pub fn signal(r: &Router, signal: &str) {
    let ok = Command::new("kill")
        .args(["-s", signal, &r.child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -s {signal} failed");
}

/// The kernel's drops reach `show hardware-interfaces`: with uplane stopped (SIGSTOP) h1
/// sends 30,000 UDP datagrams, more than lan's rx ring holds, so the kernel drops at the
/// ring (AF_PACKET `tp_drops`, AF_XDP `rx_ring_full`); after SIGCONT the text and the JSON
/// show lan's rx queue 0 with ring-full drops.
pub fn check_kernel_drops_reported(lab: &Lab, r: &Router, driver: Driver) {
    let key = match driver {
        Driver::AfPacket => "tp_drops",
        Driver::AfXdp => "rx_ring_full",
    };
    signal(r, "STOP");
    let (ok, out) = in_ns(
        lab,
        "h1",
        &[
            "python3",
            "-c",
            "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n\
             for i in range(30000): s.sendto(b'x'*18, ('10.2.0.2', 9))",
        ],
    );
    signal(r, "CONT");
    assert!(ok, "{out}");
    let (ok, hw) = ctl(r, &["show", "hardware-interfaces"]);
    assert!(ok, "{hw}");
    let lan = hw.split("\nwan").next().unwrap_or("");
    let line = lan
        .lines()
        .find(|l| l.trim_start().starts_with("rx queue 0"))
        .unwrap_or_else(|| panic!("no rx queue 0 line for lan:\n{hw}"));
    let n: u64 = line
        .split(&format!("{key} "))
        .nth(1)
        .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no {key} on lan rx queue 0:\n{hw}"));
    assert!(n > 0, "the kernel dropped nothing at a full ring?\n{hw}");
    let (ok, out) = ctl(r, &["--json", "show", "hardware-interfaces"]);
    assert!(ok, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let lan = v
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "lan")
        .unwrap();
    let q0 = &lan["rx_queues"][0];
    assert!(q0["ring_full"].as_u64().unwrap_or(0) > 0, "{lan}");
    assert!(q0["kernel"][key].as_u64().unwrap_or(0) >= n, "{lan}");
    // uplane runs on: the path still works.
    ping_ok(lab, "h1", &["-c", "1", "10.2.0.2"], "ping after the drops");
}

/// Everything the issue asks of a packet driver between two kernels: IPv4, IPv6, a TCP
/// transfer, the kernel's drops reported.
pub fn routes_both_families(lab: &Lab, r: &Router, driver: Driver) {
    check_ipv4(lab, r);
    check_ipv6(lab, r);
    check_iperf3(lab);
    check_kernel_drops_reported(lab, r, driver);
}
