//! Typed errors of the route and load-balance tables.

/// Why a route could not be added or removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// The prefix length is longer than the address.
    #[error("prefix length {len} is longer than {max} bits")]
    InvalidLength {
        /// The length asked for.
        len: u8,
        /// 32 for IPv4, 128 for IPv6.
        max: u8,
    },
    /// The address has bits set past the prefix length (`10.1.2.3/8`). Routes are refused,
    /// not silently masked, as `ip route add` does: mask with [`crate::mask4`] /
    /// [`crate::mask6`] first if that is what you mean.
    #[error("host bits are set past the prefix length /{len}")]
    HostBitsSet {
        /// The prefix length.
        len: u8,
    },
    /// The leaf value is above [`crate::MAX_VALUE`] (the top bit marks a group pointer and
    /// [`crate::NO_ROUTE`] is reserved).
    #[error("value {0:#x} is reserved; leaf values must be at most 0x7fff_fffe")]
    ValueOutOfRange(u32),
    /// Every group of 256 entries is in use (or freed but still waiting for readers to pass
    /// a quiescent point). Raise `max_groups` or let readers call `quiesce`.
    #[error("all {max_groups} table groups are in use ({waiting} wait for readers to quiesce)")]
    GroupsExhausted {
        /// The configured group limit.
        max_groups: u32,
        /// Groups freed but not yet reusable.
        waiting: usize,
    },
}

/// Why a table could not be created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The group limit is zero or above 2^24.
    #[error("max_groups {0} must be between 1 and 16777216")]
    MaxGroups(u32),
    /// The load-balance capacity is zero or above 2^24.
    #[error("load-balance capacity {0} must be between 1 and 16777216")]
    Capacity(u32),
    /// The kernel refused the memory for the table (`mmap` failed).
    #[error("could not map {bytes} bytes for the table")]
    Memory {
        /// The size asked for.
        bytes: usize,
    },
}

/// Why a load-balance object could not be created or changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LbError {
    /// No path was given, or all weights are zero.
    #[error("a load-balance object needs at least one path with a non-zero weight")]
    NoPaths,
    /// More paths than buckets.
    #[error("{0} paths; at most 64")]
    TooManyPaths(usize),
    /// A next-hop value equal to [`crate::INVALID_NEXT_HOP`].
    #[error("next-hop value 0xffff_ffff is reserved")]
    ReservedValue,
    /// The index names no live load-balance object.
    #[error("no load-balance object {0}")]
    UnknownIndex(u32),
    /// Every index is in use (or freed but waiting for readers to quiesce).
    #[error(
        "all {capacity} load-balance objects are in use ({waiting} wait for readers to quiesce)"
    )]
    Full {
        /// The configured capacity.
        capacity: u32,
        /// Objects freed but not yet reusable.
        waiting: usize,
    },
}
