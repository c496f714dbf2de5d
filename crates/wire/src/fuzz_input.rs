//! What the stateful fuzz targets share (`stack_ip` and `stack_frame` in `stack::fuzz`,
//! `router` in `vnet::fuzz`): the record format their input is read in, and the checksum
//! repair that lets a fuzzed packet past the checksum checks to the code behind them.
//!
//! A record is `ctl: u8, len: u16 (big endian), body: [u8; len]`; the last body may be
//! short. What `ctl` means is each target's own (its module says).

use core::net::{Ipv4Addr, Ipv6Addr};

use crate::checksum::{combine, data, pseudo_header_v4, pseudo_header_v6};

/// Longest body of one record.
pub const MAX_RECORD: usize = 2048;

/// A fuzz input as records: `(ctl, body)` pairs.
#[derive(Debug, Clone)]
pub struct Records<'a>(pub &'a [u8]);

impl<'a> Iterator for Records<'a> {
    type Item = (u8, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let (&ctl, rest) = self.0.split_first()?;
        let len = match rest {
            [h, l, ..] => usize::from(u16::from_be_bytes([*h, *l])),
            _ => 0,
        }
        .min(MAX_RECORD);
        let rest = rest.get(2..).unwrap_or(&[]);
        let (body, rest) = rest.split_at(len.min(rest.len()));
        self.0 = rest;
        Some((ctl, body))
    }
}

/// Appends one record to `out` (a seed generator's side of [`Records`]; the body is cut
/// at [`MAX_RECORD`]).
pub fn encode(ctl: u8, body: &[u8], out: &mut impl Extend<u8>) {
    let body = &body[..body.len().min(MAX_RECORD)];
    out.extend([ctl]);
    out.extend((body.len() as u16).to_be_bytes());
    out.extend(body.iter().copied());
}

/// Recomputes the IP checksums of the packet after the Ethernet header (and any 802.1Q or
/// 802.1ad tags) of `frame`, as [`fix_ip_checksums`] does.
pub fn fix_frame_checksums(frame: &mut [u8]) {
    let mut at = 12;
    while let Some(t) = frame.get(at..at + 2) {
        if t == [0x81, 0x00] || t == [0x88, 0xa8] {
            at += 4;
        } else {
            break;
        }
    }
    if let Some([0x08, 0x00] | [0x86, 0xdd]) = frame.get(at..at + 2) {
        fix_ip_checksums(&mut frame[at + 2..]);
    }
}

/// Recomputes the IPv4 header checksum and the TCP/UDP/ICMP/ICMPv6 checksum of the IP
/// packet in `pkt` where the lengths allow (the whole transport header of an unfragmented
/// packet); leaves what it cannot parse alone.
pub fn fix_ip_checksums(pkt: &mut [u8]) {
    let Some(&b0) = pkt.first() else { return };
    let (proto, l4_at, l4_end, pseudo): (u8, usize, usize, Option<u16>) = match b0 >> 4 {
        4 => {
            let ihl = usize::from(b0 & 0xf) * 4;
            if ihl < 20 || pkt.len() < ihl {
                return;
            }
            pkt[10] = 0;
            pkt[11] = 0;
            let c = !data(&pkt[..ihl]);
            pkt[10..12].copy_from_slice(&c.to_be_bytes());
            let total = usize::from(u16::from_be_bytes([pkt[2], pkt[3]])).min(pkt.len());
            if total < ihl || u16::from_be_bytes([pkt[6], pkt[7]]) & 0x3fff != 0 {
                return; // a fragment: no whole transport header to sum
            }
            let src = Ipv4Addr::from(<[u8; 4]>::try_from(&pkt[12..16]).unwrap_or([0; 4]));
            let dst = Ipv4Addr::from(<[u8; 4]>::try_from(&pkt[16..20]).unwrap_or([0; 4]));
            let p = pkt[9];
            let ps = (p != 1).then(|| pseudo_header_v4(src, dst, p, (total - ihl) as u16));
            (p, ihl, total, ps)
        }
        6 => {
            if pkt.len() < 40 {
                return;
            }
            let plen = usize::from(u16::from_be_bytes([pkt[4], pkt[5]]));
            let end = (40 + plen).min(pkt.len());
            let src = Ipv6Addr::from(<[u8; 16]>::try_from(&pkt[8..24]).unwrap_or([0; 16]));
            let dst = Ipv6Addr::from(<[u8; 16]>::try_from(&pkt[24..40]).unwrap_or([0; 16]));
            let p = pkt[6];
            let ps = pseudo_header_v6(src, dst, p, (end - 40) as u32);
            (p, 40, end, Some(ps))
        }
        _ => return,
    };
    let at = match proto {
        6 => 16,
        17 => 6,
        1 | 58 => 2,
        _ => return,
    };
    let l4 = &mut pkt[l4_at..l4_end];
    if l4.len() < at + 2 {
        return;
    }
    l4[at] = 0;
    l4[at + 1] = 0;
    let sum = match pseudo {
        Some(ps) => combine(&[ps, data(l4)]),
        None => data(l4),
    };
    let c = match !sum {
        0 if proto == 17 => 0xffff, // UDP sends a zero sum as all ones
        c => c,
    };
    l4[at..at + 2].copy_from_slice(&c.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_short_tails() {
        let mut v = Vec::new();
        encode(7, b"abc", &mut v);
        encode(0, &[], &mut v);
        encode(3, &[9; MAX_RECORD + 10], &mut v);
        let r: Vec<_> = Records(&v).collect();
        assert_eq!(r.len(), 3);
        assert_eq!(r[0], (7, &b"abc"[..]));
        assert_eq!(r[1], (0, &[][..]));
        assert_eq!((r[2].0, r[2].1.len()), (3, MAX_RECORD));
        // A header cut short, a body cut short.
        assert_eq!(Records(&[5]).collect::<Vec<_>>(), vec![(5, &[][..])]);
        assert_eq!(
            Records(&[5, 0, 4, 1, 2]).collect::<Vec<_>>(),
            vec![(5, &[1u8, 2][..])]
        );
    }

    #[test]
    fn fixed_checksums_verify() {
        // Ethernet, one VLAN tag, IPv4, UDP with garbage checksums.
        let mut f = vec![0u8; 12];
        f.extend([0x81, 0x00, 0, 100, 0x08, 0x00]);
        let ip = [
            0x45, 0, 0, 32, 0, 0, 0x40, 0, 64, 17, 0xde, 0xad, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        f.extend(ip);
        f.extend([0x12, 0x34, 0x56, 0x78, 0, 12, 0xbe, 0xef, 1, 2, 3, 4]);
        fix_frame_checksums(&mut f);
        let l3 = &f[18..];
        assert_eq!(data(&l3[..20]), 0xffff, "IPv4 header verifies");
        let ps = pseudo_header_v4(
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 0, 2),
            17,
            12,
        );
        assert_eq!(combine(&[ps, data(&l3[20..])]), 0xffff, "UDP verifies");
    }
}
