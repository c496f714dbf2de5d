//! IPv6 fragments for the shared reassembly table ([`crate::reassembly`]): a datagram is
//! (source, destination, identification) (RFC 8200 §4.5).
//!
//! The reassembled packet keeps the first fragment's unfragmentable part and its fragment
//! header, turned into an atomic fragment (offset 0, M clear; RFC 6946), so no byte has to
//! move: `ip6-local` delivers atomic fragments as whole packets.

use crate::reassembly::{Fragment, Protocol};
use wire::ipv6::ext::Ipv6FragmentHeader;
use wire::ipv6::{Ipv6Packet, HEADER_LEN};

pub use crate::reassembly::{Added, ReassemblyError, MAX_DATAGRAM, MAX_HELD};

/// IPv6's fragment rules.
#[derive(Debug)]
pub enum Ip6Fragments {}

/// Which datagram an IPv6 fragment belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    src: u128,
    dst: u128,
    ident: u32,
}

impl Protocol for Ip6Fragments {
    type Key = Key;
    /// The payload length counts up to 65535 bytes after the fixed header.
    const MAX_PACKET: usize = 65535 + HEADER_LEN;

    fn parse(data: &[u8]) -> Option<Fragment<Key>> {
        let p = Ipv6Packet::new_checked(data).ok()?;
        let chain = p.ext_chain().ok()?;
        let f = chain.fragment?;
        let end = HEADER_LEN + usize::from(p.payload_len());
        let data_at = f.header_offset + 8;
        Some(Fragment {
            key: Key {
                src: u128::from(p.src_addr()),
                dst: u128::from(p.dst_addr()),
                ident: f.ident,
            },
            start: usize::from(f.frag_offset),
            len: end.checked_sub(data_at)?,
            more: f.more_frags,
            data_at,
        })
    }

    fn finish(packet: &mut [u8], data_at: usize) -> bool {
        let Some(plen) = packet.len().checked_sub(HEADER_LEN) else {
            return false;
        };
        let (Ok(plen), Some(frag_at)) = (u16::try_from(plen), data_at.checked_sub(8)) else {
            return false;
        };
        let Ok(mut p) = Ipv6Packet::new_checked(&mut *packet) else {
            return false;
        };
        p.set_payload_len(plen);
        let Some(Ok(mut f)) = packet
            .get_mut(frag_at..)
            .map(Ipv6FragmentHeader::new_checked)
        else {
            return false;
        };
        f.set_more_frags(false);
        f.set_frag_offset(0);
        Ipv6Packet::new_checked(&*packet).is_ok()
    }
}

/// IPv6 datagrams being reassembled.
pub type Reassembly6 = crate::reassembly::Reassembly<Ip6Fragments>;
