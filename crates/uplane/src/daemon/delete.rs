//! `delete interface NAME`: the interface leaves the graph, vnet and the host.

use super::{lock, Daemon};
use anyhow::{anyhow, bail, Context, Result};
use io::device::{DeviceInput, DeviceOutput, SharedDevice};
use std::net::IpAddr;
use vnet::IfIndex;

impl Daemon {
    /// Removes interface `idx` completely, in this order: the static routes through it
    /// (other paths of an ECMP route stay), its addresses (with their local and connected
    /// routes), its neighbours and their adjacencies, its device from the input and output
    /// nodes (buffers the device holds are released), then the device itself is closed —
    /// an AF_XDP socket's XDP program is detached, a TAP disappears from the host — and
    /// the interface leaves vnet's table. Graph arcs to its nodes stay, unused.
    ///
    /// Refused for the `[punt]` interface (ip4-punt sends to it).
    pub fn delete_interface(&mut self, idx: IfIndex) -> Result<()> {
        let name = self
            .vnet
            .interfaces()
            .get(idx)
            .map(|i| i.name.clone())
            .ok_or_else(|| anyhow!("no interface #{idx}"))?;
        if self.config.punt.as_deref() == Some(name.as_str()) {
            bail!("{name} is the punt interface (punt.interface in the config); it stays");
        }
        self.set_state(idx, false)?;
        self.remove_routes_through(idx)?;
        let (ip4, ip6) = {
            let ifs = self.vnet.interfaces();
            let i = ifs.get(idx).ok_or_else(|| anyhow!("no interface #{idx}"))?;
            (i.ip4.clone(), i.ip6.clone())
        };
        for c in ip4 {
            self.vnet
                .ip4_del_address(idx, c)
                .with_context(|| format!("removing address {c}"))?;
        }
        // Global addresses first: the link-local one is last to go.
        let (ll, global): (Vec<_>, Vec<_>) = ip6
            .into_iter()
            .partition(|c| vnet::ip6::is_link_local(&c.address()));
        for c in global.into_iter().chain(ll) {
            self.vnet
                .ip6_del_address(idx, c)
                .with_context(|| format!("removing address {c}"))?;
        }
        let neighbors: Vec<IpAddr> = {
            let nb = self.vnet.neighbors();
            nb.iter()
                .filter(|n| n.if_index == idx)
                .map(|n| n.ip)
                .collect()
        };
        {
            let mut nb = self.vnet.neighbors();
            for ip in &neighbors {
                nb.remove(idx, *ip);
            }
        }
        {
            let mut adjs = self.vnet.adjacencies_mut();
            let on_if: Vec<IpAddr> = adjs
                .iter()
                .filter(|(_, a)| a.tx_if == idx)
                .map(|(_, a)| a.next_hop)
                .collect();
            for hop in on_if {
                adjs.unresolve(idx, hop);
            }
        }
        let Some(pos) = self.ports.iter().position(|p| p.if_index == idx) else {
            bail!("{name} is not a hardware interface");
        };
        let port = self.ports.remove(pos);
        self.devices.remove(idx);
        let mut devs: Vec<SharedDevice> = Vec::new();
        if port.dev.is_some() {
            // Every graph (worker) lets go of the device before its buffers are released.
            let (in_node, out_node) = (port.in_node, port.out_node);
            for r in self.graphs.each(move |g| {
                let mut d = DeviceInput::detach(g, in_node, idx)?;
                d.extend(DeviceOutput::detach(g, out_node, idx)?);
                Ok::<_, graph::GraphError>(d)
            })? {
                devs.extend(r?);
            }
        }
        // Each device once (the input and every output node held it).
        let mut held: Vec<SharedDevice> = Vec::new();
        for d in &devs {
            if !held.iter().any(|h| std::sync::Arc::ptr_eq(h, d)) {
                held.push(d.clone());
            }
        }
        let flushed = self.graphs.on(0, move |g| {
            held.iter()
                .map(|d| {
                    let mut d = lock(d);
                    d.release(g.cache());
                    d.flush().err().map(|e| e.to_string())
                })
                .collect::<Vec<_>>()
        })?;
        for e in flushed.into_iter().flatten() {
            self.logf(format!("{name}: flushing on delete: {e}"));
        }
        // The last references: the device (socket, TAP fd, XDP link) closes here.
        drop(devs);
        drop(port);
        self.vnet.interfaces_mut().remove(idx)?;
        self.logf(format!("interface {name} (index {idx}) deleted"));
        Ok(())
    }

    /// Removes every static path through `idx`; a route keeps its other paths.
    fn remove_routes_through(&mut self, idx: IfIndex) -> Result<()> {
        for r in self.vnet.ip4_routes() {
            if !r.paths.iter().any(|p| p.if_index == idx) {
                continue;
            }
            self.vnet.ip4_remove_route(r.prefix)?;
            for p in r.paths.iter().filter(|p| p.if_index != idx) {
                self.vnet.ip4_add_route(r.prefix, p.via, Some(p.if_index))?;
            }
        }
        for r in self.vnet.ip6_routes() {
            if !r.paths.iter().any(|p| p.if_index == idx) {
                continue;
            }
            self.vnet.ip6_remove_route(r.prefix)?;
            for p in r.paths.iter().filter(|p| p.if_index != idx) {
                self.vnet.ip6_add_route(r.prefix, p.via, Some(p.if_index))?;
            }
        }
        Ok(())
    }
}
