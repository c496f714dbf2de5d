//! The uplane daemon's library half: its configuration (and, as the daemon issue lands, the
//! CLI server and the wiring of devices into the graph).

pub mod config;
pub mod daemon;
