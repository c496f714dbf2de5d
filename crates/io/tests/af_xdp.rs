//! AF_XDP against the Linux kernel over a veth pair, with our XDP program.
//!
//! Namespace `h1` has the kernel stack on `eth0` (10.79.x.1/24); its peer `up0` lives in
//! namespace `u`, where the test opens the AF_XDP device: the XDP program attaches to `up0`
//! (native: veth has driver XDP) and redirects to our socket (copy mode: veth has no
//! zero-copy). No program is needed on `eth0`: our transmissions leave through the veth
//! like any other packet. A responder built with `wire` answers ARP and ICMP echo for
//! 10.79.x.2 through `rx_burst` / `tx_burst`.

mod common;

use common::{pool, serve, Responder};
use graph::{Ctx, GraphBuilder, Next, Node, NodeError, NodeInfo, NodeKind};
use io::af_xdp::{AfXdp, AfXdpConfig};
use io::device::{Device, LinkState};
use io::device::{DeviceInput, DeviceOutput};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use testkit::{require_root, Lab};
use wire::ethernet::EthernetFrame;
use wire::ipv4::Ipv4Packet;
use wire::{EtherType, IpProtocol};

const MAC: [u8; 6] = [0x02, 0, 0, 0, 0x79, 2];

fn setup(lab: &mut Lab, subnet: u8, pool: &std::sync::Arc<buf::BufferPool>) -> AfXdp {
    lab.netns("h1").unwrap();
    lab.netns("u").unwrap();
    lab.veth("h1", "eth0", "u", "up0").unwrap();
    lab.addr("h1", "eth0", &format!("10.79.{subnet}.1/24"))
        .unwrap();
    lab.sysctl("u", "net.ipv6.conf.all.disable_ipv6", "1")
        .unwrap();
    lab.sysctl("h1", "net.ipv6.conf.all.disable_ipv6", "1")
        .unwrap();
    let cfg = AfXdpConfig::new("up0");
    let dev = lab
        .in_netns("u", || AfXdp::open(&cfg, pool))
        .unwrap()
        .unwrap();
    let t0 = std::time::Instant::now();
    while dev.link_state() != LinkState::Up && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    dev
}

fn spawn_in(lab: &Lab, ns: &str, args: &[&str]) -> std::process::Child {
    Command::new("ip")
        .args(["netns", "exec", lab.ns(ns).unwrap()])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("command runs")
}

fn serve_until_exit(
    dev: &mut AfXdp,
    cache: &mut buf::BufferCache,
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
    if !finished {
        let _ = child.kill();
    }
    let out = child.wait_with_output().unwrap();
    (
        finished && out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[derive(Debug, Default)]
struct Seen {
    arp: u64,
    echo: u64,
    ipv4_from_h1: u64,
    frames: u64,
    bytes: u64,
}

impl Seen {
    fn add(&mut self, f: &[u8], h1: std::net::Ipv4Addr) {
        self.frames += 1;
        self.bytes += f.len() as u64;
        let eth = EthernetFrame::new_checked(f).unwrap();
        match eth.ethertype() {
            EtherType::Arp => self.arp += 1,
            EtherType::Ipv4 => {
                let ip = Ipv4Packet::new_checked(eth.payload()).unwrap();
                assert!(ip.verify_checksum());
                if ip.src_addr() == h1 {
                    self.ipv4_from_h1 += 1;
                }
                if ip.protocol() == IpProtocol::Icmp {
                    self.echo += 1;
                }
            }
            _ => {}
        }
    }
}

fn ping(lab: &Lab, to: &str) -> std::process::Child {
    spawn_in(lab, "h1", &["ping", "-c", "3", "-i", "0.2", "-W", "1", to])
}

#[test]
fn kernel_pings_through_af_xdp_and_blocked_sources_are_dropped_in_xdp() {
    require_root!();
    let mut lab = Lab::new();
    let (pool, mut cache) = pool(4096);
    let mut dev = setup(&mut lab, 1, &pool);
    let info = dev.hw_info().to_string();
    assert!(info.contains("AF_XDP copy"), "{info}");
    assert!(info.contains("XDP native"), "{info}");
    assert_eq!(dev.link_state(), LinkState::Up);
    let h1: std::net::Ipv4Addr = "10.79.1.1".parse().unwrap();

    // 1. The kernel's ARP and ICMP arrive through rx_burst; our replies make ping succeed.
    let mut resp = Responder::new(MAC, "10.79.1.2");
    let mut seen = Seen::default();
    let (ok, text) = serve_until_exit(
        &mut dev,
        &mut cache,
        &mut resp,
        ping(&lab, "10.79.1.2"),
        |f| seen.add(f, h1),
    );
    assert!(ok, "ping failed: {text}");
    assert!(text.contains("3 received"), "{text}");
    assert!(seen.arp >= 1 && seen.echo == 3, "{seen:?}");
    assert_eq!(resp.echo_replies, 3);
    let neigh = lab.ip("h1", &["neigh", "show", "10.79.1.2"]).unwrap();
    assert!(neigh.contains("02:00:00:00:79:02"), "{neigh}");

    let (rx, tx) = (dev.stats().rx_total(), dev.stats().tx_total());
    assert_eq!(rx.packets, seen.frames, "{rx:?}");
    assert_eq!(rx.bytes, seen.bytes);
    assert_eq!(rx.drops, 0);
    assert_eq!(tx.packets, resp.arp_replies + resp.echo_replies, "{tx:?}");
    assert_eq!(tx.drops, 0);
    let c = dev.program().lock().unwrap().counters().unwrap();
    assert_eq!(c.redirect, seen.frames, "every frame went to uplane: {c:?}");
    assert_eq!((c.pass, c.pass_no_socket, c.drops()), (0, 0, 0), "{c:?}");
    assert_eq!(
        dev.xdp_stats()
            .bad_descriptors
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );

    // 2. Block h1: its pings are dropped in XDP, counted, and never reach rx_burst.
    dev.program()
        .lock()
        .unwrap()
        .block_add("10.79.1.1".parse().unwrap())
        .unwrap();
    let before = seen.ipv4_from_h1;
    let echo_before = resp.echo_replies;
    let (ok, text) = serve_until_exit(
        &mut dev,
        &mut cache,
        &mut resp,
        ping(&lab, "10.79.1.2"),
        |f| seen.add(f, h1),
    );
    assert!(!ok, "blocked pings must fail: {text}");
    assert!(text.contains("0 received"), "{text}");
    assert_eq!(
        seen.ipv4_from_h1, before,
        "nothing from h1 reached rx_burst"
    );
    assert_eq!(resp.echo_replies, echo_before);
    let c2 = dev.program().lock().unwrap().counters().unwrap();
    assert_eq!(c2.drop_blocklist_v4, 3, "{c2:?}");
    let list = dev.program().lock().unwrap().blocklist().unwrap();
    assert_eq!(list, vec![("10.79.1.1/32".parse().unwrap(), 3)]);

    // 3. Unblocked: pings work again.
    dev.program()
        .lock()
        .unwrap()
        .block_del("10.79.1.1".parse().unwrap())
        .unwrap();
    let (ok, text) = serve_until_exit(
        &mut dev,
        &mut cache,
        &mut resp,
        ping(&lab, "10.79.1.2"),
        |f| seen.add(f, h1),
    );
    assert!(ok, "{text}");

    // A buffer of another pool is not in the UMEM: dropped and counted, never sent.
    let (_other, mut other_cache) = common::pool(16);
    let mut f = buf::Frame::new();
    let b = other_cache.alloc().unwrap();
    f.push(b).unwrap();
    let drops = dev.stats().tx_total().drops;
    assert_eq!(dev.tx_burst(0, &mut f, &mut other_cache), 1);
    assert!(f.is_empty());
    assert_eq!(dev.stats().tx_total().drops, drops + 1);
    assert_eq!(dev.rx_burst(0, &mut other_cache, &mut f), 0);

    // 4. Every buffer comes back: the kernel held some (fill ring) until release.
    assert!(dev.lent() > 0);
    dev.release(&mut cache);
    dev.release(&mut cache); // idempotent
    assert_eq!(dev.lent(), 0);
    drop(cache);
    assert_eq!(pool.in_use(), 0, "every buffer came back");
    drop(dev);
    let up0 = lab.ip("u", &["link", "show", "up0"]).unwrap();
    assert!(!up0.contains("prog/xdp"), "detached: {up0}");
    let names: Vec<String> = lab.namespaces().map(str::to_string).collect();
    drop(lab);
    let left = testkit::leftover_namespaces();
    assert!(names.iter().all(|n| !left.contains(n)), "{left:?}");
}

/// `test-echo`: answers ARP / ICMP echo for its address in place and sends it back out.
struct Echo {
    resp: Responder,
    replies: Arc<AtomicU64>,
    scratch: Vec<u8>,
}

graph::node_errors! {
    enum EchoError {
        NotForUs = "not an ARP / echo request for us",
    }
}

impl Node for Echo {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: "test-echo",
            kind: NodeKind::Internal,
            next_nodes: &[io::af_xdp::AF_XDP_OUTPUT],
            errors: EchoError::ALL,
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, frame: &mut buf::Frame) {
        for mut b in frame.drain() {
            let rx_if = cx.pool().meta(&b).rx_if;
            match self.resp.reply(cx.pool().get(&b).data(), &mut self.scratch) {
                Some(len) => {
                    let mut p = cx.pool().get_mut(&mut b);
                    p.copy_from(&self.scratch[..len]);
                    p.meta_mut().tx_if = rx_if;
                    self.replies.fetch_add(1, Ordering::Relaxed);
                    cx.enqueue(Next(0), b);
                }
                None => cx.drop(b, EchoError::NotForUs),
            }
        }
    }
}

/// The same ping through the graph: `af-xdp-input` → `test-echo` → `af-xdp-output`; when
/// the graph drops, its nodes release the device and every buffer is back in the pool.
#[test]
fn graph_nodes_carry_packets() {
    require_root!();
    let mut lab = Lab::new();
    let pool = buf::BufferPool::new(&buf::PoolConfig::new(4096)).unwrap();
    let dev = setup(&mut lab, 5, &pool);
    let stats = dev.stats().clone();
    let dev = io::device::shared(dev);
    let replies = Arc::new(AtomicU64::new(0));
    let mut b = GraphBuilder::new();
    b.add(io::af_xdp::input_node())
        .add(io::af_xdp::output_node())
        .add(Echo {
            resp: Responder::new(MAC, "10.79.5.2"),
            replies: replies.clone(),
            scratch: vec![0; 2048],
        });
    let mut g = b.build(buf::BufferCache::new(pool.clone())).unwrap();
    let (input, output) = (io::af_xdp::AF_XDP_INPUT, io::af_xdp::AF_XDP_OUTPUT);
    DeviceInput::attach(&mut g, input, dev.clone(), 0, 7, "test-echo").unwrap();
    DeviceOutput::attach(&mut g, output, dev.clone(), 0, 7).unwrap();

    let mut ping = ping(&lab, "10.79.5.2");
    let t0 = std::time::Instant::now();
    let status = loop {
        g.dispatch(t0.elapsed().as_nanos() as u64);
        if let Some(s) = ping.try_wait().unwrap() {
            break Some(s);
        }
        if t0.elapsed() > Duration::from_secs(15) {
            let _ = ping.kill();
            break None;
        }
        std::thread::sleep(Duration::from_micros(200));
    };
    let out = ping.wait_with_output().unwrap();
    assert!(
        status.is_some_and(|s| s.success()),
        "{}",
        String::from_utf8_lossy(&out.stdout)
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
    drop(g);
    drop(dev);
    assert_eq!(pool.in_use(), 0, "every buffer came back");
}
