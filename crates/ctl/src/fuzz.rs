//! The `cli` fuzz target's body, here so that `cargo test` can replay its corpus.
//!
//! The daemon's CLI socket is root-only, but its input is still typed by people and scripts:
//! any request line must give a command or an error with a usage, never a panic.

use crate::grammar::{self, COMMANDS};
use crate::protocol::Response;
use crate::server::{answer, Handler};
use crate::Command;

/// Accepts every command and answers with its debug form, so responses are serialised too.
struct Echo;

impl Handler for Echo {
    fn handle(&mut self, cmd: &Command, json: bool) -> Response {
        if json {
            Response::Json {
                value: serde_json::Value::String(format!("{cmd:?}")),
            }
        } else {
            Response::Text {
                text: format!("{cmd:?}"),
            }
        }
    }
}

/// Feeds `data` to the server's request decoder, and (as text) to the parser, the
/// nearest-usage search and the completer, checking what each promises.
pub fn fuzz(data: &[u8]) {
    // As a request line off the socket.
    let resp = answer(data, &mut Echo);
    if let Response::Error {
        usage: Some(usage), ..
    } = &resp
    {
        assert!(
            COMMANDS.contains(&usage.as_str()),
            "usage {usage:?} is not a command"
        );
    }
    let _ = serde_json::to_vec(&resp);

    // As words typed into the shell.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let words: Vec<&str> = text.split_whitespace().collect();
    let (words, _) = grammar::take_json_flag(&words);
    if let Err(e) = grammar::parse(&words) {
        assert!(!e.message.is_empty() && !e.message.contains('\n'), "{e:?}");
        assert!(COMMANDS.contains(&e.usage.as_str()), "{e:?}");
    }
    assert!(COMMANDS.contains(&grammar::nearest(&words)));
    if let Some((partial, typed)) = words.split_last() {
        for w in grammar::complete(typed, partial) {
            assert!(w.starts_with(partial), "completion {w:?} for {partial:?}");
        }
    }
}
