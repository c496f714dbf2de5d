//! uplane devices: the drivers that move packets between the outside world and the graph.

pub mod null;
pub mod pcap;
pub mod pg;
