//! `[cpu] workers = 2`: two worker threads route between two Linux hosts over AF_PACKET
//! (each interface opens two fanout sockets, one per worker), the main thread answers the
//! CLI. Checked: pings both families, `show interfaces rx-placement --json` (every queue on
//! one worker, both workers used), an iperf3 transfer with parallel flows, `show runtime`
//! summed over the workers (equal to the devices' own rx counters), and routes added and
//! deleted through the CLI — on the very prefix the traffic uses — while a fast ping flows,
//! with no packet lost.
//!
//! ```text
//!   h1 10.1.0.2 fd01::2 ──veth── lan [uplane, 2 workers] wan ──veth── h2 10.2.0.2 fd02::2
//! ```
//! Needs root, iproute2, ping, ethtool and iperf3 (scripts/setup installs them).

mod netlab;

use netlab::{ctl, have, in_ns, lab, Driver, Router};
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn json(r: &Router, args: &[&str]) -> Value {
    let mut a = vec!["--json"];
    a.extend_from_slice(args);
    let (ok, out) = ctl(r, &a);
    assert!(ok, "{args:?}: {out}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

/// Sum of `af-packet-input`'s vectors in `show runtime` and of `rx_packets` in `show
/// interfaces`: the graphs' counters (per worker, summed) and the devices' (per queue).
fn rx_counts(r: &Router) -> (u64, u64) {
    let rt = json(r, &["show", "runtime"]);
    let vectors = rt
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["node"] == "af-packet-input")
        .map(|n| n["vectors"].as_u64().unwrap())
        .sum();
    let ifs = json(r, &["show", "interfaces"]);
    let rx = ifs
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["rx_packets"].as_u64().unwrap())
        .sum();
    (vectors, rx)
}

#[test]
fn two_workers_route_and_take_route_changes_without_loss() {
    testkit::require_root!();
    for tool in ["ip", "ping", "ethtool", "iperf3"] {
        assert!(have(tool), "{tool} is missing: run scripts/setup");
    }
    let lab = lab();
    let mut r = netlab::start_router(&lab, Driver::AfPacket, "workers", "[cpu]\nworkers = 2\n");

    for (args, what) in [
        (&["-c", "3", "-i", "0.2", "10.2.0.2"][..], "h1 -> h2"),
        (
            &["-6", "-c", "3", "-i", "0.2", "fd02::2"][..],
            "h1 -> h2 (IPv6)",
        ),
    ] {
        let mut a = vec!["ping", "-W", "2"];
        a.extend_from_slice(args);
        let (ok, out) = in_ns(&lab, "h1", &a);
        assert!(ok, "{what}: {out}");
    }

    // Two queues per interface (AF_PACKET fanout), each on one worker; threads 1 and 2.
    let placed = json(&r, &["show", "interfaces", "rx-placement"]);
    let placed = placed.as_array().unwrap();
    for name in ["lan", "wan"] {
        let mut threads: Vec<u64> = placed
            .iter()
            .filter(|p| p["interface"] == name)
            .map(|p| p["thread"].as_u64().unwrap())
            .collect();
        threads.sort_unstable();
        assert_eq!(threads, [1, 2], "{name}: {placed:?}");
    }
    let (ok, text) = ctl(&r, &["show", "interfaces", "rx-placement"]);
    assert!(ok && text.contains("Thread 2 (uplane-worker-1)"), "{text}");

    // Parallel flows, so that fanout spreads them over both sockets (and workers).
    let (server_rx, _, sent) = netlab::iperf3(&lab, "10.2.0.2", 2, &["-P", "4"]);
    assert!(
        server_rx > 1_000_000 && server_rx <= sent,
        "iperf3: {server_rx} of {sent}"
    );

    // Counters summed over the workers without stopping them: the graphs' input count
    // equals the devices' (read until no stray packet arrives between the two reads).
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (vectors, rx) = rx_counts(&r);
        if vectors == rx {
            assert!(vectors > 1000, "{vectors}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "show runtime {vectors} != rx {rx}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // Routes change through the CLI while a 100 pps ping flows: the /32 of h2 gains and
    // loses a static source (the leaf its packets use is rewritten each time), an ECMP
    // route and others come and go. Not one packet may be lost.
    let ping = Command::new("ip")
        .args(["netns", "exec", lab.ns("h1").unwrap()])
        .args([
            "ping", "-q", "-i", "0.01", "-c", "300", "-W", "2", "10.2.0.2",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut changes = 0;
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_millis(2500) {
        for cmd in [
            &["ip", "route", "add", "10.2.0.2/32", "via", "10.2.0.2"][..],
            &["ip", "route", "add", "10.8.0.0/16", "via", "10.2.0.2"],
            &["ip", "route", "add", "10.8.0.0/16", "via", "10.1.0.2"],
            &["ip", "route", "del", "10.2.0.2/32"],
            &["ip", "route", "del", "10.8.0.0/16"],
        ] {
            let (ok, out) = ctl(&r, cmd);
            assert!(ok, "{cmd:?}: {out}");
            changes += 1;
        }
    }
    let out = ping.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("300 received"),
        "{changes} route changes: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (ok, fib) = ctl(&r, &["show", "ip", "fib"]);
    assert!(ok && !fib.contains("10.8.0.0/16"), "{fib}");
    println!("{changes} route changes through the CLI, 300 of 300 pings answered");

    // Tracing needs the workers' help: a job each, applied between dispatches.
    let (ok, out) = ctl(&r, &["trace", "add", "af-packet-input", "5"]);
    assert!(ok, "{out}");
    let (ok, out) = in_ns(&lab, "h1", &["ping", "-c", "2", "-i", "0.2", "10.2.0.2"]);
    assert!(ok, "{out}");
    let t = json(&r, &["show", "trace"]);
    assert!(t["packets"].as_u64().unwrap() >= 2, "{t}");

    // pcap trace: one capture handle shared by every worker's device nodes.
    let file = r.dir.join("workers.pcap");
    let file = file.to_str().unwrap();
    let (ok, out) = ctl(
        &r,
        &["pcap", "trace", "rx", "tx", "max", "100", "file", file],
    );
    assert!(ok, "{out}");
    let (ok, out) = in_ns(&lab, "h1", &["ping", "-c", "3", "-i", "0.2", "10.2.0.2"]);
    assert!(ok, "{out}");
    let (ok, out) = ctl(&r, &["pcap", "trace", "off"]);
    assert!(ok && out.contains("packets written"), "{out}");
    let written: u64 = out
        .split_whitespace()
        .nth(3)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(written >= 12, "3 pings, rx and tx on both sides: {out}");

    // An interface created and deleted while the workers run: its queue is placed on a
    // worker, then every worker lets go of it.
    let (ok, out) = ctl(&r, &["create", "tap", "name", "wtap"]);
    assert!(ok, "{out}");
    let placed = json(&r, &["show", "interfaces", "rx-placement"]);
    assert!(
        placed
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["interface"] == "wtap"),
        "{placed}"
    );
    let (ok, out) = ctl(&r, &["delete", "interface", "wtap"]);
    assert!(ok, "{out}");
    let placed = json(&r, &["show", "interfaces", "rx-placement"]);
    assert!(
        !placed
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["interface"] == "wtap"),
        "{placed}"
    );
    let (ok, out) = in_ns(&lab, "h1", &["ping", "-c", "1", "10.2.0.2"]);
    assert!(ok, "still routing after delete: {out}");

    // SIGTERM: the workers stop, hand their graphs back, and uplane exits cleanly.
    netlab::signal(&r, "TERM");
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(s) = r.child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "uplane did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    if let Some(mut e) = r.child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    assert!(status.success(), "uplane exited with {status}:\n{err}");
}
