//! `handrail whatif`: a logged history replayed under a new policy ([`handrail::review::whatif`]).

use std::path::PathBuf;

use super::{Exit, OutputArgs, PackArgs, ProgressBar, WindowArgs};
use handrail::diagnostic::ErrorFormat;

/// Replay every logged message under a new policy and show how the decisions would change.
///
/// Each conversation is replayed from the state it had, event by event, as `handrail eval` decided it (a
/// deployment starts afresh, as each `eval --audit` run does), but under `--policy`: its state then evolves under
/// the new policy. The comparison is with what the log recorded: more or fewer handoffs, emergencies and
/// captures, each change of action with a few redacted examples, and each rule's determining count before and
/// after. Erased payloads cannot be replayed: they, and the rest of their conversation, are skipped and counted.
///
/// For CI gating of a policy change, `--max-new-handoffs N` and `--max-changed PCT` make the exit code 1 when the
/// change goes further.
///
/// Examples:
///
///   handrail whatif --log review-log --policy examples/review/stricter.policy
///
///   handrail whatif --log review-log --policy examples/review/stricter.policy --max-new-handoffs 0
///
/// Exit codes: 0 the replay ran (and stayed within the thresholds), 1 a threshold was passed, the policy has
/// errors or a record does not parse, 2 usage error, 3 a file could not be read.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The audit log directory.
    #[arg(long, value_name = "LOG")]
    pub log: PathBuf,
    /// The new policy.
    #[arg(long, value_name = "NEW")]
    pub policy: PathBuf,
    /// Where to find its packs.
    #[command(flatten)]
    pub packs: PackArgs,
    /// The window: only decisions inside it are compared (earlier ones are replayed for their state).
    #[command(flatten)]
    pub window: WindowArgs,
    /// How to print: text or JSON.
    #[command(flatten)]
    pub output: OutputArgs,
    /// How many examples to show for each change of action.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub examples: usize,
    /// Exit 1 when the new policy hands off more than N decisions more than the log recorded.
    #[arg(long, value_name = "N")]
    pub max_new_handoffs: Option<i64>,
    /// Exit 1 when more than PCT percent of the replayed decisions change action.
    #[arg(long, value_name = "PCT")]
    pub max_changed: Option<f64>,
}

/// Runs `handrail whatif`.
pub fn run(args: Args) -> Exit {
    let loader = super::PolicyArgs { policy: Some(args.policy.clone()), packs: args.packs.clone() };
    let policy = match loader.load(ErrorFormat::Human) {
        Ok(policy) => policy,
        Err(exit) => return exit,
    };
    let bar = ProgressBar::new("reading");
    let log = match super::read_log(&args.log, &bar) {
        Ok(log) => log,
        Err(exit) => return exit,
    };
    bar.stage("replaying");
    let options = handrail::review::whatif::Options { window: args.window.window(), examples: args.examples };
    let result = handrail::review::whatif::whatif(&log, &policy, &options, &|d, t| bar.draw(d, t));
    drop(bar);
    if args.output.json() {
        // INVARIANT: strings and numbers only.
        out!("{}", serde_json::to_string_pretty(&result).unwrap_or_default());
    } else {
        print_text(&result);
    }
    let mut exit = Exit::Ok;
    if let Some(max) = args.max_new_handoffs
        && result.handoff_delta() > max
    {
        eprintln!(
            "error: the new policy hands off {} more decisions than the log recorded, over `--max-new-handoffs {max}`",
            result.handoff_delta()
        );
        exit = Exit::Failed;
    }
    if let Some(max) = args.max_changed
        && result.changed_share() * 100.0 > max
    {
        eprintln!(
            "error: {:.2}% of the replayed decisions change action, over `--max-changed {max}`",
            result.changed_share() * 100.0
        );
        exit = Exit::Failed;
    }
    exit
}

fn print_text(w: &handrail::review::whatif::WhatIf) {
    out!("whatif: {} {} ({})", w.policy.id, w.policy.version, w.policy.hash.get(..12).unwrap_or_default());
    let skipped: Vec<String> = w.skipped.iter().map(|(why, n)| format!("{n} {why}")).collect();
    out!(
        "replayed {} of {} decisions{}",
        w.replayed,
        w.decisions,
        if skipped.is_empty() { String::new() } else { format!(" (skipped: {})", skipped.join(", ")) }
    );
    out!("{} change action, {} change action or determining rules", w.changed_action, w.changed);
    out!("\n{:<10} {:>8} {:>8} {:>8}", "action", "logged", "now", "change");
    let mut actions: Vec<&String> = w.before.keys().chain(w.after.keys()).collect();
    actions.sort();
    actions.dedup();
    for a in actions {
        let before = w.before.get(a).copied().unwrap_or_default();
        let after = w.after.get(a).copied().unwrap_or_default();
        out!("  {a:<8} {before:>8} {after:>8} {:>+8}", i128::from(after) - i128::from(before));
    }
    if !w.by_rule.is_empty() {
        out!("\n{:<28} {:>8} {:>8} {:>8}", "rule", "logged", "now", "change");
        for r in &w.by_rule {
            out!(
                "  {:<26} {:>8} {:>8} {:>+8}",
                r.rule,
                r.before,
                r.after,
                i128::from(r.after) - i128::from(r.before)
            );
        }
    }
    for t in &w.transitions {
        out!("\n{} → {}: {}", t.from, t.to, t.count);
        for e in &t.examples {
            out!(
                "  seq {} {}: [{}] → [{}] \"{}\"",
                e.seq,
                e.conversation,
                e.rules_before.join(", "),
                e.rules_after.join(", "),
                e.text
            );
        }
    }
}
