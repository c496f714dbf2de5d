//! Block-list prefixes: an address and a prefix length, v4 or v6.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An IPv4 or IPv6 prefix (`10.0.0.0/8`, `2001:db8::/32`; a bare address is a host route).
/// Bits past the length are cleared, so `10.1.2.3/8` and `10.0.0.0/8` are the same prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Prefix {
    addr: IpAddr,
    len: u8,
}

/// A prefix that does not parse or whose length is too long for its family.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad prefix {0:?}: expected ADDRESS or ADDRESS/LEN (IPv4 LEN <= 32, IPv6 LEN <= 128)")]
pub struct PrefixError(pub String);

impl Prefix {
    /// `addr/len`, host bits cleared; `None` if `len` is too long for the family.
    pub fn new(addr: IpAddr, len: u8) -> Option<Prefix> {
        let addr = match addr {
            IpAddr::V4(a) if len <= 32 => {
                let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
                IpAddr::V4((u32::from(a) & mask).into())
            }
            IpAddr::V6(a) if len <= 128 => {
                let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
                IpAddr::V6((u128::from(a) & mask).into())
            }
            _ => return None,
        };
        Some(Prefix { addr, len })
    }

    /// The network address (host bits zero).
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length in bits.
    pub fn prefix_len(&self) -> u8 {
        self.len
    }

    /// True for `0.0.0.0/0` and `::/0` (which block a whole family).
    pub fn is_default(&self) -> bool {
        self.len == 0
    }

    /// True if `ip` lies inside the prefix.
    pub fn contains(&self, ip: IpAddr) -> bool {
        Prefix::new(ip, self.len).is_some_and(|p| p == *self)
    }
}

impl FromStr for Prefix {
    type Err = PrefixError;

    fn from_str(s: &str) -> Result<Prefix, PrefixError> {
        let err = || PrefixError(s.to_string());
        let (a, l) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = a.parse().map_err(|_| err())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match l {
            Some(l) => l.parse::<u8>().map_err(|_| err())?,
            None => max,
        };
        Prefix::new(addr, len).ok_or_else(err)
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_normalise() {
        let p: Prefix = "10.1.2.3/8".parse().unwrap();
        assert_eq!(p.to_string(), "10.0.0.0/8");
        assert_eq!("10.1.2.3".parse::<Prefix>().unwrap().prefix_len(), 32);
        assert_eq!(
            "2001:db8::1/32".parse::<Prefix>().unwrap().to_string(),
            "2001:db8::/32"
        );
        assert!("0.0.0.0/0".parse::<Prefix>().unwrap().is_default());
        assert!(p.contains("10.200.0.1".parse().unwrap()));
        assert!(!p.contains("11.0.0.1".parse().unwrap()));
        assert!(!p.contains("::1".parse().unwrap()));
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "x/8",
            "10.0.0.0/",
            "10.0.0.0/-1",
            "",
        ] {
            assert!(bad.parse::<Prefix>().is_err(), "{bad}");
        }
    }
}
