//! `handrail check`: compile policy files and report every error and lint.

use std::path::PathBuf;

use super::{Exit, PackArgs};
use handrail::diagnostic::ErrorFormat;

/// Check policy files: report every error and warning at once, each with `file:line:col`, the source line, and
/// help on how to fix it.
///
/// Errors stop a policy from being used; warnings (lints) point at what is probably a mistake: a rule that can
/// never fire, a phrase in two tiers, look-alike or invisible characters in a phrase, a rule without `@id`, a
/// phrase too generic to stand alone, a slip that makes a phrase match one of another tier.
///
/// `--negatives FILE` measures genericness: every phrase of the file that fires on more than `--max-share` of
/// the negative rows of a labelled CSV (rows whose `mapped_trigger` is `none` or empty, or whose `mapping` is
/// `none`) is a warning. `--phrases` prints every phrase of the file as it is compared with messages:
/// normalised, each word with its stem (sets marked `stem`) and whether it takes a slip (sets marked `typos`).
///
/// Exit codes: 0 no errors (warnings allowed unless `--deny-warnings`), 1 errors (or warnings with
/// `--deny-warnings`), 3 a file could not be read.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The policy files to check; `-` reads a policy from stdin.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// How to print diagnostics: `human` (snippets), `plain` (one line each) or `json` (one object per line, on
    /// stdout).
    #[arg(long, value_enum, default_value_t = ErrorFormat::Human)]
    pub error_format: ErrorFormat,
    /// Treat warnings as errors.
    #[arg(long)]
    pub deny_warnings: bool,
    /// Print every phrase as it is matched: normalised, with stems and slips.
    #[arg(long)]
    pub phrases: bool,
    /// A labelled CSV whose negative rows measure how generic each phrase is (see above).
    #[arg(long, value_name = "CSV")]
    pub negatives: Vec<PathBuf>,
    /// The share of negative rows, in percent, above which a phrase is too generic.
    #[arg(long, value_name = "PERCENT", default_value_t = 0.2)]
    pub max_share: f64,
    /// Where to find packs named by `extends`.
    #[command(flatten)]
    pub packs: PackArgs,
}

/// Runs `handrail check`.
pub fn run(args: Args) -> Exit {
    let mut errors = 0;
    let mut warnings = 0;
    for file in &args.files {
        let output = if file.as_os_str() == "-" {
            match super::read_stdin() {
                Ok(text) => handrail::compile::compile_source("<stdin>", &text, &args.packs.options()),
                Err(exit) => return exit,
            }
        } else {
            match handrail::compile::compile_file(file, &args.packs.options()) {
                Ok(output) => output,
                Err(why) => {
                    eprintln!("error: {why}");
                    return Exit::Io;
                }
            }
        };
        let mut output = output;
        if let (Some(policy), false) = (&output.policy, args.negatives.is_empty()) {
            let mut negatives = Vec::new();
            for csv in &args.negatives {
                match super::score::negative_texts(csv) {
                    Ok(texts) => negatives.extend(texts),
                    Err(exit) => return exit,
                }
            }
            let measured = handrail::compile::generic_phrases(policy, &negatives, args.max_share / 100.0);
            output.diagnostics.extend(measured);
            output.diagnostics.sort_by_key(|d| (d.location.source, d.location.span.start));
        }
        super::print_diagnostics(&output, args.error_format);
        errors += output.errors();
        warnings += output.warnings();
        if args.phrases
            && let Some(policy) = &output.policy
        {
            print_phrases(policy);
        }
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

/// Every phrase of the local policy, set by set, as it is compared with messages.
fn print_phrases(policy: &handrail::compile::Policy) {
    for (i, set) in policy.phrase_sets.iter().enumerate() {
        let phrases: Vec<&handrail::compile::policy::PhraseInfo> =
            policy.phrases.iter().filter(|p| p.set == i as u32 && p.location.source == 0).collect();
        if phrases.is_empty() || set.side_of.is_some() {
            continue;
        }
        let variation = set.variation;
        let mut options = Vec::new();
        if let Some(language) = variation.stem {
            options.push(format!("stem {}", language.name()));
        }
        if variation.typos {
            options.push("typos".into());
        }
        out!(
            "{}{}",
            set.name,
            if options.is_empty() { String::new() } else { format!(" ({})", options.join(", ")) }
        );
        for p in phrases {
            if p.proximity {
                out!("  {}", p.text);
                continue;
            }
            let shown =
                handrail::text::describe_phrase(&p.text, variation).unwrap_or_else(|_| p.text.clone());
            out!("  {:<40} {shown}", handrail::syntax::print::quote(&p.text));
        }
    }
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}
