//! AF_PACKET against the Linux kernel over a veth pair.
//!
//! Namespace `h1` has the kernel stack on `eth0` (10.78.x.1/24); its peer `up0` lives in
//! namespace `u`, where the test opens the AF_PACKET device (a thread moved there with
//! `setns`; the sockets stay in `u`). A responder built with `wire` answers ARP and ICMP
//! echo for 10.78.x.2 through `rx_burst` / `tx_burst`.

mod common;

use common::{
    check_echo_graph, dispatch_until_exit, drop_lab, pool, serve, serve_until_exit, spawn_in, Echo,
    Responder,
};
use graph::GraphBuilder;
use io::af_packet::{AfPacket, AfPacketConfig};
use io::device::{Device, DeviceInput, DeviceOutput, LinkState, TxBuild};
use std::time::Duration;
use testkit::{require_root, Lab};
use wire::ethernet::EthernetFrame;
use wire::ipv4::Ipv4Packet;
use wire::pseudo::PseudoHeader;
use wire::udp::UdpPacket;
use wire::{EtherType, IpProtocol};

const MAC: [u8; 6] = [0x02, 0, 0, 0, 0x78, 2];

/// h1 —veth— u, with the device open on `up0` in `u`.
fn setup(lab: &mut Lab, subnet: u8, cfg: impl FnOnce(&mut AfPacketConfig)) -> AfPacket {
    lab.netns("h1").unwrap();
    lab.netns("u").unwrap();
    lab.veth("h1", "eth0", "u", "up0").unwrap();
    lab.addr("h1", "eth0", &format!("10.78.{subnet}.1/24"))
        .unwrap();
    lab.sysctl("u", "net.ipv6.conf.all.disable_ipv6", "1")
        .unwrap();
    lab.sysctl("h1", "net.ipv6.conf.all.disable_ipv6", "1")
        .unwrap();
    let mut c = AfPacketConfig::new("up0");
    cfg(&mut c);
    lab.in_netns("u", || AfPacket::open(&c)).unwrap().unwrap()
}

#[test]
fn kernel_pings_through_af_packet() {
    require_root!();
    let mut lab = Lab::new();
    let mut dev = setup(&mut lab, 1, |_| {});
    let info = dev.hw_info().to_string();
    assert!(
        info.contains("TPACKET_V3 mmap rx") && info.contains("qdisc bypass"),
        "{info}"
    );
    // The carrier comes up asynchronously (link watch) after the veth pair is set up.
    let t0 = std::time::Instant::now();
    while dev.link_state() != LinkState::Up && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(dev.link_state(), LinkState::Up);
    assert_eq!(dev.mtu(), 1500);
    let h1_mac = lab.ip("h1", &["-br", "link", "show", "eth0"]).unwrap();

    let (_pool, mut cache) = pool(1024);
    let mut resp = Responder::new(MAC, "10.78.1.2");
    let (mut arp_requests, mut echo_requests, mut rx_bytes) = (0, 0, 0u64);
    let ping = spawn_in(
        &lab,
        "h1",
        &["ping", "-c", "3", "-i", "0.2", "-W", "2", "10.78.1.2"],
    );
    let (ok, text) = serve_until_exit(&mut dev, &mut cache, &mut resp, ping, |f| {
        rx_bytes += f.len() as u64;
        let eth = EthernetFrame::new_checked(f).unwrap();
        let src = format!("{}", eth.src_addr());
        assert!(h1_mac.contains(&src), "frame from {src}, not h1 ({h1_mac})");
        match eth.ethertype() {
            EtherType::Arp => arp_requests += 1,
            EtherType::Ipv4 => {
                let ip = Ipv4Packet::new_checked(eth.payload()).unwrap();
                assert!(ip.verify_checksum());
                if ip.protocol() == IpProtocol::Icmp {
                    echo_requests += 1;
                }
            }
            _ => {}
        }
    });
    assert!(ok, "ping failed: {text}");
    assert!(text.contains("3 received"), "{text}");
    assert!(arp_requests >= 1 && echo_requests == 3);
    assert_eq!(resp.echo_replies, 3);

    // The kernel learned our MAC from the ARP reply we sent through the tx ring.
    let neigh = lab.ip("h1", &["neigh", "show", "10.78.1.2"]).unwrap();
    assert!(neigh.contains("02:00:00:00:78:02"), "{neigh}");

    let st = dev.stats();
    let (rx, tx) = (st.rx_total(), st.tx_total());
    assert_eq!(rx.packets, arp_requests + echo_requests, "{rx:?}");
    assert_eq!(rx.bytes, rx_bytes);
    assert_eq!(rx.drops, 0);
    assert_eq!(tx.packets, resp.arp_replies + resp.echo_replies, "{tx:?}");
    assert_eq!(tx.drops, 0);
    drop(dev);
    drop_lab(lab);
}

/// Replies built straight into the tx ring (`tx_build`) go out only by the kick handle
/// another thread holds (`take_tx_kick`): ping gets its answers.
#[test]
fn frames_built_in_the_ring_go_out_by_another_threads_kick() {
    require_root!();
    let mut lab = Lab::new();
    let mut dev = setup(&mut lab, 8, |_| {});
    let (_pool, mut cache) = pool(1024);
    let kick = dev.take_tx_kick(0).expect("AF_PACKET hands out its kick");
    assert!(dev.take_tx_kick(7).is_none(), "no such queue");
    assert!(!kick.kick(), "nothing queued yet");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let kicks = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let kicker = {
        let (stop, kicks) = (stop.clone(), kicks.clone());
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if kick.kick() {
                    kicks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };
    let mut resp = Responder::new(MAC, "10.78.8.2");
    let mut ping = spawn_in(
        &lab,
        "h1",
        &["ping", "-c", "3", "-i", "0.2", "-W", "2", "10.78.8.2"],
    );
    let mut rx = buf::Frame::new();
    let t0 = std::time::Instant::now();
    let mut status = None;
    while status.is_none() && t0.elapsed() < Duration::from_secs(15) {
        if dev.rx_burst(0, &mut cache, &mut rx) == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        for b in rx.drain() {
            let data = cache.pool().get(&b).data().to_vec();
            cache.free(b);
            let r = dev.tx_build(0, &mut |slot| resp.reply(&data, slot));
            assert!(matches!(r, TxBuild::Sent(_) | TxBuild::Nothing), "{r:?}");
        }
        status = ping.try_wait().unwrap();
    }
    let _ = ping.kill();
    let out = ping.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    kicker.join().unwrap();
    assert!(
        out.status.success() && text.contains("3 received"),
        "{text}"
    );
    assert!(kicks.load(std::sync::atomic::Ordering::Relaxed) >= 1);
    let tx = dev.stats().tx_total();
    assert_eq!(tx.packets, resp.arp_replies + resp.echo_replies, "{tx:?}");
    // A builder that sends nothing leaves the slot free and counts nothing.
    assert_eq!(dev.tx_build(0, &mut |_| None), TxBuild::Nothing);
    assert_eq!(dev.tx_build(9, &mut |_| Some(60)), TxBuild::Unsupported);
    assert_eq!(dev.stats().tx_total().packets, tx.packets);
    drop(dev);
    drop_lab(lab);
}

/// Tx frames of 1600 bytes: two fit a 4 KiB block, with slack after them that the kernel
/// never reads; a reply in any frame but a block's first was lost when frames were taken
/// to follow each other without gaps. A ring of 8 frames, wrapped around by the replies.
#[test]
fn tx_frames_that_leave_slack_in_a_block_are_found() {
    require_root!();
    let mut lab = Lab::new();
    let mut dev = setup(&mut lab, 9, |c| {
        c.ring.tx_frame_size = 1600;
        c.ring.tx_frame_count = 8;
    });
    assert!(
        dev.hw_info().tx_ring.contains("8 frames x 1600 B"),
        "{}",
        dev.hw_info()
    );
    let (_pool, mut cache) = pool(1024);
    let mut resp = Responder::new(MAC, "10.78.9.2");
    let ping = spawn_in(
        &lab,
        "h1",
        &["ping", "-c", "12", "-i", "0.05", "-W", "2", "10.78.9.2"],
    );
    let (ok, text) = serve_until_exit(&mut dev, &mut cache, &mut resp, ping, |_| {});
    assert!(ok && text.contains("12 received"), "{text}");
    assert_eq!(resp.echo_replies, 12);
    drop(dev);
    drop_lab(lab);
}

/// The kernel sends UDP with a partial checksum over veth (checksum offload); what comes
/// out of `rx_burst` carries a complete, valid checksum.
#[test]
fn partial_checksums_are_completed() {
    require_root!();
    // With the virtio-net header we complete them: all valid.
    assert_eq!(udp_checksums(2, true), (5, 0));
    // The control: without it, the kernel's partial checksums reach us as they are, so the
    // test above did see partial checksums.
    assert_eq!(udp_checksums(4, false), (0, 5));
}

/// Sends 5 UDP datagrams from h1's kernel; returns (valid, invalid) checksums seen.
fn udp_checksums(subnet: u8, vnet_hdr: bool) -> (u32, u32) {
    let mut lab = Lab::new();
    let mut dev = setup(&mut lab, subnet, |c| c.ring.vnet_hdr = vnet_hdr);
    let me = format!("10.78.{subnet}.2");
    let peer = format!("10.78.{subnet}.1");
    let (_pool, mut cache) = pool(1024);
    let mut resp = Responder::new(MAC, &me);
    // Resolve ARP first, then send UDP datagrams from h1's kernel.
    let ping = spawn_in(&lab, "h1", &["ping", "-c", "1", "-W", "2", &me]);
    let (ok, text) = serve_until_exit(&mut dev, &mut cache, &mut resp, ping, |_| {});
    assert!(ok, "{text}");
    lab.in_netns("h1", || {
        let s = std::net::UdpSocket::bind(format!("{peer}:0")).unwrap();
        for i in 0..5u8 {
            s.send_to(&[i; 333], format!("{me}:9999")).unwrap();
        }
    })
    .unwrap();
    let udp_ok = std::cell::Cell::new(0);
    let udp_bad = std::cell::Cell::new(0);
    serve(
        &mut dev,
        &mut cache,
        &mut resp,
        Duration::from_secs(5),
        |f| {
            let eth = EthernetFrame::new_checked(f).unwrap();
            if eth.ethertype() != EtherType::Ipv4 {
                return;
            }
            let ip = Ipv4Packet::new_checked(eth.payload()).unwrap();
            if ip.protocol() != IpProtocol::Udp {
                return;
            }
            let udp = UdpPacket::new_checked(ip.payload()).unwrap();
            let ph = PseudoHeader::V4 {
                src: ip.src_addr(),
                dst: ip.dst_addr(),
            };
            if udp.checksum() != 0 && udp.verify_checksum(&ph) {
                udp_ok.set(udp_ok.get() + 1);
            } else {
                udp_bad.set(udp_bad.get() + 1);
            }
        },
        || udp_ok.get() + udp_bad.get() >= 5,
    );
    (udp_ok.get(), udp_bad.get())
}

/// A frame larger than a pool buffer arrives on the ring: dropped and counted, no panic,
/// and the device keeps working.
#[test]
fn oversize_frames_are_dropped_and_counted() {
    require_root!();
    let mut lab = Lab::new();
    lab.netns("h1").unwrap();
    lab.netns("u").unwrap();
    lab.veth("h1", "eth0", "u", "up0").unwrap();
    lab.ip("h1", &["link", "set", "eth0", "mtu", "9000"])
        .unwrap();
    lab.ip("u", &["link", "set", "up0", "mtu", "9000"]).unwrap();
    lab.addr("h1", "eth0", "10.78.3.1/24").unwrap();
    lab.sysctl("h1", "net.ipv6.conf.all.disable_ipv6", "1")
        .unwrap();
    lab.sysctl("u", "net.ipv6.conf.all.disable_ipv6", "1")
        .unwrap();
    let mut dev = lab
        .in_netns("u", || AfPacket::open(&AfPacketConfig::new("up0")))
        .unwrap()
        .unwrap();
    let (_pool, mut cache) = pool(1024);
    let mut resp = Responder::new(MAC, "10.78.3.2");
    // 6000 bytes of ICMP data: a 6042-byte frame, more than a 4 KiB buffer can hold.
    let big = spawn_in(
        &lab,
        "h1",
        &[
            "ping",
            "-c",
            "2",
            "-i",
            "0.2",
            "-W",
            "1",
            "-s",
            "6000",
            "10.78.3.2",
        ],
    );
    let (ok, _) = serve_until_exit(&mut dev, &mut cache, &mut resp, big, |_| {});
    assert!(!ok, "the big pings cannot be answered");
    let rx = dev.stats().rx_total();
    assert_eq!(rx.oversize, 2, "{rx:?}");
    assert_eq!(rx.drops, 2, "{rx:?}");
    assert_eq!(resp.echo_replies, 0);
    // Small ones still work.
    let small = spawn_in(
        &lab,
        "h1",
        &["ping", "-c", "2", "-i", "0.2", "-W", "2", "10.78.3.2"],
    );
    let (ok, text) = serve_until_exit(&mut dev, &mut cache, &mut resp, small, |_| {});
    assert!(ok, "{text}");
    assert_eq!(resp.echo_replies, 2);
}

/// The same ping, through the graph: `af-packet-input` → `test-echo` → `af-packet-output`.
#[test]
fn graph_nodes_carry_packets() {
    require_root!();
    let mut lab = Lab::new();
    let dev = setup(&mut lab, 5, |_| {});
    let stats = dev.stats().clone();
    let dev = io::device::shared(dev);
    let pool = buf::BufferPool::new(&buf::PoolConfig::new(2048)).unwrap();
    let echo = Echo::new(MAC, "10.78.5.2", 7, &[io::af_packet::AF_PACKET_OUTPUT]);
    let (wrong, replies) = (echo.wrong_rx_if.clone(), echo.replies.clone());
    let mut b = GraphBuilder::new();
    b.add(io::af_packet::input_node())
        .add(io::af_packet::output_node())
        .add(echo);
    let mut g = b.build(buf::BufferCache::new(pool.clone())).unwrap();
    let input = io::af_packet::AF_PACKET_INPUT;
    let output = io::af_packet::AF_PACKET_OUTPUT;
    DeviceInput::attach(&mut g, input, dev.clone(), 0, 7, "test-echo").unwrap();
    DeviceOutput::attach(&mut g, output, dev.clone(), 0, 7).unwrap();

    let ping = spawn_in(
        &lab,
        "h1",
        &["ping", "-c", "3", "-i", "0.2", "-W", "2", "10.78.5.2"],
    );
    let (ok, text) = dispatch_until_exit(&mut g, ping);
    assert!(ok, "{text}");
    check_echo_graph(&g, (&wrong, &replies), &stats, output);
    drop(g);
    assert_eq!(pool.in_use(), 0, "every buffer came back");
}

/// Four sockets in one `PACKET_FANOUT_HASH` group under a multi-flow load: 32 UDP flows
/// (one source port each) of 8 datagrams, sent interleaved. Every datagram is received
/// exactly once (by flow and sequence number, carried in the payload), each flow stays on
/// one socket (the group hashes the flow), the flows spread over more than one socket, the
/// per-queue counters match what each socket delivered, and the kernel dropped nothing.
#[test]
fn fanout_spreads_flows_over_queues() {
    const QUEUES: usize = 4;
    const FLOWS: usize = 32;
    const PER_FLOW: usize = 8;
    require_root!();
    let mut lab = Lab::new();
    let mut dev = setup(&mut lab, 6, |c| c.queues = QUEUES);
    assert_eq!((dev.rx_queues(), dev.tx_queues()), (QUEUES, QUEUES));
    assert!(dev.hw_info().mode.contains("fanout hash"));
    lab.ip(
        "h1",
        &[
            "neigh",
            "add",
            "10.78.6.2",
            "lladdr",
            "02:00:00:00:78:02",
            "dev",
            "eth0",
        ],
    )
    .unwrap();
    lab.in_netns("h1", || {
        let socks: Vec<_> = (0..FLOWS)
            .map(|_| std::net::UdpSocket::bind("10.78.6.1:0").unwrap())
            .collect();
        for seq in 0..PER_FLOW as u8 {
            for (flow, s) in socks.iter().enumerate() {
                let mut payload = [0xa5u8; 100];
                payload[0] = flow as u8;
                payload[1] = seq;
                s.send_to(&payload, "10.78.6.2:9999").unwrap();
            }
        }
    })
    .unwrap();
    let (_pool, mut cache) = pool(1024);
    let mut frame = buf::Frame::new();
    // seen[flow][seq]: how many times; queue_of[flow]: the socket that delivered it.
    let mut seen = [[0u32; PER_FLOW]; FLOWS];
    let mut queue_of = [None::<usize>; FLOWS];
    let mut per_queue = [0u64; QUEUES];
    let mut udp = 0;
    let t0 = std::time::Instant::now();
    while udp < FLOWS * PER_FLOW && t0.elapsed() < Duration::from_secs(5) {
        for (q, n) in per_queue.iter_mut().enumerate() {
            dev.rx_burst(q, &mut cache, &mut frame);
            for b in frame.drain() {
                *n += 1;
                let data = cache.pool().get(&b).data();
                let eth = EthernetFrame::new_checked(data).unwrap();
                if eth.ethertype() == EtherType::Ipv4 {
                    let ip = Ipv4Packet::new_checked(eth.payload()).unwrap();
                    if ip.protocol() == IpProtocol::Udp {
                        let u = UdpPacket::new_checked(ip.payload()).unwrap();
                        assert_eq!(u.dst_port(), 9999);
                        let (flow, seq) = (u.payload()[0] as usize, u.payload()[1] as usize);
                        assert!(flow < FLOWS && seq < PER_FLOW, "flow {flow} seq {seq}");
                        seen[flow][seq] += 1;
                        udp += 1;
                        match queue_of[flow] {
                            None => queue_of[flow] = Some(q),
                            Some(first) => assert_eq!(
                                first,
                                q,
                                "flow {flow} (port {}) came on queues {first} and {q}",
                                u.src_port()
                            ),
                        }
                    }
                }
                cache.free(b);
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let kernel: Vec<_> = (0..QUEUES).map(|q| dev.kernel_counters(q)).collect();
    for (flow, seqs) in seen.iter().enumerate() {
        assert!(
            seqs.iter().all(|&c| c == 1),
            "flow {flow}: datagrams seen {seqs:?} times (each should be once); kernel {kernel:?}"
        );
    }
    let used: std::collections::BTreeSet<_> = queue_of.iter().flatten().collect();
    assert!(
        used.len() > 1,
        "all {FLOWS} flows on one socket: {queue_of:?}"
    );
    for (q, k) in kernel.iter().enumerate() {
        let drops =
            k.rx.iter()
                .find(|(name, _)| *name == "tp_drops")
                .map(|&(_, v)| v);
        assert_eq!(drops, Some(0), "queue {q}: {k:?}");
    }
    let st = dev.stats();
    for (q, &n) in per_queue.iter().enumerate() {
        assert_eq!(st.rx[q].packets.get(), n, "queue {q}");
    }
}

/// The kernel's own counters: with a 2-block × 4 KiB rx ring that nobody drains, 600
/// datagrams overflow it; `kernel_counters` reports `tp_drops` (and freezes) and the
/// queue's `ring_full` counter got the drops.
#[test]
fn kernel_ring_full_drops_are_counted() {
    require_root!();
    let mut lab = Lab::new();
    let mut dev = setup(&mut lab, 7, |c| {
        c.ring.rx_block_size = 4096;
        c.ring.rx_block_count = 2;
    });
    lab.ip(
        "h1",
        &[
            "neigh",
            "add",
            "10.78.7.2",
            "lladdr",
            "02:00:00:00:78:02",
            "dev",
            "eth0",
        ],
    )
    .unwrap();
    assert_eq!(dev.kernel_counters(0).get("tp_drops"), Some(0));
    lab.in_netns("h1", || {
        let s = std::net::UdpSocket::bind("10.78.7.1:0").unwrap();
        for _ in 0..600 {
            s.send_to(&[0; 18], "10.78.7.2:9").unwrap();
        }
    })
    .unwrap();
    let k = dev.kernel_counters(0);
    let drops = k.get("tp_drops").unwrap();
    assert!(drops > 0 && drops < 600, "{k:?}");
    assert!(k.get("tp_freeze_q_cnt").unwrap() > 0, "{k:?}");
    assert!(k.get("tp_packets").unwrap() >= drops, "{k:?}");
    assert_eq!(dev.stats().rx[0].ring_full.get(), drops);
    // The totals keep counting across reads (each read resets the kernel's copy).
    assert_eq!(dev.kernel_counters(0).get("tp_drops"), Some(drops));
    // What the ring held is still delivered.
    let (_pool, mut cache) = pool(1024);
    let mut frame = buf::Frame::new();
    let mut got = 0;
    let t0 = std::time::Instant::now();
    while t0.elapsed() < Duration::from_millis(200) {
        got += dev.rx_burst(0, &mut cache, &mut frame);
        cache.free_frame(&mut frame);
    }
    assert!(
        got > 0 && got as u64 + drops <= 600,
        "{got} delivered, {drops} dropped"
    );
}
