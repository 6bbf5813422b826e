//! `handrail score`: measure a policy on labelled messages.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Deserialize;

use super::{Exit, Format, PolicyArgs};
use handrail::diagnostic::ErrorFormat;
use handrail::eval::{ConversationState, Event, decide};
use handrail::fold::Fold;

/// Measure a policy on labelled messages: per-trigger precision, recall and F1, and false triggers on negatives.
///
/// The CSV has a text column and an expected-trigger column (`none` or empty for a negative). A trigger "fires" on
/// a message when any rule mapped to it matches (determining or not); the mapping from trigger names to rule ids is
/// a TOML file (`--triggers`), e.g. `human_request = ["REQ-HUMAN"]`. With `--mapping-column`, only rows marked
/// `direct` count as positives and only `none` rows as negatives; `partial` rows are reported apart.
///
/// `--fold K/N` splits the rows into N folds by a hash of their text and keeps fold K; `--fold ^K/N` keeps
/// every other fold. Tune phrases by reading the misses of some folds and measure on a fold you never read:
/// the gap between the two is how much the tuning overfitted. A row's fold is 1 + (the first 8 bytes of the
/// SHA-256 of its text, as a big-endian integer) mod N, so the split is the same on every machine and can be
/// reproduced outside handrail.
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
    /// Keep only fold K of N (`1/5`), or every fold but K (`^1/5`); folds are split by a hash of the text.
    #[arg(long, value_name = "K/N", value_parser = Fold::parse)]
    pub fold: Option<Fold>,
    /// List up to N misses and false alarms per trigger.
    #[arg(long, value_name = "N")]
    pub show_errors: Option<usize>,
    /// How to print the result: `text` (a table) or `json`.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// The same as `--format json` (the flag's earlier name).
    #[arg(long, hide = true)]
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
    /// The fold scored, as given (`1/5`, `^1/5`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fold: Option<String>,
    /// Per trigger.
    pub triggers: BTreeMap<String, TriggerScore>,
    /// Negative rows.
    pub negatives: u64,
    /// Negative rows on which any trigger fired.
    pub negatives_fired: u64,
    /// Rows whose label is not a trigger of the mapping (ignored).
    pub other: u64,
    /// Rows the CSV reader could not read (counted, never silently dropped).
    pub unreadable: u64,
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
    let mut score = Score { fold: args.fold.map(|f| f.to_string()), ..Score::default() };
    for t in triggers.0.keys() {
        score.triggers.insert(t.clone(), TriggerScore::default());
    }
    for file in &args.files {
        if let Err(exit) = score_file(file, &args, &policy, &triggers, &mut score) {
            return exit;
        }
    }
    if args.json || args.format == Format::Json {
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
    if score.unreadable > 0 {
        eprintln!("warning: {} rows could not be read as CSV and were not scored", score.unreadable);
    }
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

/// The texts of the negative rows of a labelled CSV (`text`; `mapped_trigger` `none` or empty, or `mapping`
/// `none`), for `check --negatives`.
pub(crate) fn negative_texts(file: &std::path::Path) -> Result<Vec<String>, Exit> {
    let mut reader = csv::Reader::from_path(file).map_err(|e| {
        eprintln!("error: cannot read `{}`: {e}", file.display());
        Exit::Io
    })?;
    let headers = reader.headers().map_err(|_| Exit::Io)?.clone();
    let find = |name: &str| headers.iter().position(|h| h == name);
    let Some(text) = find("text") else {
        eprintln!("error: `{}` has no column `text`", file.display());
        return Err(Exit::Usage);
    };
    let (label, mapping) = (find("mapped_trigger"), find("mapping"));
    let mut texts = Vec::new();
    for row in reader.records().flatten() {
        let cell = |c: Option<usize>| c.and_then(|c| row.get(c)).unwrap_or("").trim();
        if matches!(cell(label), "" | "none") || cell(mapping) == "none" {
            texts.push(cell(Some(text)).to_string());
        }
    }
    Ok(texts)
}

/// Scores every row of one file into `score`.
fn score_file(
    file: &std::path::Path,
    args: &Args,
    policy: &handrail::compile::Policy,
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
    // Rows carry no time: they are decided at the time the run started (queue hours do not change a match).
    let now = chrono::Utc::now();
    for row in reader.records() {
        let Ok(row) = row else {
            score.unreadable += 1;
            continue;
        };
        if filters.iter().any(|(c, v)| row.get(*c) != Some(v.as_str())) {
            continue;
        }
        let text = row.get(text_col).unwrap_or("");
        if args.fold.is_some_and(|f| !f.keeps(text)) {
            continue;
        }
        let label = row.get(label_col).unwrap_or("").trim();
        let mapping = mapping_col.and_then(|c| row.get(c)).unwrap_or("direct");
        let event = Event { text: Some(text.to_string()), ..Event::default() };
        let (decision, _) = decide(policy, &ConversationState::default(), &event, now);
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
