//! The packet generator: `pg-input`, an input node that emits streams of packets built from
//! a description or replayed from a capture (VPP's `packet-generator`).
//!
//! It is how benchmarks and graph tests feed the graph without a NIC: add streams, arm them
//! with [`PgInput::enable`], dispatch. Each stream has its own next node, added with
//! [`graph::Graph::add_next`]. Per poll the node emits at most one frame (256 packets) in
//! all, round-robin over the enabled streams, honouring each stream's count and rate.

mod generate;
pub(crate) mod replay;
mod spec;

pub use replay::{ReplayLoadError, MAX_REPLAY_BYTES};
pub use spec::{
    Ip4Range, Ip6Range, IpSpec, L4Spec, PacketSpec, PortRange, Source, SpecError, StreamSpec,
    Timing,
};

use buf::{Frame, FRAME_SIZE};
use generate::Generator;
use graph::{Ctx, Graph, GraphError, Next, Node, NodeError, NodeInfo, NodeKind};
use replay::Replay;

/// The node's name.
pub const PG_INPUT: &str = "pg-input";

graph::node_errors! {
    /// Errors of `pg-input`.
    pub enum PgError {
        /// The buffer pool was empty when a packet was due.
        NoBuffers = "no free buffers for generated packets",
    }
}

#[derive(Debug)]
enum Packets {
    Generate(Generator),
    Replay(Replay),
}

#[derive(Debug)]
struct Stream {
    spec: StreamSpec,
    packets: Packets,
    next: Next,
    sent: u64,
    enabled: bool,
    /// Graph time when the stream was enabled.
    start: Option<u64>,
}

/// Per-stream figures for `show packet-generator`.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamStatus {
    /// Stream name.
    pub name: String,
    /// Packets sent so far.
    pub sent: u64,
    /// True while it still sends.
    pub enabled: bool,
    /// Replay only: records left out because they exceed a buffer.
    pub oversize: u64,
}

/// `pg-input`: see the module documentation.
#[derive(Debug, Default)]
pub struct PgInput {
    streams: Vec<Stream>,
    cursor: usize,
    frame: Frame,
}

impl PgInput {
    /// An input node with no streams.
    pub fn new() -> PgInput {
        PgInput::default()
    }

    /// Adds a stream to the `pg-input` node of `graph`, sending to the node called `next`.
    /// The stream starts disabled. Bad descriptions are refused with the field named.
    pub fn add_stream(graph: &mut Graph, spec: StreamSpec, next: &str) -> Result<(), PgAddError> {
        spec.validate()?;
        let packets = match &spec.source {
            Source::Generate(p) => Packets::Generate(Generator::new(p)),
            Source::Replay { path, timing } => {
                Packets::Replay(Replay::load(&spec.name, path, *timing)?)
            }
        };
        let me = graph
            .node_index(PG_INPUT)
            .ok_or_else(|| GraphError::NoSuchNode(PG_INPUT.into()))?;
        let next = graph.add_next(me, next)?;
        let pg = graph
            .node_mut::<PgInput>(me)
            .ok_or_else(|| GraphError::NoSuchNode(PG_INPUT.into()))?;
        if pg.streams.iter().any(|s| s.spec.name == spec.name) {
            return Err(PgAddError::Duplicate(spec.name));
        }
        pg.streams.push(Stream {
            spec,
            packets,
            next,
            sent: 0,
            enabled: false,
            start: None,
        });
        Ok(())
    }

    /// Enables every stream (`packet-generator enable`).
    pub fn enable(&mut self) {
        for s in &mut self.streams {
            s.enabled = true;
            s.start = None;
        }
    }

    /// Disables every stream.
    pub fn disable(&mut self) {
        self.streams.iter_mut().for_each(|s| s.enabled = false);
    }

    /// True when no stream has packets left to send.
    pub fn done(&self) -> bool {
        self.streams.iter().all(|s| !s.enabled)
    }

    /// Status of every stream.
    pub fn status(&self) -> Vec<StreamStatus> {
        self.streams
            .iter()
            .map(|s| StreamStatus {
                name: s.spec.name.clone(),
                sent: s.sent,
                enabled: s.enabled,
                oversize: match &s.packets {
                    Packets::Replay(r) => r.oversize,
                    Packets::Generate(_) => 0,
                },
            })
            .collect()
    }

    /// Packets stream `s` may send now.
    fn due(s: &mut Stream, now: u64) -> u64 {
        let start = *s.start.get_or_insert(now);
        let elapsed = now.saturating_sub(start);
        let mut due = u64::MAX;
        if let Some(count) = s.spec.count {
            due = count.saturating_sub(s.sent);
        }
        if let Some(rate) = s.spec.rate_pps {
            let allowed = (rate * elapsed as f64 / 1e9) as u64 + 1;
            due = due.min(allowed.saturating_sub(s.sent));
        }
        if let Packets::Replay(r) = &s.packets {
            if r.len() == 0 {
                return 0;
            }
            if r.timing == Timing::Capture {
                // Send every record whose capture time has come, loop after loop.
                let span = r.span().max(1);
                let mut n = 0;
                while n < due.min(FRAME_SIZE as u64) {
                    let i = s.sent + n;
                    let loops = i / r.len() as u64;
                    let (_, t) = r.packet(i);
                    if loops.saturating_mul(span).saturating_add(t) > elapsed {
                        break;
                    }
                    n += 1;
                }
                due = n;
            }
        }
        due
    }
}

/// Why a stream could not be added.
#[derive(Debug, thiserror::Error)]
pub enum PgAddError {
    /// The description is unusable.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// The graph has no `pg-input` or no such next node.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// A stream of that name exists.
    #[error("stream {0:?} already exists")]
    Duplicate(String),
}

impl Node for PgInput {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: PG_INPUT,
            kind: NodeKind::Input,
            next_nodes: &[],
            errors: PgError::ALL,
        }
    }

    fn wants_poll(&self) -> bool {
        !self.streams.is_empty()
    }

    fn poll(&mut self, cx: &mut Ctx<'_>) -> usize {
        let n_streams = self.streams.len();
        let mut emitted = 0;
        for k in 0..n_streams {
            if emitted == FRAME_SIZE {
                break;
            }
            let si = (self.cursor + k) % n_streams;
            let s = &mut self.streams[si];
            if !s.enabled {
                continue;
            }
            let want = Self::due(s, cx.now()).min((FRAME_SIZE - emitted) as u64) as usize;
            let got = cx.cache().alloc_into(&mut self.frame, want);
            if got < want {
                cx.count(PgError::NoBuffers, (want - got) as u64);
            }
            let tracing = cx.tracing();
            for b in self.frame.as_mut_slice() {
                let seq = s.sent;
                s.sent += 1;
                let mut pkt = cx.pool().get_mut(b);
                pkt.meta_mut().rx_if = s.spec.rx_if;
                match &mut s.packets {
                    Packets::Generate(g) => {
                        let size = g.next_size();
                        if let Some(out) = pkt.append(size) {
                            g.write(seq, out);
                        }
                    }
                    Packets::Replay(r) => {
                        pkt.copy_from(r.packet(seq).0);
                    }
                }
            }
            if tracing {
                for b in self.frame.as_mut_slice() {
                    if cx.trace_mark(b) {
                        let len = cx.pool().meta(b).len();
                        cx.trace(
                            b,
                            format_args!(
                                "stream {}, {} bytes, rx-if {}",
                                s.spec.name, len, s.spec.rx_if
                            ),
                        );
                    }
                }
            }
            emitted += self.frame.len();
            cx.enqueue_frame(s.next, &mut self.frame);
            if s.spec.count.is_some_and(|c| s.sent >= c) {
                s.enabled = false;
            }
        }
        self.cursor = self.cursor.wrapping_add(1);
        emitted
    }
}
