//! Worker threads (`[cpu] workers = N`): each owns a [`Graph`] (vnet's nodes and the device
//! nodes) and its `BufferCache`, and polls the rx queues placed on it.
//!
//! The main thread keeps the CLI, the metrics listener and the configuration. It never
//! touches a worker's graph: what needs one (attaching a device, `trace add`, `show trace`,
//! deleting an interface) is sent to the worker as a job, which the worker runs between
//! two dispatches, and the main thread waits for its answer. Counters are read without a
//! job: every graph's `GraphStats` are single-writer atomics, summed here on read.
//!
//! With 0 workers there is one graph and the main thread dispatches it between CLI polls
//! ([`Graphs::Local`]); the same calls then run on it directly.

use anyhow::{anyhow, Result};
use graph::{ErrorRow, Graph, GraphStats, RuntimeRow};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Work for a worker's graph, run between dispatches.
type Job = Box<dyn FnOnce(&mut Graph) + Send>;

/// How long the main thread waits for a worker to answer a job before giving up (a worker
/// runs jobs between dispatches, so this is only reached if it is stuck).
const JOB_TIMEOUT: Duration = Duration::from_secs(5);

/// A running worker thread.
#[derive(Debug)]
pub(crate) struct Worker {
    jobs: Sender<Job>,
    stats: Arc<GraphStats>,
    thread: Option<JoinHandle<Graph>>,
}

/// The daemon's graphs: on the main thread (before `run`, or with 0 workers), or each on
/// its worker thread.
#[derive(Debug)]
pub(crate) enum Graphs {
    /// Graphs the main thread holds (one per worker, or the single main graph).
    Local(Vec<Graph>),
    /// Graphs running on worker threads.
    Running(WorkerSet),
}

/// The running workers; dropping it stops and joins them.
#[derive(Debug)]
pub(crate) struct WorkerSet {
    workers: Vec<Worker>,
    stop: Arc<AtomicBool>,
}

impl WorkerSet {
    /// Stops every worker and takes its graph back; a worker that panicked is reported.
    fn join(&mut self) -> (Vec<Graph>, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        let mut graphs = Vec::new();
        let mut failed = Vec::new();
        for (i, w) in self.workers.iter_mut().enumerate() {
            if let Some(t) = w.thread.take() {
                match t.join() {
                    Ok(g) => graphs.push(g),
                    Err(_) => failed.push(format!("worker {i} panicked")),
                }
            }
        }
        (graphs, failed)
    }
}

impl Drop for WorkerSet {
    fn drop(&mut self) {
        self.join();
    }
}

impl Graphs {
    /// How many graphs (1 with 0 workers).
    pub(crate) fn len(&self) -> usize {
        match self {
            Graphs::Local(g) => g.len(),
            Graphs::Running(set) => set.workers.len(),
        }
    }

    /// Runs `f` on graph `i` (between two of its dispatches if it runs on a worker) and
    /// returns its answer.
    pub(crate) fn on<R: Send + 'static>(
        &mut self,
        i: usize,
        f: impl FnOnce(&mut Graph) -> R + Send + 'static,
    ) -> Result<R> {
        match self {
            Graphs::Local(g) => {
                let g = g.get_mut(i).ok_or_else(|| anyhow!("no graph {i}"))?;
                Ok(f(g))
            }
            Graphs::Running(set) => {
                let w = set.workers.get(i).ok_or_else(|| anyhow!("no worker {i}"))?;
                let (tx, rx) = mpsc::channel();
                let job: Job = Box::new(move |g| {
                    let _ = tx.send(f(g));
                });
                w.jobs
                    .send(job)
                    .map_err(|_| anyhow!("worker {i} has stopped"))?;
                rx.recv_timeout(JOB_TIMEOUT)
                    .map_err(|e| anyhow!("worker {i} did not answer: {e}"))
            }
        }
    }

    /// Runs `f` on every graph, in order, and returns the answers.
    pub(crate) fn each<R: Send + 'static>(
        &mut self,
        f: impl Fn(&mut Graph) -> R + Send + Sync + 'static,
    ) -> Result<Vec<R>> {
        let f = Arc::new(f);
        (0..self.len())
            .map(|i| {
                let f = f.clone();
                self.on(i, move |g| f(g))
            })
            .collect()
    }

    /// Every graph's counters.
    pub(crate) fn stats(&self) -> Vec<Arc<GraphStats>> {
        match self {
            Graphs::Local(g) => g.iter().map(|g| g.stats().clone()).collect(),
            Graphs::Running(set) => set.workers.iter().map(|w| w.stats.clone()).collect(),
        }
    }

    /// The single graph the main thread dispatches (0 workers), if that is the mode.
    pub(crate) fn main_graph(&mut self) -> Option<&mut Graph> {
        match self {
            Graphs::Local(g) if g.len() == 1 => g.first_mut(),
            _ => None,
        }
    }

    /// Moves each graph onto its own worker thread (`uplane-worker-N`), dispatching with
    /// the clock `now` (ns since `start`).
    pub(crate) fn start(&mut self, start: Instant) -> Result<()> {
        let Graphs::Local(graphs) = self else {
            return Ok(());
        };
        // Built first: if a spawn fails, dropping it stops the workers already started.
        let mut set = WorkerSet {
            workers: Vec::new(),
            stop: Arc::new(AtomicBool::new(false)),
        };
        for (i, graph) in std::mem::take(graphs).into_iter().enumerate() {
            let (tx, rx) = mpsc::channel();
            let stats = graph.stats().clone();
            let s = set.stop.clone();
            let thread = std::thread::Builder::new()
                .name(format!("uplane-worker-{i}"))
                .spawn(move || worker(graph, &rx, &s, start))?;
            set.workers.push(Worker {
                jobs: tx,
                stats,
                thread: Some(thread),
            });
        }
        *self = Graphs::Running(set);
        Ok(())
    }

    /// Stops the workers and takes their graphs back (devices can then release what they
    /// hold into the graphs' caches). A worker that panicked is reported and left out.
    pub(crate) fn stop(&mut self) -> Vec<String> {
        let Graphs::Running(set) = self else {
            return Vec::new();
        };
        let (graphs, failed) = set.join();
        *self = Graphs::Local(graphs);
        failed
    }
}

/// A worker's loop: jobs, then a dispatch, until told to stop; naps when idle as the main
/// loop does.
fn worker(mut graph: Graph, jobs: &Receiver<Job>, stop: &AtomicBool, start: Instant) -> Graph {
    let mut idle_rounds = 0u32;
    while !stop.load(Ordering::Relaxed) {
        while let Ok(job) = jobs.try_recv() {
            job(&mut graph);
        }
        let d = graph.dispatch(start.elapsed().as_nanos() as u64);
        if d.polled == 0 && !graph.has_pending() {
            idle_rounds = idle_rounds.saturating_add(1);
        } else {
            idle_rounds = 0;
        }
        if idle_rounds > 1000 {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    while let Ok(job) = jobs.try_recv() {
        job(&mut graph);
    }
    graph
}

/// `show runtime` rows of every graph, summed per node (every graph has the same nodes in
/// the same order).
pub(crate) fn runtime(stats: &[Arc<GraphStats>]) -> Vec<RuntimeRow> {
    let mut rows: Vec<RuntimeRow> = Vec::new();
    for s in stats {
        for (i, r) in s.runtime().into_iter().enumerate() {
            match rows.get_mut(i) {
                Some(t) if t.node == r.node => {
                    t.calls += r.calls;
                    t.vectors += r.vectors;
                    t.suspends += r.suspends;
                    t.clocks += r.clocks;
                }
                _ => rows.push(r),
            }
        }
    }
    rows
}

/// `show errors` rows of every graph, summed per (node, error).
pub(crate) fn errors(stats: &[Arc<GraphStats>]) -> Vec<ErrorRow> {
    let mut rows: Vec<ErrorRow> = Vec::new();
    for s in stats {
        for e in s.errors() {
            match rows
                .iter_mut()
                .find(|t| t.node == e.node && t.name == e.name)
            {
                Some(t) => t.count += e.count,
                None => rows.push(e),
            }
        }
    }
    rows
}

/// `show runtime` text of summed rows (the layout of `GraphStats::format_runtime`).
pub(crate) fn format_runtime(rows: &[RuntimeRow]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<28}{:>12}{:>14}{:>14}{:>10}{:>12}{:>14}",
        "Name", "State", "Calls", "Vectors", "Suspends", "Clocks", "Vectors/Call"
    );
    for r in rows.iter().filter(|r| r.calls > 0) {
        let _ = writeln!(
            out,
            "{:<28}{:>12}{:>14}{:>14}{:>10}{:>12.2e}{:>14.2}",
            r.node,
            r.state,
            r.calls,
            r.vectors,
            r.suspends,
            r.clocks_per_packet(),
            r.vectors_per_call()
        );
    }
    out
}

/// `show errors` text of summed rows (the layout of `GraphStats::format_errors`).
pub(crate) fn format_errors(rows: &[ErrorRow]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{:>12}  {:<24}Reason", "Count", "Node");
    for e in rows {
        let _ = writeln!(out, "{:>12}  {:<24}{}", e.count, e.node, e.reason);
    }
    out
}
