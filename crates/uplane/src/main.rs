//! `uplane`: the data-plane daemon.
//!
//! - `uplane -c FILE` runs the router the file describes, in the foreground.
//! - plain `uplane` runs /etc/uplane/uplane.toml if it exists, else the demo;
//! - `uplane demo` builds a small lab in network namespaces and routes
//!   between its two hosts, showing what happens, then keeps running for `uplanectl`.
//! - `uplane pg` pushes generated packets through the graph alone (no root, no network).
//!
//! SIGTERM and SIGINT stop it cleanly: devices closed, buffers returned, namespaces it
//! created removed.

mod demo;
mod pgdemo;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use uplane::config::Config;
use uplane::daemon::metrics::Metrics;
use uplane::daemon::Daemon;

/// uplane: a user-space network data plane.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Run the router described by this TOML file.
    #[arg(short = 'c', long = "config")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Build a lab in network namespaces and route between its hosts (needs root).
    Demo(demo::DemoArgs),
    /// Push generated packets through the graph into a sink and show the counters.
    Pg(pgdemo::PgArgs),
    /// Check a config file and print what it describes, without starting anything.
    Check {
        /// The file.
        file: PathBuf,
    },
}

/// The config plain `uplane` runs when it exists.
const DEFAULT_CONFIG: &str = "/etc/uplane/uplane.toml";

/// Sets `stop` on SIGTERM or SIGINT.
pub(crate) fn stop_flag() -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, stop.clone()).context("installing signal handlers")?;
    }
    Ok(stop)
}

fn run_config(path: &std::path::Path) -> Result<()> {
    let config = Config::load(path)?;
    let stop = stop_flag()?;
    let metrics = match config.metrics {
        Some(a) => Some(Metrics::bind(a).with_context(|| format!("metrics.listen {a}"))?),
        None => None,
    };
    let socket = config.cli_socket.clone();
    let mut d = Daemon::new(config)?;
    // The socket appears once everything is built: its existence means "ready".
    let cli = ctl::CliServer::bind(&socket)
        .with_context(|| format!("cli.socket {}", socket.display()))?;
    eprintln!(
        "uplane: running; CLI at {} (uplanectl -s {0} show interfaces)",
        cli.path().display()
    );
    if let Some(m) = &metrics {
        // With `listen = "127.0.0.1:0"` this line (and `show version`) says which port.
        let a = m.local_addr().context("metrics.listen")?;
        eprintln!("uplane: metrics at http://{a}/metrics");
    }
    d.run(&stop, Some(cli), metrics);
    Ok(())
}

fn main() -> Result<()> {
    let args = Args::parse();
    match (args.config, args.cmd) {
        (Some(path), None) => run_config(&path),
        (Some(_), Some(_)) => {
            anyhow::bail!("-c FILE runs a config; do not combine it with a subcommand")
        }
        (None, Some(Cmd::Pg(a))) => pgdemo::run(&a),
        (None, Some(Cmd::Check { file })) => {
            let c = Config::load(&file)?;
            println!("{}: OK\n{c:#?}", file.display());
            Ok(())
        }
        (None, Some(Cmd::Demo(a))) => demo::run(&a),
        // Plain `uplane`: the system config if there is one, else the demo.
        (None, None) if std::path::Path::new(DEFAULT_CONFIG).exists() => {
            run_config(std::path::Path::new(DEFAULT_CONFIG))
        }
        (None, None) => demo::run(&demo::DemoArgs::default()),
    }
}
