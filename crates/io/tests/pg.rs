//! The packet generator and the null sink, checked against etherparse as an independent
//! parser of what pg builds.

use buf::{BufferCache, BufferPool, Frame, PoolConfig};
use core::net::{Ipv4Addr, Ipv6Addr};
use etherparse::{NetHeaders, PacketHeaders, TransportHeader};
use graph::{Ctx, Graph, GraphBuilder, Node, NodeInfo, NodeKind};
use io::null::NullOutput;
use io::pg::*;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// Keeps a copy of every packet it sees, then frees it.
#[derive(Default)]
struct Capture(Arc<Mutex<Vec<Vec<u8>>>>);

impl Node for Capture {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: "test-capture",
            kind: NodeKind::Internal,
            next_nodes: &[],
            errors: &[],
        }
    }
    fn process(&mut self, cx: &mut Ctx<'_>, frame: &mut Frame) {
        for b in frame.drain() {
            self.0
                .lock()
                .unwrap()
                .push(cx.pool().get(&b).data().to_vec());
            cx.free(b);
        }
    }
}

type Seen = Arc<Mutex<Vec<Vec<u8>>>>;

fn graph_with_capture() -> (Graph, Seen, Arc<BufferPool>) {
    let pool = BufferPool::new(&PoolConfig::new(2048)).unwrap();
    let cap = Capture::default();
    let seen = cap.0.clone();
    let mut b = GraphBuilder::new();
    b.add(PgInput::new()).add(NullOutput::new()).add(cap);
    (b.build(BufferCache::new(pool.clone())).unwrap(), seen, pool)
}

fn run(g: &mut Graph, max_rounds: u64) {
    let pg = g.node_index("pg-input").unwrap();
    g.node_mut::<PgInput>(pg).unwrap().enable();
    for t in 0..max_rounds {
        g.dispatch(t);
        if g.node_mut::<PgInput>(pg).unwrap().done() {
            g.dispatch(t + 1);
            break;
        }
    }
}

fn stream(name: &str, spec: PacketSpec, count: u64) -> StreamSpec {
    StreamSpec {
        name: name.into(),
        source: Source::Generate(spec),
        count: Some(count),
        rate_pps: None,
        rx_if: 3,
    }
}

/// Parses with etherparse and checks both checksums against its own computation.
fn check_packet(p: &[u8]) -> PacketHeaders<'_> {
    let h = PacketHeaders::from_ethernet_slice(p).expect("etherparse parses pg output");
    let payload = h.payload.slice();
    match (&h.net, &h.transport) {
        (Some(NetHeaders::Ipv4(ip, _)), Some(TransportHeader::Udp(u))) => {
            assert_eq!(ip.header_checksum, ip.calc_header_checksum());
            assert_eq!(u.checksum, u.calc_checksum_ipv4(ip, payload).unwrap());
        }
        (Some(NetHeaders::Ipv4(ip, _)), Some(TransportHeader::Tcp(t))) => {
            assert_eq!(ip.header_checksum, ip.calc_header_checksum());
            assert_eq!(t.checksum, t.calc_checksum_ipv4(ip, payload).unwrap());
        }
        (Some(NetHeaders::Ipv6(ip, _)), Some(TransportHeader::Udp(u))) => {
            assert_eq!(u.checksum, u.calc_checksum_ipv6(ip, payload).unwrap());
        }
        (Some(NetHeaders::Ipv6(ip, _)), Some(TransportHeader::Tcp(t))) => {
            assert_eq!(t.checksum, t.calc_checksum_ipv6(ip, payload).unwrap());
        }
        other => panic!("unexpected headers {other:?}"),
    }
    h
}

#[test]
fn ipv4_udp_flows_sizes_and_checksums() {
    let (mut g, seen, pool) = graph_with_capture();
    let spec = PacketSpec {
        ip: IpSpec::V4 {
            src: Ip4Range {
                first: Ipv4Addr::new(10, 0, 0, 1),
                count: 4,
            },
            dst: Ip4Range {
                first: Ipv4Addr::new(10, 9, 0, 1),
                count: 2,
            },
        },
        src_port: PortRange {
            first: 5000,
            count: 2,
        },
        frame_size: (60, 200),
        flows: 16,
        ..PacketSpec::default()
    };
    PgInput::add_stream(&mut g, stream("udp4", spec, 1000), "test-capture").unwrap();
    run(&mut g, 100);
    let pkts = seen.lock().unwrap();
    assert_eq!(pkts.len(), 1000);
    let mut flows = HashSet::new();
    for (i, p) in pkts.iter().enumerate() {
        assert_eq!(p.len(), 60 + i % 141, "sizes cycle 60..=200");
        let h = check_packet(p);
        let Some(NetHeaders::Ipv4(ip, _)) = &h.net else {
            unreachable!()
        };
        let Some(TransportHeader::Udp(u)) = &h.transport else {
            unreachable!()
        };
        assert_eq!(usize::from(ip.total_len), p.len() - 14);
        assert_eq!(ip.time_to_live, 64);
        flows.insert((ip.source, ip.destination, u.source_port, u.destination_port));
    }
    assert_eq!(
        flows.len(),
        16,
        "4 sources x 2 destinations x 2 source ports"
    );
    drop(pkts);
    assert_eq!(pool.in_use(), 0);
}

#[test]
fn ipv6_tcp_with_qinq_tags() {
    let (mut g, seen, _pool) = graph_with_capture();
    let spec = PacketSpec {
        vlans: vec![100, 200],
        ip: IpSpec::V6 {
            src: Ip6Range {
                first: "fd00::1".parse::<Ipv6Addr>().unwrap(),
                count: 3,
            },
            dst: Ip6Range {
                first: "fd01::1".parse::<Ipv6Addr>().unwrap(),
                count: 1,
            },
        },
        l4: L4Spec::Tcp { flags: 0x02 },
        frame_size: (100, 100),
        flows: 3,
        ..PacketSpec::default()
    };
    PgInput::add_stream(&mut g, stream("tcp6", spec, 9), "test-capture").unwrap();
    run(&mut g, 10);
    let pkts = seen.lock().unwrap();
    assert_eq!(pkts.len(), 9);
    for p in pkts.iter() {
        let h = check_packet(p);
        let vlans: Vec<u16> = match &h.vlan {
            Some(etherparse::VlanHeader::Double(d)) => {
                vec![d.outer.vlan_id.value(), d.inner.vlan_id.value()]
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(vlans, [100, 200]);
        assert_eq!(&p[12..14], &[0x88, 0xa8], "outer tag is an 802.1ad S-tag");
        let Some(TransportHeader::Tcp(t)) = &h.transport else {
            unreachable!()
        };
        assert!(t.syn && !t.ack);
    }
    // Also our own parser agrees on the tag stack.
    let st = wire::vlan::walk_frame(&pkts[0]).unwrap();
    assert_eq!(st.len(), 2);
}

#[test]
fn count_and_rate_limit_what_is_sent() {
    let pool = BufferPool::new(&PoolConfig::new(1024)).unwrap();
    let null = NullOutput::new();
    let st = null.stats();
    let mut b = GraphBuilder::new();
    b.add(PgInput::new()).add(null);
    let mut g = b.build(BufferCache::new(pool)).unwrap();
    let mut s = stream("paced", PacketSpec::default(), 1_000_000);
    s.rate_pps = Some(1000.0);
    PgInput::add_stream(&mut g, s, "null-output").unwrap();
    let pg = g.node_index("pg-input").unwrap();
    g.node_mut::<PgInput>(pg).unwrap().enable();
    // Half a second of graph time in 1 ms steps.
    for ms in 0..=500u64 {
        g.dispatch(ms * 1_000_000);
    }
    assert_eq!(st.packets(), 501, "1000 pps over 0.5 s, the first at t=0");
    assert_eq!(st.bytes(), 501 * 60);
}

#[test]
fn bad_descriptions_name_the_field() {
    let (mut g, _, _) = graph_with_capture();
    let cases = [
        (
            PacketSpec {
                frame_size: (40, 60),
                ..PacketSpec::default()
            },
            "frame_size",
        ),
        (
            PacketSpec {
                frame_size: (80, 70),
                ..PacketSpec::default()
            },
            "frame_size",
        ),
        (
            PacketSpec {
                frame_size: (60, 9000),
                ..PacketSpec::default()
            },
            "frame_size",
        ),
        (
            PacketSpec {
                flows: 0,
                ..PacketSpec::default()
            },
            "flows",
        ),
        (
            PacketSpec {
                vlans: vec![1; 9],
                ..PacketSpec::default()
            },
            "vlans",
        ),
        (
            PacketSpec {
                vlans: vec![4095],
                ..PacketSpec::default()
            },
            "vlans",
        ),
        (
            PacketSpec {
                src_port: PortRange { first: 1, count: 0 },
                ..PacketSpec::default()
            },
            "src_port",
        ),
    ];
    for (spec, field) in cases {
        let e = PgInput::add_stream(&mut g, stream("bad", spec, 1), "test-capture").unwrap_err();
        assert!(e.to_string().contains(field), "{e} should name {field}");
    }
    let e = PgInput::add_stream(
        &mut g,
        stream("x", PacketSpec::default(), 1),
        "no-such-node",
    )
    .unwrap_err();
    assert!(e.to_string().contains("no-such-node"), "{e}");
    let mut s = stream("r", PacketSpec::default(), 1);
    s.rate_pps = Some(-1.0);
    assert!(PgInput::add_stream(&mut g, s, "test-capture")
        .unwrap_err()
        .to_string()
        .contains("rate_pps"));
    PgInput::add_stream(
        &mut g,
        stream("dup", PacketSpec::default(), 1),
        "test-capture",
    )
    .unwrap();
    assert!(matches!(
        PgInput::add_stream(
            &mut g,
            stream("dup", PacketSpec::default(), 1),
            "test-capture"
        ),
        Err(PgAddError::Duplicate(_))
    ));
}

fn data(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

#[test]
fn replay_sends_every_record_as_ethernet() {
    let (mut g, seen, _) = graph_with_capture();
    // Raw-IP capture: every record gets a synthesized Ethernet header.
    let s = StreamSpec {
        name: "rawip".into(),
        source: Source::Replay {
            path: data("suricata_tcp-empty-sack-rawip.pcap"),
            timing: Timing::FullSpeed,
        },
        count: None,
        rate_pps: None,
        rx_if: 0,
    };
    let mut expect = Vec::new();
    let mut r = io::pcap::PcapReader::open(data("suricata_tcp-empty-sack-rawip.pcap")).unwrap();
    while let Some(rec) = r.next_record().unwrap() {
        expect.push(rec.data.to_vec());
    }
    let mut s1 = s.clone();
    s1.count = Some(expect.len() as u64 * 2);
    PgInput::add_stream(&mut g, s1, "test-capture").unwrap();
    run(&mut g, 100);
    let pkts = seen.lock().unwrap();
    assert_eq!(pkts.len(), expect.len() * 2, "two loops over the capture");
    for (p, e) in pkts.iter().zip(expect.iter().chain(expect.iter())) {
        assert_eq!(&p[14..], &e[..], "IP bytes unchanged");
        let et = u16::from_be_bytes([p[12], p[13]]);
        assert!(et == 0x0800 || et == 0x86dd);
    }
}

#[test]
fn replay_at_capture_timing_waits_for_each_record() {
    let (mut g, seen, _) = graph_with_capture();
    let path = data("tcpdump_tcp-handshake-nano-sll.pcap");
    let mut times = Vec::new();
    let mut r = io::pcap::PcapReader::open(&path).unwrap();
    while let Some(rec) = r.next_record().unwrap() {
        times.push(rec.timestamp_ns);
    }
    assert!(times.len() >= 2);
    let s = StreamSpec {
        name: "paced".into(),
        source: Source::Replay {
            path,
            timing: Timing::Capture,
        },
        count: Some(times.len() as u64),
        rate_pps: None,
        rx_if: 0,
    };
    PgInput::add_stream(&mut g, s, "test-capture").unwrap();
    let pg = g.node_index("pg-input").unwrap();
    g.node_mut::<PgInput>(pg).unwrap().enable();
    g.dispatch(0);
    let at_start = seen.lock().unwrap().len();
    let first_gap = times[1] - times[0];
    assert_eq!(at_start, times.iter().filter(|&&t| t == times[0]).count());
    if first_gap > 1 {
        g.dispatch(first_gap - 1);
        assert_eq!(seen.lock().unwrap().len(), at_start, "not before its time");
    }
    g.dispatch(times.last().unwrap() - times[0]);
    assert_eq!(seen.lock().unwrap().len(), times.len());
}

#[test]
fn replay_of_a_broken_capture_names_the_record() {
    let (mut g, _, _) = graph_with_capture();
    let s = StreamSpec {
        name: "broken".into(),
        source: Source::Replay {
            path: data("suricata_fuzz-corrupt-record.pcap"),
            timing: Timing::FullSpeed,
        },
        count: None,
        rate_pps: None,
        rx_if: 0,
    };
    let e = PgInput::add_stream(&mut g, s, "test-capture")
        .unwrap_err()
        .to_string();
    assert!(e.contains("broken") && e.contains("record"), "{e}");
}

#[test]
fn trace_shows_pg_and_null_lines() {
    let pool = BufferPool::new(&PoolConfig::new(1024)).unwrap();
    let mut b = GraphBuilder::new();
    b.add(PgInput::new()).add(NullOutput::new());
    let mut g = b.build(BufferCache::new(pool.clone())).unwrap();
    PgInput::add_stream(
        &mut g,
        stream("t", PacketSpec::default(), 10),
        "null-output",
    )
    .unwrap();
    g.trace_add("pg-input", 2).unwrap();
    run(&mut g, 5);
    let t = g.format_trace();
    assert!(
        t.contains("pg-input") && t.contains("stream t, 60 bytes, rx-if 3"),
        "{t}"
    );
    assert!(t.contains("null-output") && t.contains("discarded"), "{t}");
    assert_eq!(g.traced(), 2);
    assert_eq!(g.stats().error_count("null-output", "Discarded"), Some(10));
    assert_eq!(pool.in_use(), 0);
}

#[test]
fn pool_exhaustion_is_counted() {
    let pool = BufferPool::new(&PoolConfig::new(100)).unwrap();
    /// Holds every packet: never frees.
    #[derive(Default)]
    struct Hoard(Vec<buf::Buf>);
    impl Node for Hoard {
        fn info(&self) -> NodeInfo {
            NodeInfo {
                name: "test-hoard",
                kind: NodeKind::Internal,
                next_nodes: &[],
                errors: &[],
            }
        }
        fn process(&mut self, _cx: &mut Ctx<'_>, frame: &mut Frame) {
            self.0.extend(frame.drain());
        }
    }
    let mut b = GraphBuilder::new();
    b.add(PgInput::new()).add(Hoard::default());
    let mut g = b.build(BufferCache::new(pool.clone())).unwrap();
    PgInput::add_stream(
        &mut g,
        stream("s", PacketSpec::default(), 300),
        "test-hoard",
    )
    .unwrap();
    run(&mut g, 3);
    assert!(g.stats().error_count("pg-input", "NoBuffers").unwrap() > 0);
    assert_eq!(pool.in_use(), 100);
    let idx = g.node_index("test-hoard").unwrap();
    let held = std::mem::take(&mut g.node_mut::<Hoard>(idx).unwrap().0);
    for b in held {
        g.cache().free(b);
    }
}
