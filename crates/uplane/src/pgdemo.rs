//! `uplane pg`: a packet-generator stream through the vector graph into the null sink, then
//! VPP-style `show runtime`, `show errors`, `show buffers` and `show trace` output. No root,
//! no network: the graph alone.

use anyhow::{Context, Result};
use buf::{BufferCache, BufferPool, PoolConfig};
use graph::GraphBuilder;
use io::null::NullOutput;
use io::pg::{Ip4Range, IpSpec, PacketSpec, PgInput, PortRange, Source, StreamSpec, Timing};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Instant;

/// Options of `uplane pg`.
#[derive(Debug, clap::Args)]
pub struct PgArgs {
    /// Packets to generate.
    #[arg(long, default_value_t = 10_000_000)]
    pub packets: u64,
    /// Frame size in bytes (as stored; 60 is a 64-byte frame on the wire).
    #[arg(long, default_value_t = 60)]
    pub size: u16,
    /// Distinct flows.
    #[arg(long, default_value_t = 1024)]
    pub flows: u32,
    /// Replay this pcap/pcapng file instead of generating packets.
    #[arg(long)]
    pub replay: Option<PathBuf>,
    /// Packets to trace from pg-input.
    #[arg(long, default_value_t = 2)]
    pub trace: u32,
    /// Buffers in the pool.
    #[arg(long, default_value_t = 16 * 1024)]
    pub buffers: u32,
}

/// Runs the pg → graph → null demo.
pub fn run(args: &PgArgs) -> Result<()> {
    let pool = BufferPool::new(&PoolConfig::new(args.buffers)).context("buffers")?;
    let null = NullOutput::new();
    let sink = null.stats();
    let mut b = GraphBuilder::new();
    b.add(PgInput::new()).add(null);
    let mut g = b.build(BufferCache::new(pool.clone()))?;
    let source = match &args.replay {
        Some(path) => Source::Replay {
            path: path.clone(),
            timing: Timing::FullSpeed,
        },
        None => Source::Generate(PacketSpec {
            ip: IpSpec::V4 {
                src: Ip4Range {
                    first: Ipv4Addr::new(10, 1, 0, 2),
                    count: 32,
                },
                dst: Ip4Range {
                    first: Ipv4Addr::new(10, 2, 0, 2),
                    count: 32,
                },
            },
            src_port: PortRange {
                first: 1024,
                count: 64,
            },
            frame_size: (args.size, args.size),
            flows: args.flows,
            ..PacketSpec::default()
        }),
    };
    let stream = StreamSpec {
        name: "demo".into(),
        source,
        count: Some(args.packets),
        rate_pps: None,
        rx_if: 0,
    };
    PgInput::add_stream(&mut g, stream, "null-output")?;
    g.trace_add("pg-input", args.trace)?;
    let pg = g.node_index("pg-input").context("pg-input")?;
    g.node_mut::<PgInput>(pg).context("pg-input")?.enable();

    println!(
        "uplane {}: {} packets from pg-input through the graph into null-output\n",
        env!("CARGO_PKG_VERSION"),
        args.packets
    );
    let t0 = Instant::now();
    let mut now = 0u64;
    while sink.packets() < args.packets {
        now = t0.elapsed().as_nanos() as u64;
        if g.dispatch(now).polled == 0
            && !g.has_pending()
            && g.node_mut::<PgInput>(pg).is_some_and(|p| p.done())
        {
            break;
        }
    }
    let secs = t0.elapsed().as_secs_f64().max(1e-9);
    let _ = now;
    println!("uplane# show runtime");
    print!("{}", g.stats().format_runtime());
    println!("\nuplane# show errors");
    print!("{}", g.stats().format_errors());
    println!("\nuplane# show buffers");
    println!(
        "{:>10} buffers of {} bytes ({} data, {} headroom), {} free, {} cached, {} in use, {} allocation failures",
        pool.capacity(),
        buf::CHUNK_SIZE,
        buf::DATA_SIZE,
        buf::HEADROOM,
        pool.free_count(),
        pool.cached_count(),
        pool.in_use(),
        pool.stats().alloc_failures()
    );
    println!("\nuplane# show trace");
    print!("{}", g.format_trace());
    println!(
        "{} packets, {} bytes in {:.3} s: {:.2} Mpps on one core",
        sink.packets(),
        sink.bytes(),
        secs,
        sink.packets() as f64 / secs / 1e6
    );
    Ok(())
}
