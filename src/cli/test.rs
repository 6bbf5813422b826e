//! `handrail test`: run declarative TOML test cases against a policy.
//!
//! A case file looks like this (every key but `events` is optional):
//!
//! ```toml
//! policy = "../common.policy"        # relative to this file; else `--policy`, else the built-in pack
//! clock  = "2026-01-05T15:00:00Z"    # the pinned time of events that carry none
//!
//! [[case]]
//! name   = "explicit request"
//! events = [{ text = "I want to talk to a human", confidence = 0.9 }]
//! expect = { action = "handoff", rules = ["REQ-HUMAN"], reasons = ["explicit_request"] }
//! ```
//!
//! `expect` checks the decision on the **last** event; an event may carry its own `expect` for intermediate
//! steps. `rules` is the exact set of determining rule ids, `reasons` the exact set of reason codes, `matched`
//! rule ids that must be among the matching rules, `not_matched` ids that must not be, `queue` the route's
//! queue and `say` a substring of what the customer is told.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{Exit, PolicyArgs};
use crate::compile::Policy;
use crate::diagnostic::ErrorFormat;
use crate::eval::{ConversationState, Decision, Event};

/// Run declarative test cases (TOML) against a policy and print `N passed, N failed`.
///
/// Each file may name its policy (`policy = "..."`, relative to the file); otherwise `--policy`, otherwise the
/// built-in `common` pack. Time is pinned (`clock = "..."`, default 2026-01-05T15:00:00Z, a Monday) so results
/// never depend on when the tests run. Coverage per rule and per phrase is printed after the results.
///
/// Exit codes: 0 every case passed, 1 a case failed or a file/policy is invalid, 3 a file could not be read.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Case files, or directories searched for `*.toml`.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// The policy for files that do not name one.
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// List every rule and phrase never exercised, not only the counts.
    #[arg(long)]
    pub coverage: bool,
    /// Print passing cases too.
    #[arg(long, short)]
    pub verbose: bool,
    /// How to print policy errors.
    #[arg(long, value_enum, default_value_t = ErrorFormat::Human)]
    pub error_format: ErrorFormat,
}

/// The default pinned clock: a Monday afternoon (UTC), inside most business hours.
pub const DEFAULT_CLOCK: &str = "2026-01-05T15:00:00Z";

/// One case file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseFile {
    /// The policy, relative to the file.
    pub policy: Option<PathBuf>,
    /// The pinned clock.
    pub clock: Option<DateTime<Utc>>,
    /// The cases.
    #[serde(default, rename = "case")]
    pub cases: Vec<Case>,
}

/// One case: events in, expectations out.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// What it tests.
    pub name: String,
    /// The events, in order; each may carry its own `expect`.
    pub events: Vec<toml::Table>,
    /// Expectations on the decision for the last event.
    pub expect: Option<Expect>,
}

/// What a decision must be.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// `emergency`, `handoff`, `capture`, `answer` or `hold`.
    pub action: Option<String>,
    /// The exact set of determining rule ids.
    pub rules: Option<Vec<String>>,
    /// The exact set of reason codes.
    pub reasons: Option<Vec<String>>,
    /// Rule ids that must be among the matching rules.
    pub matched: Option<Vec<String>>,
    /// Rule ids that must not match.
    pub not_matched: Option<Vec<String>>,
    /// The route's queue.
    pub queue: Option<String>,
    /// A substring of what the customer is told.
    pub say: Option<String>,
}

/// The outcome of running case files.
#[derive(Debug, Default)]
pub struct Report {
    /// Cases that passed.
    pub passed: usize,
    /// Failures, each `file: case: what differed`.
    pub failures: Vec<String>,
    /// Names of passing cases, `file: case`.
    pub passes: Vec<String>,
    /// Per policy (by id): rule ids determined at least once, phrases matched at least once.
    pub coverage: BTreeMap<String, Coverage>,
}

/// What a policy's cases exercised.
#[derive(Debug, Default)]
pub struct Coverage {
    /// Every rule id, with how many decisions it determined.
    pub rules: BTreeMap<String, usize>,
    /// Every phrase (`set: phrase`), with how many times it matched.
    pub phrases: BTreeMap<String, usize>,
}

/// Runs `handrail test`.
pub fn run(args: Args) -> Exit {
    let files = match collect(&args.paths) {
        Ok(files) => files,
        Err(why) => {
            eprintln!("error: {why}");
            return Exit::Io;
        }
    };
    let mut report = Report::default();
    let mut broken = false;
    for file in &files {
        if let Err(exit) = run_file(file, &args.policy, args.error_format, &mut report) {
            broken = true;
            if exit == Exit::Io {
                return exit;
            }
        }
    }
    for failure in &report.failures {
        out!("FAIL {failure}");
    }
    if args.verbose {
        for pass in &report.passes {
            out!("ok   {pass}");
        }
    }
    for (policy, cov) in &report.coverage {
        let rules = cov.rules.values().filter(|n| **n > 0).count();
        let phrases = cov.phrases.values().filter(|n| **n > 0).count();
        out!(
            "coverage {policy}: {rules}/{} rules determined a decision, {phrases}/{} phrases matched",
            cov.rules.len(),
            cov.phrases.len()
        );
        if args.coverage {
            for (rule, _) in cov.rules.iter().filter(|(_, n)| **n == 0) {
                out!("  rule never determining: {rule}");
            }
            for (phrase, _) in cov.phrases.iter().filter(|(_, n)| **n == 0) {
                out!("  phrase never matched: {phrase}");
            }
        }
    }
    out!("{} passed, {} failed", report.passed, report.failures.len());
    if broken || !report.failures.is_empty() { Exit::Failed } else { Exit::Ok }
}

/// Every `*.toml` under the paths, sorted.
fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut files).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        } else if path.exists() {
            files.push(path.clone());
        } else {
            return Err(format!("`{}` does not exist", path.display()));
        }
    }
    files.sort();
    Ok(files)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "toml") {
            files.push(path);
        }
    }
    Ok(())
}

/// Runs one case file, adding its results to `report`.
pub fn run_file(
    path: &Path,
    policy_args: &PolicyArgs,
    format: ErrorFormat,
    report: &mut Report,
) -> Result<(), Exit> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        eprintln!("error: cannot read `{name}`: {e}");
        Exit::Io
    })?;
    let file: CaseFile = toml::from_str(&text).map_err(|e| {
        eprintln!("error: {name}: {}", e.to_string().trim_end());
        Exit::Failed
    })?;
    let policy = match &file.policy {
        Some(p) => {
            let relative = path.parent().map(|d| d.join(p)).unwrap_or_else(|| p.clone());
            PolicyArgs { policy: Some(relative), ..policy_args.clone() }.load(format)?
        }
        None => policy_args.load(format)?,
    };
    let clock = file.clock.unwrap_or_else(|| {
        DateTime::parse_from_rfc3339(DEFAULT_CLOCK).map(|t| t.to_utc()).unwrap_or_default()
    });
    let coverage = report.coverage.entry(policy.id.clone()).or_default();
    for rule in &policy.rules {
        coverage.rules.entry(rule.id.clone()).or_insert(0);
    }
    for phrase in &policy.phrases {
        let set = policy.phrase_sets.get(phrase.set as usize).map(|s| s.name.as_str()).unwrap_or("?");
        coverage.phrases.entry(format!("{set}: {}", phrase.text)).or_insert(0);
    }
    for case in &file.cases {
        let label = format!("{name}: {}", case.name);
        match run_case(&policy, case, clock, coverage) {
            Ok(()) => {
                report.passed += 1;
                report.passes.push(label);
            }
            Err(why) => report.failures.push(format!("{label}: {why}")),
        }
    }
    Ok(())
}

fn run_case(
    policy: &Policy,
    case: &Case,
    clock: DateTime<Utc>,
    coverage: &mut Coverage,
) -> Result<(), String> {
    if case.events.is_empty() {
        return Err("the case has no events".into());
    }
    let mut state = ConversationState::default();
    let last = case.events.len() - 1;
    for (i, table) in case.events.iter().enumerate() {
        let mut table = table.clone();
        let step_expect = match table.remove("expect") {
            Some(v) => {
                Some(v.try_into::<Expect>().map_err(|e| format!("event {}: bad `expect`: {e}", i + 1))?)
            }
            None => None,
        };
        let json = serde_json::to_string(&table).map_err(|e| format!("event {}: {e}", i + 1))?;
        let mut event = Event::from_json(&json).map_err(|e| format!("event {}: {e}", i + 1))?;
        event.time.get_or_insert(clock);
        let (decision, next) = crate::eval::decide(policy, &state, &event);
        state = next;
        for id in &decision.determining {
            *coverage.rules.entry(id.clone()).or_insert(0) += 1;
        }
        for hit in decision.rules.iter().flat_map(|r| &r.matches) {
            *coverage.phrases.entry(format!("{}: {}", hit.set, hit.phrase)).or_insert(0) += 1;
        }
        let at = if case.events.len() > 1 { format!("event {}: ", i + 1) } else { String::new() };
        if let Some(expect) = &step_expect {
            check(expect, &decision).map_err(|e| format!("{at}{e}"))?;
        }
        if i == last
            && let Some(expect) = &case.expect
        {
            check(expect, &decision).map_err(|e| format!("{at}{e}"))?;
        }
    }
    Ok(())
}

/// Compares a decision with what was expected; the error says every difference.
pub fn check(expect: &Expect, d: &Decision) -> Result<(), String> {
    let mut problems = Vec::new();
    if let Some(action) = &expect.action
        && action != d.action.as_str()
    {
        problems.push(format!("expected action `{action}`, got `{}`", d.action.as_str()));
    }
    if let Some(rules) = &expect.rules {
        let want: BTreeSet<&str> = rules.iter().map(String::as_str).collect();
        let got: BTreeSet<&str> = d.determining.iter().map(String::as_str).collect();
        if want != got {
            problems.push(format!("expected determining rules {want:?}, got {got:?}"));
        }
    }
    if let Some(reasons) = &expect.reasons {
        let want: BTreeSet<&str> = reasons.iter().map(String::as_str).collect();
        let got_owned: Vec<String> = d.reasons.iter().map(|r| r.as_str().to_string()).collect();
        let got: BTreeSet<&str> = got_owned.iter().map(String::as_str).collect();
        if want != got {
            problems.push(format!("expected reasons {want:?}, got {got:?}"));
        }
    }
    let matched: BTreeSet<&str> = d.rules.iter().map(|r| r.id.as_str()).collect();
    for id in expect.matched.iter().flatten() {
        if !matched.contains(id.as_str()) {
            problems.push(format!("expected `{id}` to match; matching rules were {matched:?}"));
        }
    }
    for id in expect.not_matched.iter().flatten() {
        if matched.contains(id.as_str()) {
            problems.push(format!("expected `{id}` not to match, but it did"));
        }
    }
    if let Some(queue) = &expect.queue {
        let got = d.route.as_ref().map(|r| r.queue.as_str()).unwrap_or("none");
        if queue != got {
            problems.push(format!("expected queue `{queue}`, got `{got}`"));
        }
    }
    if let Some(say) = &expect.say {
        let all = d.say.join(" ");
        if !all.contains(say.as_str()) {
            problems
                .push(format!("expected the customer to be told something containing `{say}`, got `{all}`"));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    let context = format!("(reasons {:?}, matching rules {matched:?})", d.reasons);
    Err(format!("{} {context}", problems.join("; ")))
}
