//! `handrail eval`: decide a stream of events, one JSON decision per line.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::PathBuf;

use super::{Exit, PolicyArgs};
use crate::diagnostic::ErrorFormat;
use crate::eval::{ConversationState, DecideOptions, Event};

/// Decide events: JSON Lines in (one event per line), one decision per line out.
///
/// Each conversation's state (phase, strikes, disclaimers shown) is kept in memory by its `conversation` id. A
/// line that is not a valid event is reported on stderr with its line number and the field at fault, gets a
/// fail-safe decision (`handoff`, reason `engine_error`), and the stream goes on.
///
/// Without `--policy`, the built-in `common` pack decides. Events without `time` are stamped with the clock.
///
/// Exit codes: 0 every line decided, 1 at least one line was malformed (it still got a fail-safe decision) or the
/// policy has errors, 3 the input could not be read.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The events, as JSON Lines; `-` or nothing reads stdin.
    #[arg(value_name = "EVENTS")]
    pub input: Option<PathBuf>,
    /// Add to each decision why every rule did or did not fire.
    #[arg(long)]
    pub explain: bool,
    /// Pretty-print each decision over several lines (not JSON Lines).
    #[arg(long)]
    pub pretty: bool,
    /// The policy and where its packs are.
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// How to print policy errors.
    #[arg(long, value_enum, default_value_t = ErrorFormat::Human)]
    pub error_format: ErrorFormat,
}

/// Runs `handrail eval`.
pub fn run(args: Args) -> Exit {
    let policy = match args.policy.load(args.error_format) {
        Ok(policy) => policy,
        Err(exit) => return exit,
    };
    let reader: Box<dyn BufRead> = match &args.input {
        Some(path) if path.as_os_str() != "-" => match std::fs::File::open(path) {
            Ok(f) => Box::new(std::io::BufReader::new(f)),
            Err(e) => {
                eprintln!("error: cannot read `{}`: {e}", path.display());
                return Exit::Io;
            }
        },
        _ => Box::new(std::io::BufReader::new(std::io::stdin())),
    };
    let name = match &args.input {
        Some(path) if path.as_os_str() != "-" => path.display().to_string(),
        _ => "<stdin>".to_string(),
    };
    let options = DecideOptions { explain: args.explain };
    let mut states: HashMap<String, ConversationState> = HashMap::new();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut exit = Exit::Ok;
    for (index, line) in reader.lines().enumerate() {
        let number = index + 1;
        let line = match line {
            Ok(line) => line,
            Err(e) => {
                eprintln!("error: {name}:{number}: cannot read: {e}");
                return Exit::Io;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let (decision, next) = match Event::from_json(&line) {
            Ok(mut event) => {
                event.time.get_or_insert_with(chrono::Utc::now);
                let state = states.get(&event.conversation).cloned().unwrap_or_default();
                let (decision, next) = crate::eval::decide_with(&policy, &state, &event, options);
                for why in &decision.errors {
                    eprintln!("error: {name}:{number}: {why}");
                    exit = Exit::Failed;
                }
                (decision, next)
            }
            Err(why) => {
                eprintln!("error: {name}:{number}: {why}");
                exit = Exit::Failed;
                let event = Event {
                    conversation: conversation_of(&line),
                    time: Some(chrono::Utc::now()),
                    ..Event::default()
                };
                let state = states.get(&event.conversation).cloned().unwrap_or_default();
                crate::eval::fail_safe(&policy, &state, &event, vec![format!("line {number}: {why}")])
            }
        };
        states.insert(decision.conversation.clone(), next);
        let written = if args.pretty {
            serde_json::to_writer_pretty(&mut out, &decision)
        } else {
            serde_json::to_writer(&mut out, &decision)
        };
        if written.is_err() || writeln!(out).is_err() {
            return Exit::Io;
        }
    }
    if out.flush().is_err() {
        return Exit::Io;
    }
    exit
}

/// The conversation id of a line that is not a valid event, when it can still be read, so the fail-safe
/// decision lands in the right conversation.
fn conversation_of(line: &str) -> String {
    serde_json::from_str::<serde_json::Value>(line)
        .ok()
        .and_then(|v| v.get("conversation").and_then(|c| c.as_str()).map(str::to_string))
        .unwrap_or_else(|| "default".into())
}
