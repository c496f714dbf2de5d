//! Benchmarks live in `benches/*.rs`; each prints `BENCH` lines.
