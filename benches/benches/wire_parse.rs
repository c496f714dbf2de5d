//! BENCH wire-parse: header parsing from Ethernet to the transport ports, uplane's checked
//! views against etherparse's `SlicedPacket` (also zero-copy) on the same packets.

use etherparse::{SlicedPacket, TransportSlice};
use std::hint::black_box;
use uplane_benches::{best_of, load_ethernet, report_rate, shared_pcap};
use wire::ethernet::EthernetFrame;
use wire::ipv4::Ipv4Packet;
use wire::ipv6::{ext, Ipv6Packet};
use wire::tcp::TcpPacket;
use wire::udp::UdpPacket;
use wire::{vlan, EtherType, IpProtocol};

/// What both parsers extract: validated headers down to the transport ports.
#[inline(never)]
fn ours(p: &[u8]) -> u32 {
    let Ok(eth) = EthernetFrame::new_checked(p) else {
        return 0;
    };
    let Ok(tags) = vlan::walk_frame(eth.into_inner()) else {
        return 0;
    };
    let Some(l3) = p.get(tags.payload_offset()..) else {
        return 0;
    };
    match tags.ethertype() {
        EtherType::Ipv4 => {
            let Ok(ip) = Ipv4Packet::new_checked(l3) else {
                return 0;
            };
            if ip.is_fragment() && ip.frag_offset() != 0 {
                return 1;
            }
            ports(ip.protocol(), ip.payload())
        }
        EtherType::Ipv6 => {
            let Ok(ip) = Ipv6Packet::new_checked(l3) else {
                return 0;
            };
            let payload = ip.payload();
            let Ok(chain) = ext::walk(ip.next_header(), payload) else {
                return 0;
            };
            ports(
                chain.upper,
                payload.get(chain.upper_offset..).unwrap_or(&[]),
            )
        }
        _ => 1,
    }
}

#[inline(always)]
fn ports(proto: IpProtocol, l4: &[u8]) -> u32 {
    match proto {
        IpProtocol::Tcp => TcpPacket::new_checked(l4)
            .map_or(0, |t| u32::from(t.src_port()) + u32::from(t.dst_port())),
        IpProtocol::Udp => UdpPacket::new_checked(l4)
            .map_or(0, |u| u32::from(u.src_port()) + u32::from(u.dst_port())),
        _ => 2,
    }
}

#[inline(never)]
fn theirs(p: &[u8]) -> u32 {
    match SlicedPacket::from_ethernet(p) {
        Ok(s) => match s.transport {
            Some(TransportSlice::Tcp(t)) => {
                u32::from(t.source_port()) + u32::from(t.destination_port())
            }
            Some(TransportSlice::Udp(u)) => {
                u32::from(u.source_port()) + u32::from(u.destination_port())
            }
            Some(_) => 2,
            None => 1,
        },
        Err(_) => 0,
    }
}

fn generated() -> Vec<Vec<u8>> {
    use buf::{BufferCache, BufferPool, PoolConfig};
    use io::pg::*;
    let pool = BufferPool::new(&PoolConfig::new(4096)).expect("pool");
    let mut b = graph::GraphBuilder::new();
    let cap = Collect::default();
    let out = cap.0.clone();
    b.add(PgInput::new()).add(cap);
    let mut g = b.build(BufferCache::new(pool)).expect("graph");
    let v6 = IpSpec::V6 {
        src: Ip6Range {
            first: "fd00::1".parse().unwrap(),
            count: 16,
        },
        dst: Ip6Range {
            first: "fd01::1".parse().unwrap(),
            count: 16,
        },
    };
    let specs = [
        PacketSpec {
            flows: 64,
            ..PacketSpec::default()
        },
        PacketSpec {
            l4: L4Spec::Tcp { flags: 0x10 },
            frame_size: (60, 1500),
            flows: 64,
            ..PacketSpec::default()
        },
        PacketSpec {
            ip: v6,
            l4: L4Spec::Tcp { flags: 0x10 },
            frame_size: (74, 74),
            flows: 64,
            ..PacketSpec::default()
        },
        PacketSpec {
            vlans: vec![10, 20],
            flows: 64,
            ..PacketSpec::default()
        },
    ];
    for (i, spec) in specs.into_iter().enumerate() {
        let s = StreamSpec {
            name: format!("s{i}"),
            source: Source::Generate(spec),
            count: Some(256),
            rate_pps: None,
            rx_if: 0,
        };
        PgInput::add_stream(&mut g, s, "bench-collect").expect("stream");
    }
    let pg = g.node_index("pg-input").unwrap();
    g.node_mut::<PgInput>(pg).unwrap().enable();
    for t in 0..16 {
        g.dispatch(t);
    }
    let v = std::mem::take(&mut *out.lock().unwrap());
    v
}

#[derive(Default)]
struct Collect(std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>);
impl graph::Node for Collect {
    fn info(&self) -> graph::NodeInfo {
        graph::NodeInfo {
            name: "bench-collect",
            kind: graph::NodeKind::Internal,
            next_nodes: &[],
            errors: &[],
        }
    }
    fn process(&mut self, cx: &mut graph::Ctx<'_>, frame: &mut buf::Frame) {
        for b in frame.drain() {
            self.0
                .lock()
                .unwrap()
                .push(cx.pool().get(&b).data().to_vec());
            cx.free(b);
        }
    }
}

fn main() {
    let mut packets = generated();
    for name in [
        "zeek_http-bro.org.pcap",
        "zeek_wikipedia.pcap",
        "arkime_twovlan-qinq.pcap",
        "zeek_ftp-ipv6.pcap",
    ] {
        if let Some(p) = shared_pcap(name) {
            packets.extend(load_ethernet(&p));
        }
    }
    // Both parsers must agree on every packet before we time them.
    let mut disagree = 0;
    for p in &packets {
        let (a, b) = (ours(p), theirs(p));
        if a != b && a > 2 && b > 2 {
            disagree += 1;
        }
    }
    assert_eq!(disagree, 0, "parsers disagree on ports");
    let rounds = (2_000_000 / packets.len().max(1)).max(1);
    let n = (rounds * packets.len()) as f64;
    let t_ours = best_of(5, || {
        let mut acc = 0u32;
        for _ in 0..rounds {
            for p in &packets {
                acc = acc.wrapping_add(ours(black_box(p)));
            }
        }
        black_box(acc);
    });
    let t_theirs = best_of(5, || {
        let mut acc = 0u32;
        for _ in 0..rounds {
            for p in &packets {
                acc = acc.wrapping_add(theirs(black_box(p)));
            }
        }
        black_box(acc);
    });
    println!(
        "wire-parse: {} packets ({} distinct), Ethernet/VLAN/IPv4/IPv6+ext/TCP/UDP",
        n,
        packets.len()
    );
    report_rate(
        "wire-parse",
        "Mpkt/s",
        n / t_ours / 1e6,
        Some(("etherparse", n / t_theirs / 1e6)),
    );
}
