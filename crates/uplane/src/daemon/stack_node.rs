//! uplane's TCP/IP stack inside the graph, behind `ip4-local`/`ip6-local`.
//!
//! Two nodes share one [`HostState`] (the sans-IO [`stack::ip::IpHost`] and the
//! [`Services`] running on it) per graph:
//!
//! * `stack-input` (internal): the TCP, UDP and ICMP packets `ip4-local`/`ip6-local` hand
//!   off (window at the IP header, already for one of our addresses and reassembled) go to
//!   [`IpHost::handle_ip_packet`] and are freed. TCP to a port nobody listens to is
//!   answered by the stack (RST); UDP nobody listens to goes on to
//!   `ip4-icmp-error`/`ip6-icmp-error` as port unreachable (the router's rate-limited ICMP
//!   errors, as without a stack). Unusable packets are dropped and counted by reason.
//! * `stack-output` (input, polled every dispatch): runs the stack's timers at the
//!   dispatch's `now`, runs the services (non-blocking: each does what it can without
//!   waiting and returns), then writes the stack's outgoing IP packets into pool buffers
//!   (no allocation per packet; one spare buffer kept between polls) and enqueues them to
//!   `ip4-lookup`/`ip6-lookup`, from where they are routed like any packet we originate
//!   (`rx_if` unset).
//!
//! The nodes are in every graph; until [`configure`] gives them a state (the config has
//! `[[service]]` entries) `stack-output` returns at once and `ip4-local`/`ip6-local` keep
//! answering TCP/UDP with ICMP port unreachable.

use super::services::Services;
use buf::{Buf, BufferCache, Frame, FRAME_SIZE};
use graph::{Ctx, Graph, GraphError, Next, Node, NodeError, NodeInfo, NodeKind};
use stack::iface::DropReason;
use stack::ip::{IpArrival, IpHost};
use std::sync::{Arc, Mutex, MutexGuard};
use vnet::ip4::local::Ip4Local;
use vnet::ip6::local::Ip6Local;
use vnet::opaque;

/// The internal node that takes the packets `ip4-local`/`ip6-local` hand off.
pub const STACK_INPUT: &str = "stack-input";
/// The input node that sends the stack's packets into `ip4-lookup`/`ip6-lookup`.
pub const STACK_OUTPUT: &str = "stack-output";

graph::node_errors! {
    /// Errors and counters of `stack-input`.
    pub enum StackInputError {
        /// TCP segments handed to the endpoint (a counter).
        TcpSegments = "TCP segments to the stack",
        /// UDP datagrams a socket took (a counter).
        UdpDatagrams = "UDP datagrams to a socket",
        /// UDP nobody listens to: sent on as ICMP port unreachable (a counter).
        UdpNoListener = "UDP to no socket: ICMP port unreachable",
        /// ICMP errors delivered to a connection or socket (a counter).
        IcmpDelivered = "ICMP errors delivered to a socket",
        /// Malformed IP header (only from a buggy caller: the router checked it).
        BadIpHeader = "malformed IP header",
        /// A fragment (the router reassembles first: only from a buggy caller).
        Fragment = "IP fragment",
        /// IPv6 extension header in front of the transport header.
        ExtensionHeader = "IPv6 extension header",
        /// A protocol the stack does not handle.
        UnknownProtocol = "unknown upper-layer protocol",
        /// Malformed TCP segment or bad checksum.
        BadTcp = "malformed TCP segment or bad checksum",
        /// Malformed UDP datagram or bad checksum.
        BadUdp = "malformed UDP datagram or bad checksum",
        /// Malformed or unhandled ICMP message.
        BadIcmp = "malformed or unhandled ICMP message",
        /// An ICMP error quoting no connection or socket of ours.
        IcmpUnmatched = "ICMP error for no socket of ours",
        /// Packets handed in while no stack is configured.
        NoStack = "no stack configured",
    }
}

graph::node_errors! {
    /// Errors and counters of `stack-output`.
    pub enum StackOutputError {
        /// IPv4 packets sent (a counter).
        Ip4Sent = "IPv4 packets from the stack",
        /// IPv6 packets sent (a counter).
        Ip6Sent = "IPv6 packets from the stack",
        /// No buffer for the next packet: it waits for the next poll.
        NoBuffers = "no buffer for a packet of the stack",
        /// The stack wrote something that is not an IP packet (a bug; dropped).
        NotIp = "stack output is not IP",
    }
}

fn input_error(r: DropReason) -> StackInputError {
    match r {
        DropReason::Fragment => StackInputError::Fragment,
        DropReason::ExtensionHeader => StackInputError::ExtensionHeader,
        DropReason::UnknownProtocol => StackInputError::UnknownProtocol,
        DropReason::BadTcp => StackInputError::BadTcp,
        DropReason::BadUdp => StackInputError::BadUdp,
        DropReason::BadIcmp => StackInputError::BadIcmp,
        DropReason::IcmpUnmatched => StackInputError::IcmpUnmatched,
        _ => StackInputError::BadIpHeader,
    }
}

/// The stack and its services: one per graph, shared by its `stack-input` and
/// `stack-output` nodes (both run on the graph's thread, so the lock is uncontended; it
/// is taken once per frame or poll).
#[derive(Debug)]
pub struct HostState {
    /// The TCP/UDP endpoint at the IP level.
    pub host: IpHost,
    /// The services listening on it.
    pub services: Services,
}

/// A graph's stack, shared by its two nodes.
pub type SharedHost = Arc<Mutex<HostState>>;

fn lock(s: &SharedHost) -> MutexGuard<'_, HostState> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

const NEXT_ICMP4_ERROR: Next = Next(0);
const NEXT_ICMP6_ERROR: Next = Next(1);

/// `stack-input`: see the module documentation.
#[derive(Debug, Default)]
pub struct StackInput {
    host: Option<SharedHost>,
}

impl StackInput {
    /// The node, without a stack until [`configure`].
    pub fn new() -> StackInput {
        StackInput::default()
    }
}

impl Node for StackInput {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: STACK_INPUT,
            kind: NodeKind::Internal,
            next_nodes: &[
                vnet::ip4::names::IP4_ICMP_ERROR,
                vnet::ip6::names::IP6_ICMP_ERROR,
            ],
            errors: StackInputError::ALL,
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, frame: &mut Frame) {
        let Some(shared) = self.host.clone() else {
            for b in frame.drain() {
                cx.drop(b, StackInputError::NoStack);
            }
            return;
        };
        let pool = cx.pool();
        let now = cx.now();
        let mut st = lock(&shared);
        for mut b in frame.drain() {
            let got = st.host.handle_ip_packet(now, pool.get(&b).data());
            match got {
                Ok(IpArrival::UdpNoListener) => {
                    cx.count(StackInputError::UdpNoListener, 1);
                    let v6 = pool.get(&b).data().first().is_some_and(|v| v >> 4 == 6);
                    let m = pool.meta_mut(&mut b);
                    let next = if v6 {
                        m.opaque[opaque::ICMP] = 1 << 8 | 4;
                        NEXT_ICMP6_ERROR
                    } else {
                        m.opaque[opaque::ICMP] = 3 << 8 | 3;
                        NEXT_ICMP4_ERROR
                    };
                    m.opaque[opaque::ICMP_DATA] = 0;
                    cx.trace(&b, format_args!("udp: no socket, port unreachable"));
                    cx.enqueue(next, b);
                }
                Ok(a) => {
                    let (c, what) = match a {
                        IpArrival::Tcp { .. } => (StackInputError::TcpSegments, "tcp"),
                        IpArrival::Udp => (StackInputError::UdpDatagrams, "udp"),
                        _ => (StackInputError::IcmpDelivered, "icmp error"),
                    };
                    cx.count(c, 1);
                    cx.trace(&b, format_args!("{what}: to the stack"));
                    cx.free(b);
                }
                Err(r) => {
                    cx.trace(&b, format_args!("dropped: {}", r.message()));
                    cx.drop(b, input_error(r));
                }
            }
        }
    }
}

const NEXT_IP4_LOOKUP: Next = Next(0);
const NEXT_IP6_LOOKUP: Next = Next(1);

/// `stack-output`: see the module documentation.
#[derive(Debug, Default)]
pub struct StackOutput {
    host: Option<SharedHost>,
    /// A buffer kept for the next packet (polls that send nothing allocate nothing).
    spare: Option<Buf>,
}

impl StackOutput {
    /// The node, without a stack until [`configure`].
    pub fn new() -> StackOutput {
        StackOutput::default()
    }
}

impl Node for StackOutput {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: STACK_OUTPUT,
            kind: NodeKind::Input,
            next_nodes: &[vnet::ip4::names::IP4_LOOKUP, vnet::ip6::names::IP6_LOOKUP],
            errors: StackOutputError::ALL,
        }
    }

    /// Without a stack (no `[[service]]`) there is nothing to poll.
    fn wants_poll(&self) -> bool {
        self.host.is_some()
    }

    fn poll(&mut self, cx: &mut Ctx<'_>) -> usize {
        let Some(shared) = self.host.as_ref() else {
            return 0;
        };
        let now = cx.now();
        let pool = cx.pool();
        let mut st = lock(shared);
        let st = &mut *st;
        if st.host.poll_timeout().is_some_and(|t| t <= now) {
            st.host.handle_timeout(now);
        }
        st.services.run(now, &mut st.host);
        let max = st.host.max_packet_len();
        let mut sent = 0;
        while sent < FRAME_SIZE {
            let mut b = match self.spare.take() {
                Some(b) => b,
                None => match cx.cache().alloc() {
                    Some(b) => b,
                    None => {
                        cx.count(StackOutputError::NoBuffers, 1);
                        break;
                    }
                },
            };
            let n = {
                let mut pkt = pool.get_mut(&mut b);
                pkt.truncate(0);
                match pkt.append(max) {
                    Some(room) => st.host.poll_transmit(now, room),
                    None => None,
                }
            };
            let Some(n) = n else {
                pool.get_mut(&mut b).truncate(0);
                self.spare = Some(b);
                break;
            };
            let next = {
                let mut pkt = pool.get_mut(&mut b);
                pkt.truncate(n);
                match pkt.data().first().map(|v| v >> 4) {
                    Some(4) => Some(NEXT_IP4_LOOKUP),
                    Some(6) => Some(NEXT_IP6_LOOKUP),
                    _ => None,
                }
            };
            sent += 1;
            match next {
                Some(next) => {
                    cx.count(
                        if next == NEXT_IP4_LOOKUP {
                            StackOutputError::Ip4Sent
                        } else {
                            StackOutputError::Ip6Sent
                        },
                        1,
                    );
                    if cx.trace_mark(&mut b) {
                        cx.trace(&b, format_args!("stack packet, {n} bytes"));
                    }
                    cx.enqueue(next, b);
                }
                None => cx.drop(b, StackOutputError::NotIp),
            }
        }
        sent
    }

    fn release(&mut self, cache: &mut BufferCache) {
        if let Some(b) = self.spare.take() {
            cache.free(b);
        }
    }
}

/// Gives `graph`'s `stack-input`/`stack-output` the stack `host` and plugs `stack-input`
/// into `ip4-local` and `ip6-local`'s L4 hand-off.
pub fn configure(graph: &mut Graph, host: SharedHost) -> Result<(), GraphError> {
    set_host(graph, host)?;
    Ip4Local::attach_l4(graph, STACK_INPUT)?;
    Ip6Local::attach_l4(graph, STACK_INPUT)
}

/// Gives `graph`'s two stack nodes the stack `host`.
fn set_host(graph: &mut Graph, host: SharedHost) -> Result<(), GraphError> {
    for name in [STACK_INPUT, STACK_OUTPUT] {
        let i = graph
            .node_index(name)
            .ok_or_else(|| GraphError::NoSuchNode(name.into()))?;
        if let Some(n) = graph.node_mut::<StackInput>(i) {
            n.host = Some(host.clone());
        } else if let Some(n) = graph.node_mut::<StackOutput>(i) {
            n.host = Some(host.clone());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The two nodes in a graph of their own: built IP packets injected at `stack-input`,
    //! sinks standing in for `ip4-lookup`, `ip6-lookup` and the ICMP error nodes.
    use super::*;
    use crate::config::ServiceConfig;
    use buf::{BufferPool, PoolConfig};
    use graph::GraphBuilder;
    use std::net::{Ipv4Addr, SocketAddr};
    use wire::ipv4::Ipv4Packet;
    use wire::pseudo::PseudoHeader;
    use wire::tcp::{TcpFlags, TcpPacket, TcpRepr, TcpSeqNumber};

    type Seen = Arc<Mutex<Vec<(&'static str, Vec<u8>, u32)>>>;

    struct Sink {
        name: &'static str,
        seen: Seen,
    }

    impl Node for Sink {
        fn info(&self) -> NodeInfo {
            NodeInfo {
                name: self.name,
                kind: NodeKind::Internal,
                next_nodes: &[],
                errors: &[],
            }
        }
        fn process(&mut self, cx: &mut Ctx<'_>, frame: &mut Frame) {
            for b in frame.drain() {
                let p = cx.pool().get(&b);
                let rec = (self.name, p.data().to_vec(), p.meta().opaque[opaque::ICMP]);
                self.seen.lock().unwrap().push(rec);
                cx.free(b);
            }
        }
    }

    const US: [u8; 4] = [10, 1, 0, 1];
    const PEER: [u8; 4] = [10, 1, 0, 2];

    fn ip4(proto: u8, l4: &[u8]) -> Vec<u8> {
        let mut p = vec![0u8; 20 + l4.len()];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
        p[8] = 64;
        p[9] = proto;
        p[12..16].copy_from_slice(&PEER);
        p[16..20].copy_from_slice(&US);
        let c = !wire::checksum::data(&p[..20]);
        p[10..12].copy_from_slice(&c.to_be_bytes());
        p[20..].copy_from_slice(l4);
        p
    }

    fn syn(port: u16) -> Vec<u8> {
        let repr = TcpRepr {
            src_port: 40000,
            dst_port: port,
            seq_number: TcpSeqNumber(1000),
            flags: TcpFlags::SYN,
            window_len: 65535,
            max_seg_size: Some(1460),
            ..TcpRepr::default()
        };
        let mut seg = vec![0u8; repr.header_len()];
        let ph = PseudoHeader::V4 {
            src: Ipv4Addr::from(PEER),
            dst: Ipv4Addr::from(US),
        };
        repr.emit(&mut TcpPacket::new_unchecked(&mut seg[..]), Some(&ph));
        seg
    }

    struct Lab {
        graph: Graph,
        pool: Arc<BufferPool>,
        seen: Seen,
        now: u64,
    }

    impl Lab {
        fn new(with_stack: bool) -> Lab {
            let pool = BufferPool::new(&PoolConfig::new(1024)).unwrap();
            let seen: Seen = Arc::default();
            let mut b = GraphBuilder::new();
            b.add(StackInput::new()).add(StackOutput::new());
            for name in [
                vnet::ip4::names::IP4_LOOKUP,
                vnet::ip6::names::IP6_LOOKUP,
                vnet::ip4::names::IP4_ICMP_ERROR,
                vnet::ip6::names::IP6_ICMP_ERROR,
            ] {
                b.add(Sink {
                    name,
                    seen: seen.clone(),
                });
            }
            let mut graph = b.build(BufferCache::new(pool.clone())).unwrap();
            if with_stack {
                let mut host = IpHost::new(Default::default());
                let list = [ServiceConfig {
                    kind: "echo".into(),
                    listen: SocketAddr::from((US, 7)),
                }];
                let services = Services::new(&mut host, &list, None).unwrap();
                set_host(
                    &mut graph,
                    Arc::new(Mutex::new(HostState { host, services })),
                )
                .unwrap();
            }
            Lab {
                graph,
                pool,
                seen,
                now: 1_000_000,
            }
        }

        fn inject(&mut self, pkts: &[Vec<u8>]) {
            let node = self.graph.node_index(STACK_INPUT).unwrap();
            let mut f = Frame::new();
            for bytes in pkts {
                let mut b = self.graph.cache().alloc().unwrap();
                assert!(self.pool.get_mut(&mut b).copy_from(bytes));
                assert!(f.push(b).is_ok());
            }
            self.graph.inject(node, &mut f);
            for _ in 0..10 {
                self.now += 1000;
                self.graph.dispatch(self.now);
            }
        }

        fn err(&self, node: &str, name: &str) -> u64 {
            self.graph.stats().error_count(node, name).unwrap()
        }

        fn take(&self) -> Vec<(&'static str, Vec<u8>, u32)> {
            std::mem::take(&mut *self.seen.lock().unwrap())
        }
    }

    #[test]
    fn syn_to_a_service_is_answered_through_ip4_lookup_and_closed_ports_get_rst() {
        let mut lab = Lab::new(true);
        lab.inject(&[ip4(6, &syn(7)), ip4(6, &syn(8))]);
        assert_eq!(lab.err(STACK_INPUT, "TcpSegments"), 2);
        assert_eq!(lab.err(STACK_OUTPUT, "Ip4Sent"), 2);
        let out = lab.take();
        assert_eq!(out.len(), 2, "{out:?}");
        let mut flags = Vec::new();
        for (node, bytes, _) in &out {
            assert_eq!(*node, vnet::ip4::names::IP4_LOOKUP);
            let ip = Ipv4Packet::new_checked(&bytes[..]).unwrap();
            assert!(ip.verify_checksum());
            assert_eq!(ip.src_addr(), Ipv4Addr::from(US));
            let t = TcpPacket::new_checked(ip.payload()).unwrap();
            flags.push((t.src_port(), t.syn(), t.rst()));
        }
        flags.sort();
        assert_eq!(flags, [(7, true, false), (8, false, true)]);
        // Idle polls send nothing and keep one spare buffer, not more.
        let used = lab.pool.in_use();
        for _ in 0..100 {
            lab.now += 1000;
            lab.graph.dispatch(lab.now);
        }
        assert_eq!(lab.pool.in_use(), used);
        assert!(lab.take().is_empty());
    }

    #[test]
    fn bad_packets_are_counted_and_udp_to_no_socket_goes_to_icmp_error() {
        let mut lab = Lab::new(true);
        let mut bad_sum = syn(7);
        bad_sum[16] ^= 0x55;
        let udp_no_socket = {
            let mut d = vec![0u8; 9];
            d[8] = b'x';
            let ph = PseudoHeader::V4 {
                src: Ipv4Addr::from(PEER),
                dst: Ipv4Addr::from(US),
            };
            wire::udp::UdpRepr {
                src_port: 5000,
                dst_port: 5555,
                payload_len: 1,
            }
            .emit(
                &mut wire::udp::UdpPacket::new_unchecked(&mut d[..]),
                Some(&ph),
            );
            d
        };
        lab.inject(&[
            ip4(6, &bad_sum),
            ip4(6, &syn(7)[..12]),
            ip4(17, &[0, 1, 0, 2, 0, 99, 0, 0]),
            ip4(17, &udp_no_socket),
            ip4(47, &[0; 4]),
            vec![0x45],
            vec![],
            vec![0x60; 30],
        ]);
        assert_eq!(lab.err(STACK_INPUT, "BadTcp"), 2);
        assert_eq!(lab.err(STACK_INPUT, "BadUdp"), 1);
        assert_eq!(lab.err(STACK_INPUT, "UdpNoListener"), 1);
        assert_eq!(lab.err(STACK_INPUT, "UnknownProtocol"), 1);
        assert_eq!(lab.err(STACK_INPUT, "BadIpHeader"), 3);
        let out = lab.take();
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].0, vnet::ip4::names::IP4_ICMP_ERROR);
        assert_eq!(out[0].2, 3 << 8 | 3, "port unreachable");
        assert_eq!(lab.err(STACK_OUTPUT, "Ip4Sent"), 0);
    }

    #[test]
    fn without_a_stack_packets_are_dropped_and_counted() {
        let mut lab = Lab::new(false);
        lab.inject(&[ip4(6, &syn(7))]);
        assert_eq!(lab.err(STACK_INPUT, "NoStack"), 1);
        assert!(lab.take().is_empty());
    }
}
