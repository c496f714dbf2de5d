//! AF_XDP against the Linux kernel over a veth pair, with our XDP program.
//!
//! Namespace `h1` has the kernel stack on `eth0` (10.79.x.1/24); its peer `up0` lives in
//! namespace `u`, where the test opens the AF_XDP device: the XDP program attaches to `up0`
//! (native: veth has driver XDP) and redirects to our socket (copy mode: veth has no
//! zero-copy). No program is needed on `eth0`: our transmissions leave through the veth
//! like any other packet. A responder built with `wire` answers ARP and ICMP echo for
//! 10.79.x.2 through `rx_burst` / `tx_burst`.

mod common;

use common::{
    check_echo_graph, dispatch_until_exit, drop_lab, pool, serve_until_exit, spawn_in, Echo,
    Responder,
};
use graph::GraphBuilder;
use io::af_xdp::{AfXdp, AfXdpConfig};
use io::device::{Device, LinkState};
use io::device::{DeviceInput, DeviceOutput};
use std::time::Duration;
use testkit::{require_root, Lab};
use wire::ethernet::EthernetFrame;
use wire::ipv4::Ipv4Packet;
use wire::{EtherType, IpProtocol};

const MAC: [u8; 6] = [0x02, 0, 0, 0, 0x79, 2];

/// Buffers in each test's pool: enough for the default rings of one queue (9216 frames
/// held when every ring is full) and the test's own traffic.
const POOL: u32 = 16384;

fn setup(lab: &mut Lab, subnet: u8, pool: &std::sync::Arc<buf::BufferPool>) -> AfXdp {
    setup_with(lab, subnet, pool, |_| {})
}

/// h1 —veth— u with the device open on `up0`; `cfg` adjusts its config. With
/// `cfg.queues > 1` the veth gets that many rx and tx queues on both ends.
fn setup_with(
    lab: &mut Lab,
    subnet: u8,
    pool: &std::sync::Arc<buf::BufferPool>,
    cfg: impl FnOnce(&mut AfXdpConfig),
) -> AfXdp {
    let mut c = AfXdpConfig::new("up0");
    cfg(&mut c);
    lab.netns("h1").unwrap();
    lab.netns("u").unwrap();
    if c.queues > 1 {
        let (n, u) = (c.queues.to_string(), lab.ns("u").unwrap().to_string());
        lab.ip(
            "h1",
            &[
                "link",
                "add",
                "eth0",
                "numtxqueues",
                &n,
                "numrxqueues",
                &n,
                "type",
                "veth",
                "peer",
                "name",
                "up0",
                "netns",
                &u,
                "numtxqueues",
                &n,
                "numrxqueues",
                &n,
            ],
        )
        .unwrap();
        lab.up("h1", "eth0").unwrap();
        lab.up("u", "up0").unwrap();
    } else {
        lab.veth("h1", "eth0", "u", "up0").unwrap();
    }
    lab.addr("h1", "eth0", &format!("10.79.{subnet}.1/24"))
        .unwrap();
    lab.sysctl("u", "net.ipv6.conf.all.disable_ipv6", "1")
        .unwrap();
    lab.sysctl("h1", "net.ipv6.conf.all.disable_ipv6", "1")
        .unwrap();
    let dev = lab
        .in_netns("u", || AfXdp::open(&c, pool))
        .unwrap()
        .unwrap();
    let t0 = std::time::Instant::now();
    while dev.link_state() != LinkState::Up && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    dev
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
    let (pool, mut cache) = pool(POOL);
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
    drop_lab(lab);
}

/// A pool that the rings could empty is refused before anything is opened: the fill ring
/// would starve. The error says how many buffers the rings hold.
#[test]
fn a_pool_smaller_than_the_rings_is_refused() {
    let (pool, _cache) = pool(4096);
    let mut cfg = AfXdpConfig::new("lo");
    let needed = cfg.ring.frames_held();
    assert_eq!(needed, 4096 + 2048 + 1024 + 2048);
    match AfXdp::open(&cfg, &pool) {
        Err(e @ io::device::DeviceError::PoolTooSmall { .. }) => {
            let text = e.to_string();
            assert!(
                text.contains("4096 buffers") && text.contains("9216"),
                "{text}"
            );
        }
        other => panic!("expected PoolTooSmall, got {other:?}"),
    }
    // Two queues need twice as many.
    let (big, _c) = common::pool(needed as u32 + 1);
    cfg.queues = 2;
    assert!(matches!(
        AfXdp::open(&cfg, &big),
        Err(io::device::DeviceError::PoolTooSmall { needed: n, .. }) if n == 2 * needed
    ));
}

/// The same ping through the graph: `af-xdp-input` → `test-echo` → `af-xdp-output`; when
/// the graph drops, its nodes release the device and every buffer is back in the pool.
#[test]
fn graph_nodes_carry_packets() {
    require_root!();
    let mut lab = Lab::new();
    let pool = buf::BufferPool::new(&buf::PoolConfig::new(POOL)).unwrap();
    let dev = setup(&mut lab, 5, &pool);
    let stats = dev.stats().clone();
    let dev = io::device::shared(dev);
    let echo = Echo::new(MAC, "10.79.5.2", 7, &[io::af_xdp::AF_XDP_OUTPUT]);
    let (wrong, replies) = (echo.wrong_rx_if.clone(), echo.replies.clone());
    let mut b = GraphBuilder::new();
    b.add(io::af_xdp::input_node())
        .add(io::af_xdp::output_node())
        .add(echo);
    let mut g = b.build(buf::BufferCache::new(pool.clone())).unwrap();
    let (input, output) = (io::af_xdp::AF_XDP_INPUT, io::af_xdp::AF_XDP_OUTPUT);
    DeviceInput::attach(&mut g, input, dev.clone(), 0, 7, "test-echo").unwrap();
    DeviceOutput::attach(&mut g, output, dev.clone(), 0, 7).unwrap();

    let (ok, text) = dispatch_until_exit(&mut g, ping(&lab, "10.79.5.2"));
    assert!(ok, "{text}");
    check_echo_graph(&g, (&wrong, &replies), &stats, output);
    drop(g);
    drop(dev);
    assert_eq!(pool.in_use(), 0, "every buffer came back");
}

/// Sends one UDP datagram from each of `flows` sockets in h1 (10.79.`subnet`.1, ports
/// chosen by the kernel) to 10.79.`subnet`.2:9999, whose MAC h1 is told statically.
/// Returns the sockets (still open, to receive echoes). h1's checksum offload is off, so
/// the frames carry complete checksums (an echo of a partial one would be dropped).
fn udp_flows(lab: &Lab, subnet: u8, flows: usize, len: usize) -> Vec<std::net::UdpSocket> {
    lab.offloads_off("h1", "eth0").unwrap();
    let peer = format!("10.79.{subnet}.2");
    lab.ip(
        "h1",
        &[
            "neigh",
            "add",
            &peer,
            "lladdr",
            "02:00:00:00:79:02",
            "dev",
            "eth0",
        ],
    )
    .unwrap();
    let (local, to) = (format!("10.79.{subnet}.1:0"), format!("{peer}:9999"));
    lab.in_netns("h1", || {
        (0..flows)
            .map(|i| {
                let s = std::net::UdpSocket::bind(&local).unwrap();
                s.set_read_timeout(Some(Duration::from_millis(500)))
                    .unwrap();
                s.send_to(&vec![i as u8; len], &to).unwrap();
                s
            })
            .collect()
    })
    .unwrap()
}

/// Turns a received UDP/IPv4 frame into its echo in place: MACs, addresses and ports
/// swapped (the checksums stay valid: they are sums, and swapping keeps the sum). False
/// for anything else.
fn reflect_udp(data: &mut [u8]) -> bool {
    let Ok(mut eth) = EthernetFrame::new_checked(&mut *data) else {
        return false;
    };
    if eth.ethertype() != EtherType::Ipv4 {
        return false;
    }
    let (s, d) = (eth.src_addr(), eth.dst_addr());
    eth.set_src_addr(d);
    eth.set_dst_addr(s);
    let Ok(mut ip) = Ipv4Packet::new_checked(eth.payload_mut()) else {
        return false;
    };
    if ip.protocol() != IpProtocol::Udp {
        return false;
    }
    let (s, d) = (ip.src_addr(), ip.dst_addr());
    ip.set_src_addr(d);
    ip.set_dst_addr(s);
    let Ok(mut udp) = wire::udp::UdpPacket::new_checked(ip.payload_mut()) else {
        return false;
    };
    let (s, d) = (udp.src_port(), udp.dst_port());
    udp.set_src_port(d);
    udp.set_dst_port(s);
    true
}

/// Two AF_XDP sockets on a veth with two rx/tx queues (one socket per queue, each in the
/// XSKMAP at its queue): 64 flows from the kernel spread over both queues, none lost, none
/// seen twice; each is echoed back on the queue it came from and every h1 socket gets its
/// echo, so both tx queues send.
#[test]
fn one_socket_per_queue_on_a_multi_queue_veth() {
    require_root!();
    let mut lab = Lab::new();
    let (pool, mut cache) = pool(POOL);
    let mut dev = setup_with(&mut lab, 7, &pool, |c| {
        c.queues = 2;
        c.ring.fill_size = 1024;
        c.ring.comp_size = 1024;
    });
    assert_eq!((dev.rx_queues(), dev.tx_queues()), (2, 2));
    // Fill both queues' fill rings before anything arrives.
    let mut frame = buf::Frame::new();
    for q in 0..2 {
        dev.rx_burst(q, &mut cache, &mut frame);
    }
    assert!(frame.is_empty());
    let socks = udp_flows(&lab, 7, 64, 100);
    let mut per_queue = [0u64; 2];
    let t0 = std::time::Instant::now();
    while per_queue.iter().sum::<u64>() < 64 && t0.elapsed() < Duration::from_secs(5) {
        for (q, n) in per_queue.iter_mut().enumerate() {
            dev.rx_burst(q, &mut cache, &mut frame);
            let mut echo = buf::Frame::new();
            for mut b in frame.drain() {
                if reflect_udp(pool.get_mut(&mut b).data_mut()) {
                    *n += 1;
                    if let Err(b) = echo.push(b) {
                        cache.free(b);
                    }
                } else {
                    cache.free(b);
                }
            }
            while !echo.is_empty() {
                if dev.tx_burst(q, &mut echo, &mut cache) == 0 {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(per_queue.iter().sum::<u64>(), 64, "{per_queue:?}");
    assert!(
        per_queue.iter().all(|&n| n > 0),
        "flows not spread: {per_queue:?}"
    );
    let st = dev.stats().clone();
    for (q, &n) in per_queue.iter().enumerate() {
        assert_eq!(st.rx[q].packets.get(), n);
        assert_eq!(st.tx[q].packets.get(), n);
    }
    // Keep polling (completions, kicks) while h1 reads its echoes.
    let echoed = std::thread::scope(|s| {
        let h = s.spawn(|| {
            socks
                .iter()
                .filter(|s| {
                    let mut b = [0u8; 200];
                    matches!(s.recv_from(&mut b), Ok((100, _)))
                })
                .count()
        });
        while !h.is_finished() {
            for q in 0..2 {
                dev.rx_burst(q, &mut cache, &mut frame);
                cache.free_frame(&mut frame);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        h.join().unwrap()
    });
    assert_eq!(echoed, 64, "h1 got {echoed} of 64 echoes");
    dev.release(&mut cache);
    drop(cache);
    assert_eq!(pool.in_use(), 0, "every buffer came back");
}

/// The kernel's own counters: with a 64-slot rx ring that nobody drains, 600 datagrams
/// overflow it; `kernel_counters` reports `rx_ring_full` and the queue's `ring_full`
/// counter got the same number.
#[test]
fn kernel_ring_full_drops_are_counted() {
    require_root!();
    let mut lab = Lab::new();
    let (pool, mut cache) = pool(POOL);
    let mut dev = setup_with(&mut lab, 8, &pool, |c| c.ring.rx_size = 64);
    let mut frame = buf::Frame::new();
    dev.rx_burst(0, &mut cache, &mut frame); // fills the fill ring
    assert_eq!(dev.kernel_counters(0).get("rx_ring_full"), Some(0));
    let _socks = udp_flows(&lab, 8, 600, 18);
    let k = dev.kernel_counters(0);
    let full = k.get("rx_ring_full").unwrap();
    assert!(full > 0 && full <= 600 - 64, "{k:?}");
    assert_eq!(dev.stats().rx[0].ring_full.get(), full);
    assert!(
        k.tx.iter().any(|(n, _)| *n == "tx_ring_empty_descs"),
        "{k:?}"
    );
    // What the ring held is still delivered.
    let mut got = 0;
    while dev.rx_burst(0, &mut cache, &mut frame) > 0 {
        got += frame.len();
        cache.free_frame(&mut frame);
    }
    assert_eq!(got, 64);
    dev.release(&mut cache);
    drop(cache);
    assert_eq!(pool.in_use(), 0);
}

/// h1's `eth0` rx_packets (from its `/proc/net/dev`).
fn h1_rx_packets(lab: &Lab) -> u64 {
    let dev = lab
        .in_netns("h1", || {
            std::fs::read_to_string("/proc/thread-self/net/dev")
        })
        .unwrap()
        .unwrap();
    let line = dev
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("eth0:"))
        .expect("eth0 in /proc/net/dev");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// One `tx_burst` of a whole frame (256 packets, more than one ring batch) sends them all:
/// nothing is left in the frame for the output node to drop as `tx ring full` (it used to
/// stop after the first batches, so bursts after a preemption lost packets), and h1
/// receives every one.
#[test]
fn a_whole_frame_goes_out_in_one_tx_burst() {
    require_root!();
    let mut lab = Lab::new();
    let (pool, mut cache) = pool(POOL);
    let mut dev = setup(&mut lab, 9, &pool);
    let before = h1_rx_packets(&lab);
    let mut f = buf::Frame::new();
    for i in 0..buf::FRAME_SIZE {
        let mut b = cache.alloc().unwrap();
        let mut p = pool.get_mut(&mut b);
        let d = p.append(60).unwrap();
        d[..6].fill(0xff); // broadcast: h1 counts it, then drops the unknown EtherType
        d[6..12].copy_from_slice(&MAC);
        d[12..14].copy_from_slice(&0x88b5u16.to_be_bytes()); // local experimental
        d[14..16].copy_from_slice(&(i as u16).to_be_bytes());
        f.push(b).unwrap();
    }
    assert_eq!(dev.tx_burst(0, &mut f, &mut cache), buf::FRAME_SIZE);
    assert!(f.is_empty(), "{} left in the frame", f.len());
    let tx = dev.stats().tx_total();
    assert_eq!(
        (tx.packets, tx.drops, tx.ring_full),
        (buf::FRAME_SIZE as u64, 0, 0)
    );
    let t0 = std::time::Instant::now();
    let mut got = 0;
    while t0.elapsed() < Duration::from_secs(5) {
        got = h1_rx_packets(&lab) - before;
        if got >= buf::FRAME_SIZE as u64 {
            break;
        }
        // Completions come back and leftover descriptors get their kick on rx polls.
        dev.rx_burst(0, &mut cache, &mut f);
        cache.free_frame(&mut f);
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(got, buf::FRAME_SIZE as u64);
    dev.release(&mut cache);
    assert_eq!(dev.lent(), 0);
    drop(cache);
    drop_lab(lab);
}
