//! BENCH graph-pg-null: packets from `pg-input` through the graph into `null-output`, on one
//! core: Mpps and clocks per packet per node, as `show runtime` prints them.
//!
//! No peer runs this exact path; the per-node clocks are the figure to compare with VPP's
//! published `show runtime` numbers once the router nodes exist.

use buf::{BufferCache, BufferPool, PoolConfig};
use graph::GraphBuilder;
use io::null::NullOutput;
use io::pg::{PacketSpec, PgInput, Source, StreamSpec};
use std::time::Instant;
use uplane_benches::report_rate;

fn main() {
    let packets: u64 = std::env::var("PG_PACKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000_000);
    let pool = BufferPool::new(&PoolConfig::new(16 * 1024)).expect("buffer pool");
    let null = NullOutput::new();
    let sink = null.stats();
    let mut b = GraphBuilder::new();
    b.add(PgInput::new()).add(null);
    let mut g = b.build(BufferCache::new(pool)).expect("graph");
    let spec = PacketSpec {
        flows: 1024,
        ..PacketSpec::default()
    };
    let s = StreamSpec {
        name: "udp4".into(),
        source: Source::Generate(spec),
        count: Some(packets),
        rate_pps: None,
        rx_if: 0,
    };
    PgInput::add_stream(&mut g, s, "null-output").expect("stream");
    let pg = g.node_index("pg-input").unwrap();
    g.node_mut::<PgInput>(pg).unwrap().enable();
    let t0 = Instant::now();
    let mut now = 0;
    while sink.packets() < packets {
        g.dispatch(now);
        now += 1;
    }
    let secs = t0.elapsed().as_secs_f64();
    print!("{}", g.stats().format_runtime());
    let rt = g.stats().runtime();
    let per_packet: f64 = rt
        .iter()
        .filter(|r| r.vectors > 0)
        .map(|r| r.clocks as f64 / packets as f64)
        .sum();
    println!("graph-pg-null: {packets} packets of 60 bytes in {secs:.3} s, {per_packet:.1} clocks/packet over all nodes");
    report_rate("graph-pg-null", "Mpps", packets as f64 / secs / 1e6, None);
}
