//! The interface table: hardware interfaces and their VLAN sub-interfaces.
//!
//! An interface is named by its `IfIndex` (VPP's `sw_if_index`), the value drivers write
//! into `Meta::rx_if` and lookup writes into `Meta::tx_if`. A sub-interface is selected on
//! receive by its parent and its tag stack, and sends through its parent with its tags in
//! the L2 rewrite.

use core::net::{Ipv4Addr, Ipv6Addr};
use std::collections::HashMap;
use wire::ethernet::EthernetAddress;
use wire::ipv4::Ipv4Cidr;
use wire::ipv6::Ipv6Cidr;
use wire::EtherType;

/// An interface's index (`sw_if_index`).
pub type IfIndex = u32;

/// No interface (`Meta::rx_if` / `tx_if` before anything set them).
pub const IF_NONE: IfIndex = u32::MAX;

/// The tags that select a sub-interface: one (802.1Q) or two (QinQ) VLAN IDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubTags {
    /// The outer tag's TPID ([`EtherType::Vlan`] or [`EtherType::QinQ`]) and VLAN ID.
    pub outer: (EtherType, u16),
    /// The inner VLAN ID (an 802.1Q tag) for QinQ sub-interfaces.
    pub inner: Option<u16>,
}

/// What an interface is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfKind {
    /// An interface with its own device; packets to send go to the node `tx_node`.
    Hw {
        /// The device's output node (`null-output`, `af-xdp-output`, ...).
        tx_node: String,
    },
    /// A VLAN sub-interface of `parent`.
    Sub {
        /// The hardware interface it lives on.
        parent: IfIndex,
        /// Its tags.
        tags: SubTags,
    },
}

/// One interface.
#[derive(Debug, Clone)]
pub struct Interface {
    /// Its index.
    pub index: IfIndex,
    /// Its name (`lan`, `lan.100`).
    pub name: String,
    /// Hardware or sub-interface.
    pub kind: IfKind,
    /// MAC address (a sub-interface has its parent's).
    pub mac: EthernetAddress,
    /// Largest IP packet it sends (L3 MTU).
    pub mtu: u16,
    /// Administratively up.
    pub admin_up: bool,
    /// Accept every unicast destination MAC, not only our own.
    pub promiscuous: bool,
    /// IPv4 addresses with their prefix.
    pub ip4: Vec<Ipv4Cidr>,
    /// IPv6 addresses with their prefix.
    pub ip6: Vec<Ipv6Cidr>,
}

impl Interface {
    /// The hardware interface this one sends through (itself, or a sub-interface's parent).
    pub fn hw_index(&self) -> IfIndex {
        match self.kind {
            IfKind::Hw { .. } => self.index,
            IfKind::Sub { parent, .. } => parent,
        }
    }

    /// True if `a` is one of its IPv4 addresses.
    pub fn has_ip4(&self, a: Ipv4Addr) -> bool {
        self.ip4.iter().any(|c| c.address() == a)
    }

    /// True if `a` is one of its IPv6 addresses.
    pub fn has_ip6(&self, a: Ipv6Addr) -> bool {
        self.ip6.iter().any(|c| c.address() == a)
    }
}

/// Why an interface change was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IfError {
    /// The name is taken.
    #[error("interface {0:?} already exists")]
    Exists(String),
    /// No interface has that name or index.
    #[error("no interface {0}")]
    NoSuch(String),
    /// A sub-interface of a sub-interface, or tags already used on that parent.
    #[error("sub-interface {name:?}: {problem}")]
    BadSub {
        /// The sub-interface asked for.
        name: String,
        /// What is wrong.
        problem: String,
    },
    /// An MTU outside what Ethernet allows.
    #[error("mtu: {0} is outside 68..=9000")]
    BadMtu(u32),
}

/// Every interface, by index, and the map from tag stacks to sub-interfaces.
#[derive(Debug, Default, Clone)]
pub struct Interfaces {
    by_index: Vec<Interface>,
    by_name: HashMap<String, IfIndex>,
    subs: HashMap<(IfIndex, SubTags), IfIndex>,
    /// Indices of removed interfaces (never reused).
    removed: std::collections::HashSet<IfIndex>,
}

impl Interfaces {
    /// An empty table.
    pub fn new() -> Interfaces {
        Interfaces::default()
    }

    /// Adds a hardware interface that sends through node `tx_node`. It starts down, with
    /// MTU 1500.
    pub fn add_hw(
        &mut self,
        name: &str,
        mac: EthernetAddress,
        tx_node: &str,
    ) -> Result<IfIndex, IfError> {
        self.add(Interface {
            index: 0,
            name: name.to_string(),
            kind: IfKind::Hw {
                tx_node: tx_node.to_string(),
            },
            mac,
            mtu: 1500,
            admin_up: false,
            promiscuous: false,
            ip4: Vec::new(),
            ip6: Vec::new(),
        })
    }

    /// Adds a VLAN sub-interface of `parent` named `parent.name + "." + id`.
    pub fn add_sub(&mut self, parent: IfIndex, id: u32, tags: SubTags) -> Result<IfIndex, IfError> {
        let p = self
            .get(parent)
            .ok_or_else(|| IfError::NoSuch(format!("#{parent}")))?;
        let name = format!("{}.{id}", p.name);
        if !matches!(p.kind, IfKind::Hw { .. }) {
            return Err(IfError::BadSub {
                name,
                problem: "the parent is itself a sub-interface".into(),
            });
        }
        if self.subs.contains_key(&(parent, tags)) {
            return Err(IfError::BadSub {
                name,
                problem: "another sub-interface has these tags".into(),
            });
        }
        let (mac, mtu) = (p.mac, p.mtu);
        let i = self.add(Interface {
            index: 0,
            name,
            kind: IfKind::Sub { parent, tags },
            mac,
            mtu,
            admin_up: false,
            promiscuous: false,
            ip4: Vec::new(),
            ip6: Vec::new(),
        })?;
        self.subs.insert((parent, tags), i);
        Ok(i)
    }

    fn add(&mut self, mut iface: Interface) -> Result<IfIndex, IfError> {
        if self.by_name.contains_key(&iface.name) {
            return Err(IfError::Exists(iface.name));
        }
        let i = self.by_index.len() as IfIndex;
        iface.index = i;
        self.by_name.insert(iface.name.clone(), i);
        self.by_index.push(iface);
        Ok(i)
    }

    /// The interface at `i`.
    #[inline]
    pub fn get(&self, i: IfIndex) -> Option<&Interface> {
        self.by_index.get(i as usize)
    }

    /// The interface at `i`, writable.
    pub fn get_mut(&mut self, i: IfIndex) -> Option<&mut Interface> {
        self.by_index.get_mut(i as usize)
    }

    /// The interface called `name`.
    pub fn by_name(&self, name: &str) -> Option<&Interface> {
        self.by_name.get(name).and_then(|&i| self.get(i))
    }

    /// The sub-interface of `parent` selected by `tags`.
    #[inline]
    pub fn sub(&self, parent: IfIndex, tags: SubTags) -> Option<IfIndex> {
        self.subs.get(&(parent, tags)).copied()
    }

    /// Every interface, in index order (removed ones left out).
    pub fn iter(&self) -> impl Iterator<Item = &Interface> {
        self.by_index
            .iter()
            .filter(|i| !self.removed.contains(&i.index))
    }

    /// Number of interfaces (removed ones left out).
    pub fn len(&self) -> usize {
        self.by_index.len() - self.removed.len()
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes interface `i`: its name is free again and [`Interfaces::iter`] and
    /// [`Interfaces::by_name`] no longer show it. Its index is never reused, so a packet
    /// still carrying it finds an interface that is down with no addresses and is dropped.
    /// Refused while it has sub-interfaces. Remove its addresses, routes and neighbours
    /// first (through `Vnet`), so that nothing points at it.
    pub fn remove(&mut self, i: IfIndex) -> Result<(), IfError> {
        let Some(iface) = self
            .by_index
            .get(i as usize)
            .filter(|_| !self.removed.contains(&i))
        else {
            return Err(IfError::NoSuch(format!("#{i}")));
        };
        if self.subs.keys().any(|(parent, _)| *parent == i) {
            return Err(IfError::BadSub {
                name: iface.name.clone(),
                problem: "remove its sub-interfaces first".into(),
            });
        }
        let name = iface.name.clone();
        self.by_name.remove(&name);
        self.subs.retain(|_, s| *s != i);
        let iface = &mut self.by_index[i as usize];
        iface.admin_up = false;
        iface.promiscuous = false;
        iface.ip4.clear();
        iface.ip6.clear();
        self.removed.insert(i);
        Ok(())
    }

    /// Sets the L3 MTU.
    pub fn set_mtu(&mut self, i: IfIndex, mtu: u32) -> Result<(), IfError> {
        if !(68..=9000).contains(&mtu) {
            return Err(IfError::BadMtu(mtu));
        }
        let iface = self
            .get_mut(i)
            .ok_or_else(|| IfError::NoSuch(format!("#{i}")))?;
        iface.mtu = mtu as u16;
        Ok(())
    }

    /// Sets the administrative state.
    pub fn set_admin_up(&mut self, i: IfIndex, up: bool) -> Result<(), IfError> {
        let iface = self
            .get_mut(i)
            .ok_or_else(|| IfError::NoSuch(format!("#{i}")))?;
        iface.admin_up = up;
        Ok(())
    }

    /// The interface owning IPv4 address `a`, if any.
    pub fn owner_of_ip4(&self, a: Ipv4Addr) -> Option<IfIndex> {
        self.by_index.iter().find(|i| i.has_ip4(a)).map(|i| i.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removed_interfaces_keep_their_index_and_free_their_name() {
        let mut ifs = Interfaces::new();
        let mac = EthernetAddress([2, 0, 0, 0, 0, 1]);
        let a = ifs.add_hw("a", mac, "null-output").unwrap();
        let b = ifs.add_hw("b", mac, "null-output").unwrap();
        ifs.set_admin_up(a, true).unwrap();
        ifs.remove(a).unwrap();
        assert!(ifs.by_name("a").is_none());
        assert_eq!(ifs.iter().map(|i| i.index).collect::<Vec<_>>(), vec![b]);
        assert_eq!(ifs.len(), 1);
        assert!(
            !ifs.get(a).unwrap().admin_up,
            "a packet still naming it is dropped"
        );
        assert!(ifs.remove(a).is_err(), "removed twice");
        let c = ifs.add_hw("a", mac, "null-output").unwrap();
        assert_ne!(c, a, "indices are never reused");
    }
}
