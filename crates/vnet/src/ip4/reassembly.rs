//! IPv4 fragments for the shared reassembly table ([`crate::reassembly`]): a datagram is
//! (source, destination, identification, protocol); the whole packet keeps the first
//! fragment's header with the total length, MF, offset and checksum fixed.

use crate::reassembly::{Fragment, Protocol};
use wire::ipv4::Ipv4Packet;

pub use crate::reassembly::{Added, ReassemblyError, MAX_DATAGRAM, MAX_HELD};

/// IPv4's fragment rules.
#[derive(Debug)]
pub enum Ip4Fragments {}

/// Which datagram an IPv4 fragment belongs to (RFC 791).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    src: u32,
    dst: u32,
    ident: u16,
    proto: u8,
}

impl Protocol for Ip4Fragments {
    type Key = Key;
    const MAX_PACKET: usize = 65535;

    fn parse(data: &[u8]) -> Option<Fragment<Key>> {
        let p = Ipv4Packet::new_checked(data).ok()?;
        Some(Fragment {
            key: Key {
                src: u32::from(p.src_addr()),
                dst: u32::from(p.dst_addr()),
                ident: p.ident(),
                proto: u8::from(p.protocol()),
            },
            start: usize::from(p.frag_offset()),
            len: p.payload().len(),
            more: p.more_frags(),
            data_at: p.header_len(),
        })
    }

    fn finish(packet: &mut [u8], _data_at: usize) -> bool {
        let Ok(total) = u16::try_from(packet.len()) else {
            return false;
        };
        let Ok(mut p) = Ipv4Packet::new_checked(&mut *packet) else {
            return false;
        };
        p.set_total_len(total);
        p.set_more_frags(false);
        p.set_frag_offset(0);
        p.fill_checksum();
        // The view was checked against the old total length: check the new one.
        Ipv4Packet::new_checked(&*packet).is_ok()
    }
}

/// IPv4 datagrams being reassembled.
pub type Reassembly = crate::reassembly::Reassembly<Ip4Fragments>;
