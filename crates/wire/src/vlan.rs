//! IEEE 802.1Q VLAN tags (TPID 0x8100, C-tag) and 802.1ad service tags (TPID 0x88a8,
//! S-tag), single or stacked (QinQ, IEEE 802.1Q-2022 §9.6).
//!
//! On the wire a tag is a 2-byte TPID followed by the 2-byte TCI (PCP:3, DEI:1, VID:12).
//! The TPID sits where an untagged frame has its EtherType, so a tag "inserts" 4 bytes
//! before the real EtherType:
//!
//! ```text
//! dst(6) src(6) | TPID TCI | TPID TCI | ... | EtherType | payload
//! ```
//!
//! * [`VlanTag`] views one tag the way smoltcp does: TCI then the *next* EtherType/TPID
//!   (the bytes right after a TPID), with the rest as payload.
//! * [`walk`] / [`walk_frame`] read a whole stack of up to [`MAX_TAGS`] tags into a
//!   fixed array ([`TagStack`]) with the final EtherType and the payload offset. This is what
//!   `ethernet-input` uses for sub-interface selection: one 16-bit compare per tag, no
//!   allocation.
//! * [`TagStack::emit`] writes a stack back (TPIDs, TCIs and the final EtherType).

use core::fmt;

use crate::{read_u16, write_u16, Error, EtherType, Result};

/// The most tags [`walk`] reads; a further tag is [`Error::TooLong`].
pub const MAX_TAGS: usize = 8;

/// Bytes one tag adds to a frame (TPID + TCI).
pub const TAG_LEN: usize = 4;

/// TPID of an 802.1Q customer tag (C-tag).
pub const TPID_8021Q: u16 = 0x8100;
/// TPID of an 802.1ad service tag (S-tag).
pub const TPID_8021AD: u16 = 0x88a8;

/// `true` for the TPIDs the walk treats as a tag (0x8100 and 0x88a8).
#[inline]
pub const fn is_tpid(value: u16) -> bool {
    value == TPID_8021Q || value == TPID_8021AD
}

/// A Tag Control Information word (IEEE 802.1Q-2022 §9.6): PCP, DEI and VLAN ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Tci(pub u16);

impl Tci {
    /// Builds a TCI; `pcp` is masked to 3 bits and `vid` to 12 bits.
    #[inline]
    pub const fn new(pcp: u8, dei: bool, vid: u16) -> Tci {
        Tci(((pcp as u16 & 0x7) << 13) | ((dei as u16) << 12) | (vid & 0x0fff))
    }

    /// Priority Code Point (802.1p class of service), 0..=7.
    #[inline]
    pub const fn pcp(self) -> u8 {
        (self.0 >> 13) as u8
    }

    /// Drop Eligible Indicator (formerly CFI).
    #[inline]
    pub const fn dei(self) -> bool {
        self.0 & 0x1000 != 0
    }

    /// VLAN identifier, 0..=4095 (0: priority tag only; 4095: reserved).
    #[inline]
    pub const fn vid(self) -> u16 {
        self.0 & 0x0fff
    }
}

impl fmt::Display for Tci {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "vid={} pcp={} dei={}",
            self.vid(),
            self.pcp(),
            u8::from(self.dei())
        )
    }
}

/// One tag of a stack as it was on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tag {
    /// The TPID that introduced the tag: [`EtherType::Vlan`] or [`EtherType::QinQ`].
    pub tpid: EtherType,
    /// The tag control information.
    pub tci: Tci,
}

impl Tag {
    const EMPTY: Tag = Tag {
        tpid: EtherType::Vlan,
        tci: Tci(0),
    };

    /// An 802.1Q C-tag with this TCI.
    #[inline]
    pub const fn c_tag(tci: Tci) -> Tag {
        Tag {
            tpid: EtherType::Vlan,
            tci,
        }
    }

    /// An 802.1ad S-tag with this TCI.
    #[inline]
    pub const fn s_tag(tci: Tci) -> Tag {
        Tag {
            tpid: EtherType::QinQ,
            tci,
        }
    }
}

/// The tags of one frame, outermost first, with the EtherType after them. No allocation:
/// the tags live in a fixed `[Tag; MAX_TAGS]`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TagStack {
    tags: [Tag; MAX_TAGS],
    len: u8,
    ethertype: EtherType,
    payload_offset: u16,
}

impl fmt::Debug for TagStack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TagStack")
            .field("tags", &self.tags())
            .field("ethertype", &self.ethertype)
            .field("payload_offset", &self.payload_offset)
            .finish()
    }
}

impl TagStack {
    /// A stack with no tags over the given EtherType. Its payload offset is 2 (just the
    /// EtherType), as if walked with [`walk`].
    #[inline]
    pub const fn untagged(ethertype: EtherType) -> TagStack {
        TagStack {
            tags: [Tag::EMPTY; MAX_TAGS],
            len: 0,
            ethertype,
            payload_offset: 2,
        }
    }

    /// A stack from `tags` (outermost first) and the final EtherType, laid out as [`walk`]
    /// would read it (payload offset `4 * tags.len() + 2`). `Err(TooLong)` for more than
    /// [`MAX_TAGS`] tags, `Err(Malformed)` if a tag's TPID is not 0x8100/0x88a8 or the final
    /// EtherType is one.
    pub fn from_tags(tags: &[Tag], ethertype: EtherType) -> Result<TagStack> {
        let mut s = TagStack::untagged(ethertype);
        if is_tpid(ethertype.into()) {
            return Err(Error::Malformed);
        }
        for &t in tags {
            s.push(t)?;
        }
        Ok(s)
    }

    /// Adds an inner tag (after the existing ones). `Err(TooLong)` when full,
    /// `Err(Malformed)` if the TPID is not a VLAN TPID.
    #[inline]
    pub fn push(&mut self, tag: Tag) -> Result<()> {
        if !is_tpid(tag.tpid.into()) {
            return Err(Error::Malformed);
        }
        let n = usize::from(self.len);
        if n == MAX_TAGS {
            return Err(Error::TooLong);
        }
        self.tags[n] = tag;
        self.len += 1;
        self.payload_offset += TAG_LEN as u16;
        Ok(())
    }

    /// The tags, outermost first.
    #[inline]
    pub fn tags(&self) -> &[Tag] {
        &self.tags[..usize::from(self.len)]
    }

    /// Number of tags.
    #[inline]
    pub const fn len(&self) -> usize {
        self.len as usize
    }

    /// `true` for an untagged frame.
    #[inline]
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The outermost tag (S-tag of a QinQ frame), if any.
    #[inline]
    pub fn outer(&self) -> Option<Tag> {
        self.tags().first().copied()
    }

    /// The innermost tag (C-tag of a QinQ frame), if any.
    #[inline]
    pub fn inner(&self) -> Option<Tag> {
        self.tags().last().copied()
    }

    /// The EtherType after the last tag.
    #[inline]
    pub const fn ethertype(&self) -> EtherType {
        self.ethertype
    }

    /// Where the payload (the L3 header) starts, counted from the start of the buffer that
    /// was walked: from the first TPID/EtherType byte for [`walk`], from the start of the
    /// frame for [`walk_frame`].
    #[inline]
    pub const fn payload_offset(&self) -> usize {
        self.payload_offset as usize
    }

    /// Bytes [`Self::emit`] writes: `4 * len + 2`.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        TAG_LEN * self.len as usize + 2
    }

    /// Writes the TPIDs, TCIs and the final EtherType into `buf`, which starts where an
    /// untagged frame's EtherType would be (frame byte 12). Returns the bytes written, or
    /// `Err(Truncated)` if `buf` is shorter than [`Self::buffer_len`].
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let n = self.buffer_len();
        if buf.len() < n {
            return Err(Error::Truncated);
        }
        let mut at = 0;
        for t in self.tags() {
            write_u16(buf, at, t.tpid.into());
            write_u16(buf, at + 2, t.tci.0);
            at += TAG_LEN;
        }
        write_u16(buf, at, self.ethertype.into());
        Ok(n)
    }
}

/// Walks the tag stack in `buf`, which starts at the first TPID/EtherType (frame byte 12,
/// i.e. right after the MAC addresses). The payload offset is relative to `buf`.
///
/// `Err(Truncated)` if a tag or the final EtherType is cut off; `Err(TooLong)` if a
/// ninth tag follows [`MAX_TAGS`] tags.
#[inline]
pub fn walk(buf: &[u8]) -> Result<TagStack> {
    walk_at(buf, 0)
}

/// Walks the tag stack of a whole Ethernet frame (MACs included). The payload offset is
/// relative to the frame: 14 for an untagged frame, 18 for one tag, 22 for QinQ.
#[inline]
pub fn walk_frame(frame: &[u8]) -> Result<TagStack> {
    walk_at(frame, 12)
}

#[inline]
fn walk_at(buf: &[u8], start: usize) -> Result<TagStack> {
    if buf.len() < start + 2 {
        return Err(Error::Truncated);
    }
    let first = read_u16(buf, start);
    // Fast path: untagged frame.
    if !is_tpid(first) {
        let mut s = TagStack::untagged(EtherType::from(first));
        s.payload_offset = (start + 2) as u16;
        return Ok(s);
    }
    let mut s = TagStack::untagged(EtherType::Vlan);
    let mut at = start;
    let mut tpid = first;
    loop {
        if usize::from(s.len) == MAX_TAGS {
            return Err(Error::TooLong);
        }
        // TPID at `at` was read; need TCI and the next EtherType.
        if buf.len() < at + TAG_LEN + 2 {
            return Err(Error::Truncated);
        }
        let tci = read_u16(buf, at + 2);
        s.tags[usize::from(s.len)] = Tag {
            tpid: EtherType::from(tpid),
            tci: Tci(tci),
        };
        s.len += 1;
        at += TAG_LEN;
        let next = read_u16(buf, at);
        if !is_tpid(next) {
            s.ethertype = EtherType::from(next);
            s.payload_offset = (at + 2) as u16;
            return Ok(s);
        }
        tpid = next;
    }
}

mod field {
    use crate::{Field, Rest};
    pub const TCI: Field = 0..2;
    pub const ETHERTYPE: Field = 2..4;
    pub const PAYLOAD: Rest = 4..;
}

/// Length of the part of a tag [`VlanTag`] views: TCI + next EtherType.
pub const HEADER_LEN: usize = field::PAYLOAD.start;

/// A view of one VLAN tag, starting *after* its TPID: the TCI, then the EtherType (or next
/// TPID) of what follows, then the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VlanTag<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> VlanTag<T> {
    /// Wraps a buffer without checking its length.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> VlanTag<T> {
        VlanTag { buffer }
    }

    /// Wraps a buffer and checks that it holds the 4 bytes of TCI and EtherType.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<VlanTag<T>> {
        let v = Self::new_unchecked(buffer);
        v.check_len()?;
        Ok(v)
    }

    /// `Err(Truncated)` if the buffer is shorter than [`HEADER_LEN`].
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// Gives the buffer back.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The whole TCI.
    #[inline]
    pub fn tci(&self) -> Tci {
        Tci(read_u16(self.buffer.as_ref(), field::TCI.start))
    }

    /// Priority Code Point, 0..=7.
    #[inline]
    pub fn pcp(&self) -> u8 {
        self.tci().pcp()
    }

    /// Drop Eligible Indicator.
    #[inline]
    pub fn dei(&self) -> bool {
        self.tci().dei()
    }

    /// VLAN identifier, 0..=4095.
    #[inline]
    pub fn vid(&self) -> u16 {
        self.tci().vid()
    }

    /// The EtherType after the tag (another TPID when tags are stacked).
    #[inline]
    pub fn ethertype(&self) -> EtherType {
        EtherType::from(read_u16(self.buffer.as_ref(), field::ETHERTYPE.start))
    }

    /// The bytes after the tag.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> VlanTag<T> {
    /// Sets the whole TCI.
    #[inline]
    pub fn set_tci(&mut self, tci: Tci) {
        write_u16(self.buffer.as_mut(), field::TCI.start, tci.0);
    }

    /// Sets the priority code point (masked to 3 bits).
    #[inline]
    pub fn set_pcp(&mut self, pcp: u8) {
        let t = self.tci();
        self.set_tci(Tci::new(pcp, t.dei(), t.vid()));
    }

    /// Sets the drop eligible indicator.
    #[inline]
    pub fn set_dei(&mut self, dei: bool) {
        let t = self.tci();
        self.set_tci(Tci::new(t.pcp(), dei, t.vid()));
    }

    /// Sets the VLAN identifier (masked to 12 bits).
    #[inline]
    pub fn set_vid(&mut self, vid: u16) {
        let t = self.tci();
        self.set_tci(Tci::new(t.pcp(), t.dei(), vid));
    }

    /// Sets the EtherType after the tag.
    #[inline]
    pub fn set_ethertype(&mut self, t: EtherType) {
        write_u16(self.buffer.as_mut(), field::ETHERTYPE.start, t.into());
    }

    /// The bytes after the tag, writable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD]
    }
}

/// The meaning of one tag as [`VlanTag`] sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VlanRepr {
    /// The tag control information.
    pub tci: Tci,
    /// The EtherType (or TPID) that follows.
    pub ethertype: EtherType,
}

impl VlanRepr {
    /// Reads a checked tag.
    #[inline]
    pub fn parse<T: AsRef<[u8]>>(tag: &VlanTag<T>) -> Result<VlanRepr> {
        tag.check_len()?;
        Ok(VlanRepr {
            tci: tag.tci(),
            ethertype: tag.ethertype(),
        })
    }

    /// Bytes [`Self::emit`] writes: 4.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes TCI and EtherType; the buffer must hold at least 4 bytes.
    #[inline]
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, tag: &mut VlanTag<T>) {
        tag.set_tci(self.tci);
        tag.set_ethertype(self.ethertype);
    }
}

/// Fuzz entry point: the tag view, its round trip, and the stack walk from byte 0.
#[doc(hidden)]
pub fn fuzz(data: &[u8]) {
    if let Ok(tag) = VlanTag::new_checked(data) {
        let _ = (tag.pcp(), tag.dei(), tag.vid(), tag.payload().len());
        let repr = VlanRepr::parse(&tag).expect("checked");
        let mut buf = [0u8; HEADER_LEN];
        repr.emit(&mut VlanTag::new_unchecked(&mut buf[..]));
        assert_eq!(&buf[..], &data[..HEADER_LEN]);
    }
    if let Ok(s) = walk(data) {
        assert!(s.payload_offset() <= data.len());
        let mut out = [0u8; TAG_LEN * MAX_TAGS + 2];
        let n = s.emit(&mut out).expect("fits");
        assert_eq!(&out[..n], &data[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// arkime_twovlan-qinq.pcap frame 1, first 42 bytes: two 802.1Q tags (VID 201 outer,
    /// VID 200 inner, both with TPID 0x8100), then IPv4.
    const ARKIME_QINQ: [u8; 42] = [
        0x00, 0x09, 0x0f, 0xdb, 0xf4, 0x3e, 0x00, 0x0c, 0x29, 0xc1, 0x2d, 0x24, 0x81, 0x00, 0x00,
        0xc9, 0x81, 0x00, 0x90, 0xc8, 0x08, 0x00, 0x45, 0x00, 0x00, 0x3c, 0x13, 0xe4, 0x40, 0x00,
        0x40, 0x06, 0xef, 0x4c, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02,
    ];

    /// zeek_vlan-qinqinq.pcap frame 1, first 46 bytes: three 802.1Q tags (VID 30, 20, 10),
    /// then IPv4.
    const ZEEK_QINQINQ: [u8; 46] = [
        0x00, 0x10, 0xdb, 0x88, 0xd2, 0xef, 0xc8, 0xbc, 0xc8, 0x96, 0xd2, 0xa0, 0x81, 0x00, 0x00,
        0x1e, 0x81, 0x00, 0x00, 0x14, 0x81, 0x00, 0x00, 0x0a, 0x08, 0x00, 0x45, 0x00, 0x00, 0x40,
        0xdf, 0x8e, 0x40, 0x00, 0x40, 0x06, 0x6d, 0xd3, 0x8d, 0x8e, 0xe4, 0x05, 0xc0, 0x96, 0xbb,
        0x2b,
    ];

    /// suricata_frag-eth-vlan-ipv6-tcp.pcap frame 1, first 18 bytes: one tag (VID 6), IPv6.
    const SURICATA_VLAN6: [u8; 18] = [
        0x05, 0x04, 0x03, 0x02, 0x01, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x81, 0x00, 0x00,
        0x06, 0x86, 0xdd,
    ];

    #[test]
    fn arkime_two_tags() {
        let s = walk_frame(&ARKIME_QINQ).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s.tags()[0], Tag::c_tag(Tci::new(0, false, 201)));
        let inner = s.inner().unwrap();
        assert_eq!(
            (inner.tci.pcp(), inner.tci.dei(), inner.tci.vid()),
            (4, true, 200)
        );
        assert_eq!(inner.tpid, EtherType::Vlan);
        assert_eq!(s.ethertype(), EtherType::Ipv4);
        assert_eq!(s.payload_offset(), 22);
        assert_eq!(ARKIME_QINQ[22], 0x45);
        // The same walk from the bytes after the MACs.
        let s2 = walk(&ARKIME_QINQ[12..]).unwrap();
        assert_eq!(s2.tags(), s.tags());
        assert_eq!(s2.payload_offset(), 10);
        // Single-tag view after the outer TPID.
        let t = VlanTag::new_checked(&ARKIME_QINQ[14..]).unwrap();
        assert_eq!((t.pcp(), t.dei(), t.vid()), (0, false, 201));
        assert_eq!(t.ethertype(), EtherType::Vlan);
        let t = VlanTag::new_checked(t.payload()).unwrap();
        assert_eq!((t.pcp(), t.dei(), t.vid()), (4, true, 200));
        assert_eq!(t.ethertype(), EtherType::Ipv4);
        assert_eq!(t.payload()[0], 0x45);
    }

    #[test]
    fn zeek_three_tags() {
        let s = walk_frame(&ZEEK_QINQINQ).unwrap();
        let vids: Vec<u16> = s.tags().iter().map(|t| t.tci.vid()).collect();
        assert_eq!(vids, [30, 20, 10]);
        assert!(s.tags().iter().all(|t| t.tci.pcp() == 0 && !t.tci.dei()));
        assert_eq!(s.outer().unwrap().tci.vid(), 30);
        assert_eq!(s.ethertype(), EtherType::Ipv4);
        assert_eq!(s.payload_offset(), 26);
        let mut out = [0u8; 14];
        assert_eq!(s.emit(&mut out), Ok(14));
        assert_eq!(out, ZEEK_QINQINQ[12..26]);
    }

    #[test]
    fn suricata_single_tag_ipv6() {
        let s = walk_frame(&SURICATA_VLAN6).unwrap();
        assert_eq!(s.tags(), &[Tag::c_tag(Tci(6))]);
        assert_eq!(s.ethertype(), EtherType::Ipv6);
        assert_eq!(s.payload_offset(), 18);
    }

    #[test]
    fn truncated_at_every_length() {
        for n in 0..26 {
            assert_eq!(
                walk_frame(&ZEEK_QINQINQ[..n]),
                Err(Error::Truncated),
                "len {n}"
            );
        }
        assert!(walk_frame(&ZEEK_QINQINQ[..26]).is_ok());
        for n in 0..HEADER_LEN {
            assert_eq!(
                VlanTag::new_checked(&ARKIME_QINQ[14..14 + n]).err(),
                Some(Error::Truncated)
            );
        }
    }

    fn stacked(n: usize) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        for i in 0..n {
            f.extend_from_slice(&(if i % 2 == 0 { TPID_8021AD } else { TPID_8021Q }).to_be_bytes());
            f.extend_from_slice(&(i as u16 + 1).to_be_bytes());
        }
        f.extend_from_slice(&[0x08, 0x00, 0x45]);
        f
    }

    #[test]
    fn eight_tags_ok_nine_too_long() {
        let s = walk_frame(&stacked(8)).unwrap();
        assert_eq!(s.len(), MAX_TAGS);
        assert_eq!(s.outer().unwrap().tpid, EtherType::QinQ);
        assert_eq!(s.inner().unwrap().tci.vid(), 8);
        assert_eq!(s.payload_offset(), 12 + 32 + 2);
        assert_eq!(walk_frame(&stacked(9)), Err(Error::TooLong));
        assert_eq!(walk_frame(&stacked(40)), Err(Error::TooLong));
    }

    #[test]
    fn stack_building() {
        let mut s = TagStack::untagged(EtherType::Ipv6);
        for i in 0..MAX_TAGS {
            s.push(Tag::s_tag(Tci::new(7, true, i as u16))).unwrap();
        }
        assert_eq!(s.push(Tag::c_tag(Tci(1))), Err(Error::TooLong));
        assert_eq!(
            TagStack::from_tags(
                &[Tag {
                    tpid: EtherType::Ipv4,
                    tci: Tci(1)
                }],
                EtherType::Ipv4
            ),
            Err(Error::Malformed)
        );
        assert_eq!(
            TagStack::from_tags(&[], EtherType::Vlan),
            Err(Error::Malformed)
        );
        let mut small = [0u8; 5];
        assert_eq!(s.emit(&mut small), Err(Error::Truncated));
    }

    #[test]
    fn view_setters() {
        let mut b = [0u8; 4];
        let mut t = VlanTag::new_unchecked(&mut b[..]);
        t.set_vid(0xfff);
        t.set_pcp(5);
        t.set_dei(true);
        t.set_ethertype(EtherType::Arp);
        assert_eq!((t.pcp(), t.dei(), t.vid()), (5, true, 0xfff));
        assert_eq!(b, [0xbf, 0xff, 0x08, 0x06]);
    }

    proptest! {
        #[test]
        fn stack_round_trip(tags in proptest::collection::vec((any::<bool>(), any::<u16>()), 0..=MAX_TAGS),
                            et in any::<u16>().prop_filter("not a TPID", |v| !is_tpid(*v))) {
            let tags: Vec<Tag> = tags.iter()
                .map(|&(s, tci)| if s { Tag::s_tag(Tci(tci)) } else { Tag::c_tag(Tci(tci)) })
                .collect();
            let s = TagStack::from_tags(&tags, EtherType::from(et)).unwrap();
            let mut buf = [0u8; 64];
            let n = s.emit(&mut buf[12..]).unwrap();
            let back = walk_frame(&buf[..12 + n]).unwrap();
            prop_assert_eq!(back.tags(), &tags[..]);
            prop_assert_eq!(back.ethertype(), EtherType::from(et));
            prop_assert_eq!(back.payload_offset(), 12 + n);
            prop_assert_eq!(walk(&buf[12..12 + n]).unwrap(), s);
        }

        #[test]
        fn repr_round_trip(tci in any::<u16>(), et in any::<u16>()) {
            let repr = VlanRepr { tci: Tci(tci), ethertype: EtherType::from(et) };
            let mut buf = [0u8; 4];
            repr.emit(&mut VlanTag::new_unchecked(&mut buf[..]));
            prop_assert_eq!(VlanRepr::parse(&VlanTag::new_checked(&buf[..]).unwrap()), Ok(repr));
        }

        #[test]
        fn tci_fields(pcp in 0u8..8, dei in any::<bool>(), vid in 0u16..4096) {
            let t = Tci::new(pcp, dei, vid);
            prop_assert_eq!((t.pcp(), t.dei(), t.vid()), (pcp, dei, vid));
        }

        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            fuzz(&data);
            let _ = walk_frame(&data);
        }
    }
}
