//! Node error counters: an enum per node whose variants are named counters.

/// One error counter of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorInfo {
    /// Short name (the enum variant), stable for metrics labels.
    pub name: &'static str,
    /// What `show errors` prints, VPP style ("ip4 header checksum error").
    pub message: &'static str,
}

/// An error enum of a node, declared with [`crate::node_errors!`].
pub trait NodeError: Copy {
    /// Every variant, in code order.
    const ALL: &'static [ErrorInfo];
    /// The variant's index into [`NodeError::ALL`].
    fn code(self) -> u16;
}

/// Declares a node's error enum: each variant is a counter with a message.
///
/// ```
/// graph::node_errors! {
///     /// Errors of `ip4-input`.
///     pub enum Ip4InputError {
///         BadChecksum = "ip4 header checksum error",
///         TtlExpired = "ip4 ttl expired",
///     }
/// }
/// use graph::NodeError;
/// assert_eq!(Ip4InputError::TtlExpired.code(), 1);
/// assert_eq!(Ip4InputError::ALL[0].message, "ip4 header checksum error");
/// ```
#[macro_export]
macro_rules! node_errors {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $message:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u16)]
        $vis enum $name {
            $( $(#[$vmeta])* #[doc = $message] $variant ),+
        }

        impl $crate::NodeError for $name {
            const ALL: &'static [$crate::ErrorInfo] = &[
                $( $crate::ErrorInfo { name: stringify!($variant), message: $message } ),+
            ];
            #[inline(always)]
            fn code(self) -> u16 {
                self as u16
            }
        }
    };
}
