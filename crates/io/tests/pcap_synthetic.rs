//! The pcap reader on hand-built files: both byte orders and resolutions of classic pcap,
//! pcapng sections, interfaces, `if_tsresol`/`if_tsoffset`, SPB, skipped blocks, and named
//! errors for each kind of corruption.

use io::pcap::{At, Format, LinkType, PcapReader, ReadError, ReadErrorKind, TsResolution};
use proptest::prelude::*;

fn u32b(big: bool, v: u32) -> [u8; 4] {
    if big {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    }
}

fn u16b(big: bool, v: u16) -> [u8; 2] {
    if big {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    }
}

/// Classic pcap: header, then records of (secs, frac, data, orig).
fn pcap(big: bool, nano: bool, link: u32, recs: &[(u32, u32, &[u8], u32)]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend(u32b(big, if nano { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }));
    v.extend(u16b(big, 2));
    v.extend(u16b(big, 4));
    v.extend([0; 8]);
    v.extend(u32b(big, 65535));
    v.extend(u32b(big, link));
    for (s, f, d, o) in recs {
        for x in [*s, *f, d.len() as u32, *o] {
            v.extend(u32b(big, x));
        }
        v.extend(*d);
    }
    v
}

/// A pcapng builder in one byte order.
struct Ng {
    big: bool,
    out: Vec<u8>,
}

impl Ng {
    fn new(big: bool) -> Ng {
        let mut ng = Ng {
            big,
            out: Vec::new(),
        };
        ng.shb();
        ng
    }

    fn block(&mut self, t: u32, body: &[u8]) -> &mut Ng {
        let padded = body.len().div_ceil(4) * 4;
        let len = 12 + padded as u32;
        self.out.extend(u32b(self.big, t));
        self.out.extend(u32b(self.big, len));
        self.out.extend(body);
        self.out.resize(self.out.len() + padded - body.len(), 0);
        self.out.extend(u32b(self.big, len));
        self
    }

    fn shb(&mut self) -> &mut Ng {
        let mut b = Vec::new();
        b.extend(u32b(self.big, 0x1a2b_3c4d));
        b.extend(u16b(self.big, 1));
        b.extend(u16b(self.big, 0));
        b.extend([0xff; 8]);
        self.block(0x0a0d_0d0a, &b)
    }

    fn idb(&mut self, link: u16, opts: &[(u16, &[u8])]) -> &mut Ng {
        let mut b = Vec::new();
        b.extend(u16b(self.big, link));
        b.extend([0, 0]);
        b.extend(u32b(self.big, 0));
        for (code, val) in opts {
            b.extend(u16b(self.big, *code));
            b.extend(u16b(self.big, val.len() as u16));
            b.extend(*val);
            b.resize(b.len().div_ceil(4) * 4, 0);
        }
        if !opts.is_empty() {
            b.extend([0; 4]);
        }
        self.block(1, &b)
    }

    fn epb(&mut self, iface: u32, ts: u64, data: &[u8], orig: u32) -> &mut Ng {
        let mut b = Vec::new();
        for x in [iface, (ts >> 32) as u32, ts as u32, data.len() as u32, orig] {
            b.extend(u32b(self.big, x));
        }
        b.extend(data);
        b.resize(b.len().div_ceil(4) * 4, 0);
        // An epb_flags option, which the reader skips.
        b.extend(u16b(self.big, 2));
        b.extend(u16b(self.big, 4));
        b.extend([0; 4]);
        b.extend([0; 4]);
        self.block(6, &b)
    }

    fn spb(&mut self, data: &[u8]) -> &mut Ng {
        let mut b = Vec::new();
        b.extend(u32b(self.big, data.len() as u32));
        b.extend(data);
        self.block(3, &b)
    }
}

/// Every record as (ts, orig, link, iface, data), and the error that ended it.
type Rec = (u64, u32, LinkType, u32, Vec<u8>);

fn read_all(bytes: &[u8]) -> Result<(Vec<Rec>, Option<ReadError>), ReadError> {
    let mut r = PcapReader::from_bytes(bytes)?;
    let mut out = Vec::new();
    loop {
        match r.next_record() {
            Ok(Some(x)) => out.push((
                x.timestamp_ns,
                x.original_len,
                x.link_type,
                x.interface,
                x.data.to_vec(),
            )),
            Ok(None) => return Ok((out, None)),
            Err(e) => return Ok((out, Some(e))),
        }
    }
}

#[test]
fn classic_pcap_all_four_magics() {
    for big in [false, true] {
        for nano in [false, true] {
            let f = pcap(
                big,
                nano,
                1,
                &[(10, 5, &[1; 20], 20), (11, 999, &[2; 14], 100)],
            );
            let r = PcapReader::from_bytes(&f).unwrap();
            let res = if nano {
                TsResolution::Nano
            } else {
                TsResolution::Micro
            };
            assert_eq!(
                r.format(),
                Format::Pcap {
                    resolution: res,
                    big_endian: big,
                    link_type: LinkType::ETHERNET,
                    snaplen: 65535
                }
            );
            let (recs, err) = read_all(&f).unwrap();
            assert!(err.is_none());
            let unit = if nano { 1 } else { 1000 };
            assert_eq!(
                recs[0],
                (
                    10_000_000_000 + 5 * unit,
                    20,
                    LinkType::ETHERNET,
                    0,
                    vec![1; 20]
                )
            );
            assert_eq!(
                recs[1],
                (
                    11_000_000_000 + 999 * unit,
                    100,
                    LinkType::ETHERNET,
                    0,
                    vec![2; 14]
                )
            );
        }
    }
}

#[test]
fn fcs_bits_are_masked_from_the_link_type() {
    let f = pcap(false, false, 0x1000_0071, &[]);
    let r = PcapReader::from_bytes(&f).unwrap();
    assert!(matches!(
        r.format(),
        Format::Pcap {
            link_type: LinkType::LINUX_SLL,
            ..
        }
    ));
}

#[test]
fn truncated_pcap_records_are_named() {
    let f = pcap(
        false,
        false,
        1,
        &[(1, 0, &[0; 30], 30), (2, 0, &[0; 30], 30)],
    );
    let (recs, err) = read_all(&f[..f.len() - 1]).unwrap();
    assert_eq!(recs.len(), 1);
    let e = err.unwrap();
    assert_eq!(
        e.at,
        At::Record {
            index: 1,
            offset: 24 + 46
        }
    );
    assert!(matches!(
        e.kind,
        ReadErrorKind::Truncated {
            what: "packet data",
            needed: 30,
            got: 29
        }
    ));
    let (_, err) = read_all(&f[..24 + 46 + 5]).unwrap();
    let e = err.unwrap();
    assert!(matches!(
        e.kind,
        ReadErrorKind::Truncated {
            what: "record header",
            needed: 16,
            got: 5
        }
    ));
}

#[test]
fn header_errors() {
    let e = PcapReader::from_bytes(&[]).unwrap_err();
    assert_eq!(e.at, At::FileHeader);
    assert!(matches!(e.kind, ReadErrorKind::Truncated { got: 0, .. }));
    let e = PcapReader::from_bytes(b"GIF89a.........................").unwrap_err();
    assert!(matches!(e.kind, ReadErrorKind::UnknownMagic(0x4749_4638)));
    let f = pcap(false, false, 1, &[]);
    let e = PcapReader::from_bytes(&f[..20]).unwrap_err();
    assert!(matches!(
        e.kind,
        ReadErrorKind::Truncated {
            what: "pcap file header",
            ..
        }
    ));
}

#[test]
fn small_buffer_can_be_retried() {
    let f = pcap(
        false,
        false,
        1,
        &[(1, 0, &[7; 100], 100), (2, 0, &[8; 10], 10)],
    );
    let mut r = PcapReader::from_bytes(&f).unwrap();
    let mut small = [0u8; 50];
    let e = r.next_into(&mut small).unwrap_err();
    assert!(matches!(
        e.kind,
        ReadErrorKind::BufferTooSmall {
            len: 100,
            buffer: 50
        }
    ));
    assert_eq!(
        e.at,
        At::Record {
            index: 0,
            offset: 24
        }
    );
    let mut big = [0u8; 100];
    assert_eq!(r.next_into(&mut big).unwrap().unwrap().data, &[7; 100]);
    assert_eq!(r.next_into(&mut small).unwrap().unwrap().data, &[8; 10]);
    assert!(r.next_into(&mut small).unwrap().is_none());
}

#[test]
fn pcapng_interfaces_resolutions_and_sections() {
    for big in [false, true] {
        let mut ng = Ng::new(big);
        ng.idb(1, &[])
            .idb(
                101,
                &[
                    (9, &[9]),
                    (
                        14,
                        &u32b(big, 0)
                            .iter()
                            .chain(&[0; 4])
                            .copied()
                            .collect::<Vec<_>>(),
                    ),
                ],
            )
            .idb(0, &[(9, &[0x80 | 10])])
            .epb(0, 1_500_000, &[0xaa; 15], 60)
            .block(4, &[0; 8]) // name resolution: skipped
            .epb(1, 1_700_000_000_123_456_789, &[0x45; 21], 21)
            .block(0x0bad, &[1, 2, 3]) // custom block: skipped
            .epb(2, 3 * 1024, &[2, 0, 0, 0, 0x45], 5)
            .spb(&[0xbb; 17]);
        let (recs, err) = read_all(&ng.out).unwrap();
        assert!(err.is_none(), "{err:?}");
        assert_eq!(
            recs[0],
            (1_500_000_000, 60, LinkType::ETHERNET, 0, vec![0xaa; 15])
        );
        assert_eq!(
            recs[1],
            (
                1_700_000_000_123_456_789,
                21,
                LinkType::RAW,
                1,
                vec![0x45; 21]
            )
        );
        // 2^-10 s units: 3072 units = 3 s.
        assert_eq!(
            recs[2],
            (3_000_000_000, 5, LinkType::NULL, 2, vec![2, 0, 0, 0, 0x45])
        );
        // SPB: interface 0, previous timestamp.
        assert_eq!(
            recs[3],
            (3_000_000_000, 17, LinkType::ETHERNET, 0, vec![0xbb; 17])
        );

        // A second section (other byte order) forgets the interfaces of the first.
        let mut second = Ng::new(!big);
        second.epb(1, 0, &[0; 4], 4);
        let mut file = ng.out.clone();
        file.extend(&second.out);
        let (recs, err) = read_all(&file).unwrap();
        assert_eq!(recs.len(), 4);
        let e = err.unwrap();
        assert!(
            matches!(e.kind, ReadErrorKind::UnknownInterface { id: 1, count: 0 }),
            "{e}"
        );
        assert_eq!(
            e.at,
            At::Record {
                index: 4,
                offset: (ng.out.len() + 28) as u64
            }
        );
    }
}

#[test]
fn pcapng_tsoffset_applies() {
    let mut ng = Ng::new(false);
    ng.idb(1, &[(14, &100i64.to_le_bytes())])
        .epb(0, 2_000_000, &[0; 14], 14);
    let (recs, _) = read_all(&ng.out).unwrap();
    assert_eq!(recs[0].0, 102_000_000_000);
}

#[test]
fn pcapng_corruptions_are_named() {
    let base = || {
        let mut ng = Ng::new(false);
        ng.idb(1, &[]);
        ng
    };
    let idb_end = base().out.len();
    let epb = |ng: &mut Ng| {
        ng.epb(0, 0, &[0; 16], 16);
    };

    // Captured length past the block body.
    let mut ng = base();
    epb(&mut ng);
    ng.out[idb_end + 20..idb_end + 24].copy_from_slice(&1000u32.to_le_bytes());
    let (_, err) = read_all(&ng.out).unwrap();
    let e = err.unwrap();
    assert_eq!(
        e.at,
        At::Record {
            index: 0,
            offset: idb_end as u64
        }
    );
    assert!(
        matches!(
            e.kind,
            ReadErrorKind::CaptureOverrunsBlock {
                len: 1000,
                room: 28
            }
        ),
        "{e}"
    );

    // Trailer differs from the header length.
    let mut ng = base();
    epb(&mut ng);
    let n = ng.out.len();
    ng.out[n - 4] ^= 4;
    let (_, err) = read_all(&ng.out).unwrap();
    assert!(matches!(
        err.unwrap().kind,
        ReadErrorKind::TrailerMismatch {
            header: 60,
            trailer: 56
        }
    ));

    // Block length not a multiple of 4, on a non-packet block.
    let mut ng = base();
    ng.block(4, &[0; 8]);
    ng.out[idb_end + 4] = 21;
    let (_, err) = read_all(&ng.out).unwrap();
    let e = err.unwrap();
    assert_eq!(
        e.at,
        At::Block {
            block_type: 4,
            offset: idb_end as u64,
            before_record: 0
        }
    );
    assert!(matches!(
        e.kind,
        ReadErrorKind::BadBlockLength { len: 21, min: 12 }
    ));

    // Huge captured length.
    let mut ng = base();
    epb(&mut ng);
    ng.out[idb_end + 20..idb_end + 24].copy_from_slice(&u32::MAX.to_le_bytes());
    let (_, err) = read_all(&ng.out).unwrap();
    assert!(matches!(
        err.unwrap().kind,
        ReadErrorKind::CaptureTooLarge { .. }
    ));

    // if_tsresol beyond what the reader converts.
    let mut ng = Ng::new(true);
    ng.idb(1, &[(9, &[40])]);
    let (_, err) = read_all(&ng.out).unwrap();
    assert!(matches!(
        err.unwrap().kind,
        ReadErrorKind::BadOption { code: 9, .. }
    ));

    // Timestamp that does not fit nanoseconds.
    let mut ng = base();
    ng.epb(0, u64::MAX, &[0; 14], 14);
    let (_, err) = read_all(&ng.out).unwrap();
    assert!(matches!(
        err.unwrap().kind,
        ReadErrorKind::TimestampOverflow { raw: u64::MAX }
    ));

    // Bad byte-order magic in the first SHB.
    let mut ng = Ng::new(false);
    ng.out[8] = 0;
    let e = PcapReader::from_bytes(&ng.out).unwrap_err();
    assert_eq!(e.at, At::FileHeader);
    assert!(matches!(e.kind, ReadErrorKind::BadByteOrderMagic(_)));
}

fn sample_ng() -> Vec<u8> {
    let mut ng = Ng::new(false);
    ng.idb(1, &[(9, &[9])])
        .epb(0, 1, &[1; 40], 40)
        .block(5, &[0; 12])
        .spb(&[2; 33])
        .epb(0, 2, &[3; 3], 3);
    ng.out
}

#[test]
fn every_prefix_ends_cleanly_or_with_truncated() {
    let files = [
        sample_ng(),
        pcap(true, true, 1, &[(1, 2, &[5; 30], 30), (3, 4, &[6; 7], 70)]),
    ];
    for f in files {
        let (full, err) = read_all(&f).unwrap();
        assert!(err.is_none());
        for cut in 0..f.len() {
            match read_all(&f[..cut]) {
                Err(e) => assert!(
                    matches!(e.kind, ReadErrorKind::Truncated { .. }),
                    "{cut}: {e}"
                ),
                Ok((recs, err)) => {
                    assert_eq!(recs[..], full[..recs.len()]);
                    if let Some(e) = err {
                        assert!(
                            matches!(e.kind, ReadErrorKind::Truncated { .. }),
                            "{cut}: {e}"
                        );
                    }
                }
            }
        }
    }
}

proptest! {
    #[test]
    fn fuzz_never_panics_on_mutated_files(
        which in 0usize..2,
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
    ) {
        let mut f = if which == 0 { sample_ng() } else { pcap(false, false, 113, &[(1, 2, &[5; 30], 30)]) };
        for (at, v) in flips {
            let n = f.len();
            f[at % n] = v;
        }
        io::pcap::fuzz(&f);
    }

    #[test]
    fn fuzz_never_panics_on_any_bytes(data in proptest::collection::vec(any::<u8>(), 0..256)) {
        io::pcap::fuzz(&data);
    }
}
