//! No capture in /work/shared/pcaps carries GRE; these vectors were generated with scapy
//! 2.8.0, an independent implementation (its checksum included).

use super::*;
use proptest::prelude::*;

/// scapy 2.8.0: `GRE(chksum_present=1, key_present=1, seqnum_present=1, key=0xdeadbeef,
/// seqence_number=42)/IP(src=10.0.0.1, dst=10.0.0.2)/ICMP()`.
const GRE_FULL: [u8; 44] = [
    0xb0, 0x00, 0x08, 0x00, 0xaa, 0x37, 0x00, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x00, 0x00, 0x2a,
    0x45, 0x00, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x40, 0x01, 0x66, 0xde, 0x0a, 0x00, 0x00, 0x01,
    0x0a, 0x00, 0x00, 0x02, 0x08, 0x00, 0xf7, 0xff, 0x00, 0x00, 0x00, 0x00,
];

/// scapy 2.8.0: `GRE()/IP(src=10.0.0.1, dst=10.0.0.2)/ICMP()`.
const GRE_PLAIN: [u8; 32] = [
    0x00, 0x00, 0x08, 0x00, 0x45, 0x00, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x40, 0x01, 0x66, 0xde,
    0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x08, 0x00, 0xf7, 0xff, 0x00, 0x00, 0x00, 0x00,
];

/// scapy 2.8.0: `GRE(key_present=1, key=100, proto=0x6558)/Ether(dst=02:00:00:00:00:02,
/// src=02:00:00:00:00:01)/IP(src=10.0.0.1, dst=10.0.0.2)` (transparent Ethernet bridging).
const GRE_TEB: [u8; 42] = [
    0x20, 0x00, 0x65, 0x58, 0x00, 0x00, 0x00, 0x64, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00,
    0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x45, 0x00, 0x00, 0x14, 0x00, 0x01, 0x00, 0x00, 0x40, 0x00,
    0x66, 0xe7, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02,
];

fn reemit(r: &GreRepr, original: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; original.len()];
    out[r.header_len()..].copy_from_slice(&original[r.header_len()..]);
    r.emit(&mut GrePacket::new_unchecked(&mut out[..]));
    out
}

#[test]
fn full_header() {
    let p = GrePacket::new_checked(&GRE_FULL[..]).unwrap();
    assert!(p.checksum_present() && p.key_present() && p.seq_present());
    assert_eq!((p.version(), p.header_len()), (0, 16));
    assert_eq!(p.protocol_type(), EtherType::Ipv4);
    assert_eq!(p.checksum(), Some(0xaa37));
    assert_eq!(p.key(), Some(0xdead_beef));
    assert_eq!(p.sequence_number(), Some(42));
    assert!(p.verify_checksum());
    assert_eq!(p.payload()[0], 0x45);
    let r = GreRepr::parse(&p).unwrap();
    assert_eq!(
        r,
        GreRepr {
            protocol: EtherType::Ipv4,
            checksum: true,
            key: Some(0xdead_beef),
            sequence_number: Some(42)
        }
    );
    assert_eq!(reemit(&r, &GRE_FULL), GRE_FULL);
}

#[test]
fn plain_and_teb() {
    let p = GrePacket::new_checked(&GRE_PLAIN[..]).unwrap();
    assert_eq!(
        (p.header_len(), p.checksum(), p.key(), p.sequence_number()),
        (4, None, None, None)
    );
    let r = GreRepr::parse(&p).unwrap();
    assert_eq!(reemit(&r, &GRE_PLAIN), GRE_PLAIN);

    let p = GrePacket::new_checked(&GRE_TEB[..]).unwrap();
    assert_eq!(p.protocol_type(), EtherType::TransparentEthernet);
    assert_eq!((p.header_len(), p.key()), (8, Some(100)));
    assert_eq!(&p.payload()[..6], &[2, 0, 0, 0, 0, 2]);
    let r = GreRepr::parse(&p).unwrap();
    assert_eq!(reemit(&r, &GRE_TEB), GRE_TEB);
}

#[test]
fn truncated_at_every_length() {
    for n in 0..16 {
        assert_eq!(
            GrePacket::new_checked(&GRE_FULL[..n]).unwrap_err(),
            Error::Truncated,
            "len {n}"
        );
    }
    // Cut inside the inner IPv4 header, the checksum fails. (At 16 and 36
    // it still verifies: a correct IPv4 header and a correct ICMP message each sum to zero,
    // and the ICMP message ends in zeros.)
    for n in 17..36 {
        let p = GrePacket::new_checked(&GRE_FULL[..n]).unwrap();
        assert_eq!(GreRepr::parse(&p), Err(Error::BadChecksum), "len {n}");
    }
}

#[test]
fn versions_reserved_and_checksum() {
    let mut b = GRE_PLAIN;
    b[1] = 1; // PPTP
    assert_eq!(
        GreRepr::parse(&GrePacket::new_checked(&b[..]).unwrap()),
        Err(Error::Unsupported)
    );
    for v in 2..8 {
        b[1] = v;
        assert_eq!(
            GreRepr::parse(&GrePacket::new_checked(&b[..]).unwrap()),
            Err(Error::BadVersion)
        );
    }
    let mut b = GRE_PLAIN;
    b[0] = 0x40; // RFC 1701 routing present
    assert_eq!(
        GreRepr::parse(&GrePacket::new_checked(&b[..]).unwrap()),
        Err(Error::Unsupported)
    );
    let mut b = GRE_FULL;
    b[20] ^= 1;
    assert_eq!(
        GreRepr::parse(&GrePacket::new_checked(&b[..]).unwrap()),
        Err(Error::BadChecksum)
    );
}

proptest! {
    #[test]
    fn round_trip(proto: u16, c: bool, key in proptest::option::of(any::<u32>()), seq in proptest::option::of(any::<u32>()),
                  payload in proptest::collection::vec(any::<u8>(), 0..64)) {
        let r = GreRepr { protocol: EtherType::from(proto), checksum: c, key, sequence_number: seq };
        let mut buf = vec![0u8; r.header_len() + payload.len()];
        buf[r.header_len()..].copy_from_slice(&payload);
        r.emit(&mut GrePacket::new_unchecked(&mut buf[..]));
        let p = GrePacket::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(GreRepr::parse(&p), Ok(r));
        prop_assert_eq!(p.payload(), &payload[..]);
    }

    #[test]
    fn fuzz_never_panics(data in proptest::collection::vec(any::<u8>(), 0..64)) {
        fuzz(&data);
    }
}
