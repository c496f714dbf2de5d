//! Building the router graph in one call.

use crate::arp::{ArpInput, Ip4Arp, Ip4NeighborProcess};
use crate::ethernet::EthernetInput;
use crate::interface::IfKind;
use crate::ip4::frag::Ip4Frag;
use crate::ip4::icmp_error::Ip4IcmpError;
use crate::ip4::input::Ip4Input;
use crate::ip4::local::Ip4Local;
use crate::ip4::lookup::Ip4Lookup;
use crate::ip4::rewrite::Ip4Rewrite;
use crate::ip6::icmp_error::Ip6IcmpError;
use crate::ip6::input::Ip6Input;
use crate::ip6::local::Ip6Local;
use crate::ip6::lookup::Ip6Lookup;
use crate::ip6::rewrite::Ip6Rewrite;
use crate::nd::{Ip6DiscoverNeighbor, Ip6Nd};
use crate::output::InterfaceOutput;
use crate::Vnet;
use graph::{Graph, GraphBuilder, GraphError};

/// Adds every vnet node to `builder`: `ethernet-input`, `interface-output`, the IPv4 path
/// (`ip4-input`, `ip4-lookup`, `ip4-rewrite`, `ip4-local`, `ip4-icmp-error`, `ip4-frag`),
/// ARP (`arp-input`, `ip4-arp`, `ip4-neighbor-process`, which also ages IPv6 neighbours),
/// the IPv6 path (`ip6-input`, `ip6-lookup`, `ip6-rewrite`, `ip6-local`, `ip6-icmp-error`)
/// and ND (`ip6-nd`, `ip6-discover-neighbor`).
/// Device input/output nodes are the caller's; after `build`, call
/// [`attach_interfaces`].
pub fn register(builder: &mut GraphBuilder, vnet: &Vnet) {
    builder
        .add(EthernetInput::new(vnet))
        .add(InterfaceOutput::new(vnet))
        .add(Ip4Input::new(vnet))
        .add(Ip4Lookup::new(vnet))
        .add(Ip4Rewrite::new(vnet))
        .add(Ip4Local::new(vnet))
        .add(Ip4IcmpError::new(vnet))
        .add(Ip4Frag::new(vnet))
        .add(ArpInput::new(vnet))
        .add(Ip4Arp::new(vnet))
        .add(Ip4NeighborProcess::new(vnet))
        .add(Ip6Input::new())
        .add(Ip6Lookup::new(vnet))
        .add(Ip6Rewrite::new(vnet))
        .add(Ip6Local::new(vnet))
        .add(Ip6IcmpError::new(vnet))
        .add(Ip6Nd::new(vnet))
        .add(Ip6DiscoverNeighbor::new(vnet));
}

/// Connects `interface-output` to the output node of every hardware interface in `vnet`.
pub fn attach_interfaces(graph: &mut Graph, vnet: &Vnet) -> Result<(), GraphError> {
    let hw: Vec<(u32, String)> = vnet
        .interfaces()
        .iter()
        .filter_map(|i| match &i.kind {
            IfKind::Hw { tx_node } => Some((i.index, tx_node.clone())),
            IfKind::Sub { .. } => None,
        })
        .collect();
    for (i, tx) in hw {
        InterfaceOutput::attach(graph, i, &tx)?;
    }
    Ok(())
}
