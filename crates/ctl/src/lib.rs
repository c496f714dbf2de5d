//! The uplane CLI, shared by the daemon (which serves it) and `uplanectl` (which sends it).
//!
//! - [`grammar`]: every command as VPP words (`show ip fib`, `set interface mtu NAME BYTES`),
//!   parsed from words into a typed [`Command`]; a bad line gets a one-line error and the
//!   usage of the nearest command, and nothing runs.
//! - [`protocol`]: one JSON object per line over the Unix socket: a [`Request`] (the words
//!   and whether JSON output is wanted) and a [`Response`] (text, or a JSON value, or an
//!   error).

pub mod client;
pub mod fuzz;
pub mod grammar;
pub mod protocol;
pub mod server;

pub use grammar::{parse, Command, ParseError, COMMANDS};
pub use protocol::{Request, Response};
pub use server::{CliServer, Handler};
