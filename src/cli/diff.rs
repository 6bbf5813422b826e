//! `handrail diff`: what changed between two policy versions ([`handrail::review::diff`]).

use std::path::{Path, PathBuf};

use super::{Exit, OutputArgs, PackArgs};
use handrail::diagnostic::ErrorFormat;
use handrail::review::diff::{self, CorpusEvent};

/// Show what changed between two policy versions, and which messages now decide differently.
///
/// The comparison is structural, not a text diff: rules by `@id` (tier, reason, condition, route, priority,
/// say, disclaimers), phrase sets by name (each phrase added or removed), queues (hours, closures, channel,
/// promises), retention classes, the `@locked` floor, the fallback and the header. Moving a rule or reformatting
/// a file changes nothing.
///
/// With `--corpus`, every message of the corpus is decided under both policies and the ones that decide
/// differently (action or determining rules) are grouped by rule, with counts and redacted examples. A corpus is
/// a labelled CSV with a header row (its `--text-column` is read; each row is a conversation of its own) or
/// events as JSON Lines (`.jsonl`, decided in order with each conversation's state). Messages without a `time`
/// are decided at `--at`.
///
/// Examples:
///
///   handrail diff examples/review/shop.policy examples/review/stricter.policy
///
///   handrail diff examples/review/shop.policy examples/review/stricter.policy --corpus examples/review/events.jsonl
///
/// Exit codes, as diff(1): 0 nothing changed, 1 something changed (or a policy has errors, shown on stderr), 2
/// usage error (a corpus without the text column), 3 a file could not be read.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The old policy.
    #[arg(value_name = "OLD")]
    pub old: PathBuf,
    /// The new policy.
    #[arg(value_name = "NEW")]
    pub new: PathBuf,
    /// Messages to decide under both: labelled CSV or events JSONL; may be repeated.
    #[arg(long, value_name = "FILE")]
    pub corpus: Vec<PathBuf>,
    /// The CSV column holding the message.
    #[arg(long, value_name = "NAME", default_value = "text")]
    pub text_column: String,
    /// When to decide messages that carry no time (RFC 3339); default now.
    #[arg(long, value_name = "TIME")]
    pub at: Option<chrono::DateTime<chrono::Utc>>,
    /// How many examples to show per rule.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub examples: usize,
    /// Where to find packs.
    #[command(flatten)]
    pub packs: PackArgs,
    /// How to print: text or JSON.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Runs `handrail diff`.
pub fn run(args: Args) -> Exit {
    let load = |path: &Path| {
        super::PolicyArgs { policy: Some(path.to_path_buf()), packs: args.packs.clone() }
            .load(ErrorFormat::Human)
    };
    let (old, new) = match (load(&args.old), load(&args.new)) {
        (Ok(old), Ok(new)) => (old, new),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let structure = diff::policies(&old, &new);
    let mut events = Vec::new();
    for file in &args.corpus {
        match read_corpus(file, &args.text_column) {
            Ok(more) => events.extend(more),
            Err(exit) => return exit,
        }
    }
    let at = args.at.unwrap_or_else(chrono::Utc::now);
    let corpus = (!args.corpus.is_empty()).then(|| diff::corpus(&old, &new, &events, at, args.examples));
    let changed = !structure.is_empty() || corpus.as_ref().is_some_and(|c| c.changed > 0);
    if args.output.json() {
        let json = serde_json::json!({ "changed": changed, "policy": structure, "corpus": corpus });
        out!("{}", serde_json::to_string_pretty(&json).unwrap_or_default());
    } else {
        out!(
            "diff: {} {} → {} {}",
            structure.old.id,
            structure.old.version,
            structure.new.id,
            structure.new.version
        );
        for (part, changes) in structure.parts() {
            for c in changes {
                out!("{part}: {} {}", c.change, c.name);
                for d in &c.details {
                    out!("    {d}");
                }
            }
        }
        if structure.is_empty() {
            out!("the policies are the same, part for part");
        }
        if let Some(c) = &corpus {
            out!("\ncorpus: {} of {} messages decide differently", c.changed, c.messages);
            for g in &c.by_rule {
                out!("  {}: {}", g.rule, g.count);
                for e in &g.examples {
                    out!("    {} {} → {} \"{}\"", e.at, e.before, e.after, e.text);
                }
            }
        }
    }
    if changed { Exit::Failed } else { Exit::Ok }
}

/// The events of a corpus file: JSON Lines of events, or a CSV with a header row whose `column` holds the text.
fn read_corpus(file: &Path, column: &str) -> Result<Vec<CorpusEvent>, Exit> {
    let name = file.display();
    if file.extension().is_some_and(|e| e == "jsonl") {
        let text = std::fs::read_to_string(file).map_err(|e| {
            eprintln!("error: cannot read `{name}`: {e}");
            Exit::Io
        })?;
        let mut out = Vec::new();
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            match handrail::Event::from_json(line) {
                Ok(event) => out.push(CorpusEvent { at: format!("{name}:{}", i + 1), event }),
                Err(e) => {
                    eprintln!("error: {name}:{}: {e}", i + 1);
                    return Err(Exit::Usage);
                }
            }
        }
        return Ok(out);
    }
    let mut reader = csv::Reader::from_path(file).map_err(|e| {
        eprintln!("error: cannot read `{name}`: {e}");
        Exit::Io
    })?;
    let headers = reader.headers().map_err(|e| {
        eprintln!("error: `{name}`: {e}");
        Exit::Io
    })?;
    let Some(at) = headers.iter().position(|h| h == column) else {
        eprintln!(
            "error: `{name}` has no column `{column}` (it has {}); name the text column with `--text-column`",
            headers.iter().collect::<Vec<_>>().join(", ")
        );
        return Err(Exit::Usage);
    };
    let mut out = Vec::new();
    for (i, row) in reader.records().enumerate() {
        let row = row.map_err(|e| {
            eprintln!("error: `{name}`: {e}");
            Exit::Io
        })?;
        let text = row.get(at).unwrap_or_default().to_string();
        // Each row is a conversation of its own, so no row's state leaks into the next.
        let event = handrail::Event {
            conversation: format!("row-{}", i + 2),
            text: Some(text),
            ..Default::default()
        };
        out.push(CorpusEvent { at: format!("{name}:{}", i + 2), event });
    }
    Ok(out)
}
