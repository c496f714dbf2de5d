//! Generic input and output nodes over [`Device`]s: one pair per driver
//! (`af-packet-input` / `af-packet-output`, `tap-input` / `tap-output`).

use super::{lock, SharedDevice};
use crate::capture::{Capture, Points};
use buf::{Frame, FRAME_SIZE};
use graph::{Ctx, Graph, GraphError, Next, Node, NodeError, NodeInfo, NodeKind};

#[cfg(doc)]
use super::Device;

graph::node_errors! {
    /// Errors of a driver's input node.
    pub enum DeviceInputError {
        /// Packets received (a count, not a drop).
        Received = "packets received",
    }
}

graph::node_errors! {
    /// Errors of a driver's output node.
    pub enum DeviceOutputError {
        /// The packet's `tx_if` is not an interface of this node.
        NoDevice = "no device for the tx interface",
        /// The device's tx ring stayed full after a retry.
        TxRingFull = "tx ring full",
    }
}

#[derive(Debug)]
struct RxPort {
    dev: SharedDevice,
    queue: usize,
    rx_if: u32,
    next: Next,
}

/// A driver's input node: polls every rx queue attached to it, one frame per poll in all,
/// round-robin, sets `Meta::rx_if` and enqueues to each queue's next node.
#[derive(Debug)]
pub struct DeviceInput {
    name: &'static str,
    ports: Vec<RxPort>,
    cursor: usize,
    frame: Box<Frame>,
    capture: Option<Capture>,
}

impl DeviceInput {
    /// An input node called `name` (`af-packet-input`) with no queues yet.
    pub fn new(name: &'static str) -> DeviceInput {
        DeviceInput {
            name,
            ports: Vec::new(),
            cursor: 0,
            frame: Frame::boxed(),
            capture: None,
        }
    }

    /// Lets `pcap trace rx` see what this node receives (one atomic load per frame when
    /// the capture is off).
    pub fn set_capture(&mut self, capture: Capture) {
        self.capture = Some(capture);
    }

    /// Attaches rx queue `queue` of `dev` to the input node `node` of `graph`: its packets
    /// get `rx_if` and go to the node called `next`.
    pub fn attach(
        graph: &mut Graph,
        node: &str,
        dev: SharedDevice,
        queue: usize,
        rx_if: u32,
        next: &str,
    ) -> Result<(), GraphError> {
        let me = graph
            .node_index(node)
            .ok_or_else(|| GraphError::NoSuchNode(node.into()))?;
        let next = graph.add_next(me, next)?;
        let n = graph
            .node_mut::<DeviceInput>(me)
            .ok_or_else(|| GraphError::NoSuchNode(node.into()))?;
        n.ports.push(RxPort {
            dev,
            queue,
            rx_if,
            next,
        });
        Ok(())
    }

    /// Detaches every rx queue that gives packets `rx_if` from the input node `node` of
    /// `graph` (the interface is being deleted) and returns their devices, so the caller can
    /// release what they hold ([`super::Device::release`]) and close them. The arc to the
    /// next node stays (unused).
    pub fn detach(
        graph: &mut Graph,
        node: &str,
        rx_if: u32,
    ) -> Result<Vec<SharedDevice>, GraphError> {
        let me = graph
            .node_index(node)
            .ok_or_else(|| GraphError::NoSuchNode(node.into()))?;
        let n = graph
            .node_mut::<DeviceInput>(me)
            .ok_or_else(|| GraphError::NoSuchNode(node.into()))?;
        let mut gone = Vec::new();
        n.ports.retain(|p| {
            if p.rx_if == rx_if {
                gone.push(p.dev.clone());
                false
            } else {
                true
            }
        });
        n.cursor = 0;
        Ok(gone)
    }
}

impl Node for DeviceInput {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: self.name,
            kind: NodeKind::Input,
            next_nodes: &[],
            errors: DeviceInputError::ALL,
        }
    }

    fn wants_poll(&self) -> bool {
        !self.ports.is_empty()
    }

    fn poll(&mut self, cx: &mut Ctx<'_>) -> usize {
        let n = self.ports.len();
        let mut total = 0;
        for i in 0..n {
            if total >= FRAME_SIZE {
                break;
            }
            let p = &self.ports[(self.cursor + i) % n];
            let got = lock(&p.dev).rx_burst(p.queue, cx.cache(), &mut self.frame);
            if got == 0 {
                continue;
            }
            total += got;
            let pool = cx.pool();
            for b in self.frame.as_mut_slice() {
                pool.meta_mut(b).rx_if = p.rx_if;
            }
            if cx.tracing() {
                let (rx_if, q) = (p.rx_if, p.queue);
                for b in self.frame.as_mut_slice() {
                    if cx.trace_mark(b) {
                        let len = cx.pool().meta(b).len();
                        cx.trace(b, format_args!("rx_if {rx_if} queue {q} len {len}"));
                    }
                }
            }
            if let Some(c) = &self.capture {
                if c.wants(Points::RX) {
                    c.record(cx.pool(), self.frame.as_slice());
                }
            }
            let next = p.next;
            cx.enqueue_frame(next, &mut self.frame);
        }
        if n > 0 {
            self.cursor = (self.cursor + 1) % n;
        }
        if total > 0 {
            cx.count(DeviceInputError::Received, total as u64);
        }
        total
    }

    fn release(&mut self, cache: &mut buf::BufferCache) {
        cache.free_frame(&mut self.frame);
        for p in &self.ports {
            lock(&p.dev).release(cache);
        }
    }
}

#[derive(Debug)]
struct TxPort {
    dev: SharedDevice,
    queue: usize,
}

/// A driver's output node: sends each packet to the device its `Meta::tx_if` maps to
/// (runs of the same `tx_if` go in one burst), retries a full ring once, then drops the
/// rest as `TxRingFull`.
#[derive(Debug)]
pub struct DeviceOutput {
    name: &'static str,
    /// By `tx_if`: the port.
    by_if: Vec<Option<usize>>,
    ports: Vec<TxPort>,
    staging: Box<Frame>,
    capture: Option<Capture>,
}

impl DeviceOutput {
    /// An output node called `name` (`af-packet-output`) with no devices yet.
    pub fn new(name: &'static str) -> DeviceOutput {
        DeviceOutput {
            name,
            by_if: Vec::new(),
            ports: Vec::new(),
            staging: Frame::boxed(),
            capture: None,
        }
    }

    /// Lets `pcap trace tx` see what this node sends (one atomic load per frame when the
    /// capture is off). Packets are captured as they are handed to the device, before a
    /// full ring may still drop them.
    pub fn set_capture(&mut self, capture: Capture) {
        self.capture = Some(capture);
    }

    /// Sends packets whose `tx_if` is `tx_if` through tx queue `queue` of `dev`, in the
    /// output node `node` of `graph`. Call it again for each sub-interface of the device.
    pub fn attach(
        graph: &mut Graph,
        node: &str,
        dev: SharedDevice,
        queue: usize,
        tx_if: u32,
    ) -> Result<(), GraphError> {
        let me = graph
            .node_index(node)
            .ok_or_else(|| GraphError::NoSuchNode(node.into()))?;
        let n = graph
            .node_mut::<DeviceOutput>(me)
            .ok_or_else(|| GraphError::NoSuchNode(node.into()))?;
        let port = n.ports.len();
        n.ports.push(TxPort { dev, queue });
        let i = tx_if as usize;
        if n.by_if.len() <= i {
            n.by_if.resize(i + 1, None);
        }
        n.by_if[i] = Some(port);
        Ok(())
    }

    /// Stops sending packets whose `tx_if` is `tx_if` from the output node `node` of
    /// `graph` (they are dropped as `NoDevice` from now on) and returns the device if no
    /// other interface of this node uses it any more.
    pub fn detach(
        graph: &mut Graph,
        node: &str,
        tx_if: u32,
    ) -> Result<Option<SharedDevice>, GraphError> {
        let me = graph
            .node_index(node)
            .ok_or_else(|| GraphError::NoSuchNode(node.into()))?;
        let n = graph
            .node_mut::<DeviceOutput>(me)
            .ok_or_else(|| GraphError::NoSuchNode(node.into()))?;
        let Some(port) = n.by_if.get_mut(tx_if as usize).and_then(Option::take) else {
            return Ok(None);
        };
        if n.by_if.contains(&Some(port)) {
            return Ok(None);
        }
        // Remove the port and renumber the ones after it.
        let dev = n.ports.remove(port).dev;
        for p in n.by_if.iter_mut().flatten() {
            if *p > port {
                *p -= 1;
            }
        }
        Ok(Some(dev))
    }

    fn flush(&mut self, cx: &mut Ctx<'_>, port: usize) {
        if self.staging.is_empty() {
            return;
        }
        let p = &self.ports[port];
        let mut dev = lock(&p.dev);
        let mut tries = 0;
        while !self.staging.is_empty() && tries < 2 {
            dev.tx_burst(p.queue, &mut self.staging, cx.cache());
            tries += 1;
        }
        drop(dev);
        for b in self.staging.drain() {
            cx.drop(b, DeviceOutputError::TxRingFull);
        }
    }
}

impl Node for DeviceOutput {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: self.name,
            kind: NodeKind::Internal,
            next_nodes: &[],
            errors: DeviceOutputError::ALL,
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, frame: &mut Frame) {
        let mut current: Option<usize> = None;
        let tracing = cx.tracing();
        if let Some(c) = &self.capture {
            if c.wants(Points::TX) {
                c.record(cx.pool(), frame.as_slice());
            }
        }
        for b in frame.drain() {
            let tx_if = cx.pool().meta(&b).tx_if;
            let port = self.by_if.get(tx_if as usize).copied().flatten();
            let Some(port) = port else {
                cx.drop(b, DeviceOutputError::NoDevice);
                continue;
            };
            if current != Some(port) {
                if let Some(prev) = current {
                    self.flush(cx, prev);
                }
                current = Some(port);
            }
            if tracing {
                let len = cx.pool().chain_len(&b);
                cx.trace(
                    &b,
                    format_args!("tx_if {tx_if} queue {} len {len}", self.ports[port].queue),
                );
            }
            // Cannot fail: the staging frame is flushed before it holds a whole frame.
            if let Err(b) = self.staging.push(b) {
                cx.drop(b, DeviceOutputError::TxRingFull);
            }
        }
        if let Some(p) = current {
            self.flush(cx, p);
        }
    }

    fn release(&mut self, cache: &mut buf::BufferCache) {
        cache.free_frame(&mut self.staging);
        for p in &self.ports {
            lock(&p.dev).release(cache);
        }
    }
}
