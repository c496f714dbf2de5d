//! BENCH veth-forward-af-xdp / veth-forward-af-packet / veth-iperf3-af-xdp: uplane routing
//! between two Linux kernels over veth, beside the Linux kernel forwarding the same traffic
//! on the same topology in the same run.
//!
//! ```text
//!   h1 10.1.0.2 ──veth── lan [router] wan ──veth── h2 10.2.0.2
//! ```
//! One lab (testkit::Lab: removed on exit and on panic), one generator: `trafgen` (Debian's
//! netsniff-ng) in h1, one process pinned to CPU 0, sending one 64-byte UDP frame
//! (60 bytes + FCS) from h1 to h2 at full speed. The figure is packets per second delivered
//! to the sink, that is received by h2's interface (its `rx_packets`), over a 5-second
//! window that starts 1 s after the generator; h2 then drops them at ingress (nftables,
//! see `sink_drop`) so that its IP stack's per-packet ICMP work is not charged to the
//! router's CPU. The router is, in turn:
//! - (a) `linux-kernel`: addresses on lan/wan, `net.ipv4.ip_forward=1`, no uplane;
//! - (b) uplane with `driver = "af_xdp"` (no kernel addresses, `ip_forward=0`), pinned to
//!   the last CPU; if AF_XDP cannot attach, uplane falls back to AF_PACKET, which the bench
//!   reads from `show hardware-interfaces` and says in the BENCH name;
//! - (c) uplane with `driver = "af_packet"`, pinned likewise;
//! - (d) `dpdk-testpmd` (DPDK 22.11, Debian's dpdk-dev with librte-net-af-xdp23) in io
//!   mode with two `net_af_xdp` vdevs on lan and wan (`--no-huge`, its forwarding lcore
//!   pinned to the last CPU at nice -10 like uplane). io mode forwards frames unchanged (no
//!   ARP, no routing, no TTL), so h1 and h2 get static neighbours for their gateways that
//!   name each other's MAC: testpmd is a wire between them. Without testpmd or the PMD the
//!   path is skipped and said so.
//!
//! uplane runs at nice -10: the kernel forwards in softirq context, which ordinary tasks
//! never preempt, while uplane's poll loop is an ordinary task; on a shared machine at nice
//! 0 it would get a fair share of its core with every compiler running there. With the
//! kernel's autogroup scheduling (`kernel.sched_autogroup_enabled`) a process's nice only
//! counts inside its session, and each other session (another shell's compiler) weighs as
//! much as the bench's whole session: so trafgen, the routers and iperf3 are each started
//! by `setsid` and their autogroup gets nice -10 (`/proc/PID/autogroup`, see `prioritize`),
//! the same for every path. Without it, under a compile load of 7 trafgen offered 0.06
//! Mpps and uplane used 0.16 CPUs: the figure measured the compilers.
//!
//! Each is also measured with a 5-second `iperf3` TCP transfer (Gbit/s received). The
//! three paths are measured in interleaved rounds (`UPLANE_BENCH_ROUNDS`, default 2) and
//! each figure is its best round (the least disturbed by whatever else runs). Offloads are
//! off on every veth end, for all three paths.
//!
//! What it says about the machine: on a 2-core machine the generator, the kernel's veth
//! softirq work and uplane's polling thread share the two cores. The kernel forwards in
//! the softirq of the CPU that sent, so its whole path runs on trafgen's CPU; uplane adds
//! a second CPU (its poll loop, and the copy-mode transmit it kicks). The bench prints how
//! many CPUs were busy during each window (machine-wide, so it includes anything else that
//! was running), packets per busy CPU-second, and each CPU's user / system / softirq / idle
//! shares. For uplane it also prints, per window, where packets were lost: h1's offer,
//! what XDP redirected, uplane's lan rx and wan tx, h2's receive; and `show runtime` (AF_XDP),
//! `show hardware-interfaces`, `show errors` and `show xdp` after the best window.
//!
//! `UPLANE_BENCH_THREADED_NAPI=1` moves lan's receive out of the generator's CPU for
//! every path alike: by default lan's veth NAPI (the kernel's whole forwarding; for uplane
//! and testpmd the XDP program and the copy into the UMEM) runs in the softirq of the CPU
//! that sent, trafgen's, which then offers at most ~0.8 Mpps. With the option it runs in a
//! kernel thread pinned to the router's CPU (see `threaded_napi`): trafgen has CPU 0 to
//! itself and every router's whole receive and forwarding is charged to the last CPU.
//! trafgen then sends one `sendto` per frame through the qdisc (`-t 0 -q`): lan's ring
//! fills while its thread waits for the CPU, veth stops h1's queue, and trafgen's TX_RING
//! flush fails with EAGAIN and exits (0 frames measured), where a `sendto` waits.
//!
//! `UPLANE_BENCH_XDP_RX_RING=N` gives uplane's lan `rx-ring-size = N` (AF_XDP; the fill
//! ring is twice that), to measure what deeper rings save at the socket.
//!
//! It uses the release binaries `uplane` and `uplanectl` next to this bench's executable
//! (`target/release`, or `$CARGO_TARGET_DIR/release`, which the build inherits): it runs
//! `cargo build --release -p uplane --bins` first, which is a no-op when they are fresh
//! (`UPLANE_BENCH_NO_BUILD=1` skips that and uses what is there).
//! Needs root, iproute2, ethtool, taskset, iperf3 and trafgen (scripts/setup); without
//! them it prints `skipped: ...` and no BENCH line. Speed never makes it fail.

use serde_json::Value;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use testkit::Lab;
use uplane_benches::report_rate;

/// Seconds the generator runs before the window opens.
const WARMUP: Duration = Duration::from_secs(1);
/// The measured window.
const WINDOW: Duration = Duration::from_secs(5);
/// iperf3's transfer time.
const IPERF_SECS: &str = "5";

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    // `cargo test --benches` runs bench targets without `--bench`: not a benchmark run.
    if !std::env::args().any(|a| a == "--bench") {
        println!("veth_forward: skipped: run it with `cargo bench --bench veth_forward`");
        return;
    }
    if !testkit::is_root() {
        println!("veth_forward: skipped: needs root (network namespaces)");
        return;
    }
    for tool in [
        "ip", "ethtool", "taskset", "iperf3", "trafgen", "kill", "ping", "setsid",
    ] {
        if !have(tool) {
            println!("veth_forward: skipped: {tool} is missing (run scripts/setup)");
            return;
        }
    }
    let Some(bins) = binaries() else {
        return;
    };
    let rounds: usize = std::env::var("UPLANE_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(2);
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "veth_forward: {cpus} CPUs; trafgen (1 process, CPU 0), the kernel's veth softirq work \
         and uplane's poll thread (CPU {}) share them; the kernel forwards on the \
         sender's CPU, in softirq. trafgen, the routers and iperf3 each run in their own \
         session whose autogroup has nice -10 (other sessions' work weighs less). \
         Figures are the best of {rounds} interleaved rounds.",
        cpus - 1
    );

    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "veth_forward: load average before the run {} (anything above ~0 means other work \
         shares the cores; busy-CPU figures below are machine-wide)",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );

    let lab = match build_lab() {
        Ok(l) => l,
        Err(e) => {
            println!("veth_forward: skipped: cannot build the lab: {e}");
            return;
        }
    };
    let dir = TempDir::new();
    let napi = if threaded_napi_wanted() {
        match threaded_napi(&lab) {
            Ok(pids) => {
                println!(
                    "veth_forward: threaded NAPI (UPLANE_BENCH_THREADED_NAPI): lan's receive \
                     (veth NAPI: the kernel's whole forwarding; for uplane and testpmd the XDP \
                     program and the copy into the UMEM) runs in kernel thread(s) {pids:?} \
                     pinned to CPU {} at nice -10, for every path, instead of in trafgen's \
                     softirq on CPU 0; lan has GRO on (veth has a NAPI only with XDP or GRO) \
                     with gro_max_size 1500, so nothing is merged; trafgen sends one sendto \
                     per frame through the qdisc (-t 0 -q: its TX_RING mode exits when veth \
                     stops the queue)",
                    cpus - 1
                );
                Some(pids)
            }
            Err(e) => {
                println!("veth_forward: threaded NAPI asked for but not set up: {e}");
                return;
            }
        }
    } else {
        None
    };

    let testpmd = testpmd_available();
    if let Err(why) = &testpmd {
        println!("veth_forward: (d) dpdk-testpmd not measured: {why}");
    }
    let mut best: [Option<Measure>; 4] = [None, None, None, None];
    let mut paths = vec![Path3::Kernel, Path3::AfXdp, Path3::AfPacket];
    if testpmd.is_ok() {
        paths.push(Path3::Testpmd);
    }
    for round in 1..=rounds {
        for (i, p) in paths.iter().enumerate() {
            if let Some(pids) = &napi {
                if let Err(e) = pin_napi(pids) {
                    println!("round {round} {}: not measured: {e}", p.label());
                    continue;
                }
            }
            match measure(&lab, &dir.0, &bins, *p) {
                Ok(m) => {
                    println!(
                        "round {round} {:<24} delivered {:.3} Mpps (offered {:.3} Mpps; h1 tx \
                         dropped {:.3} Mpps: the router's veth end did not take them), busy \
                         CPUs {:.2} -> {:.3} Mpps per busy CPU-second ({}); iperf3 {:.2} \
                         Gbit/s{}",
                        m.label,
                        m.mpps,
                        m.offered_mpps,
                        m.h1_dropped_mpps,
                        m.busy_cpus,
                        m.mpps / m.busy_cpus.max(0.01),
                        m.cpu_split,
                        m.gbps,
                        m.path_note
                    );
                    let slot = &mut best[i];
                    match slot {
                        Some(b) => b.merge(m),
                        None => *slot = Some(m),
                    }
                }
                Err(e) => println!("round {round} {}: not measured: {e}", p.label()),
            }
        }
    }

    let [kernel, xdp, packet, tpmd] = best;
    if let Some(x) = &xdp {
        if !x.runtime.is_empty() {
            println!(
                "uplane AF_XDP `show runtime` over its best trafgen window:\n{}",
                x.runtime
            );
        }
    }
    for m in [&xdp, &packet].into_iter().flatten() {
        println!(
            "{} `show hardware-interfaces` after its best trafgen window:\n{}",
            m.label, m.hw
        );
        println!(
            "{} `show errors` (and `show xdp`) since its start:\n{}",
            m.label, m.errors
        );
        println!("{} in that window: {}", m.label, m.uplane_note);
    }
    let Some(kernel) = kernel else {
        println!("veth_forward: no kernel figure: no ratios");
        return;
    };
    for (m, name) in [
        (&xdp, "veth-forward-af-xdp"),
        (&packet, "veth-forward-af-packet"),
    ] {
        let Some(m) = m else { continue };
        let name = if m.fell_back {
            format!("{name}-fell-back-to-af-packet")
        } else {
            name.to_string()
        };
        report_rate(&name, "Mpps", m.mpps, Some(("linux-kernel", kernel.mpps)));
    }
    if let Some(m) = &xdp {
        let name = if m.fell_back {
            "veth-iperf3-af-xdp-fell-back-to-af-packet"
        } else {
            "veth-iperf3-af-xdp"
        };
        report_rate(name, "Gbit/s", m.gbps, Some(("linux-kernel", kernel.gbps)));
    }
    if let Some(m) = &packet {
        println!(
            "(info) iperf3 through uplane AF_PACKET: {:.2} Gbit/s; linux-kernel {:.2} Gbit/s",
            m.gbps, kernel.gbps
        );
    }
    if let (Some(x), Some(t)) = (&xdp, &tpmd) {
        if !x.fell_back {
            report_rate(
                "veth-forward-af-xdp-vs-testpmd",
                "Mpps",
                x.mpps,
                Some(("dpdk-testpmd-af-xdp", t.mpps)),
            );
            println!(
                "(info) iperf3 through dpdk-testpmd (io mode: a wire, no routing): {:.2} \
                 Gbit/s; uplane AF_XDP {:.2} Gbit/s",
                t.gbps, x.gbps
            );
        }
    }
    println!("veth_forward: packets per busy CPU-second (Mpps / machine-wide busy CPUs):");
    for m in [Some(&kernel), xdp.as_ref(), packet.as_ref(), tpmd.as_ref()]
        .into_iter()
        .flatten()
    {
        println!(
            "  {:<24} {:.3} Mpps on {:.2} busy CPUs = {:.3} Mpps per CPU-second{}",
            m.label,
            m.mpps,
            m.busy_cpus,
            m.mpps / m.busy_cpus.max(0.01),
            match m.router_cpus {
                Some(c) => format!(
                    " (the router process itself used {c:.2} CPUs: {:.3} Mpps per router \
                     CPU-second)",
                    m.mpps / c.max(0.01)
                ),
                None => String::new(),
            }
        );
    }
    if let Some(x) = &xdp {
        let per = |m: &Measure| m.mpps / m.busy_cpus.max(0.01);
        let mut line = format!(
            "veth_forward: per CPU-second, uplane AF_XDP / linux-kernel {:.2}",
            per(x) / per(&kernel)
        );
        if let Some(t) = &tpmd {
            let _ = write!(
                line,
                ", uplane AF_XDP / dpdk-testpmd {:.2}",
                per(x) / per(t)
            );
        }
        println!("{line}");
    }
    if napi.is_some() {
        println!(
            "veth_forward: what limits these figures on this machine (threaded NAPI): CPU 1 \
             runs lan's receive for every path. The kernel forwards there, inside that \
             thread, passing each skb on; uplane and testpmd share CPU 1 with it, which \
             copies each frame into the UMEM (copy mode), and pay in their own sendto for \
             the copy-mode transmit (an skb built and copied per frame, wan's veth transmit, \
             h2's receive). Two copies and an skb per frame against none: on veth, AF_XDP \
             copy mode loses to the kernel on one router CPU; uplane and testpmd pay alike."
        );
    } else {
        println!(
            "veth_forward: what limits these figures on this machine: the generator (trafgen, \
         CPU 0), the veth transmit into the router namespace and the sink's receive all run \
         in softirq on the CPUs that also run the router; the kernel path forwards in the \
         sender's softirq on CPU 0 alone, while uplane and testpmd poll on CPU 1 and their \
         AF_XDP copy-mode transmit (a sendto kick that copies each frame into an skb and \
         runs the wan veth transmit and h2's receive in that syscall) is charged to CPU 1 too. \
         With 2 cores every path is CPU-bound: see each round's cpu split above."
        );
    }
    if let Some(x) = &xdp {
        limits(&kernel, x, tpmd.as_ref(), napi.is_some());
    }
}

/// What held uplane AF_XDP's best window below the targets (2x the kernel, 1.2x testpmd),
/// from what that window measured.
fn limits(kernel: &Measure, x: &Measure, tpmd: Option<&Measure>, threaded: bool) {
    println!("veth_forward: what limits uplane AF_XDP here (measured in its best window):");
    if threaded {
        println!(
            "  threaded NAPI: CPU 0 runs only trafgen (and h1's veth transmit); lan's receive \
             and the router share CPU {}: h1 offered {:.3} Mpps to uplane AF_XDP, {:.3} to the \
             kernel; the router's CPU is the limit for every path",
            std::thread::available_parallelism().map_or(1, |n| n.get()) - 1,
            x.offered_mpps,
            kernel.offered_mpps
        );
    } else {
        println!(
            "  the generator: with lan's XDP program attached h1 offered only {:.3} Mpps (CPU 0 \
         runs trafgen and, in its softirq, lan's veth NAPI: the XDP program, the skb-to-XDP \
         copy and the copy into the UMEM); 2x the kernel would need {:.3} Mpps delivered, \
         more than was offered{}",
            x.offered_mpps,
            2.0 * kernel.mpps,
            match tpmd {
                Some(t) => format!(
                    " (testpmd's windows offered {:.3} Mpps on the same path)",
                    t.offered_mpps
                ),
                None => String::new(),
            }
        );
    }
    if let (Some(c), Some(k)) = (x.router_cpus, x.router_kernel_share) {
        println!(
            "  the router's CPU: uplane used {c:.2} CPUs ({:.0}% of it in the kernel: \
             copy-mode sendto, which builds an skb per frame and runs wan's veth transmit \
             and h2's receive), {:.2} us of uplane CPU per delivered packet",
            k * 100.0,
            c / x.mpps.max(1e-6)
        );
    }
    if let Some(t) = tpmd {
        if let (Some(c), Some(k)) = (t.router_cpus, t.router_kernel_share) {
            println!(
                "  testpmd on the same path: {c:.2} CPUs ({:.0}% in the kernel), {:.2} us per \
                 delivered packet",
                k * 100.0,
                c / t.mpps.max(1e-6)
            );
        }
    }
    if let Some(l) = x.lost_at_socket_mpps {
        println!(
            "  losses: {l:.3} Mpps redirected to uplane's socket never reached it (rx ring \
             full / fill ring empty while uplane was off its CPU: the other sessions' work \
             still gets a share of CPU 1); offered {:.3}, delivered {:.3} Mpps",
            x.offered_mpps, x.mpps
        );
    }
}

/// `UPLANE_BENCH_THREADED_NAPI` set (and not `0`).
fn threaded_napi_wanted() -> bool {
    std::env::var_os("UPLANE_BENCH_THREADED_NAPI").is_some_and(|v| v != "0")
}

/// Moves lan's receive out of the generator's CPU, the same for every path: veth runs a
/// NAPI only with XDP or GRO, so GRO goes on at lan (with `gro_max_size` 1500 nothing is
/// merged: TCP segments stay wire-sized, as AF_PACKET needs and as without it), then
/// `/sys/class/net/lan/threaded` = 1 puts that NAPI in a kernel thread (`napi/lan-ID`),
/// which [`pin_napi`] pins. GRO keeps the NAPI (and its thread) when uplane's or testpmd's
/// XDP program comes and goes. Returns the threads' pids.
fn threaded_napi(lab: &Lab) -> Result<Vec<u32>, String> {
    let e = |x: testkit::LabError| x.to_string();
    lab.exec("router", &["ethtool", "-K", "lan", "gro", "on"])
        .map_err(e)?;
    lab.ip(
        "router",
        &["link", "set", "dev", "lan", "gro_max_size", "1500"],
    )
    .map_err(e)?;
    let before = napi_threads("lan");
    lab.exec(
        "router",
        &["sh", "-c", "echo 1 > /sys/class/net/lan/threaded"],
    )
    .map_err(e)?;
    let pids: Vec<u32> = napi_threads("lan")
        .into_iter()
        .filter(|p| !before.contains(p))
        .collect();
    if pids.is_empty() {
        return Err("no napi/lan-* kernel thread appeared".into());
    }
    pin_napi(&pids)?;
    Ok(pids)
}

/// Pids of the kernel threads named `napi/DEV-*`.
fn napi_threads(dev: &str) -> Vec<u32> {
    let prefix = format!("napi/{dev}-");
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.starts_with(&prefix))
        })
        .collect()
}

/// Pins the NAPI threads to the router's CPU (the last) at nice -10: the weight of the
/// router's own autogroup, so that lan's receive and a polling router split that CPU
/// evenly when both have work. Fails if a thread is gone (its NAPI was deleted).
fn pin_napi(pids: &[u32]) -> Result<(), String> {
    let cpu = (std::thread::available_parallelism().map_or(1, |n| n.get()) - 1).to_string();
    for pid in pids {
        let pid = pid.to_string();
        for args in [
            &["taskset", "-pc", &cpu, &pid][..],
            &["renice", "-n", "-10", "-p", &pid],
        ] {
            let ok = Command::new(args[0])
                .args(&args[1..])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                return Err(format!("{args:?} failed (NAPI thread gone?)"));
            }
        }
    }
    Ok(())
}

/// Whether `dpdk-testpmd` and DPDK's AF_XDP PMD are installed.
fn testpmd_available() -> Result<(), String> {
    if !have("dpdk-testpmd") {
        return Err("dpdk-testpmd is missing (scripts/setup installs dpdk-dev)".into());
    }
    let pmd = ["/usr/lib/x86_64-linux-gnu", "/usr/lib", "/usr/lib64"]
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .flatten()
        .chain(
            ["/usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0"]
                .iter()
                .filter_map(|d| std::fs::read_dir(d).ok())
                .flatten()
                .flatten(),
        )
        .any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("librte_net_af_xdp.so")
        });
    if pmd {
        Ok(())
    } else {
        Err(
            "DPDK's AF_XDP PMD (librte_net_af_xdp) is missing (scripts/setup installs \
             librte-net-af-xdp23)"
                .into(),
        )
    }
}

#[derive(Clone, Copy, Debug)]
enum Path3 {
    Kernel,
    AfXdp,
    AfPacket,
    Testpmd,
}

impl Path3 {
    fn label(self) -> &'static str {
        match self {
            Path3::Kernel => "linux-kernel",
            Path3::AfXdp => "uplane af_xdp",
            Path3::AfPacket => "uplane af_packet",
            Path3::Testpmd => "dpdk-testpmd af_xdp",
        }
    }
}

/// One path's figures in one round.
#[derive(Debug, Default)]
struct Measure {
    label: String,
    mpps: f64,
    offered_mpps: f64,
    busy_cpus: f64,
    h1_dropped_mpps: f64,
    cpu_split: String,
    gbps: f64,
    fell_back: bool,
    path_note: String,
    runtime: String,
    hw: String,
    errors: String,
    uplane_note: String,
    /// CPUs the router process (uplane, testpmd) used during the window.
    router_cpus: Option<f64>,
    /// The share of that spent in the kernel (stime / (utime + stime)).
    router_kernel_share: Option<f64>,
    /// Frames the XDP program redirected to uplane's socket that it never received.
    lost_at_socket_mpps: Option<f64>,
}

impl Measure {
    /// Keeps the best packet rate (with its diagnostics) and the best iperf3 figure.
    fn merge(&mut self, other: Measure) {
        let gbps = self.gbps.max(other.gbps);
        let fell_back = self.fell_back || other.fell_back;
        if other.mpps > self.mpps {
            *self = other;
        }
        self.gbps = gbps;
        self.fell_back = fell_back;
    }
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// `target/release/{uplane,uplanectl}`, built first unless `UPLANE_BENCH_NO_BUILD` is set.
fn binaries() -> Option<(PathBuf, PathBuf)> {
    let exe = std::env::current_exe().ok()?;
    // target/release/deps/veth_forward-HASH -> target/release
    let dir = exe.parent()?.parent()?.to_path_buf();
    let (up, ctl) = (dir.join("uplane"), dir.join("uplanectl"));
    if std::env::var_os("UPLANE_BENCH_NO_BUILD").is_none() {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let ok = Command::new(cargo)
            .args(["build", "--release", "-p", "uplane", "--bins"])
            .current_dir(root)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok && up.exists() && ctl.exists() {
            println!(
                "veth_forward: note: `cargo build --release -p uplane` failed; using the \
                 existing (possibly stale) {}",
                up.display()
            );
        }
    }
    if up.exists() && ctl.exists() {
        Some((up, ctl))
    } else {
        println!(
            "veth_forward: skipped: {} is missing (cargo build --release -p uplane)",
            up.display()
        );
        None
    }
}

fn build_lab() -> Result<Lab, testkit::LabError> {
    let mut lab = Lab::new();
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
        lab.offloads_off(h, "eth0")?;
    }
    lab.sysctl("router", "net.ipv4.ip_forward", "0")?;
    lab.sysctl("router", "net.ipv6.conf.all.disable_ipv6", "1")?;
    for dev in ["lan", "wan"] {
        lab.up("router", dev)?;
        lab.offloads_off("router", dev)?;
    }
    sink_drop(&lab);
    Ok(lab)
}

/// Makes h2 a cheap sink: an nftables netdev-ingress rule drops the generator's UDP (port 9)
/// as it enters eth0, after veth counted it received. Without it, h2's IP stack looks up
/// a socket and tries an ICMP port unreachable (route lookup, rate limiter) for every
/// packet, and since a veth transmit runs the receiver's softirq on the sending CPU, that
/// work was charged to whichever router sent it (the kernel's CPU 0, uplane's and
/// testpmd's CPU 1 inside their AF_XDP tx kicks): the figure measured h2 as much as the
/// router. iperf3 (TCP) and ping pass. Without `nft` the sink stays the full stack (said).
fn sink_drop(lab: &Lab) {
    let rules = "table netdev uplane_bench_sink {\n  chain in {\n    type filter hook ingress \
                 device \"eth0\" priority 0; policy accept;\n    udp dport 9 counter drop\n  }\n}\n";
    let ok = ns_cmd(lab, "h2")
        .ok()
        .and_then(|mut c| {
            c.args(["nft", "-f", "-"])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .ok()
        })
        .and_then(|mut child| {
            use std::io::Write as _;
            child.stdin.take()?.write_all(rules.as_bytes()).ok()?;
            child.wait().ok()
        })
        .is_some_and(|s| s.success());
    if ok {
        println!(
            "veth_forward: sink: h2 drops the generator's UDP at eth0 ingress (nftables \
             netdev hook), after the interface counted it"
        );
    } else {
        println!(
            "veth_forward: sink: nft unavailable; h2's full IP stack receives the UDP (and \
             tries ICMP port unreachable): slower for every path"
        );
    }
}

/// A folder for configs, sockets and logs, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let d = std::env::temp_dir().join(format!("uplane-bench-veth-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&d);
        TempDir(d)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child process (its own process group when `group`), killed on drop.
struct Proc {
    child: Child,
    group: bool,
}

impl Proc {
    fn target(&self) -> String {
        if self.group {
            format!("-{}", self.child.id())
        } else {
            self.child.id().to_string()
        }
    }

    fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .args(["-s", sig, "--", &self.target()])
            .stderr(Stdio::null())
            .status();
    }

    /// Sends `sig`, waits up to `grace` for the exit, then kills.
    fn stop(&mut self, sig: &str, grace: Duration) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.signal(sig);
            let end = Instant::now() + grace;
            while Instant::now() < end {
                if !matches!(self.child.try_wait(), Ok(None)) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            self.signal("KILL");
        }
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop("KILL", Duration::from_millis(500));
    }
}

fn ns_cmd(lab: &Lab, ns: &str) -> Result<Command, String> {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", lab.ns(ns).map_err(|e| e.to_string())?]);
    Ok(c)
}

/// `ip netns exec NS setsid ...`: the program runs in a session of its own (its own
/// autogroup, see `prioritize`). `ip netns exec` and `setsid` exec (the child is not a
/// process group leader, so `setsid` does not fork): the child's pid is the program's,
/// and it leads its own process group.
fn ns_cmd_own_session(lab: &Lab, ns: &str) -> Result<Command, String> {
    let mut c = ns_cmd(lab, ns)?;
    c.arg("setsid");
    Ok(c)
}

/// Gives `pid`'s autogroup nice -10 once `pid` leads its own session (started by
/// [`ns_cmd_own_session`]); false if it did not get there within a second or the kernel
/// refused. With autogroup scheduling, CPU time is shared between sessions first, so a
/// process's own nice cannot lift it above another session's compiler.
fn prioritize(pid: u32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // After the ")" of the command name: state ppid pgrp session.
        let sid = stat
            .rsplit_once(')')
            .and_then(|(_, r)| r.split_whitespace().nth(3))
            .and_then(|x| x.parse::<u32>().ok());
        if sid == Some(pid) {
            break;
        }
        if sid.is_none() || Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    std::fs::write(format!("/proc/{pid}/autogroup"), "-10").is_ok()
}

/// Spawns `cmd` (from [`ns_cmd_own_session`]) and prioritizes it.
fn spawn_prioritized(cmd: &mut Command, what: &str) -> Result<Child, String> {
    let child = cmd.spawn().map_err(|e| format!("starting {what}: {e}"))?;
    if !prioritize(child.id()) {
        println!("veth_forward: note: could not give {what} its own autogroup at nice -10");
    }
    Ok(child)
}

fn run_in(lab: &Lab, ns: &str, args: &[&str]) -> Result<String, String> {
    let out = ns_cmd(lab, ns)?
        .args(args)
        .output()
        .map_err(|e| format!("{args:?}: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!(
            "{args:?} failed: {}{}",
            text,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// [`run_in`] in a session of its own at autogroup nice -10 (see `prioritize`).
fn run_prioritized(lab: &Lab, ns: &str, args: &[&str]) -> Result<String, String> {
    let mut cmd = ns_cmd_own_session(lab, ns)?;
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    let out = spawn_prioritized(&mut cmd, args.first().copied().unwrap_or("?"))?
        .wait_with_output()
        .map_err(|e| format!("{args:?}: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!(
            "{args:?} failed: {}{}",
            text,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn link_json(lab: &Lab, ns: &str, dev: &str) -> Result<Value, String> {
    let out = lab
        .ip(ns, &["-j", "-s", "link", "show", "dev", dev])
        .map_err(|e| e.to_string())?;
    let v: Value = serde_json::from_str(&out).map_err(|e| format!("ip -j: {e}"))?;
    Ok(v[0].clone())
}

fn counter(lab: &Lab, ns: &str, dev: &str, dir: &str) -> Result<u64, String> {
    stat(lab, ns, dev, dir, "packets")
}

fn stat(lab: &Lab, ns: &str, dev: &str, dir: &str, key: &str) -> Result<u64, String> {
    link_json(lab, ns, dev)?["stats64"][dir][key]
        .as_u64()
        .ok_or_else(|| format!("no {dir} {key} for {ns}/{dev}"))
}

/// (busy, total) jiffies of all CPUs, from /proc/stat.
fn cpu_jiffies() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let f: Vec<u64> = s
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let get = |i: usize| f.get(i).copied().unwrap_or(0);
    // user nice system idle iowait irq softirq steal
    let busy = get(0) + get(1) + get(2) + get(5) + get(6) + get(7);
    (busy, busy + get(3) + get(4))
}

/// Per-CPU jiffies from /proc/stat: user nice system idle iowait irq softirq steal.
fn per_cpu_jiffies() -> Vec<Vec<u64>> {
    std::fs::read_to_string("/proc/stat")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("cpu") && !l.starts_with("cpu "))
        .map(|l| {
            l.split_whitespace()
                .skip(1)
                .take(8)
                .filter_map(|x| x.parse().ok())
                .collect()
        })
        .collect()
}

/// `cpuN user+nice a% system b% irq+softirq c% idle d%` between two per-CPU samples.
fn cpu_split(a: &[Vec<u64>], b: &[Vec<u64>]) -> String {
    let mut out = String::new();
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let d = |k: usize| {
            y.get(k).copied().unwrap_or(0) as f64 - x.get(k).copied().unwrap_or(0) as f64
        };
        let total: f64 = (0..8).map(d).sum::<f64>().max(1.0);
        let pct = |v: f64| v / total * 100.0;
        let _ = write!(
            out,
            "{}cpu{i} usr {:.0}% sys {:.0}% irq+softirq {:.0}% idle {:.0}%",
            if i > 0 { ", " } else { "" },
            pct(d(0) + d(1)),
            pct(d(2)),
            pct(d(5) + d(6)),
            pct(d(3) + d(4))
        );
    }
    out
}

/// (utime, stime) of a process, in jiffies.
fn proc_jiffies(pid: u32) -> (u64, u64) {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the ")" of the command name: state is field 3; utime 14, stime 15.
    let rest = s.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let n = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
    (n(11), n(12))
}

/// A running uplane in the router namespace.
struct Uplane {
    proc: Proc,
    socket: PathBuf,
    ctl: PathBuf,
    log: PathBuf,
}

impl Uplane {
    fn start(
        lab: &Lab,
        dir: &Path,
        bins: &(PathBuf, PathBuf),
        driver: &str,
    ) -> Result<Self, String> {
        let socket = dir.join(format!("cli-{driver}.sock"));
        let _ = std::fs::remove_file(&socket);
        let cfg = dir.join(format!("uplane-{driver}.toml"));
        let log = dir.join(format!("uplane-{driver}.log"));
        // `UPLANE_BENCH_XDP_RX_RING=N`: lan's AF_XDP rx ring (fill ring twice that).
        let rings = match std::env::var("UPLANE_BENCH_XDP_RX_RING") {
            Ok(n) if driver == "af_xdp" => format!("rx-ring-size = {n}\n"),
            _ => String::new(),
        };
        std::fs::write(
            &cfg,
            format!(
                "[cli]\nsocket = \"{}\"\n[metrics]\nenable = false\n\
                 [[interface]]\nname = \"lan\"\ndriver = \"{driver}\"\nhost-if = \"lan\"\naddress = [\"10.1.0.1/24\"]\n{rings}\
                 [[interface]]\nname = \"wan\"\ndriver = \"{driver}\"\nhost-if = \"wan\"\naddress = [\"10.2.0.1/24\"]\n",
                socket.display()
            ),
        )
        .map_err(|e| e.to_string())?;
        let logf = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut cmd = ns_cmd_own_session(lab, "router")?;
        // `ip netns exec`, `setsid`, `nice` and `taskset` exec, so the child's pid is uplane's. Nice
        // -10: a data plane owns its core, and the kernel's forwarding runs in softirq, which
        // no task (another session's compiler, say) preempts; at nice 0 uplane would get a
        // fair share of its core with whatever else runs there.
        cmd.args([
            "nice",
            "-n",
            "-10",
            "taskset",
            "-c",
            &(cpus - 1).to_string(),
        ])
        .arg(&bins.0)
        .arg("-c")
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(logf);
        let child = spawn_prioritized(&mut cmd, "uplane")?;
        let mut u = Uplane {
            proc: Proc {
                child,
                group: false,
            },
            socket,
            ctl: bins.1.clone(),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !u.socket.exists() && Instant::now() < deadline {
            if !matches!(u.proc.child.try_wait(), Ok(None)) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if !u.socket.exists() {
            return Err(format!(
                "uplane did not open its CLI socket; log:\n{}",
                u.log()
            ));
        }
        Ok(u)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn ctl(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new(&self.ctl)
            .arg("-s")
            .arg(&self.socket)
            .args(args)
            .output()
            .map_err(|e| e.to_string())?;
        let s = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(s)
        } else {
            Err(format!(
                "uplanectl {args:?}: {s}{}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    fn ctl_json(&self, args: &[&str]) -> Result<Value, String> {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        serde_json::from_str(&self.ctl(&a)?).map_err(|e| e.to_string())
    }

    /// (lan rx, wan tx, drops of both) from `show interfaces`.
    fn counters(&self) -> Result<(u64, u64, u64), String> {
        let v = self.ctl_json(&["show", "interfaces"])?;
        let rows = v.as_array().ok_or("show interfaces: not an array")?;
        let get = |name: &str, k: &str| {
            rows.iter()
                .find(|r| r["name"] == name)
                .and_then(|r| r[k].as_u64())
                .unwrap_or(0)
        };
        Ok((
            get("lan", "rx_packets"),
            get("wan", "tx_packets"),
            get("lan", "drops") + get("wan", "drops"),
        ))
    }

    /// Frames lan's XDP program redirected to uplane's socket (`show xdp`), if it runs one.
    fn lan_redirects(&self) -> Option<u64> {
        let v = self.ctl_json(&["show", "xdp"]).ok()?;
        let c = v.as_array()?.iter().find(|r| r["interface"] == "lan")?["counters"]
            .as_str()?
            .to_string();
        let rest = c.split_once("redirect: ")?.1;
        rest.split(|ch: char| !ch.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    }

    /// True when every port runs AF_XDP (else uplane fell back to AF_PACKET).
    fn all_af_xdp(&self) -> Result<bool, String> {
        let v = self.ctl_json(&["show", "hardware-interfaces"])?;
        let rows = v
            .as_array()
            .ok_or("show hardware-interfaces: not an array")?;
        Ok(!rows.is_empty()
            && rows
                .iter()
                .all(|r| r["description"].as_str().unwrap_or("").contains("AF_XDP")))
    }

    fn stop(mut self, lab: &Lab) {
        self.proc.stop("TERM", Duration::from_secs(3));
        detach_leftover_xdp(lab);
    }
}

/// A program left attached on lan or wan (a crash) would swallow the next path's packets.
fn detach_leftover_xdp(lab: &Lab) {
    for dev in ["lan", "wan"] {
        let attached = link_json(lab, "router", dev)
            .map(|v| v.get("xdp").is_some())
            .unwrap_or(false);
        if attached {
            println!("veth_forward: note: an XDP program stayed on router/{dev}; removing it");
            for mode in ["xdp", "xdpgeneric", "xdpdrv"] {
                let _ = lab.ip("router", &["link", "set", "dev", dev, mode, "off"]);
            }
        }
    }
}

fn kernel_router(lab: &Lab, on: bool) -> Result<(), String> {
    let e = |x: testkit::LabError| x.to_string();
    if on {
        lab.addr("router", "lan", "10.1.0.1/24").map_err(e)?;
        lab.addr("router", "wan", "10.2.0.1/24").map_err(e)?;
        lab.sysctl("router", "net.ipv4.ip_forward", "1")
            .map_err(e)?;
    } else {
        lab.sysctl("router", "net.ipv4.ip_forward", "0")
            .map_err(e)?;
        for dev in ["lan", "wan"] {
            lab.ip("router", &["addr", "flush", "dev", dev])
                .map_err(e)?;
        }
    }
    for h in ["h1", "h2"] {
        lab.ip(h, &["neigh", "flush", "dev", "eth0"]).map_err(e)?;
    }
    Ok(())
}

/// `dpdk-testpmd` in io mode between lan and wan (`net_af_xdp` vdevs), main lcore on CPU 0,
/// its forwarding lcore on the last CPU, at nice -10 like uplane; its output goes to
/// `testpmd.log` in `dir`.
fn start_testpmd(lab: &Lab, dir: &Path) -> Result<Proc, String> {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let log = std::fs::File::create(dir.join("testpmd.log")).map_err(|e| e.to_string())?;
    let mut cmd = ns_cmd_own_session(lab, "router")?;
    cmd.args([
        "nice",
        "-n",
        "-10",
        "dpdk-testpmd",
        "--no-huge",
        "-m",
        "512",
        "--no-pci",
    ])
    .args([
        "--file-prefix",
        &format!("uplane-bench-{}", std::process::id()),
    ])
    .arg("-l")
    .arg(format!("0,{}", cpus - 1))
    .args([
        "--vdev",
        "net_af_xdp0,iface=lan,start_queue=0,queue_count=1",
        "--vdev",
        "net_af_xdp1,iface=wan,start_queue=0,queue_count=1",
        "--",
        "--forward-mode=io",
        "--nb-cores=1",
        "--auto-start",
        "--stats-period",
        "1",
        "--total-num-mbufs=16384",
    ])
    .stdin(Stdio::null())
    .stdout(log.try_clone().map_err(|e| e.to_string())?)
    .stderr(log);
    let child = spawn_prioritized(&mut cmd, "dpdk-testpmd")?;
    let p = Proc {
        child,
        group: false,
    };
    // Ready once both ports forward: its log says so.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let text = std::fs::read_to_string(dir.join("testpmd.log")).unwrap_or_default();
        if text.contains("Port statistics") {
            return Ok(p);
        }
        if Instant::now() > deadline {
            return Err(format!(
                "dpdk-testpmd did not start forwarding; log:\n{text}"
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// testpmd's io mode is a wire: h1's gateway is h2's MAC and h2's is h1's (permanent
/// entries; `on = false` removes them).
fn wire_neighbours(lab: &Lab, on: bool) -> Result<(), String> {
    let mac = |ns: &str| -> Result<String, String> {
        Ok(link_json(lab, ns, "eth0")?["address"]
            .as_str()
            .ok_or("no MAC")?
            .to_string())
    };
    let e = |x: testkit::LabError| x.to_string();
    if on {
        let (m1, m2) = (mac("h1")?, mac("h2")?);
        lab.ip(
            "h1",
            &[
                "neigh",
                "replace",
                "10.1.0.1",
                "lladdr",
                &m2,
                "dev",
                "eth0",
                "nud",
                "permanent",
            ],
        )
        .map_err(e)?;
        lab.ip(
            "h2",
            &[
                "neigh",
                "replace",
                "10.2.0.1",
                "lladdr",
                &m1,
                "dev",
                "eth0",
                "nud",
                "permanent",
            ],
        )
        .map_err(e)?;
    } else {
        let _ = lab.ip("h1", &["neigh", "del", "10.1.0.1", "dev", "eth0"]);
        let _ = lab.ip("h2", &["neigh", "del", "10.2.0.1", "dev", "eth0"]);
    }
    Ok(())
}

/// One path in one round: router set up, ARP resolved, trafgen window, iperf3, torn down.
fn measure(
    lab: &Lab,
    dir: &Path,
    bins: &(PathBuf, PathBuf),
    path: Path3,
) -> Result<Measure, String> {
    let mut m = Measure {
        label: path.label().to_string(),
        ..Measure::default()
    };
    if let Path3::Testpmd = path {
        wire_neighbours(lab, true)?;
        let r = start_testpmd(lab, dir).and_then(|mut tp| {
            let pid = tp.child.id();
            let r = measure_running(lab, dir, path, None, Some(pid), &mut m);
            tp.stop("INT", Duration::from_secs(5));
            if r.is_err() {
                println!(
                    "testpmd log:\n{}",
                    std::fs::read_to_string(dir.join("testpmd.log")).unwrap_or_default()
                );
            }
            r
        });
        detach_leftover_xdp(lab);
        wire_neighbours(lab, false)?;
        kernel_router(lab, false)?;
        return r.map(|()| m);
    }
    let uplane = match path {
        Path3::Kernel | Path3::Testpmd => {
            kernel_router(lab, true)?;
            None
        }
        Path3::AfXdp => Some(Uplane::start(lab, dir, bins, "af_xdp")?),
        Path3::AfPacket => Some(Uplane::start(lab, dir, bins, "af_packet")?),
    };
    let pid = uplane.as_ref().map(|u| u.proc.child.id());
    let r = measure_running(lab, dir, path, uplane.as_ref(), pid, &mut m);
    match uplane {
        Some(u) => {
            if r.is_err() {
                println!("uplane log:\n{}", u.log());
            }
            u.stop(lab);
            kernel_router(lab, false)?;
        }
        None => kernel_router(lab, false)?,
    }
    r.map(|()| m)
}

fn measure_running(
    lab: &Lab,
    dir: &Path,
    path: Path3,
    uplane: Option<&Uplane>,
    router_pid: Option<u32>,
    m: &mut Measure,
) -> Result<(), String> {
    // Resolves ARP on both sides (and checks the path works at all).
    run_in(
        lab,
        "h1",
        &["ping", "-c", "3", "-i", "0.2", "-W", "2", "10.2.0.2"],
    )?;
    if let (Path3::AfXdp, Some(u)) = (path, uplane) {
        if !u.all_af_xdp()? {
            m.fell_back = true;
            m.label = "uplane af_xdp (FELL BACK TO AF_PACKET)".into();
            m.path_note = format!("; uplane log: {}", u.log().trim());
        }
    }
    let neigh: Value = serde_json::from_str(
        &lab.ip("h1", &["-j", "neigh", "show", "10.1.0.1", "dev", "eth0"])
            .map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let gw_mac = neigh[0]["lladdr"]
        .as_str()
        .ok_or("h1 has no ARP entry for 10.1.0.1")?
        .to_string();
    let src_mac = link_json(lab, "h1", "eth0")?["address"]
        .as_str()
        .ok_or("h1 eth0 has no MAC")?
        .to_string();
    let cfg = dir.join("trafgen.cfg");
    // 14 + 20 + 8 + 18 = 60 bytes, 64 on the wire with the FCS.
    std::fs::write(
        &cfg,
        format!(
            "{{\n  eth(da={gw_mac}, sa={src_mac}, type=0x0800),\n  \
             ipv4(saddr=10.1.0.2, daddr=10.2.0.2, ttl=64, proto=17),\n  \
             udp(sport=9, dport=9),\n  fill(0x00, 18)\n}}\n"
        ),
    )
    .map_err(|e| e.to_string())?;

    if let Some(u) = uplane {
        u.ctl(&["clear", "runtime"])?;
    }
    // Its own session, so its own process group too (stopped as a group).
    let mut cmd = ns_cmd_own_session(lab, "h1")?;
    cmd.args(["trafgen", "-o", "eth0", "-c"])
        .arg(&cfg)
        .args(["-P", "1", "--no-sock-mem", "-Q"]);
    if threaded_napi_wanted() {
        // With lan's receive on another CPU its ring fills and veth stops h1's queue:
        // trafgen's TX_RING flush then fails (EAGAIN) and trafgen exits. One sendto per
        // frame through the qdisc (`-t 0 -q`) waits instead.
        cmd.args(["-t", "0", "-q"]);
    }
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let mut gen = Proc {
        child: spawn_prioritized(&mut cmd, "trafgen")?,
        group: true,
    };
    std::thread::sleep(WARMUP);
    let sample = || -> Result<_, String> {
        Ok((
            Instant::now(),
            counter(lab, "h1", "eth0", "tx")?,
            counter(lab, "h2", "eth0", "rx")?,
            cpu_jiffies(),
            router_pid.map(proc_jiffies),
            uplane.map(Uplane::counters).transpose()?,
            uplane.and_then(Uplane::lan_redirects),
            per_cpu_jiffies(),
            stat(lab, "h1", "eth0", "tx", "dropped")?,
        ))
    };
    let a = sample()?;
    std::thread::sleep(WINDOW);
    let b = sample()?;
    gen.stop("INT", Duration::from_secs(2));
    if !matches!(gen.child.try_wait(), Ok(Some(_))) {
        return Err("trafgen did not stop".into());
    }
    let secs = (b.0 - a.0).as_secs_f64();
    m.offered_mpps = (b.1 - a.1) as f64 / secs / 1e6;
    m.h1_dropped_mpps = (b.8 - a.8) as f64 / secs / 1e6;
    m.mpps = (b.2 - a.2) as f64 / secs / 1e6;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let (busy, total) = ((b.3 .0 - a.3 .0) as f64, (b.3 .1 - a.3 .1) as f64);
    m.cpu_split = cpu_split(&a.7, &b.7);
    m.busy_cpus = if total > 0.0 {
        busy / total * cpus
    } else {
        0.0
    };

    let ticks = 100.0; // USER_HZ
    let ((u0, s0), (u1, s1)) = (a.4.unwrap_or_default(), b.4.unwrap_or_default());
    let up_cpu = ((u1 + s1) - (u0 + s0)) as f64 / ticks / secs;
    if router_pid.is_some() {
        m.router_cpus = Some(up_cpu);
        m.router_kernel_share = Some((s1 - s0) as f64 / ((u1 + s1) - (u0 + s0)).max(1) as f64);
    }
    if let Some(u) = uplane {
        let ((rx0, tx0, d0), (rx1, tx1, d1)) = (a.5.unwrap_or_default(), b.5.unwrap_or_default());
        let mut note = String::new();
        let _ = write!(
            note,
            "uplane process {:.2} CPUs; lan rx {:.3} Mpps, wan tx {:.3} Mpps, drops {:.3} Mpps \
             (h1 offered {:.3} Mpps, h2 received {:.3} Mpps)",
            up_cpu,
            (rx1 - rx0) as f64 / secs / 1e6,
            (tx1 - tx0) as f64 / secs / 1e6,
            (d1 - d0) as f64 / secs / 1e6,
            m.offered_mpps,
            m.mpps
        );
        if let (Some(r0), Some(r1)) = (a.6, b.6) {
            let lost = (r1 - r0).saturating_sub(rx1 - rx0);
            m.lost_at_socket_mpps = Some(lost as f64 / secs / 1e6);
            let _ = write!(
                note,
                "; XDP redirected {:.3} Mpps to the socket, {:.3} Mpps of them never reached \
                 uplane's rx (dropped by the kernel at the socket: rx ring full or fill ring \
                 empty, XDP_STATISTICS say which)",
                (r1 - r0) as f64 / secs / 1e6,
                lost as f64 / secs / 1e6
            );
        }
        m.uplane_note = note;
        if matches!(path, Path3::AfXdp) {
            m.runtime = u.ctl(&["show", "runtime"])?;
        }
        m.hw = u.ctl(&["show", "hardware-interfaces"])?;
        m.errors = u.ctl(&["show", "errors"])?;
        if matches!(path, Path3::AfXdp) {
            m.errors += &u.ctl(&["show", "xdp"])?;
        }
    }

    m.gbps = iperf3(lab)?;
    Ok(())
}

/// Gbit/s received by h2 in a 5-second iperf3 TCP transfer from h1.
fn iperf3(lab: &Lab) -> Result<f64, String> {
    let mut cmd = ns_cmd_own_session(lab, "h2")?;
    cmd.args(["iperf3", "-s", "-1", "-B", "10.2.0.2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _server = Proc {
        child: spawn_prioritized(&mut cmd, "iperf3 -s")?,
        group: false,
    };
    let mut out = Err(String::new());
    // The server needs a moment to listen; retry the connection a few times.
    for _ in 0..10 {
        std::thread::sleep(Duration::from_millis(200));
        out = run_prioritized(
            lab,
            "h1",
            &[
                "iperf3",
                "-c",
                "10.2.0.2",
                "-t",
                IPERF_SECS,
                "-J",
                "--connect-timeout",
                "2000",
            ],
        );
        if out.is_ok() {
            break;
        }
    }
    let v: Value = serde_json::from_str(&out?).map_err(|e| format!("iperf3 -J: {e}"))?;
    v["end"]["sum_received"]["bits_per_second"]
        .as_f64()
        .map(|b| b / 1e9)
        .ok_or_else(|| "iperf3: no sum_received".to_string())
}
