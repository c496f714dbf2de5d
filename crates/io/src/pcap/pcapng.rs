//! pcapng block framing (draft-ietf-opsawg-pcapng): section headers, interface
//! descriptions and the three packet blocks; every other block is skipped unread.
//!
//! Block bodies are never stored beyond [`MAX_HEADER_BLOCK_LEN`]: SHB and IDB bodies are read
//! into one reused scratch buffer, packet data goes to the caller's buffer, and packet
//! options and unknown blocks are skipped.

use std::io::Read;

use super::error::{At, ReadError, ReadErrorKind};
use super::input::{array, pad4, Endian, Input};
use super::reader::Pending;
use super::{LinkType, MAX_CAPTURE_LEN, MAX_HEADER_BLOCK_LEN};

/// Section Header Block type; also the pcapng file magic (a byte-order palindrome).
pub(super) const SHB_TYPE: u32 = 0x0a0d_0d0a;
const IDB_TYPE: u32 = 1;
const PB_TYPE: u32 = 2;
const SPB_TYPE: u32 = 3;
const EPB_TYPE: u32 = 6;

/// Largest block of any type accepted (skipped blocks are not stored, this only stops a
/// corrupt length from reading through the rest of the file as one block).
const MAX_BLOCK_LEN: u32 = 16 * 1024 * 1024;
const MAX_HEADER_BLOCK_TOTAL: u32 = MAX_HEADER_BLOCK_LEN as u32 + 12;
/// Interfaces kept per section.
const MAX_INTERFACES: usize = 4096;

const OPT_IF_TSRESOL: u16 = 9;
const OPT_IF_TSOFFSET: u16 = 14;

/// One interface description: what its packets need.
#[derive(Debug, Clone, Copy)]
struct Interface {
    link_type: LinkType,
    snaplen: u32,
    /// `if_tsresol`: bit 7 clear = 10^-n s, set = 2^-n s. Default 6 (microseconds).
    tsresol: u8,
    /// `if_tsoffset`: seconds added to every timestamp.
    tsoffset: i64,
}

impl Interface {
    fn timestamp_ns(&self, raw: u64) -> Result<u64, ReadErrorKind> {
        let overflow = ReadErrorKind::TimestampOverflow { raw };
        let n = u32::from(self.tsresol & 0x7f);
        let ns: u128 = if self.tsresol & 0x80 == 0 {
            // n <= 19 is checked when the IDB is read, so 10^n fits u64.
            if n <= 9 {
                u128::from(raw) * u128::from(10u64.pow(9 - n))
            } else {
                u128::from(raw) / u128::from(10u64.pow(n - 9))
            }
        } else {
            // raw < 2^64 and 1e9 < 2^30: the product fits u128; n <= 127.
            (u128::from(raw) * 1_000_000_000) >> n
        };
        let ns = i128::try_from(ns).map_err(|_| ReadErrorKind::TimestampOverflow { raw })?;
        let ns = ns + i128::from(self.tsoffset) * 1_000_000_000;
        u64::try_from(ns).map_err(|_| overflow)
    }
}

/// The state of a pcapng file between blocks.
#[derive(Debug)]
pub(super) struct NgState {
    endian: Endian,
    interfaces: Vec<Interface>,
    /// SHB and IDB bodies, at most [`MAX_HEADER_BLOCK_LEN`] bytes.
    scratch: Vec<u8>,
    /// Timestamp of the last packet, for Simple Packet Blocks.
    last_ts: u64,
}

impl NgState {
    /// Reads the first section header; its 4-byte type has been consumed.
    pub(super) fn open<R: Read>(input: &mut Input<R>) -> Result<Self, ReadErrorKind> {
        let mut state = NgState {
            endian: Endian::Little,
            interfaces: Vec::new(),
            scratch: Vec::new(),
            last_ts: 0,
        };
        let mut len = [0u8; 4];
        input.read_exact_or(&mut len, "section header block")?;
        state.read_shb(input, len)?;
        Ok(state)
    }

    /// Reads blocks until the next packet block and returns its header.
    pub(super) fn next_packet<R: Read>(
        &mut self,
        input: &mut Input<R>,
        index: u64,
    ) -> Result<Option<Pending>, ReadError> {
        loop {
            let offset = input.offset();
            let record_at = At::Record { index, offset };
            let mut h = [0u8; 8];
            let got = input
                .read_full(&mut h)
                .map_err(|e| ReadError::new(record_at.clone(), ReadErrorKind::Io(e)))?;
            if got == 0 {
                return Ok(None);
            }
            if got < h.len() {
                let kind = ReadErrorKind::Truncated {
                    what: "block header",
                    needed: 8,
                    got: got as u64,
                };
                return Err(ReadError::new(record_at, kind));
            }
            let block_type = self.endian.u32(array(&h, 0));
            let len_raw = array(&h, 4);
            let block_at = At::Block {
                block_type,
                offset,
                before_record: index,
            };
            let res = match block_type {
                EPB_TYPE | PB_TYPE | SPB_TYPE => {
                    return self
                        .packet_block(input, block_type, len_raw, offset)
                        .map(Some)
                        .map_err(|kind| ReadError::new(record_at, kind));
                }
                SHB_TYPE => self.read_shb(input, len_raw),
                IDB_TYPE => self.read_idb(input, len_raw),
                _ => self.skip_block(input, len_raw),
            };
            res.map_err(|kind| ReadError::new(block_at, kind))?;
        }
    }

    /// Reads the 4-byte block trailer and checks it repeats `len`.
    pub(super) fn check_trailer<R: Read>(
        &self,
        input: &mut Input<R>,
        len: u32,
    ) -> Result<(), ReadErrorKind> {
        let mut t = [0u8; 4];
        input.read_exact_or(&mut t, "block trailer")?;
        let trailer = self.endian.u32(t);
        if trailer != len {
            return Err(ReadErrorKind::TrailerMismatch {
                header: len,
                trailer,
            });
        }
        Ok(())
    }

    /// A section header: byte order, version, options framing. Starts a new section.
    fn read_shb<R: Read>(
        &mut self,
        input: &mut Input<R>,
        len_raw: [u8; 4],
    ) -> Result<(), ReadErrorKind> {
        let mut bom = [0u8; 4];
        input.read_exact_or(&mut bom, "section header block")?;
        self.endian = match u32::from_be_bytes(bom) {
            0x1a2b_3c4d => Endian::Big,
            0x4d3c_2b1a => Endian::Little,
            other => return Err(ReadErrorKind::BadByteOrderMagic(other)),
        };
        self.interfaces.clear();
        let len = self.endian.u32(len_raw);
        // type, length, byte-order magic, version (4), section length (8), trailer.
        check_len(len, 28, MAX_HEADER_BLOCK_TOTAL)?;
        self.read_scratch(input, len - 16, "section header block")?;
        let major = self.endian.u16(array(&self.scratch, 0));
        let minor = self.endian.u16(array(&self.scratch, 2));
        if major != 1 {
            return Err(ReadErrorKind::UnsupportedVersion { major, minor });
        }
        walk_options(
            self.scratch.get(12..).unwrap_or_default(),
            self.endian,
            |_, _| Ok(()),
        )?;
        self.check_trailer(input, len)
    }

    /// An interface description: link type, snap length, timestamp resolution and offset.
    fn read_idb<R: Read>(
        &mut self,
        input: &mut Input<R>,
        len_raw: [u8; 4],
    ) -> Result<(), ReadErrorKind> {
        let len = self.endian.u32(len_raw);
        check_len(len, 20, MAX_HEADER_BLOCK_TOTAL)?;
        self.read_scratch(input, len - 12, "interface description block")?;
        let endian = self.endian;
        let mut iface = Interface {
            link_type: LinkType(u32::from(endian.u16(array(&self.scratch, 0)))),
            snaplen: endian.word(&self.scratch, 1),
            tsresol: 6,
            tsoffset: 0,
        };
        walk_options(
            self.scratch.get(8..).unwrap_or_default(),
            endian,
            |code, value| {
                let bad = |reason| ReadErrorKind::BadOption {
                    code,
                    len: value.len() as u16,
                    reason,
                };
                match code {
                    OPT_IF_TSRESOL => {
                        let [r] = value else {
                            return Err(bad("if_tsresol must be 1 byte"));
                        };
                        let exp = r & 0x7f;
                        if (r & 0x80 == 0 && exp > 19) || (r & 0x80 != 0 && exp > 63) {
                            return Err(bad("if_tsresol finer than the reader handles"));
                        }
                        iface.tsresol = *r;
                    }
                    OPT_IF_TSOFFSET => {
                        let v: [u8; 8] = value
                            .try_into()
                            .map_err(|_| bad("if_tsoffset must be 8 bytes"))?;
                        iface.tsoffset = match endian {
                            Endian::Big => i64::from_be_bytes(v),
                            Endian::Little => i64::from_le_bytes(v),
                        };
                    }
                    _ => {}
                }
                Ok(())
            },
        )?;
        self.check_trailer(input, len)?;
        if self.interfaces.len() >= MAX_INTERFACES {
            return Err(ReadErrorKind::TooManyInterfaces {
                max: MAX_INTERFACES,
            });
        }
        self.interfaces.push(iface);
        Ok(())
    }

    fn skip_block<R: Read>(
        &mut self,
        input: &mut Input<R>,
        len_raw: [u8; 4],
    ) -> Result<(), ReadErrorKind> {
        let len = self.endian.u32(len_raw);
        check_len(len, 12, MAX_BLOCK_LEN)?;
        input.skip(u64::from(len - 12), "block body")?;
        self.check_trailer(input, len)
    }

    /// An EPB, SPB or PB: its fixed fields, leaving the data to be read.
    fn packet_block<R: Read>(
        &mut self,
        input: &mut Input<R>,
        block_type: u32,
        len_raw: [u8; 4],
        offset: u64,
    ) -> Result<Pending, ReadErrorKind> {
        let e = self.endian;
        let len = e.u32(len_raw);
        let fixed: u32 = if block_type == SPB_TYPE { 4 } else { 20 };
        check_len(len, 12 + fixed, MAX_BLOCK_LEN)?;
        let room = len - 12 - fixed;
        let mut f = [0u8; 20];
        let f = f.get_mut(..fixed as usize).unwrap_or_default();
        input.read_exact_or(f, "packet block header")?;
        let (interface, timestamp_ns, caplen, original_len) = if block_type == SPB_TYPE {
            let original_len = e.word(f, 0);
            let iface = self.interface(0)?;
            let mut caplen = original_len.min(room);
            if iface.snaplen != 0 {
                caplen = caplen.min(iface.snaplen);
            }
            (0, self.last_ts, caplen, original_len)
        } else {
            let id = if block_type == EPB_TYPE {
                e.word(f, 0)
            } else {
                u32::from(e.u16(array(f, 0)))
            };
            let raw_ts = (u64::from(e.word(f, 1)) << 32) | u64::from(e.word(f, 2));
            let timestamp_ns = self.interface(id)?.timestamp_ns(raw_ts)?;
            (id, timestamp_ns, e.word(f, 3), e.word(f, 4))
        };
        if caplen as usize > MAX_CAPTURE_LEN {
            return Err(ReadErrorKind::CaptureTooLarge {
                len: caplen,
                max: MAX_CAPTURE_LEN as u32,
            });
        }
        if caplen > room {
            return Err(ReadErrorKind::CaptureOverrunsBlock { len: caplen, room });
        }
        self.last_ts = timestamp_ns;
        let link_type = self.interface(interface)?.link_type;
        Ok(Pending {
            offset,
            timestamp_ns,
            original_len,
            caplen,
            link_type,
            interface,
            skip_after: u64::from(room - caplen),
            trailer: Some(len),
        })
    }

    fn interface(&self, id: u32) -> Result<Interface, ReadErrorKind> {
        let count = self.interfaces.len();
        usize::try_from(id)
            .ok()
            .and_then(|i| self.interfaces.get(i))
            .copied()
            .ok_or(ReadErrorKind::UnknownInterface { id, count })
    }

    fn read_scratch<R: Read>(
        &mut self,
        input: &mut Input<R>,
        len: u32,
        what: &'static str,
    ) -> Result<(), ReadErrorKind> {
        // `len` was checked against MAX_HEADER_BLOCK_TOTAL by the caller.
        self.scratch.clear();
        self.scratch.resize(len as usize, 0);
        input.read_exact_or(&mut self.scratch, what)
    }
}

fn check_len(len: u32, min: u32, max: u32) -> Result<(), ReadErrorKind> {
    if !len.is_multiple_of(4) || len < min {
        return Err(ReadErrorKind::BadBlockLength { len, min });
    }
    if len > max {
        return Err(ReadErrorKind::BlockTooLarge { len, max });
    }
    Ok(())
}

/// Walks pcapng options (code, length, value padded to 4) until `opt_endofopt` or the end.
fn walk_options(
    mut rest: &[u8],
    endian: Endian,
    mut f: impl FnMut(u16, &[u8]) -> Result<(), ReadErrorKind>,
) -> Result<(), ReadErrorKind> {
    while !rest.is_empty() {
        let code = endian.u16(array(rest, 0));
        let len = endian.u16(array(rest, 2));
        if rest.len() < 4 {
            return Err(ReadErrorKind::BadOption {
                code,
                len,
                reason: "option header cut by the block end",
            });
        }
        if code == 0 {
            break;
        }
        let padded = 4 + pad4(u32::from(len)) as usize;
        let (Some(value), Some(next)) = (rest.get(4..4 + usize::from(len)), rest.get(padded..))
        else {
            return Err(ReadErrorKind::BadOption {
                code,
                len,
                reason: "value runs past the block end",
            });
        };
        f(code, value)?;
        rest = next;
    }
    Ok(())
}
