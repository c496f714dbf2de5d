//! PLACEHOLDER `ip6-input` until the IPv6 path exists: `ethernet-input` names it as a next
//! node, so the router graph needs a node of that name. It drops every packet under
//! "IPv6 not enabled". Replace it (and its line in [`crate::register`]) with the real
//! `ip6-input`.

use crate::names;
use buf::Frame;
use graph::{Ctx, Node, NodeError, NodeInfo, NodeKind};

graph::node_errors! {
    /// Errors of the placeholder `ip6-input`.
    pub enum Ip6PlaceholderError {
        /// Every IPv6 packet, until the IPv6 path is written.
        NotEnabled = "IPv6 not enabled",
    }
}

/// The placeholder `ip6-input`: drops and counts.
#[derive(Debug, Default)]
pub struct Ip6Placeholder;

impl Node for Ip6Placeholder {
    fn info(&self) -> NodeInfo {
        NodeInfo {
            name: names::IP6_INPUT,
            kind: NodeKind::Internal,
            next_nodes: &[],
            errors: Ip6PlaceholderError::ALL,
        }
    }

    fn process(&mut self, cx: &mut Ctx<'_>, frame: &mut Frame) {
        for b in frame.drain() {
            cx.drop(b, Ip6PlaceholderError::NotEnabled);
        }
    }
}
