//! The lab the end-to-end tests share: two Linux hosts and a router namespace, uplane
//! started in the router namespace as users run it (`uplane -c FILE`), and helpers to drive
//! it with ping, iperf3 and uplanectl.
//!
//! ```text
//!   h1 10.1.0.2 ──veth── lan [uplane] wan ──veth── h2 10.2.0.2
//! ```
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

/// h1, h2 and router namespaces; hosts with addresses, a default route via uplane and
/// offloads off; the router namespace's kernel neither forwards nor speaks IPv6, so every
/// packet across was routed by uplane.
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
