//! Beside the pipeline, `cases`: declarative TOML test cases run against a policy, as `handrail test` runs them.
//!
//! Takes case files (or folders of them), hands on a [`Report`]: how many passed, every failure, and coverage
//! per rule and per phrase. It prints nothing; `handrail test` prints the report, and the crate's own tests
//! use it directly.
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
//! queue and `say` a substring of what the customer is told. A case with no `expect` at all is an error: it
//! would pass whatever the policy decided.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::compile::{Options, Output, Policy, ReadError};
use crate::eval::{ConversationState, Decision, Event};

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

/// How to run case files.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The policy for files that do not name one; `None` is the built-in `common` pack.
    pub policy: Option<PathBuf>,
    /// How to compile policies (where packs are).
    pub compile: Options,
    /// Run only the cases whose name contains this.
    pub filter: Option<String>,
}

/// A case file that could not be run at all (a case that fails is in the [`Report`], not an error).
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// A case file or folder could not be read.
    #[error("cannot read `{}`: {source}", path.display())]
    Read {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A path named on the command line does not exist.
    #[error("`{}` does not exist", .0.display())]
    Missing(PathBuf),
    /// A case file is not valid TOML or not in the case format.
    #[error("{}: {message}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong, as the TOML reader says it.
        message: String,
    },
    /// A policy file could not be read.
    #[error(transparent)]
    PolicyRead(#[from] ReadError),
    /// A policy has errors: its diagnostics are in the output.
    #[error("the policy has errors")]
    Policy(Box<Output>),
}

/// The outcome of running case files.
#[derive(Debug, Default)]
pub struct Report {
    /// Cases that passed.
    pub passed: usize,
    /// Failures, each `file: case: what differed`.
    pub failures: Vec<String>,
    /// Every case run, in order.
    pub cases: Vec<CaseOutcome>,
    /// Per policy (by id): rule ids determined at least once, phrases matched at least once.
    pub coverage: BTreeMap<String, Coverage>,
}

/// One case run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseOutcome {
    /// The case file.
    pub file: String,
    /// The case's name.
    pub name: String,
    /// What differed, when it failed.
    pub failure: Option<String>,
}

impl Report {
    /// The report as JUnit XML, the test-report format CI systems read: one `testsuite` per case file.
    pub fn junit(&self) -> String {
        let mut files: Vec<&str> = Vec::new();
        for case in &self.cases {
            if !files.contains(&case.file.as_str()) {
                files.push(&case.file);
            }
        }
        let failures = self.cases.iter().filter(|c| c.failure.is_some()).count();
        let mut out = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"handrail\" tests=\"{}\" failures=\"{failures}\">\n",
            self.cases.len()
        );
        for file in files {
            let cases: Vec<&CaseOutcome> = self.cases.iter().filter(|c| c.file == file).collect();
            let failed = cases.iter().filter(|c| c.failure.is_some()).count();
            out.push_str(&format!(
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\">\n",
                xml_escape(file),
                cases.len()
            ));
            for case in cases {
                let name = xml_escape(&case.name);
                let class = xml_escape(file);
                match &case.failure {
                    None => out.push_str(&format!("    <testcase name=\"{name}\" classname=\"{class}\"/>\n")),
                    Some(why) => out.push_str(&format!(
                        "    <testcase name=\"{name}\" classname=\"{class}\">\n      <failure message=\"{}\"/>\n    </testcase>\n",
                        xml_escape(why)
                    )),
                }
            }
            out.push_str("  </testsuite>\n");
        }
        out.push_str("</testsuites>\n");
        out
    }
}

/// Text as XML attribute content.
fn xml_escape(text: &str) -> String {
    crate::text::escape_markup(text)
}

/// What a policy's cases exercised.
#[derive(Debug, Default)]
pub struct Coverage {
    /// Every rule id, with how many decisions it determined.
    pub rules: BTreeMap<String, usize>,
    /// Every phrase (`set: phrase`), with how many times it matched.
    pub phrases: BTreeMap<String, usize>,
}

/// The case files under `paths`, sorted: each file named, and each `*.toml` under a folder named that holds a
/// `[[case]]` table (a folder may hold other TOML, such as a pack's `triggers.toml` for `handrail score`, which
/// is returned second, as skipped).
pub fn collect(paths: &[PathBuf]) -> Result<(Vec<PathBuf>, Vec<PathBuf>), CaseError> {
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    for path in paths {
        if path.is_dir() {
            for entry in walkdir::WalkDir::new(path).follow_links(true).sort_by_file_name() {
                let entry = entry.map_err(|e| CaseError::Read {
                    path: e.path().map_or_else(|| path.clone(), Path::to_path_buf),
                    source: e.into(),
                })?;
                let file = entry.into_path();
                if !file.is_file() || file.extension().is_none_or(|e| e != "toml") {
                    continue;
                }
                if is_case_file(&file) { files.push(file) } else { skipped.push(file) }
            }
        } else if path.exists() {
            files.push(path.clone());
        } else {
            return Err(CaseError::Missing(path.clone()));
        }
    }
    files.sort();
    skipped.sort();
    Ok((files, skipped))
}

/// Whether a TOML file found in a folder is a case file: it has a `case` table (or cannot be read as TOML at
/// all, which running it then reports).
fn is_case_file(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else { return true };
    text.parse::<toml::Table>().map_or(true, |table| table.contains_key("case"))
}

/// Compiles the policy at `path` (the built-in `common` pack for `None`).
pub fn load_policy(path: Option<&Path>, options: &Options) -> Result<Policy, CaseError> {
    let output = match path {
        Some(path) => crate::compile::compile_file(path, options)?,
        None => crate::compile::builtin_default(),
    };
    if output.errors() > 0 {
        return Err(CaseError::Policy(Box::new(output)));
    }
    let mut output = output;
    output.policy.take().ok_or_else(|| CaseError::Policy(Box::new(output)))
}

/// Runs one case file, adding its results to `report`.
pub fn run_file(path: &Path, options: &RunOptions, report: &mut Report) -> Result<(), CaseError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|source| CaseError::Read { path: path.to_path_buf(), source })?;
    let file: CaseFile = toml::from_str(&text).map_err(|e| CaseError::Format {
        path: path.to_path_buf(),
        message: e.to_string().trim_end().to_string(),
    })?;
    let policy = match &file.policy {
        Some(p) => {
            let relative = path.parent().map(|d| d.join(p)).unwrap_or_else(|| p.clone());
            load_policy(Some(&relative), &options.compile)?
        }
        None => load_policy(options.policy.as_deref(), &options.compile)?,
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
        if options.filter.as_ref().is_some_and(|f| !case.name.contains(f.as_str())) {
            continue;
        }
        let failure = run_case(&policy, case, clock, coverage).err();
        match &failure {
            None => report.passed += 1,
            Some(why) => report.failures.push(format!("{name}: {}: {why}", case.name)),
        }
        report.cases.push(CaseOutcome { file: name.clone(), name: case.name.clone(), failure });
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
    if case.expect.is_none() && !case.events.iter().any(|e| e.contains_key("expect")) {
        return Err(
            "the case has no `expect`: say what the decision must be, or it passes whatever happens".into()
        );
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
        let event = Event::from_json(&json).map_err(|e| format!("event {}: {e}", i + 1))?;
        let (decision, next) = crate::eval::decide(policy, &state, &event, clock);
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

/// How a decision differs from what a case expected: every difference, with what the decision gave.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} (reasons {reasons:?}, matching rules {matched:?})", problems.join("; "))]
#[non_exhaustive]
pub struct Mismatch {
    /// Each difference, in words (`expected action `handoff`, got `answer``).
    pub problems: Vec<String>,
    /// The decision's reason codes.
    pub reasons: Vec<String>,
    /// The rules that matched.
    pub matched: Vec<String>,
}

/// Compares a decision with what was expected; the error says every difference.
pub fn check(expect: &Expect, d: &Decision) -> Result<(), Mismatch> {
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
    Err(Mismatch {
        problems,
        reasons: d.reasons.iter().map(|r| r.as_str().to_string()).collect(),
        matched: matched.into_iter().map(str::to_string).collect(),
    })
}
