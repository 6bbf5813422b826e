//! `handrail score`: measure a policy on labelled messages.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Deserialize;

use super::{Exit, PolicyArgs};
use crate::diagnostic::ErrorFormat;
use crate::eval::{ConversationState, Event, decide};

/// Measure a policy on labelled messages: per-trigger precision, recall and F1, and false triggers on negatives.
///
/// The CSV has a text column and an expected-trigger column (`none` or empty for a negative). A trigger "fires" on
/// a message when any rule mapped to it matches (determining or not); the mapping from trigger names to rule ids is
/// a TOML file (`--triggers`), e.g. `human_request = ["REQ-HUMAN"]`. With `--mapping-column`, only rows marked
/// `direct` count as positives and only `none` rows as negatives; `partial` rows are reported apart.
///
/// Exit codes: 0 measured, 1 the policy has errors, 2 a column or the mapping is wrong, 3 a file cannot be read.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Labelled messages (CSV with a header row). Several files are scored together.
    #[arg(required = true, value_name = "CSV")]
    pub files: Vec<PathBuf>,
    /// The trigger-to-rule mapping (TOML: `trigger = ["RULE-ID", ...]`).
    #[arg(long, value_name = "TOML")]
    pub triggers: PathBuf,
    /// The column holding the message.
    #[arg(long, default_value = "text")]
    pub text_column: String,
    /// The column holding the expected trigger.
    #[arg(long, default_value = "mapped_trigger")]
    pub label_column: String,
    /// A column saying how sure the label is (`direct`, `partial`, `none`).
    #[arg(long)]
    pub mapping_column: Option<String>,
    /// Score only rows whose COLUMN equals VALUE (may be repeated), e.g. `--filter safety_label=safe`.
    #[arg(long, value_name = "COLUMN=VALUE")]
    pub filter: Vec<String>,
    /// List up to N misses and false alarms per trigger.
    #[arg(long, value_name = "N")]
    pub show_errors: Option<usize>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// The policy.
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// The trigger mapping file.
#[derive(Debug, Deserialize)]
struct Triggers(BTreeMap<String, Vec<String>>);

/// The counts for one trigger.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct TriggerScore {
    /// Positives that fired.
    pub true_positives: u64,
    /// Positives that did not.
    pub false_negatives: u64,
    /// Rows of another trigger, or negatives, on which it fired.
    pub false_positives: u64,
    /// `partial` rows that fired, of all `partial` rows.
    pub partial: (u64, u64),
    /// Examples of misses.
    pub misses: Vec<String>,
    /// Examples of false alarms.
    pub false_alarms: Vec<String>,
}

impl TriggerScore {
    /// TP / (TP + FP).
    pub fn precision(&self) -> f64 {
        ratio(self.true_positives, self.true_positives + self.false_positives)
    }
    /// TP / (TP + FN).
    pub fn recall(&self) -> f64 {
        ratio(self.true_positives, self.true_positives + self.false_negatives)
    }
    /// The harmonic mean of precision and recall.
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) }
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// The whole measurement.
#[derive(Debug, Default, serde::Serialize)]
pub struct Score {
    /// Per trigger.
    pub triggers: BTreeMap<String, TriggerScore>,
    /// Negative rows.
    pub negatives: u64,
    /// Negative rows on which any trigger fired.
    pub negatives_fired: u64,
    /// Rows whose label is not a trigger of the mapping (ignored).
    pub other: u64,
}

impl Score {
    /// Share of negatives on which some trigger fired.
    pub fn false_trigger_rate(&self) -> f64 {
        ratio(self.negatives_fired, self.negatives)
    }
}

/// Runs `handrail score`.
pub fn run(args: Args) -> Exit {
    let policy = match args.policy.load(ErrorFormat::Human) {
        Ok(p) => p,
        Err(exit) => return exit,
    };
    let triggers: Triggers = match std::fs::read_to_string(&args.triggers) {
        Ok(text) => match toml::from_str(&text) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {}: {}", args.triggers.display(), e.to_string().trim_end());
                return Exit::Usage;
            }
        },
        Err(e) => {
            eprintln!("error: cannot read `{}`: {e}", args.triggers.display());
            return Exit::Io;
        }
    };
    for (trigger, ids) in &triggers.0 {
        for id in ids {
            if policy.rule(id).is_none() {
                eprintln!(
                    "error: {}: trigger `{trigger}` names the rule `{id}`, which the policy does not have",
                    args.triggers.display()
                );
                return Exit::Usage;
            }
        }
    }
    let mut score = Score::default();
    for t in triggers.0.keys() {
        score.triggers.insert(t.clone(), TriggerScore::default());
    }
    for file in &args.files {
        if let Err(exit) = score_file(file, &args, &policy, &triggers, &mut score) {
            return exit;
        }
    }
    if args.json {
        out!("{}", serde_json::to_string_pretty(&score).unwrap_or_default());
        return Exit::Ok;
    }
    out!(
        "{:<24} {:>9} {:>9} {:>9} {:>7} {:>7} {:>7} {:>9}",
        "trigger",
        "positives",
        "recall",
        "precision",
        "F1",
        "TP",
        "FP",
        "partial"
    );
    for (name, t) in &score.triggers {
        out!(
            "{:<24} {:>9} {:>8.1}% {:>8.1}% {:>7.3} {:>7} {:>7} {:>9}",
            name,
            t.true_positives + t.false_negatives,
            t.recall() * 100.0,
            t.precision() * 100.0,
            t.f1(),
            t.true_positives,
            t.false_positives,
            format!("{}/{}", t.partial.0, t.partial.1),
        );
    }
    out!(
        "false triggers on negatives: {:.2}% ({} of {}); rows with other labels ignored: {}",
        score.false_trigger_rate() * 100.0,
        score.negatives_fired,
        score.negatives,
        score.other
    );
    if args.show_errors.is_some() {
        for (name, t) in &score.triggers {
            for m in &t.misses {
                out!("miss        {name}: {m}");
            }
            for f in &t.false_alarms {
                out!("false alarm {name}: {f}");
            }
        }
    }
    Exit::Ok
}

/// Scores every row of one file into `score`.
fn score_file(
    file: &std::path::Path,
    args: &Args,
    policy: &crate::compile::Policy,
    triggers: &Triggers,
    score: &mut Score,
) -> Result<(), Exit> {
    let mut reader = csv::Reader::from_path(file).map_err(|e| {
        eprintln!("error: cannot read `{}`: {e}", file.display());
        Exit::Io
    })?;
    let headers = reader.headers().map_err(|_| Exit::Io)?.clone();
    let column = |name: &str| {
        headers.iter().position(|h| h == name).ok_or_else(|| {
            eprintln!(
                "error: `{}` has no column `{name}` (it has {})",
                file.display(),
                headers.iter().collect::<Vec<_>>().join(", ")
            );
            Exit::Usage
        })
    };
    let text_col = column(&args.text_column)?;
    let label_col = column(&args.label_column)?;
    let mapping_col = match &args.mapping_column {
        Some(m) => Some(column(m)?),
        None => None,
    };
    let mut filters = Vec::new();
    for f in &args.filter {
        let Some((col, value)) = f.split_once('=') else {
            eprintln!("error: `--filter {f}` is not COLUMN=VALUE");
            return Err(Exit::Usage);
        };
        filters.push((column(col)?, value.to_string()));
    }
    let keep = args.show_errors.unwrap_or(0);
    for row in reader.records() {
        let Ok(row) = row else { continue };
        if filters.iter().any(|(c, v)| row.get(*c) != Some(v.as_str())) {
            continue;
        }
        let text = row.get(text_col).unwrap_or("");
        let label = row.get(label_col).unwrap_or("").trim();
        let mapping = mapping_col.and_then(|c| row.get(c)).unwrap_or("direct");
        let event = Event { text: Some(text.to_string()), ..Event::default() };
        let (decision, _) = decide(policy, &ConversationState::default(), &event);
        let matched: BTreeSet<&str> = decision.rules.iter().map(|r| r.id.as_str()).collect();
        let fired: BTreeSet<&str> = triggers
            .0
            .iter()
            .filter(|(_, ids)| ids.iter().any(|id| matched.contains(id.as_str())))
            .map(|(t, _)| t.as_str())
            .collect();
        let negative = label.is_empty() || label == "none" || mapping == "none";
        if negative {
            score.negatives += 1;
            if !fired.is_empty() {
                score.negatives_fired += 1;
            }
        } else if !triggers.0.contains_key(label) {
            score.other += 1;
        }
        for (name, t) in score.triggers.iter_mut() {
            let fires = fired.contains(name.as_str());
            let is_label = !negative && label == name;
            if is_label && mapping == "partial" {
                t.partial.1 += 1;
                t.partial.0 += u64::from(fires);
                continue;
            }
            match (is_label, fires) {
                (true, true) => t.true_positives += 1,
                (true, false) => {
                    t.false_negatives += 1;
                    if t.misses.len() < keep {
                        t.misses.push(text.to_string());
                    }
                }
                // A false alarm counts on negatives and on rows labelled with another trigger of the mapping.
                (false, true) if negative || triggers.0.contains_key(label) => {
                    t.false_positives += 1;
                    if t.false_alarms.len() < keep {
                        t.false_alarms.push(format!("{text}  [{label}]"));
                    }
                }
                _ => {}
            }
        }
    }
    Ok(())
}
