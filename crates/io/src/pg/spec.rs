//! What a packet-generator stream sends: the description and its validation.

use core::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use wire::ethernet::EthernetAddress;

/// A range of IPv4 addresses: `count` consecutive addresses from `first`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ip4Range {
    /// First address.
    pub first: Ipv4Addr,
    /// How many (at least 1).
    pub count: u32,
}

/// A range of IPv6 addresses: `count` consecutive addresses from `first` (the low 64 bits
/// vary).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ip6Range {
    /// First address.
    pub first: Ipv6Addr,
    /// How many (at least 1).
    pub count: u32,
}

/// A range of ports: `count` consecutive ports from `first`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    /// First port.
    pub first: u16,
    /// How many (at least 1).
    pub count: u16,
}

/// The network layer of generated packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpSpec {
    /// IPv4 with these source and destination ranges.
    V4 {
        /// Sources.
        src: Ip4Range,
        /// Destinations.
        dst: Ip4Range,
    },
    /// IPv6 with these source and destination ranges.
    V6 {
        /// Sources.
        src: Ip6Range,
        /// Destinations.
        dst: Ip6Range,
    },
}

/// The transport layer of generated packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum L4Spec {
    /// UDP.
    Udp,
    /// TCP with these flags (e.g. `0x02`, SYN) and no options.
    Tcp {
        /// The TCP flag byte.
        flags: u8,
    },
}

/// A synthetic packet description (VPP's `packet-generator new` with a header template).
#[derive(Debug, Clone, PartialEq)]
pub struct PacketSpec {
    /// Ethernet source.
    pub src_mac: EthernetAddress,
    /// Ethernet destination.
    pub dst_mac: EthernetAddress,
    /// 802.1Q VLAN IDs, outermost first (at most 8); the outermost is an 802.1ad S-tag when
    /// there are several.
    pub vlans: Vec<u16>,
    /// Network layer.
    pub ip: IpSpec,
    /// IPv4 TTL / IPv6 hop limit.
    pub ttl: u8,
    /// Transport layer.
    pub l4: L4Spec,
    /// Source ports.
    pub src_port: PortRange,
    /// Destination ports.
    pub dst_port: PortRange,
    /// Smallest and largest frame in bytes as stored in the buffer (no FCS: 60 here is a
    /// 64-byte frame on the wire). Sizes cycle upward from the smallest.
    pub frame_size: (u16, u16),
    /// Distinct flows cycled through (addresses and ports vary together, in mixed radix).
    pub flows: u32,
}

impl Default for PacketSpec {
    /// 60-byte IPv4/UDP from 10.0.0.1 to 10.1.0.1, port 1024 to 1024, one flow.
    fn default() -> Self {
        PacketSpec {
            src_mac: EthernetAddress([0x02, 0, 0, 0, 0, 1]),
            dst_mac: EthernetAddress([0x02, 0, 0, 0, 0, 2]),
            vlans: Vec::new(),
            ip: IpSpec::V4 {
                src: Ip4Range {
                    first: Ipv4Addr::new(10, 0, 0, 1),
                    count: 1,
                },
                dst: Ip4Range {
                    first: Ipv4Addr::new(10, 1, 0, 1),
                    count: 1,
                },
            },
            ttl: 64,
            l4: L4Spec::Udp,
            src_port: PortRange {
                first: 1024,
                count: 1,
            },
            dst_port: PortRange {
                first: 1024,
                count: 1,
            },
            frame_size: (60, 60),
            flows: 1,
        }
    }
}

/// When replayed packets leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    /// As fast as the graph takes them.
    FullSpeed,
    /// Spaced as in the capture (relative to the stream's start).
    Capture,
}

/// Where a stream's packets come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// Built from a description.
    Generate(PacketSpec),
    /// Read from a pcap or pcapng file, normalised to Ethernet.
    Replay {
        /// The capture.
        path: PathBuf,
        /// Pacing.
        timing: Timing,
    },
}

/// A packet-generator stream.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamSpec {
    /// Name, for `show` and traces.
    pub name: String,
    /// Packet source.
    pub source: Source,
    /// Packets to send in all (`None`: forever; a replay then loops over the file).
    pub count: Option<u64>,
    /// Packets per second (`None`: as fast as the graph takes them).
    pub rate_pps: Option<f64>,
    /// The interface index the packets appear to arrive on.
    pub rx_if: u32,
}

/// A stream description that cannot be used, naming the field.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// A field holds a value out of range.
    #[error("stream {stream:?}: {field}: {problem}")]
    Field {
        /// The stream.
        stream: String,
        /// The field (`frame_size`, `flows`, ...).
        field: &'static str,
        /// What is wrong and what was expected.
        problem: String,
    },
    /// The capture to replay could not be read.
    #[error("stream {stream:?}: source {path:?}: {source}")]
    Replay {
        /// The stream.
        stream: String,
        /// The capture file.
        path: PathBuf,
        /// The pcap error, naming the record.
        source: crate::pcap::ReadError,
    },
    /// A record of the capture cannot be made into an Ethernet frame.
    #[error("stream {stream:?}: source {path:?}: record {record}: {source}")]
    Normalize {
        /// The stream.
        stream: String,
        /// The capture file.
        path: PathBuf,
        /// Index of the record (from 0).
        record: u64,
        /// What is wrong with it.
        source: crate::pcap::NormalizeError,
    },
    /// The capture is too big to replay from memory.
    #[error("stream {stream:?}: source {path:?}: more than {max} bytes of packets; replay a smaller capture")]
    ReplayTooBig {
        /// The stream.
        stream: String,
        /// The capture file.
        path: PathBuf,
        /// The limit.
        max: usize,
    },
}

impl PacketSpec {
    /// Bytes of headers before the payload.
    pub fn header_len(&self) -> usize {
        let ip = match self.ip {
            IpSpec::V4 { .. } => 20,
            IpSpec::V6 { .. } => 40,
        };
        let l4 = match self.l4 {
            L4Spec::Udp => 8,
            L4Spec::Tcp { .. } => 20,
        };
        14 + 4 * self.vlans.len() + ip + l4
    }

    pub(crate) fn validate(&self, stream: &str) -> Result<(), SpecError> {
        let err = |field, problem: String| SpecError::Field {
            stream: stream.to_string(),
            field,
            problem,
        };
        if self.vlans.len() > wire::vlan::MAX_TAGS {
            return Err(err(
                "vlans",
                format!(
                    "{} tags; at most {}",
                    self.vlans.len(),
                    wire::vlan::MAX_TAGS
                ),
            ));
        }
        if let Some(v) = self.vlans.iter().find(|&&v| v == 0 || v >= 4095) {
            return Err(err("vlans", format!("VLAN ID {v} is outside 1..=4094")));
        }
        let (min, max) = self.frame_size;
        let hdr = self.header_len();
        if usize::from(min) < hdr {
            return Err(err(
                "frame_size",
                format!("{min} is smaller than the {hdr} bytes of headers"),
            ));
        }
        if min > max {
            return Err(err(
                "frame_size",
                format!("smallest {min} is above largest {max}"),
            ));
        }
        if usize::from(max) > buf::DATA_SIZE {
            return Err(err(
                "frame_size",
                format!("{max} is above the {} byte buffer", buf::DATA_SIZE),
            ));
        }
        if self.flows == 0 {
            return Err(err("flows", "must be at least 1".into()));
        }
        let (sc, dc) = match self.ip {
            IpSpec::V4 { src, dst } => (src.count, dst.count),
            IpSpec::V6 { src, dst } => (src.count, dst.count),
        };
        if sc == 0 {
            return Err(err("ip.src", "address count must be at least 1".into()));
        }
        if dc == 0 {
            return Err(err("ip.dst", "address count must be at least 1".into()));
        }
        if self.src_port.count == 0 {
            return Err(err("src_port", "port count must be at least 1".into()));
        }
        if self.dst_port.count == 0 {
            return Err(err("dst_port", "port count must be at least 1".into()));
        }
        Ok(())
    }
}

impl StreamSpec {
    pub(crate) fn validate(&self) -> Result<(), SpecError> {
        if let Some(r) = self.rate_pps {
            if !(r.is_finite() && r > 0.0) {
                return Err(SpecError::Field {
                    stream: self.name.clone(),
                    field: "rate_pps",
                    problem: format!("{r} is not a positive number of packets per second"),
                });
            }
        }
        match &self.source {
            Source::Generate(p) => p.validate(&self.name),
            Source::Replay { .. } => Ok(()),
        }
    }
}
