//! The daemon's pcap parts: `driver = "pcap"` interfaces, static neighbours from the
//! config, `pcap trace` and closing the files on shutdown.

use super::Daemon;
use crate::config::Driver;
use anyhow::{anyhow, Context, Result};
use ctl::Response;
use graph::{Graph, GraphBuilder};
use io::capture::{Capture, Points, DEFAULT_CAPTURE_FILE};
use io::device::{self, DeviceInput, DeviceOutput, SharedDevice};
use std::path::Path;

/// Adds the `pcap-input` and `pcap-output` nodes.
pub(super) fn register(b: &mut GraphBuilder) {
    b.add(io::pcap::device::input_node())
        .add(io::pcap::device::output_node());
}

/// Hands `capture` to every device input and output node of `graph` and to `error-drop`.
fn install(graph: &mut Graph, capture: &Capture) {
    let names: Vec<&'static str> = graph.node_names().to_vec();
    for name in names {
        let Some(i) = graph.node_index(name) else {
            continue;
        };
        if let Some(n) = graph.node_mut::<DeviceInput>(i) {
            n.set_capture(capture.clone());
        } else if let Some(n) = graph.node_mut::<DeviceOutput>(i) {
            n.set_capture(capture.clone());
        }
    }
    graph.set_drop_observer(Some(capture.drop_observer()));
}

impl Daemon {
    /// Connects `pcap trace` to every graph (once, after they are built; the capture is one
    /// shared handle, so turning it on or off later needs no worker's help).
    pub(super) fn install_capture(&mut self) -> Result<()> {
        let capture = self.capture.clone();
        self.graphs.each(move |g| install(g, &capture))?;
        Ok(())
    }

    /// Opens the pcap device of the config's interface `name` (its `rx-file`, `tx-file`,
    /// `timing`, `rx-loop`, `tx-resolution`, `mac`).
    pub(super) fn open_pcap(&self, name: &str) -> Result<SharedDevice> {
        let ic = self
            .config
            .interfaces
            .iter()
            .find(|i| i.name == name && i.driver == Driver::Pcap);
        let p = ic.and_then(|i| i.pcap.as_ref()).ok_or_else(|| {
            anyhow!("driver pcap: give rx-file and/or tx-file in the config's [[interface]]")
        })?;
        let mut cfg = io::pcap::PcapDeviceConfig::new();
        cfg.rx_file.clone_from(&p.rx_file);
        cfg.tx_file.clone_from(&p.tx_file);
        cfg.timing = p.timing;
        cfg.rx_loop = p.rx_loop;
        cfg.tx_resolution = p.tx_resolution;
        cfg.mac = match ic.and_then(|i| i.mac) {
            Some(m) => m.0,
            None => [0x02, 0xfe, 0, 0, 1, self.ports.len() as u8],
        };
        Ok(device::shared(io::pcap::PcapDevice::open(&cfg)?))
    }

    /// Makes every pcap interface promiscuous: a capture holds frames addressed to other
    /// hosts' MACs, and uplane on that wire should route them as a router on a tap would.
    pub(super) fn pcap_promiscuous(&mut self) {
        let pcap: Vec<_> = self
            .ports
            .iter()
            .filter(|p| p.driver == Driver::Pcap)
            .map(|p| p.if_index)
            .collect();
        let mut ifs = self.vnet.interfaces_mut();
        for idx in pcap {
            if let Some(i) = ifs.get_mut(idx) {
                i.promiscuous = true;
            }
        }
    }

    /// Adds the config's `[[neighbor]]` entries.
    pub(super) fn add_config_neighbors(&mut self) -> Result<()> {
        let neighbors = self.config.neighbors.clone();
        for (i, n) in neighbors.iter().enumerate() {
            self.add_static_neighbor(&n.interface, n.ip, n.mac)
                .with_context(|| {
                    format!("{}: neighbor[{i}] {}", self.config.file.display(), n.ip)
                })?;
        }
        Ok(())
    }

    /// A static neighbour: `ip` is at `mac` on interface `name`, never aged. Routes via
    /// `ip` use it without ARP or ND (traffic to `ip` itself on a connected subnet still
    /// gleans: the neighbour's host route is the ARP code's to add).
    pub fn add_static_neighbor(
        &mut self,
        name: &str,
        ip: std::net::IpAddr,
        mac: wire::ethernet::EthernetAddress,
    ) -> Result<()> {
        let idx = self
            .vnet
            .interfaces()
            .by_name(name)
            .map(|i| i.index)
            .ok_or_else(|| anyhow!("no interface {name:?}"))?;
        self.vnet.neighbors().add_static(idx, ip, mac);
        let ifs = self.vnet.interfaces();
        self.vnet
            .adjacencies_mut()
            .resolve(&ifs, idx, ip, mac)
            .ok_or_else(|| anyhow!("cannot build the L2 rewrite for {ip} on {name}"))?;
        drop(ifs);
        self.logf(format!("static neighbor {ip} at {mac} on {name}"));
        Ok(())
    }

    /// `pcap trace [rx] [tx] [drop] [max N] [file PATH]`.
    pub(super) fn pcap_trace(
        &mut self,
        rx: bool,
        tx: bool,
        drop: bool,
        max: Option<u32>,
        file: Option<&str>,
    ) -> Result<Response, String> {
        let mut points = Points::NONE;
        for (on, p) in [(rx, Points::RX), (tx, Points::TX), (drop, Points::DROP)] {
            if on {
                points = points.with(p);
            }
        }
        let path = Path::new(file.unwrap_or(DEFAULT_CAPTURE_FILE));
        let max = u64::from(max.unwrap_or(10_000));
        self.capture
            .start(path, points, max)
            .map_err(|e| format!("pcap trace: {e}"))?;
        let what: Vec<&str> = [(rx, "rx"), (tx, "tx"), (drop, "drop")]
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, w)| *w)
            .collect();
        Ok(Response::Text {
            text: format!(
                "pcap trace {} on: up to {max} packets into {}\n",
                what.join(" "),
                path.display()
            ),
        })
    }

    /// `pcap trace off`.
    pub(super) fn pcap_trace_off(&mut self) -> Result<Response, String> {
        match self
            .capture
            .stop()
            .map_err(|e| format!("pcap trace off: {e}"))?
        {
            Some(st) => Ok(Response::Text {
                text: format!(
                    "pcap trace off: {} packets written to {}{}\n",
                    st.written,
                    st.path.display(),
                    if st.errors > 0 {
                        format!(" ({} could not be written)", st.errors)
                    } else {
                        String::new()
                    }
                ),
            }),
            None => Err("pcap trace off: no pcap trace is running".into()),
        }
    }

    /// On shutdown: closes a running `pcap trace` and flushes every device's buffered
    /// output (the pcap tx files).
    pub(super) fn shutdown_io(&mut self) {
        if let Ok(Some(st)) = self.capture.stop() {
            self.logf(format!(
                "pcap trace closed: {} packets written to {}",
                st.written,
                st.path.display()
            ));
        }
        let mut failed = Vec::new();
        for p in &self.ports {
            if let Some(d) = &p.dev {
                let r = d
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .flush();
                if let Err(e) = r {
                    failed.push(format!("{}: {e}", p.name));
                }
            }
        }
        for f in failed {
            eprintln!("uplane: flushing {f}");
            self.logf(format!("flushing {f}"));
        }
    }
}
