//! uplane devices: the drivers that move packets between the outside world and the graph.

pub mod af_packet;
pub mod af_xdp;
pub mod capture;
pub mod device;
pub mod null;
pub mod pcap;
pub mod pg;
pub mod tap;
