//! Shared pieces of the device tests: a tiny ARP + ICMP echo responder built with `wire`,
//! and a loop that serves a device until a condition holds.

#![allow(dead_code)]

use buf::{BufferCache, BufferPool, Frame, PoolConfig};
use io::device::Device;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wire::arp::{ArpPacket, ArpRepr, Operation};
use wire::ethernet::{EthernetAddress, EthernetFrame, EthernetRepr};
use wire::icmpv4::{Icmpv4Packet, Icmpv4Repr};
use wire::ipv4::{Ipv4Options, Ipv4Packet, Ipv4Repr};
use wire::{EtherType, IpProtocol};

/// A pool and a cache for one test.
pub fn pool(n: u32) -> (Arc<BufferPool>, BufferCache) {
    let pool = BufferPool::new(&PoolConfig::new(n)).unwrap();
    let cache = BufferCache::new(pool.clone());
    (pool, cache)
}

/// Answers ARP requests for `ip` and ICMP echo requests to `ip` as `mac`.
#[derive(Debug)]
pub struct Responder {
    pub mac: [u8; 6],
    pub ip: Ipv4Addr,
    pub arp_replies: u64,
    pub echo_replies: u64,
}

impl Responder {
    /// A responder for `ip` at `mac`.
    pub fn new(mac: [u8; 6], ip: &str) -> Responder {
        Responder {
            mac,
            ip: ip.parse().unwrap(),
            arp_replies: 0,
            echo_replies: 0,
        }
    }

    /// Writes the reply to `req` into `out` and returns its length, or `None`.
    pub fn reply(&mut self, req: &[u8], out: &mut [u8]) -> Option<usize> {
        let eth = EthernetFrame::new_checked(req).ok()?;
        let er = EthernetRepr::parse(&eth).ok()?;
        match er.ethertype {
            EtherType::Arp => {
                let arp = ArpRepr::parse(&ArpPacket::new_checked(eth.payload()).ok()?).ok()?;
                if arp.operation != Operation::Request || arp.target_protocol_addr != self.ip {
                    return None;
                }
                let reply = ArpRepr {
                    operation: Operation::Reply,
                    source_hardware_addr: EthernetAddress(self.mac),
                    source_protocol_addr: self.ip,
                    target_hardware_addr: arp.source_hardware_addr,
                    target_protocol_addr: arp.source_protocol_addr,
                };
                let len = 14 + reply.buffer_len();
                let mut f = EthernetFrame::new_unchecked(&mut out[..len]);
                EthernetRepr {
                    src_addr: EthernetAddress(self.mac),
                    dst_addr: er.src_addr,
                    ethertype: EtherType::Arp,
                }
                .emit(&mut f);
                reply.emit(&mut ArpPacket::new_unchecked(f.payload_mut()));
                self.arp_replies += 1;
                Some(len)
            }
            EtherType::Ipv4 => {
                let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
                let ir = Ipv4Repr::parse(&ip, true).ok()?;
                if ir.dst_addr != self.ip || ir.protocol != IpProtocol::Icmp {
                    return None;
                }
                let icmp = Icmpv4Packet::new_checked(ip.payload()).ok()?;
                let Icmpv4Repr::EchoRequest {
                    ident,
                    seq_no,
                    data,
                } = Icmpv4Repr::parse(&icmp).ok()?
                else {
                    return None;
                };
                let echo = Icmpv4Repr::EchoReply {
                    ident,
                    seq_no,
                    data,
                };
                let ipr = Ipv4Repr {
                    src_addr: self.ip,
                    dst_addr: ir.src_addr,
                    protocol: IpProtocol::Icmp,
                    payload_len: echo.buffer_len() as u16,
                    ttl: 64,
                    dscp: 0,
                    ecn: 0,
                    ident: seq_no,
                    dont_frag: false,
                    more_frags: false,
                    frag_offset: 0,
                    options: Ipv4Options::EMPTY,
                };
                let len = 14 + ipr.buffer_len() + echo.buffer_len();
                let mut f = EthernetFrame::new_unchecked(&mut out[..len]);
                EthernetRepr {
                    src_addr: EthernetAddress(self.mac),
                    dst_addr: er.src_addr,
                    ethertype: EtherType::Ipv4,
                }
                .emit(&mut f);
                let mut ipp = Ipv4Packet::new_unchecked(f.payload_mut());
                ipr.emit(&mut ipp);
                let hl = ipr.buffer_len();
                echo.emit(&mut Icmpv4Packet::new_unchecked(
                    &mut ipp.into_inner()[hl..],
                ));
                self.echo_replies += 1;
                Some(len)
            }
            _ => None,
        }
    }
}

/// Polls `dev` queue 0, answering with `resp`, until `done` returns true or `limit` passes.
/// Every received frame is given to `seen`. Returns true if `done` became true.
pub fn serve(
    dev: &mut dyn Device,
    cache: &mut BufferCache,
    resp: &mut Responder,
    limit: Duration,
    mut seen: impl FnMut(&[u8]),
    mut done: impl FnMut() -> bool,
) -> bool {
    let mut rx = Frame::new();
    let mut tx = Frame::new();
    let mut scratch = [0u8; 2048];
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        let n = dev.rx_burst(0, cache, &mut rx);
        for b in rx.drain() {
            let pool = cache.pool().clone();
            let data = pool.get(&b).data();
            seen(data);
            match resp.reply(data, &mut scratch) {
                Some(len) => {
                    let mut b = b;
                    pool.get_mut(&mut b).copy_from(&scratch[..len]);
                    if let Err(b) = tx.push(b) {
                        cache.free(b);
                    }
                }
                None => cache.free(b),
            }
        }
        // A ring that never drains (frames the kernel does not see) ends at `limit`.
        while !tx.is_empty() && start.elapsed() < limit {
            if dev.tx_burst(0, &mut tx, cache) == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        if n == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    for b in tx.drain() {
        cache.free(b);
    }
    done()
}

/// Starts `args` in namespace `ns` of `lab`, its output captured.
pub fn spawn_in(lab: &testkit::Lab, ns: &str, args: &[&str]) -> std::process::Child {
    std::process::Command::new("ip")
        .args(["netns", "exec", lab.ns(ns).unwrap()])
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("command runs")
}

/// Kills `child` unless it `finished`, then collects it: whether it finished and
/// succeeded, and its stdout and stderr.
fn wait_output(mut child: std::process::Child, finished: bool) -> (bool, String) {
    if !finished {
        let _ = child.kill();
    }
    let out = child.wait_with_output().unwrap();
    (
        finished && out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// [`serve`]s `dev` until `child` exits (at most 15 s, then it is killed); returns whether
/// it succeeded and its stdout and stderr.
pub fn serve_until_exit(
    dev: &mut dyn Device,
    cache: &mut BufferCache,
    resp: &mut Responder,
    mut child: std::process::Child,
    seen: impl FnMut(&[u8]),
) -> (bool, String) {
    let mut status = None;
    let finished = serve(dev, cache, resp, Duration::from_secs(15), seen, || {
        if status.is_none() {
            status = child.try_wait().unwrap();
        }
        status.is_some()
    });
    wait_output(child, finished)
}

/// Dispatches `g` until `child` exits (at most 15 s, then it is killed); returns whether
/// it succeeded and its stdout and stderr.
pub fn dispatch_until_exit(g: &mut graph::Graph, mut child: std::process::Child) -> (bool, String) {
    let t0 = Instant::now();
    let finished = loop {
        g.dispatch(t0.elapsed().as_nanos() as u64);
        if child.try_wait().unwrap().is_some() {
            break true;
        }
        if t0.elapsed() > Duration::from_secs(15) {
            break false;
        }
        std::thread::sleep(Duration::from_micros(200));
    };
    wait_output(child, finished)
}

graph::node_errors! {
    pub enum EchoError {
        NotForUs = "not an ARP / echo request for us",
    }
}

/// `test-echo`: answers ARP / ICMP echo for its address (a [`Responder`]) and sends the
/// reply out of `rx_if` to `output` (its one next node), counting packets that arrived
/// with another `rx_if`.
pub struct Echo {
    pub resp: Responder,
    pub output: &'static [&'static str],
    pub rx_if: u32,
    pub wrong_rx_if: Arc<std::sync::atomic::AtomicU64>,
    pub replies: Arc<std::sync::atomic::AtomicU64>,
    pub scratch: Vec<u8>,
}

impl Echo {
    /// An echo for `ip` at `mac` on interface `rx_if`, replying through `output`.
    pub fn new(mac: [u8; 6], ip: &str, rx_if: u32, output: &'static [&'static str]) -> Echo {
        Echo {
            resp: Responder::new(mac, ip),
            output,
            rx_if,
            wrong_rx_if: Arc::default(),
            replies: Arc::default(),
            scratch: vec![0; 2048],
        }
    }
}

impl graph::Node for Echo {
    fn info(&self) -> graph::NodeInfo {
        graph::NodeInfo {
            name: "test-echo",
            kind: graph::NodeKind::Internal,
            next_nodes: self.output,
            errors: <EchoError as graph::NodeError>::ALL,
        }
    }

    fn process(&mut self, cx: &mut graph::Ctx<'_>, frame: &mut Frame) {
        use std::sync::atomic::Ordering;
        for mut b in frame.drain() {
            if cx.pool().meta(&b).rx_if != self.rx_if {
                self.wrong_rx_if.fetch_add(1, Ordering::Relaxed);
            }
            match self.resp.reply(cx.pool().get(&b).data(), &mut self.scratch) {
                Some(len) => {
                    let mut p = cx.pool().get_mut(&mut b);
                    p.copy_from(&self.scratch[..len]);
                    p.meta_mut().tx_if = self.rx_if;
                    self.replies.fetch_add(1, Ordering::Relaxed);
                    cx.enqueue(graph::Next(0), b);
                }
                None => cx.drop(b, EchoError::NotForUs),
            }
        }
    }
}

/// After a ping answered by [`Echo`] through a graph: every packet arrived on the right
/// interface, the device sent exactly the echo's replies (at least 4 each way: ARP and 3
/// echoes), and `output`'s runtime counted every one of them.
pub fn check_echo_graph(
    g: &graph::Graph,
    echo: (&std::sync::atomic::AtomicU64, &std::sync::atomic::AtomicU64),
    stats: &io::device::DeviceStats,
    output: &str,
) {
    use std::sync::atomic::Ordering;
    let (wrong_rx_if, replies) = echo;
    assert_eq!(
        wrong_rx_if.load(Ordering::Relaxed),
        0,
        "rx_if set by the input node"
    );
    let (rx, tx) = (stats.rx_total(), stats.tx_total());
    assert_eq!(tx.packets, replies.load(Ordering::Relaxed));
    assert!(rx.packets >= 4 && tx.packets >= 4, "{rx:?} {tx:?}");
    let runtime = g.stats().runtime();
    assert!(
        runtime
            .iter()
            .any(|r| r.node == output && r.vectors == tx.packets),
        "{runtime:?}"
    );
}

/// Drops `lab` and checks that its namespaces are gone.
pub fn drop_lab(lab: testkit::Lab) {
    let names: Vec<String> = lab.namespaces().map(str::to_string).collect();
    drop(lab);
    let left = testkit::leftover_namespaces();
    assert!(names.iter().all(|n| !left.contains(n)), "{left:?}");
}
