//! `[[service]]` on uplane's own TCP/IP stack, behind `ip4-local`/`ip6-local`, used by a
//! Linux host in a network namespace with curl, socat and python3:
//!
//! ```text
//!   h1 10.1.0.2 fd01::2 ──veth── lan [uplane: echo :7, discard :9, http :80] wan ── h2
//! ```
//! The http status page (200, the interface names, an rx counter that `uplanectl show
//! interfaces` agrees with, 404 elsewhere, keep-alive, over IPv4 and IPv6), 10 MB through
//! echo back byte for byte (sha256 of both sides), 1 MB into discard, RST for a TCP port
//! nobody listens to and ICMP port unreachable for UDP. The same body runs over AF_PACKET
//! and AF_XDP. Needs root, iproute2, curl, socat, python3 (scripts/setup installs them).

mod netlab;

use netlab::{ctl, have, in_ns, lab, Driver};
use std::process::Command;
use testkit::Lab;

const SERVICES: &str = r#"
[[service]]
kind = "echo"
listen = "10.1.0.1:7"
[[service]]
kind = "discard"
listen = "10.1.0.1:9"
[[service]]
kind = "http"
listen = "10.1.0.1:80"
[[service]]
kind = "http"
listen = "[fd01::1]:80"
[[service]]
kind = "echo"
listen = "[fd01::1]:7"
"#;

/// Deterministic bytes that do not repeat with a short period (xorshift).
fn payload(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn sha256(path: &std::path::Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// `rx_packets` of `name` in the status page's interface table.
fn page_rx(page: &str, name: &str) -> Option<u64> {
    page.lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse().ok())
}

fn services_body(lab: &Lab, driver: Driver, tag: &str, extra: &str) {
    for tool in ["ip", "curl", "socat", "python3", "sha256sum"] {
        assert!(have(tool), "{tool} is missing: run scripts/setup");
    }
    let r = netlab::start_router(lab, driver, tag, &format!("{extra}{SERVICES}"));
    let dir = r.dir.clone();

    // The status page over IPv4: 200, Content-Length, the interfaces and their counters.
    let (ok, out) = in_ns(
        lab,
        "h1",
        &["curl", "-s", "-i", "--max-time", "10", "http://10.1.0.1/"],
    );
    assert!(ok, "curl failed: {out}");
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .expect("no Content-Length")
        .trim()
        .parse()
        .unwrap();
    assert_eq!(len, body.len(), "Content-Length disagrees with the body");
    let (ok, js) = ctl(&r, &["--json", "show", "interfaces"]);
    assert!(ok, "{js}");
    let v: serde_json::Value = serde_json::from_str(&js).unwrap();
    for i in v.as_array().unwrap() {
        let name = i["name"].as_str().unwrap();
        let shown =
            page_rx(body, name).unwrap_or_else(|| panic!("{name} not on the page:\n{body}"));
        let now = i["rx_packets"].as_u64().unwrap();
        // The page was made before the CLI asked: a little behind, never ahead.
        assert!(
            shown <= now && now - shown < 100,
            "{name}: page {shown}, CLI {now}"
        );
    }
    assert!(page_rx(body, "lan").unwrap() > 0, "{body}");
    assert!(
        body.contains("stack-input") && body.contains("ip4-lookup"),
        "no runtime:\n{body}"
    );

    // 404 elsewhere; two requests on one connection (keep-alive).
    let (_, code) = in_ns(
        lab,
        "h1",
        &[
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "10",
            "http://10.1.0.1/nope",
        ],
    );
    assert_eq!(code, "404");
    let (ok, out) = in_ns(
        lab,
        "h1",
        &[
            "curl",
            "-sv",
            "-o",
            "/dev/null",
            "--max-time",
            "10",
            "http://10.1.0.1/",
            "-o",
            "/dev/null",
            "http://10.1.0.1/status",
        ],
    );
    assert!(ok, "{out}");
    assert!(
        out.matches("< HTTP/1.1 200 OK").count() == 2
            && (out.contains("Re-using existing connection") || out.contains("Reusing existing")),
        "second request not on the kept-alive connection:\n{out}"
    );

    // Eight more connections (other source ports: with workers, fanout spreads them).
    if extra.contains("workers") {
        let (ok, text) = ctl(&r, &["show", "interfaces", "rx-placement"]);
        assert!(ok && text.contains("uplane-worker-1"), "{text}");
    }
    for i in 0..8 {
        let (_, code) = in_ns(
            lab,
            "h1",
            &[
                "curl",
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "--max-time",
                "10",
                "http://10.1.0.1/status",
            ],
        );
        assert_eq!(code, "200", "connection {i}");
    }

    // IPv6: the page over fd01::1.
    let (ok, out) = in_ns(
        lab,
        "h1",
        &[
            "curl",
            "-s",
            "-g",
            "-i",
            "--max-time",
            "10",
            "http://[fd01::1]/",
        ],
    );
    assert!(
        ok && out.starts_with("HTTP/1.1 200 OK\r\n"),
        "curl -6: {out}"
    );
    assert!(out.contains("lan") && out.contains("wan"), "{out}");

    // 10 MB through echo and back, byte for byte.
    let input = dir.join("echo.in");
    let output = dir.join("echo.out");
    std::fs::write(&input, payload(10 << 20, 7)).unwrap();
    let cmd = format!(
        "socat -t 30 -T 60 - TCP:10.1.0.1:7 < {} > {}",
        input.display(),
        output.display()
    );
    let t0 = std::time::Instant::now();
    let (ok, out) = in_ns(lab, "h1", &["timeout", "120", "sh", "-c", &cmd]);
    assert!(ok, "socat to echo failed: {out}");
    let secs = t0.elapsed().as_secs_f64();
    // A figure for the log, never a pass/fail criterion.
    eprintln!(
        "{tag}: 10 MiB echoed in {secs:.2} s ({:.0} Mbit/s each way)",
        (10u64 << 20) as f64 * 8.0 / secs / 1e6
    );
    let got = std::fs::metadata(&output).unwrap().len();
    assert_eq!(got, 10 << 20, "echo gave back {got} bytes");
    assert_eq!(sha256(&input), sha256(&output), "echo changed the bytes");

    // A smaller echo over IPv6.
    let input6 = dir.join("echo6.in");
    let output6 = dir.join("echo6.out");
    std::fs::write(&input6, payload(256 << 10, 11)).unwrap();
    let cmd = format!(
        "socat -t 30 -T 60 - TCP6:[fd01::1]:7 < {} > {}",
        input6.display(),
        output6.display()
    );
    let (ok, out) = in_ns(lab, "h1", &["timeout", "60", "sh", "-c", &cmd]);
    assert!(ok, "socat to echo over IPv6 failed: {out}");
    assert_eq!(
        sha256(&input6),
        sha256(&output6),
        "IPv6 echo changed the bytes"
    );

    // 1 MB into discard: accepted to the end (socat -u exits 0 once all is written and
    // the connection closed cleanly).
    let sink = dir.join("discard.in");
    std::fs::write(&sink, payload(1 << 20, 3)).unwrap();
    let cmd = format!("socat -u -t 30 FILE:{} TCP:10.1.0.1:9", sink.display());
    let (ok, out) = in_ns(lab, "h1", &["timeout", "60", "sh", "-c", &cmd]);
    assert!(ok, "socat to discard failed: {out}");

    // A port nobody listens to: RST (connection refused at once); UDP: port unreachable.
    let (ok, out) = in_ns(
        lab,
        "h1",
        &[
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "5",
            "http://10.1.0.1:81/",
        ],
    );
    assert!(!ok && out.starts_with("000"), "{out}");
    let udp = "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.settimeout(3)\ns.connect(('10.1.0.1',5555))\ns.send(b'x')\ntry:\n s.recv(10)\n print('answered')\nexcept ConnectionRefusedError:\n print('refused')\nexcept socket.timeout:\n print('timeout')\n";
    let (_, out) = in_ns(lab, "h1", &["python3", "-c", udp]);
    assert_eq!(out.trim(), "refused", "UDP to a closed port");

    // The counters say who did it: stack-input took TCP, the stack answered, nothing
    // got stuck.
    let (ok, out) = ctl(&r, &["show", "errors", "--json"]);
    assert!(ok, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let count = |node: &str, reason_part: &str| -> u64 {
        v.as_array()
            .unwrap()
            .iter()
            .filter(|e| {
                e["node"] == node && e["reason"].as_str().unwrap_or("").contains(reason_part)
            })
            .map(|e| e["count"].as_u64().unwrap_or(0))
            .sum()
    };
    assert!(count("stack-input", "TCP segments") > 5000, "{out}");
    assert!(count("stack-input", "UDP to no socket") >= 1, "{out}");
    assert!(count("stack-output", "IPv4 packets") > 5000, "{out}");
    assert!(count("stack-output", "IPv6 packets") > 10, "{out}");
}

#[test]
fn services_over_af_packet() {
    testkit::require_root!();
    let lab = lab();
    services_body(&lab, Driver::AfPacket, "svc-packet", "");
}

/// Two workers: each graph runs its own stack with the same listeners; a connection stays
/// on the worker its flow hashes to (AF_PACKET fanout by flow hash).
#[test]
fn services_over_af_packet_with_two_workers() {
    testkit::require_root!();
    let lab = lab();
    services_body(
        &lab,
        Driver::AfPacket,
        "svc-workers",
        "[cpu]\nworkers = 2\n",
    );
}

#[test]
fn services_over_af_xdp() {
    testkit::require_root!();
    let lab = lab();
    services_body(&lab, Driver::AfXdp, "svc-xdp", "");
}
