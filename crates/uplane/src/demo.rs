//! `uplane demo`: a lab in network namespaces and a guided look at uplane routing it.
//!
//! ```text
//!   h1 (10.1.0.2) ──veth── [lan  uplane  wan] ──veth── h2 (10.2.0.2)
//!                       10.1.0.1        10.2.0.1
//! ```
//!
//! The hosts are Linux kernel stacks in their own namespaces; uplane's two interfaces are
//! the other ends of the veth pairs, in a third namespace (`router`) where the kernel has
//! no addresses and does not forward, so every packet that crosses was routed by uplane.
//! The demo pings across, pings uplane itself, sends a TTL-1 ping (uplane answers time
//! exceeded), runs a TCP transfer across with iperf3, prints what uplane counted through
//! its own CLI socket, and keeps running for `uplanectl` until Ctrl-C. Everything it
//! created is removed when it stops.

use crate::stop_flag;
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use testkit::Lab;
use uplane::config::Config;
use uplane::daemon::metrics::Metrics;
use uplane::daemon::Daemon;

/// Options of `uplane demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Show the checks, then stop (instead of serving the CLI until Ctrl-C).
    #[arg(long)]
    pub once: bool,
    /// Seconds of the TCP transfer across.
    #[arg(long, default_value_t = 3)]
    pub seconds: u32,
    /// CLI socket.
    #[arg(long, default_value = "/run/uplane/cli.sock")]
    pub socket: std::path::PathBuf,
    /// Stop by itself after this many seconds (counted from the start), removing
    /// everything, as Ctrl-C does.
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<u64>,
}

impl Default for DemoArgs {
    /// What plain `uplane` runs: the same as `uplane demo` with no options.
    fn default() -> Self {
        DemoArgs {
            once: false,
            seconds: 3,
            socket: "/run/uplane/cli.sock".into(),
            duration: None,
        }
    }
}

const PREFIX: &str = "uplane-demo";

fn config_text(socket: &Path) -> String {
    format!(
        r#"# The demo's embedded configuration (what `uplane -c FILE` would read).
[cli]
socket = "{}"
[metrics]
listen = "127.0.0.1:9090"
[[interface]]
name = "lan"
driver = "af_xdp"
host-if = "lan"
address = ["10.1.0.1/24"]
[[interface]]
name = "wan"
driver = "af_xdp"
host-if = "wan"
address = ["10.2.0.1/24"]
"#,
        socket.display()
    )
}

/// Deletes namespaces a crashed earlier demo left behind.
fn remove_leftovers() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        if name.starts_with(PREFIX) {
            let _ = Command::new("ip").args(["netns", "del", name]).status();
        }
    }
}

fn build_lab() -> Result<Lab> {
    let mut lab = Lab::with_prefix(PREFIX);
    for ns in ["h1", "h2", "router"] {
        lab.netns(ns)?;
    }
    lab.veth("h1", "eth0", "router", "lan")?;
    lab.veth("h2", "eth0", "router", "wan")?;
    for (h, a, gw) in [
        ("h1", "10.1.0.2/24", "10.1.0.1"),
        ("h2", "10.2.0.2/24", "10.2.0.1"),
    ] {
        lab.addr(h, "eth0", a)?;
        lab.up(h, "eth0")?;
        lab.route(h, "default", gw)?;
        // Full-size frames on the wire: no GSO super-packets for uplane to refuse.
        lab.offloads_off(h, "eth0")?;
    }
    lab.sysctl("router", "net.ipv4.ip_forward", "0")?;
    lab.sysctl("router", "net.ipv6.conf.all.disable_ipv6", "1")?;
    for dev in ["lan", "wan"] {
        lab.up("router", dev)?;
        lab.offloads_off("router", dev)?;
    }
    Ok(lab)
}

fn step(title: &str) {
    println!("\n\x1b[1m== {title}\x1b[0m");
}

fn show(lab: &Lab, ns: &str, args: &[&str]) -> bool {
    let Ok(full) = lab.ns(ns) else { return false };
    println!("$ ip netns exec {full} {}", args.join(" "));
    // Bounded: when uplane stops (Ctrl-C, --duration) mid-command, a TCP client would wait
    // for a dead path for minutes.
    match Command::new("ip")
        .args(["netns", "exec", full, "timeout", "-k", "2", "15"])
        .args(args)
        .output()
    {
        Ok(o) => {
            print!("{}", String::from_utf8_lossy(&o.stdout));
            eprint!("{}", String::from_utf8_lossy(&o.stderr));
            o.status.success()
        }
        Err(e) => {
            println!("  (could not run: {e})");
            false
        }
    }
}

fn cli(socket: &Path, words: &str) {
    println!("$ uplanectl -s {} {words}", socket.display());
    let words: Vec<String> = words.split_whitespace().map(String::from).collect();
    match ctl::client::Client::connect(socket).and_then(|mut c| c.call(&words, false)) {
        Ok(ctl::Response::Text { text }) => print!("{text}"),
        Ok(other) => println!("{other:?}"),
        Err(e) => println!("  ({e})"),
    }
}

/// The guided tour, run beside the forwarding loop.
fn tour(lab: &Lab, socket: &Path, seconds: u32, once: bool, stop: &AtomicBool) {
    std::thread::sleep(Duration::from_millis(500));
    // Each step first checks that uplane still runs (Ctrl-C or --duration may have come).
    let stopped = || stop.load(Ordering::Relaxed);
    if stopped() {
        return;
    }
    step("h1 pings h2 across uplane (ARP on both sides first)");
    show(
        lab,
        "h1",
        &["ping", "-c", "3", "-i", "0.2", "-W", "2", "10.2.0.2"],
    );
    if stopped() {
        return;
    }
    step("h1 pings uplane's own address");
    show(
        lab,
        "h1",
        &["ping", "-c", "2", "-i", "0.2", "-W", "2", "10.1.0.1"],
    );
    if stopped() {
        return;
    }
    step("a TTL-1 ping across: uplane answers time exceeded");
    show(
        lab,
        "h1",
        &["ping", "-c", "1", "-t", "1", "-W", "2", "10.2.0.2"],
    );
    if stopped() {
        return;
    }
    step(&format!("a {seconds}-second TCP transfer across (iperf3)"));
    if Command::new("iperf3").arg("--version").output().is_ok() {
        let server = lab.ns("h2").ok().and_then(|full| {
            Command::new("ip")
                .args([
                    "netns", "exec", full, "iperf3", "-s", "-1", "-B", "10.2.0.2",
                ])
                .spawn()
                .ok()
        });
        std::thread::sleep(Duration::from_millis(300));
        show(
            lab,
            "h1",
            &[
                "iperf3",
                "-c",
                "10.2.0.2",
                "-t",
                &seconds.to_string(),
                "-f",
                "m",
            ],
        );
        if let Some(mut s) = server {
            let _ = s.kill();
            let _ = s.wait();
        }
    } else {
        println!("  iperf3 is not installed (scripts/setup installs it); skipping the transfer");
    }
    if stopped() {
        return;
    }
    step("what uplane counted, through its CLI");
    for c in [
        "show interfaces",
        "show ip neighbors",
        "show runtime",
        "show errors",
    ] {
        cli(socket, c);
        println!();
    }
    if once {
        stop.store(true, Ordering::Relaxed);
        return;
    }
    step("uplane keeps running");
    println!(
        "CLI:      uplanectl -s {0} show runtime   (or just `uplanectl -s {0}` for a shell)\n\
         metrics:  curl -s 127.0.0.1:9090/metrics\n\
         hosts:    ip netns exec {PREFIX}-h1 ping 10.2.0.2\n\
         Stop with Ctrl-C (or wait for --duration): the namespaces are removed.",
        socket.display()
    );
}

/// Runs the demo.
pub fn run(args: &DemoArgs) -> Result<()> {
    if !testkit::is_root() {
        bail!("uplane demo builds network namespaces and opens raw sockets: run it as root (sudo)");
    }
    remove_leftovers();
    let stop = stop_flag()?;
    let lab = Arc::new(
        build_lab().context("building the lab (needs iproute2 and ethtool: scripts/setup)")?,
    );
    let config = Config::parse(
        Path::new("<embedded demo config>"),
        &config_text(&args.socket),
    )?;
    println!(
        "uplane demo: lab ready ({PREFIX}-h1, {PREFIX}-h2, {PREFIX}-router); configuration:\n{}",
        config_text(&args.socket)
    );
    let metrics = config.metrics.and_then(|a| match Metrics::bind(a) {
        Ok(m) => Some(m),
        Err(e) => {
            println!("metrics: cannot listen on {a} ({e}); running without");
            None
        }
    });
    let cli = ctl::CliServer::bind(&config.cli_socket)
        .with_context(|| format!("cli.socket {}", config.cli_socket.display()))?;
    // The guide runs on its own thread, created before this thread moves into the router's
    // namespace (threads inherit their creator's namespace).
    let guide = {
        let (lab, socket, stop) = (lab.clone(), args.socket.clone(), stop.clone());
        let (seconds, once) = (args.seconds, args.once);
        std::thread::spawn(move || tour(&lab, &socket, seconds, once, &stop))
    };
    if let Some(secs) = args.duration {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let end = std::time::Instant::now() + Duration::from_secs(secs);
            while !stop.load(Ordering::Relaxed) && std::time::Instant::now() < end {
                std::thread::sleep(Duration::from_millis(100));
            }
            stop.store(true, Ordering::Relaxed);
        });
    }
    sys::netns::enter(&Path::new("/var/run/netns").join(lab.ns("router")?))
        .context("entering the router namespace")?;
    let result = Daemon::new(config).map(|mut d| {
        d.run(&stop, Some(cli), metrics);
    });
    stop.store(true, Ordering::Relaxed);
    let _ = guide.join();
    result
}

#[cfg(test)]
mod tests {
    use super::DemoArgs;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        demo: DemoArgs,
    }

    /// Plain `uplane` must run the demo exactly as `uplane demo` with no options does.
    #[test]
    fn default_matches_the_command_line_defaults() {
        let parsed = Wrap::parse_from(["uplane"]).demo;
        let d = DemoArgs::default();
        assert_eq!(
            (d.once, d.seconds, &d.socket, d.duration),
            (parsed.once, parsed.seconds, &parsed.socket, parsed.duration)
        );
    }
}
