//! `handrail check`: compile policy files and report every error and lint.

use std::path::PathBuf;

use super::{Exit, PackArgs};
use crate::diagnostic::ErrorFormat;

/// Check policy files: report every error and warning at once, each with `file:line:col`, the source line, and
/// help on how to fix it.
///
/// Errors stop a policy from being used; warnings (lints) point at what is probably a mistake: a rule that can
/// never fire, a phrase in two tiers, look-alike or invisible characters in a phrase, a rule without `@id`.
///
/// Exit codes: 0 no errors (warnings allowed unless `--deny-warnings`), 1 errors (or warnings with
/// `--deny-warnings`), 3 a file could not be read.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The policy files to check.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// How to print diagnostics: `human` (snippets), `plain` (one line each) or `json` (one object per line, on
    /// stdout).
    #[arg(long, value_enum, default_value_t = ErrorFormat::Human)]
    pub error_format: ErrorFormat,
    /// Treat warnings as errors.
    #[arg(long)]
    pub deny_warnings: bool,
    /// Where to find packs named by `extends`.
    #[command(flatten)]
    pub packs: PackArgs,
}

/// Runs `handrail check`.
pub fn run(args: Args) -> Exit {
    let mut errors = 0;
    let mut warnings = 0;
    for file in &args.files {
        let output = match crate::compile::compile_file(file, &args.packs.options()) {
            Ok(output) => output,
            Err(why) => {
                eprintln!("error: {why}");
                return Exit::Io;
            }
        };
        super::print_diagnostics(&output, args.error_format);
        errors += output.errors();
        warnings += output.warnings();
    }
    if args.error_format != ErrorFormat::Json {
        eprintln!(
            "checked {} {}: {errors} {}, {warnings} {}",
            args.files.len(),
            plural(args.files.len(), "file", "files"),
            plural(errors, "error", "errors"),
            plural(warnings, "warning", "warnings"),
        );
    }
    if errors > 0 || (args.deny_warnings && warnings > 0) { Exit::Failed } else { Exit::Ok }
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}
