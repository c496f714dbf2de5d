//! Per-buffer metadata: VPP's `vlib_buffer_t` first cache line, kept outside packet memory.

/// Buffer flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BufFlags(u16);

impl BufFlags {
    /// The packet is being traced; [`Meta::trace_id`] names its trace record.
    pub const TRACED: BufFlags = BufFlags(1 << 0);
    /// `next` names a further buffer of the same packet (a chain).
    pub const NEXT_PRESENT: BufFlags = BufFlags(1 << 1);
    /// The IPv4/IPv6 header checksum was verified (by a driver offload or a node).
    pub const L3_CSUM_OK: BufFlags = BufFlags(1 << 2);
    /// The TCP/UDP checksum was verified.
    pub const L4_CSUM_OK: BufFlags = BufFlags(1 << 3);
    /// The transport checksum must still be computed before transmit (GSO/partial offload).
    pub const L4_CSUM_PARTIAL: BufFlags = BufFlags(1 << 4);
    /// The packet came in as a broadcast or multicast frame.
    pub const L2_MCAST: BufFlags = BufFlags(1 << 5);

    /// No flags.
    pub const fn empty() -> BufFlags {
        BufFlags(0)
    }
    /// The raw bits.
    pub const fn bits(self) -> u16 {
        self.0
    }
    /// True if every flag of `other` is set.
    pub const fn contains(self, other: BufFlags) -> bool {
        self.0 & other.0 == other.0
    }
    /// Sets the flags of `other`.
    pub fn insert(&mut self, other: BufFlags) {
        self.0 |= other.0;
    }
    /// Clears the flags of `other`.
    pub fn remove(&mut self, other: BufFlags) {
        self.0 &= !other.0;
    }
}

/// Metadata of one buffer: one cache line, beside (not inside) the packet memory.
///
/// `offset` and `len` are private: they always describe a range inside the chunk, which is
/// what lets [`crate::PacketRef::data`] slice without a fallible check. Move them with
/// [`crate::PacketMut`]'s `advance`, `prepend`, `append` and `truncate`.
#[derive(Debug, Clone)]
#[repr(C, align(64))]
pub struct Meta {
    pub(crate) offset: u16,
    pub(crate) len: u16,
    /// Buffer flags.
    pub flags: BufFlags,
    /// Global error code (graph node error base + the node's error) when the packet is
    /// dropped; the drop node counts by it. 0 is "no error".
    pub error: u16,
    /// Interface the packet arrived on.
    pub rx_if: u32,
    /// Interface the packet is to leave by (set by lookup / rewrite).
    pub tx_if: u32,
    pub(crate) next: u32,
    /// Trace record of this packet, valid when [`BufFlags::TRACED`] is set.
    pub trace_id: u32,
    /// Offset of the L3 header inside the chunk, set by L2 parsing nodes.
    pub l3_offset: u16,
    /// Offset of the L4 header inside the chunk, set by L3 parsing nodes.
    pub l4_offset: u16,
    /// Scratch words handed from one node to the next (adjacency index, flow hash, ...).
    /// Like VPP's `opaque`, their meaning is agreed between neighbouring nodes.
    pub opaque: [u32; 8],
}

impl Meta {
    /// An empty packet whose window starts at `offset` (the chunk's home offset).
    #[inline(always)]
    pub(crate) const fn new(offset: u16) -> Meta {
        Meta {
            offset,
            len: 0,
            flags: BufFlags::empty(),
            error: 0,
            rx_if: u32::MAX,
            tx_if: u32::MAX,
            next: u32::MAX,
            trace_id: 0,
            l3_offset: 0,
            l4_offset: 0,
            opaque: [0; 8],
        }
    }

    /// Offset of the first packet byte inside the chunk.
    pub fn offset(&self) -> usize {
        usize::from(self.offset)
    }

    /// Packet bytes in this buffer (not counting chained buffers).
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// True if the buffer holds no packet bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True if the packet is being traced.
    pub fn is_traced(&self) -> bool {
        self.flags.contains(BufFlags::TRACED)
    }
}

const _: () = assert!(core::mem::size_of::<Meta>() == 64);
