//! `ip4-punt`: hands packets for our addresses that no uplane node handles to the host
//! kernel through a TAP interface (VPP's punt / linux-cp idea, NetIO's "knet").
//!
//! `ip4-local` sends UDP, TCP and ICMP other than echo to its L4 arc; when that arc is this
//! node ([`Ip4Punt::configure`] attaches it), each packet gets an Ethernet header addressed
//! to the host side of the TAP and leaves through `interface-output` on the TAP interface.
//! The host kernel then owns those conversations (a routing daemon's BGP session, an SSH
//! server on the router's address); its answers come back in through `tap-input` and are
//! routed like any other packet. For the kernel to accept them it must own the addresses
//! too (e.g. `ip addr add 10.1.0.1/32 dev lo`) and route the peers via uplane's TAP
//! address.

use crate::interface::IfIndex;
use crate::ip4::local::Ip4Local;
use crate::names;
use crate::Vnet;
use buf::Frame;
use graph::{Ctx, Graph, GraphError, Next, Node, NodeError, NodeInfo, NodeKind};
use wire::ethernet::EthernetAddress;

/// The node's name.
pub const IP4_PUNT: &str = "ip4-punt";

graph::node_errors! {
    /// Errors and counters of `ip4-punt`.
    pub enum PuntError {
        /// Packets handed to the host (a counter).
        Punted = "punted to the host kernel",
        /// No punt interface is configured.
        NotConfigured = "no punt interface: dropped",
        /// The punt interface does not exist any more.
        NoInterface = "punt interface missing: dropped",
        /// No room before the packet for the Ethernet header.
        NoHeadroom = "no headroom for the Ethernet header",
    }
}

const NEXT_OUTPUT: Next = Next(0);

/// `ip4-punt`: see the module documentation.
#[derive(Debug)]
pub struct Ip4Punt {
    vnet: Vnet,
    target: Option<(IfIndex, EthernetAddress)>,
}

impl Ip4Punt {
    /// The node, not yet pointing anywhere.
    pub fn new(vnet: &Vnet) -> Ip4Punt {
        Ip4Punt {
            vnet: vnet.clone(),
            target: None,
        }
    }

    /// Punts through interface `tap` (uplane's side of a TAP), addressing frames to the
    /// host side's MAC `host_mac`, and makes this node `ip4-local`'s L4 arc.
    pub fn configure(
        graph: &mut Graph,
        tap: IfIndex,
        host_mac: EthernetAddress,
    ) -> Result<(), GraphError> {
        let me = graph
            .node_index(IP4_PUNT)
            .ok_or_else(|| GraphError::NoSuchNode(IP4_PUNT.into()))?;
        let node = graph
            .node_mut::<Ip4Punt>(me)
            .ok_or_else(|| GraphError::NoSuchNode(IP4_PUNT.into()))?;
        node.target = Some((tap, host_mac));
        Ip4Local::attach_l4(graph, IP4_PUNT)
    }
}

impl Node for Ip4Punt {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: IP4_PUNT,
            kind: NodeKind::Internal,
            next_nodes: &[names::INTERFACE_OUTPUT],
            errors: PuntError::ALL,
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, frame: &mut Frame) {
        let Some((tap, host_mac)) = self.target else {
            for b in frame.drain() {
                cx.drop(b, PuntError::NotConfigured);
            }
            return;
        };
        let our_mac = self.vnet.interfaces().get(tap).map(|i| i.mac);
        let Some(our_mac) = our_mac else {
            for b in frame.drain() {
                cx.drop(b, PuntError::NoInterface);
            }
            return;
        };
        let pool = cx.pool();
        let mut punted = 0;
        for mut b in frame.drain() {
            let mut pkt = pool.get_mut(&mut b);
            let Some(h) = pkt.prepend(14) else {
                cx.drop(b, PuntError::NoHeadroom);
                continue;
            };
            h[0..6].copy_from_slice(host_mac.as_bytes());
            h[6..12].copy_from_slice(our_mac.as_bytes());
            h[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
            pkt.meta_mut().tx_if = tap;
            punted += 1;
            cx.trace(&b, format_args!("punt to host via tx-if {tap}"));
            cx.enqueue(NEXT_OUTPUT, b);
        }
        cx.count(PuntError::Punted, punted);
    }
}
