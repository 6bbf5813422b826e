//! `handrail test`: run declarative TOML test cases against a policy ([`handrail::cases`]) and print the report.

use std::path::PathBuf;

use super::{Exit, PolicyArgs};
use handrail::cases::{CaseError, Report, RunOptions};
use handrail::diagnostic::ErrorFormat;

/// Run declarative test cases (TOML) against a policy and print `N passed, N failed`.
///
/// Each file may name its policy (`policy = "..."`, relative to the file); otherwise `--policy`, otherwise the
/// built-in `common` pack. Time is pinned (`clock = "..."`, default 2026-01-05T15:00:00Z, a Monday) so results
/// never depend on when the tests run. Coverage per rule and per phrase is printed after the results.
///
/// In a folder, TOML files without a `[[case]]` table (a pack's `triggers.toml`) are skipped. A case with no
/// `expect` fails: it would pass whatever the policy decided.
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
    /// Run only the cases whose name contains this.
    #[arg(long, value_name = "NAME")]
    pub filter: Option<String>,
    /// Also write the results as JUnit XML to this file, for CI systems.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// How to print policy errors.
    #[arg(long, value_enum, default_value_t = ErrorFormat::Human)]
    pub error_format: ErrorFormat,
}

/// Runs `handrail test`.
pub fn run(args: Args) -> Exit {
    let (files, skipped) = match handrail::cases::collect(&args.paths) {
        Ok(found) => found,
        Err(why) => {
            eprintln!("error: {why}");
            return Exit::Io;
        }
    };
    for file in &skipped {
        eprintln!("note: skipped `{}`: it has no `[[case]]` table", file.display());
    }
    let options = RunOptions {
        policy: args.policy.policy.clone(),
        compile: args.policy.options(),
        filter: args.filter.clone(),
    };
    let mut report = Report::default();
    let mut broken = false;
    for file in &files {
        if let Err(e) = handrail::cases::run_file(file, &options, &mut report) {
            broken = true;
            if report_error(&e, args.error_format) == Exit::Io {
                return Exit::Io;
            }
        }
    }
    for failure in &report.failures {
        out!("FAIL {failure}");
    }
    if args.verbose {
        for case in report.cases.iter().filter(|c| c.failure.is_none()) {
            out!("ok   {}: {}", case.file, case.name);
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
    if let Some(path) = &args.junit
        && let Err(e) = std::fs::write(path, report.junit())
    {
        eprintln!("error: cannot write `{}`: {e}", path.display());
        return Exit::Io;
    }
    if broken || !report.failures.is_empty() { Exit::Failed } else { Exit::Ok }
}

/// Prints why a file could not be run; returns the exit code it calls for.
fn report_error(e: &CaseError, format: ErrorFormat) -> Exit {
    match e {
        CaseError::Policy(output) => {
            super::print_diagnostics(output, format);
            if output.errors() == 0 {
                eprintln!(
                    "error: the policy could not be compiled, but no error was reported; this is a bug"
                );
                return Exit::Internal;
            }
            Exit::Failed
        }
        CaseError::Read { .. } | CaseError::Missing(_) | CaseError::PolicyRead(_) => {
            eprintln!("error: {e}");
            Exit::Io
        }
        CaseError::Format { .. } => {
            eprintln!("error: {e}");
            Exit::Failed
        }
    }
}
