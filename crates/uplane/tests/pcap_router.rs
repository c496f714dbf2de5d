//! uplane routing a capture: `driver = "pcap"` interfaces, no root and no network.
//!
//! ```text
//!   zeek_wikipedia.pcap ─rx─▶ in [uplane] out ─tx─▶ out.pcap   (0.0.0.0/0 via 10.254.0.2)
//! ```
//! The capture (a browser on 141.142.220.0/24 talking to Wikipedia) comes out of `out` as
//! a pcap that tcpdump reads, every IPv4 packet with its TTL one lower and a valid header
//! checksum; `pcap trace` through uplanectl writes a file tcpdump reads.

use etherparse::Ipv4HeaderSlice;
use io::pcap::PcapReader;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const NEIGHBOR_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x99];
const OUT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];

struct Router {
    child: Option<Child>,
    socket: PathBuf,
    dir: PathBuf,
}

impl Router {
    /// SIGTERM, as an operator stops it, and wait: the tx file is flushed and closed.
    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(st)) = c.try_wait() {
                    assert!(st.success(), "uplane exited with {st}");
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
            panic!("uplane did not stop on SIGTERM");
        }
    }
}

impl Drop for Router {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if std::env::var_os("UPLANE_KEEP_TEST_DIR").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn capture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/zeek_wikipedia.pcap")
}

fn start(tag: &str, in_extra: &str) -> Router {
    let dir = std::env::temp_dir().join(format!("uplane-pcap-test-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let socket = dir.join("cli.sock");
    let cfg = dir.join("uplane.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"[cli]
socket = "{socket}"
[metrics]
enable = false
[buffers]
count = 4096
[[interface]]
name = "in"
driver = "pcap"
rx-file = "{rx}"
address = ["10.255.0.1/24"]
{in_extra}
[[interface]]
name = "out"
driver = "pcap"
tx-file = "{tx}"
mac = "02:00:00:00:00:02"
address = ["10.254.0.1/24"]
[[neighbor]]
interface = "out"
ip = "10.254.0.2"
mac = "02:00:00:00:00:99"
[[route]]
prefix = "0.0.0.0/0"
via = "10.254.0.2"
"#,
            socket = socket.display(),
            rx = capture().display(),
            tx = dir.join("out.pcap").display(),
        ),
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_uplane"))
        .arg("-c")
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !socket.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(socket.exists(), "uplane did not open its CLI socket");
    Router {
        child: Some(child),
        socket,
        dir,
    }
}

fn ctl(r: &Router, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_uplanectl"))
        .arg("-s")
        .arg(&r.socket)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// (rx_packets, tx_packets) of interface `name`.
fn counters(r: &Router, name: &str) -> (u64, u64) {
    let (ok, out) = ctl(r, &["--json", "show", "interfaces"]);
    assert!(ok, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let i = v
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {out}"));
    (
        i["rx_packets"].as_u64().unwrap(),
        i["tx_packets"].as_u64().unwrap(),
    )
}

fn frames(path: &Path) -> Vec<Vec<u8>> {
    let mut r = PcapReader::open(path).unwrap();
    let mut out = Vec::new();
    while let Some(rec) = r.next_record().unwrap() {
        out.push(rec.data.to_vec());
    }
    out
}

/// Whole records in a file that may still be being written (0 if it does not exist yet).
fn records_so_far(path: &Path) -> usize {
    let Ok(mut r) = PcapReader::open(path) else {
        return 0;
    };
    let mut n = 0;
    while let Ok(Some(_)) = r.next_record() {
        n += 1;
    }
    n
}

/// `tcpdump -r` succeeds and prints one line per packet; `None` (and a printed reason)
/// when tcpdump is not installed.
fn tcpdump_count(path: &Path) -> Option<usize> {
    let out = match Command::new("tcpdump").arg("-nr").arg(path).output() {
        Ok(o) => o,
        Err(e) => {
            println!("SKIPPED tcpdump check: tcpdump is not installed ({e})");
            return None;
        }
    };
    assert!(
        out.status.success(),
        "tcpdump -r {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    // One line per packet; some decoders add indented continuation lines.
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.starts_with(char::is_whitespace))
            .count(),
    )
}

/// The IPv4 header of an Ethernet frame, if it carries one (no VLAN in this capture).
fn ip4(frame: &[u8]) -> Option<Ipv4HeaderSlice<'_>> {
    if frame.get(12..14)? != [0x08, 0x00] {
        return None;
    }
    Ipv4HeaderSlice::from_slice(frame.get(14..)?).ok()
}

#[test]
fn a_capture_replayed_through_the_router_comes_out_with_ttls_decremented() {
    let mut r = start("route", "");
    let input = frames(&capture());
    // Wait until the whole capture went in and the output stopped growing.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = (u64::MAX, u64::MAX);
    loop {
        let now = (counters(&r, "in").0, counters(&r, "out").1);
        if now.0 == input.len() as u64 && now == last {
            break;
        }
        assert!(Instant::now() < deadline, "replay stalled at {now:?}");
        last = now;
        std::thread::sleep(Duration::from_millis(200));
    }
    let (ok, fib) = ctl(&r, &["show", "ip", "fib"]);
    assert!(ok, "{fib}");
    r.stop();

    let out_path = r.dir.join("out.pcap");
    let output = frames(&out_path);
    assert!(!output.is_empty(), "nothing was routed\n{fib}");
    if let Some(n) = tcpdump_count(&out_path) {
        assert_eq!(n, output.len(), "tcpdump -r counts every packet");
    }

    // Every packet out is an input IPv4 packet with its TTL one lower, a valid header
    // checksum, and the neighbour's and our MACs.
    let key = |h: &Ipv4HeaderSlice<'_>| {
        (
            h.source(),
            h.destination(),
            h.identification(),
            h.protocol(),
            h.total_len(),
        )
    };
    let mut unmatched: Vec<(usize, Vec<u8>)> = input
        .iter()
        .enumerate()
        .filter(|(_, f)| ip4(f).is_some())
        .map(|(i, f)| (i, f.clone()))
        .collect();
    for (k, f) in output.iter().enumerate() {
        if f.get(12..14) == Some(&[0x08, 0x06]) {
            // uplane's own gratuitous ARP when `out` comes up.
            assert_eq!(&f[6..12], &OUT_MAC, "packet {k}: ARP from us");
            continue;
        }
        assert_eq!(&f[0..6], &NEIGHBOR_MAC, "packet {k}: destination MAC");
        assert_eq!(&f[6..12], &OUT_MAC, "packet {k}: source MAC");
        let h = ip4(f).unwrap_or_else(|| panic!("packet {k} out is not IPv4"));
        let want = h.to_header().calc_header_checksum();
        assert_eq!(
            h.header_checksum(),
            want,
            "packet {k}: IPv4 header checksum"
        );
        let pos = unmatched
            .iter()
            .position(|(_, i)| {
                let ih = ip4(i).unwrap();
                key(&ih) == key(&h) && i[14 + ih.slice().len()..] == f[14 + h.slice().len()..]
            })
            .unwrap_or_else(|| panic!("packet {k} out matches no input packet"));
        let (_, i) = unmatched.remove(pos);
        let ih = ip4(&i).unwrap();
        assert_eq!(h.ttl() + 1, ih.ttl(), "packet {k}: TTL decremented by one");
    }
    // Every unicast TCP packet of the capture was routed.
    let tcp_in = input
        .iter()
        .filter(|f| {
            f[0] & 1 == 0 && ip4(f).is_some_and(|h| h.protocol() == etherparse::IpNumber::TCP)
        })
        .count();
    let tcp_out = output
        .iter()
        .filter(|f| ip4(f).is_some_and(|h| h.protocol() == etherparse::IpNumber::TCP))
        .count();
    assert!(tcp_in > 50, "{tcp_in}");
    assert_eq!(tcp_out, tcp_in, "every TCP packet routed");
}

#[test]
fn pcap_trace_through_uplanectl_writes_a_file_tcpdump_reads() {
    let r = start("trace", "timing = \"capture\"\nrx-loop = true");
    let file = r.dir.join("trace.pcap");
    let f = file.to_str().unwrap();
    let (ok, out) = ctl(&r, &["pcap", "trace", "rx", "tx", "max", "10", "file", f]);
    assert!(ok && out.contains("10"), "{out}");
    let (ok, out) = ctl(&r, &["pcap", "trace", "drop"]);
    assert!(
        !ok && out.contains("already running"),
        "one at a time: {out}"
    );
    // The capture sends ~21 packets a second; 10 records come within seconds.
    let deadline = Instant::now() + Duration::from_secs(20);
    while records_so_far(&file) < 10 {
        assert!(
            Instant::now() < deadline,
            "pcap trace wrote {} packets",
            records_so_far(&file)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (ok, out) = ctl(&r, &["pcap", "trace", "off"]);
    assert!(ok && out.contains("10 packets written"), "{out}");
    assert_eq!(frames(&file).len(), 10);
    if let Some(n) = tcpdump_count(&file) {
        assert_eq!(n, 10);
    }
    let (ok, out) = ctl(&r, &["pcap", "trace", "off"]);
    assert!(!ok && out.contains("no pcap trace"), "{out}");
    // drop: packets error-drop sees (the capture's STP, and IPv6 to nobody).
    let drops = r.dir.join("drops.pcap");
    let (ok, out) = ctl(
        &r,
        &[
            "pcap",
            "trace",
            "drop",
            "max",
            "3",
            "file",
            drops.to_str().unwrap(),
        ],
    );
    assert!(ok, "{out}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while records_so_far(&drops) < 3 {
        assert!(
            Instant::now() < deadline,
            "pcap trace drop wrote {}",
            records_so_far(&drops)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (ok, out) = ctl(&r, &["pcap", "trace", "off"]);
    assert!(ok && out.contains("3 packets written"), "{out}");
    if let Some(n) = tcpdump_count(&drops) {
        assert_eq!(n, 3);
    }
}
