//! `uplanectl`: talk to a running uplane over its CLI socket.
//!
//! `uplanectl show interfaces` runs one command; `uplanectl` alone opens an interactive
//! shell with history and tab completion. `--json` (anywhere) asks for JSON output.

use anyhow::Result;
use clap::Parser;
use ctl::client::Client;
use ctl::Response;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};
use std::path::PathBuf;

/// Control a running uplane.
#[derive(Debug, Parser)]
#[command(version, about, trailing_var_arg = true)]
struct Args {
    /// The daemon's CLI socket.
    #[arg(short = 's', long = "socket", default_value = "/run/uplane/cli.sock")]
    socket: PathBuf,
    /// JSON output.
    #[arg(long)]
    json: bool,
    /// The command (`show runtime`, `set interface state lan up`, ...); none opens a shell.
    #[arg(allow_hyphen_values = true)]
    words: Vec<String>,
}

/// Prints a response; false if it was an error.
fn print(resp: Response) -> bool {
    match resp {
        Response::Text { text } => {
            print!("{text}");
            true
        }
        Response::Json { value } => {
            println!(
                "{}",
                serde_json::to_string_pretty(&value).unwrap_or_default()
            );
            true
        }
        Response::Error { message, usage } => {
            eprintln!("error: {message}");
            if let Some(u) = usage {
                eprintln!("usage: {u}");
            }
            false
        }
    }
}

struct Complete;

impl Helper for Complete {}
impl Highlighter for Complete {}
impl Validator for Complete {}
impl Hinter for Complete {
    type Hint = String;
}

impl Completer for Complete {
    type Candidate = Pair;
    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let start = before.rfind(' ').map_or(0, |i| i + 1);
        let typed: Vec<&str> = before[..start].split_whitespace().collect();
        let words = ctl::grammar::complete(&typed, &before[start..]);
        Ok((
            start,
            words
                .into_iter()
                .map(|w| Pair {
                    display: w.into(),
                    replacement: format!("{w} "),
                })
                .collect(),
        ))
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    let mut client = Client::connect(&args.socket)?;
    if !args.words.is_empty() {
        let ok = print(client.call(&args.words, args.json)?);
        if !ok {
            // The error and the usage are printed; exit non-zero without another line.
            std::process::exit(1);
        }
        return Ok(());
    }
    let mut rl: Editor<Complete, rustyline::history::FileHistory> = Editor::new()?;
    rl.set_helper(Some(Complete));
    let history = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".uplanectl_history"));
    if let Some(h) = &history {
        let _ = rl.load_history(h);
    }
    loop {
        match rl.readline("uplane# ") {
            Ok(line) => {
                let words: Vec<String> = line.split_whitespace().map(String::from).collect();
                if words.is_empty() {
                    continue;
                }
                if matches!(words[0].as_str(), "quit" | "exit") {
                    break;
                }
                let _ = rl.add_history_entry(line.trim());
                print(client.call(&words, args.json)?);
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(h) = &history {
        let _ = rl.save_history(h);
    }
    Ok(())
}
