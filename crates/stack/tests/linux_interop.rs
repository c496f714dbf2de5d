//! Interop with the Linux kernel (needs root): uplane's stack on a TAP in a namespace,
//! the kernel on the other side of it. `curl` fetches from the http example's server;
//! `socat` round-trips 10 MB through the echo server (sha256 on both ends); our client
//! reaches a kernel server; with loss, reordering and duplication (see the last test) a
//! transfer still completes. Namespaces and the TAP go away even on failure.

#[path = "../examples/common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::Duration;

use stack::iface::{Interface, InterfaceConfig};
use stack::net::{Net, NetConfig, TcpListener, TcpStream};
use stack::socket::Stack;
use testkit::Lab;

const KERNEL: &str = "10.77.0.1";
const OURS: &str = "10.77.0.2";

/// Field order matters: the stack (and its TAP) goes before the namespace.
struct Host {
    net: Net,
    lab: Lab,
    tmp: std::path::PathBuf,
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.tmp);
    }
}

fn host(name: &str) -> Option<Host> {
    host_with(name, false)
}

/// Frames received in a different order: every eighth frame is held back and delivered
/// after the two that follow it (a reordering link).
struct ReorderPhy {
    inner: common::DevicePhy,
    held: Option<Vec<u8>>,
    behind: u8,
    count: u64,
    ready: std::collections::VecDeque<Vec<u8>>,
}

impl stack::net::Phy for ReorderPhy {
    fn recv(&mut self, buf: &mut [u8]) -> Option<usize> {
        if let Some(f) = self.ready.pop_front() {
            buf[..f.len()].copy_from_slice(&f);
            return Some(f.len());
        }
        let n = match self.inner.recv(buf) {
            Some(n) => n,
            None => {
                // Idle: let the held frame go rather than hold it forever.
                let f = self.held.take()?;
                buf[..f.len()].copy_from_slice(&f);
                return Some(f.len());
            }
        };
        self.count += 1;
        if self.held.is_none() && self.count.is_multiple_of(8) {
            self.held = Some(buf[..n].to_vec());
            self.behind = 0;
            return self.recv(buf);
        }
        if self.held.is_some() {
            self.behind += 1;
            if self.behind == 2 {
                self.ready.extend(self.held.take());
            }
        }
        Some(n)
    }

    fn send(&mut self, frame: &[u8]) {
        self.inner.send(frame);
    }

    fn flush(&mut self) {
        self.inner.flush();
    }
}

fn host_with(name: &str, reorder: bool) -> Option<Host> {
    if !testkit::is_root() {
        eprintln!("skipped: needs root (network namespaces, TAP)");
        return None;
    }
    let mut lab = Lab::new();
    lab.netns("h").expect("netns");
    let tap = lab
        .in_netns("h", || io::tap::Tap::create("up0"))
        .expect("enter netns")
        .expect("create TAP");
    lab.addr("h", "up0", &format!("{KERNEL}/24")).expect("addr");
    let mut c = InterfaceConfig::new([0x02, 0x75, 0x70, 0x6c, 0x6e, 0x02]);
    c.ipv4 = Some((OURS.parse().unwrap(), 24));
    c.endpoint.secret = [0x42; 16];
    let phy = common::DevicePhy::new(Box::new(tap));
    let stack = Stack::new(Interface::new(c));
    let net = if reorder {
        let phy = ReorderPhy {
            inner: phy,
            held: None,
            behind: 0,
            count: 0,
            ready: Default::default(),
        };
        Net::spawn(stack, phy, NetConfig::default())
    } else {
        Net::spawn(stack, phy, NetConfig::default())
    };
    let tmp = std::env::temp_dir().join(format!("uplane-stack-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    Some(Host { net, lab, tmp })
}

fn ours(port: u16) -> SocketAddr {
    format!("{OURS}:{port}").parse().unwrap()
}

#[test]
fn curl_fetches_from_the_http_example() {
    let Some(h) = host("curl") else { return };
    let l = TcpListener::bind(&h.net, ours(80)).unwrap();
    std::thread::spawn(move || common::serve_http(l));
    let out = h
        .lab
        .exec(
            "h",
            &["curl", "-sS", "--max-time", "10", "http://10.77.0.2/"],
        )
        .expect("curl /");
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(page.contains("uplane stack"), "page: {page}");
    // A larger body, checked byte for byte.
    let file = h.tmp.join("body");
    let n = 3_000_000;
    h.lab
        .exec(
            "h",
            &[
                "curl",
                "-sS",
                "--max-time",
                "15",
                "-o",
                file.to_str().unwrap(),
                &format!("http://10.77.0.2/bytes/{n}"),
            ],
        )
        .expect("curl /bytes");
    let body = std::fs::read(&file).unwrap();
    assert_eq!(body.len(), n);
    assert!(body
        .iter()
        .enumerate()
        .all(|(i, &b)| b == common::pattern_byte(i)));
}

fn sha256(lab: &Lab, path: &std::path::Path) -> String {
    let out = lab
        .exec("h", &["sha256sum", path.to_str().unwrap()])
        .expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_string()
}

#[test]
fn socat_round_trips_10mb_through_the_echo_server() {
    let Some(h) = host("echo") else { return };
    let l = TcpListener::bind(&h.net, ours(7)).unwrap();
    std::thread::spawn(move || common::serve_echo(l));
    let input = h.tmp.join("in");
    let output = h.tmp.join("out");
    let data: Vec<u8> = (0..10_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&input, &data).unwrap();
    let cmd = format!(
        "socat -t 15 -T 15 - TCP:{OURS}:7 < {} > {}",
        input.display(),
        output.display()
    );
    h.lab
        .exec("h", &["timeout", "20", "sh", "-c", &cmd])
        .expect("socat");
    let (a, b) = (sha256(&h.lab, &input), sha256(&h.lab, &output));
    assert_eq!(a.len(), 64);
    assert_eq!(a, b, "sha256 of what went out and what came back");
}

/// A kernel echo server in the namespace (a std socket created there) on `port`.
fn kernel_echo(lab: &Lab, port: u16) -> std::thread::JoinHandle<()> {
    let l = lab
        .in_netns("h", || std::net::TcpListener::bind((KERNEL, port)))
        .expect("enter netns")
        .expect("kernel listen");
    std::thread::spawn(move || {
        let (mut s, _) = l.accept().expect("kernel accept");
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut buf = vec![0u8; 65536];
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if s.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = s.shutdown(Shutdown::Write);
    })
}

/// Our client sends `len` bytes to the kernel echo server and reads them back (a
/// writer thread would need a second handle; lockstep chunks keep both buffers small).
fn echo_through_kernel(net: &Net, port: u16, len: usize) {
    let mut c = TcpStream::connect(net, format!("{KERNEL}:{port}").parse().unwrap())
        .expect("our client reaches the kernel server");
    c.set_read_timeout(Some(Duration::from_secs(20)));
    let data: Vec<u8> = (0..len).map(|i| (i * 13 + i / 4093) as u8).collect();
    let mut back = Vec::with_capacity(len);
    let mut buf = vec![0u8; 65536];
    for chunk in data.chunks(128 * 1024) {
        c.write_all(chunk).unwrap();
        let want = back.len() + chunk.len();
        while back.len() < want {
            let n = c.read(&mut buf).expect("read the echo");
            assert!(n > 0, "early end of stream at {}", back.len());
            back.extend_from_slice(&buf[..n]);
        }
    }
    c.shutdown(Shutdown::Write).unwrap();
    assert_eq!(c.read(&mut buf).unwrap(), 0);
    assert!(back == data, "bytes identical");
}

#[test]
fn our_client_reaches_a_kernel_server() {
    let Some(h) = host("client") else { return };
    let srv = kernel_echo(&h.lab, 5001);
    echo_through_kernel(&h.net, 5001, 4_000_000);
    srv.join().unwrap();
}

/// The case is `tc qdisc add ... netem loss 2% reorder 25% duplicate 1%` on the
/// kernel side, but this kernel cannot run it: it is built without `CONFIG_NET_SCH_NETEM`
/// and without module support (`CONFIG_MODULES` unset, no `modprobe`), and `tc` answers
/// "Specified qdisc kind is unknown". So the kernel side's loss (2%) and duplication (2%)
/// are an nftables egress chain on the TAP (`numgen random`, `dup to`), and reordering is
/// done on our receive side ([`ReorderPhy`]: one frame in eight held back behind the next
/// two).
#[test]
fn transfer_completes_through_loss_reorder_duplication() {
    let Some(h) = host_with("lossy", true) else {
        return;
    };
    let rules = "table netdev lossy {
        chain egress {
            type filter hook egress device \"up0\" priority 0; policy accept;
            numgen random mod 50 == 0 counter drop
            numgen random mod 50 == 0 counter dup to \"up0\"
        }
    }";
    h.lab
        .exec("h", &["nft", rules])
        .expect("nft egress loss/dup chain");
    let srv = kernel_echo(&h.lab, 5002);
    echo_through_kernel(&h.net, 5002, 2_000_000);
    srv.join().unwrap();
    // And the other way round: the kernel client downloads from us through the same qdisc.
    let l = TcpListener::bind(&h.net, ours(80)).unwrap();
    std::thread::spawn(move || common::serve_http(l));
    let file = h.tmp.join("lossy-body");
    let n = 2_000_000;
    h.lab
        .exec(
            "h",
            &[
                "curl",
                "-sS",
                "--max-time",
                "20",
                "-o",
                file.to_str().unwrap(),
                &format!("http://10.77.0.2/bytes/{n}"),
            ],
        )
        .expect("curl through the lossy link");
    let body = std::fs::read(&file).unwrap();
    assert_eq!(body.len(), n);
    assert!(body
        .iter()
        .enumerate()
        .all(|(i, &b)| b == common::pattern_byte(i)));
    // The link really was lossy: both rules fired.
    let list = h
        .lab
        .exec("h", &["nft", "list", "table", "netdev", "lossy"])
        .unwrap();
    let text = String::from_utf8_lossy(&list.stdout);
    let counts: Vec<u64> = text
        .split("packets ")
        .skip(1)
        .filter_map(|t| t.split_whitespace().next()?.parse().ok())
        .collect();
    assert_eq!(counts.len(), 2, "{text}");
    assert!(
        counts.iter().all(|&c| c > 0),
        "drops and duplicates happened: {text}"
    );
}

/// Over AF_PACKET on a veth pair (frames built straight into the tx ring, the driver
/// thread kicking outside the stack's lock): 24 MiB in 1 MiB writes, enough to fill the
/// 512-frame ring over and over, reach a kernel reader byte for byte; then the echo the
/// other way. The kernel end has offloads off (we do not segment GSO frames).
#[test]
fn bulk_to_a_kernel_reader_over_af_packet() {
    if !testkit::is_root() {
        eprintln!("skipped: needs root (network namespaces, AF_PACKET)");
        return;
    }
    let mut lab = Lab::new();
    lab.veth_to_kernel("u", "u0", "h", "k0", &format!("{KERNEL}/24"))
        .expect("lab");
    let dev = lab
        .in_netns("u", || {
            io::af_packet::AfPacket::open(&io::af_packet::AfPacketConfig::new("u0"))
        })
        .expect("enter netns")
        .expect("AF_PACKET on u0");
    let mac = [0x02, 0x75, 0x70, 0x6c, 0x6e, 0x03];
    let net = common::spawn_net(Box::new(dev), mac, OURS.parse().unwrap(), 4 << 20);
    const LEN: usize = 24 << 20;
    let byte = |i: usize| (i * 31 + i / 1021) as u8;
    let l = lab
        .in_netns("h", || std::net::TcpListener::bind((KERNEL, 5003)))
        .expect("enter netns")
        .expect("kernel listen");
    let reader = std::thread::spawn(move || {
        let (mut s, _) = l.accept().expect("kernel accept");
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let (mut n, mut same) = (0usize, true);
        let mut buf = vec![0u8; 1 << 16];
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(k) => {
                    same &= buf[..k].iter().enumerate().all(|(j, &b)| b == byte(n + j));
                    n += k;
                }
            }
        }
        (n, same)
    });
    let mut s = TcpStream::connect(&net, format!("{KERNEL}:5003").parse().unwrap())
        .expect("connect over AF_PACKET");
    let data: Vec<u8> = (0..LEN).map(byte).collect();
    for chunk in data.chunks(1 << 20) {
        s.write_all(chunk).expect("write");
    }
    s.shutdown(Shutdown::Write).unwrap();
    let (n, same) = reader.join().unwrap();
    assert_eq!(n, LEN, "every byte arrived");
    assert!(same, "bytes identical");
    let srv = kernel_echo(&lab, 5004);
    echo_through_kernel(&net, 5004, 2_000_000);
    srv.join().unwrap();
    drop(s);
    drop(net);
}
