//! `handrail report`: how handoff is going, read from an audit log ([`handrail::review::report`]).

use std::path::PathBuf;

use super::{Exit, OutputArgs, ProgressBar, WindowArgs};
use handrail::review::report::{self, Group, Report};

/// Review how handoff is going, from the audit log: handoff rate, live versus capture, post-handoff resolution,
/// silent failures and over-eager rules.
///
/// A conversation runs from its first event to `closed`. It is escalated when a decision hands off, captures
/// (nobody there: a follow-up promised) or answers an emergency. After that, `agent_joined` gives the wait,
/// `agent_reply` events count the agent's replies, and `closed` (with its `outcome`) or `customer_inactive` say
/// how it ended: resolved, unresolved, abandoned (ended before anyone joined) or pending.
///
/// A silent failure is a conversation never escalated in which the bot answered with low confidence
/// (`--low-confidence`) or counted a strike, after which the customer went quiet or closed with a flat reply
/// ("ok", "whatever", "vale"; add your own with `--flat-reply`) or an `unresolved` outcome. They are listed with
/// what almost fired (a rule whose phrase the customer said, negated or without the rest of its condition, and
/// the fallback threshold) and the customer's last messages, redacted, because they are what a lead reviews.
///
/// A rule is over-eager when most of the escalations it caused that a person resolved took one agent reply.
///
/// Escalations are also grouped by the channel the customer wrote on (the events' `channel`), each channel's
/// rate a share of its own conversations.
///
/// Examples:
///
///   handrail report review-log
///
///   handrail report review-log --since 2026-11-24T00:00:00Z --json
///
///   handrail report review-log --html report.html
///
/// Exit codes: 0 the report was made, 1 a record of the log does not parse (the error names the line and field),
/// 2 usage error, 3 a file could not be read or written.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The audit log directory (as written by `handrail eval --audit`).
    #[arg(value_name = "LOG")]
    pub log: PathBuf,
    /// The time window (conversations that start inside it).
    #[command(flatten)]
    pub window: WindowArgs,
    /// How to print: text or JSON.
    #[command(flatten)]
    pub output: OutputArgs,
    /// Also write the report as one self-contained HTML page with charts (no script, no network needed).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// An answer below this confidence is shaky: a silent failure if the customer then disengages.
    #[arg(long, value_name = "C", default_value_t = 0.6)]
    pub low_confidence: f64,
    /// A conversation with no event for this many minutes before the log ends has gone quiet.
    #[arg(long, value_name = "MINUTES", default_value_t = 30)]
    pub quiet_after: i64,
    /// A rule is judged over-eager only with at least this many escalations that a person resolved.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub over_eager_min: u64,
    /// How many silent failures the text report lists (JSON and HTML list them all).
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub show: usize,
    /// Also count this reply as flat when a customer closes with it after a shaky answer (may be repeated;
    /// compared as phrases are, ignoring case, accents and punctuation around it), e.g. `--flat-reply "as you
    /// wish"`.
    #[arg(long, value_name = "TEXT")]
    pub flat_reply: Vec<String>,
}

/// Runs `handrail report`.
pub fn run(args: Args) -> Exit {
    let bar = ProgressBar::new("reading");
    let log = match super::read_log(&args.log, &bar) {
        Ok(log) => log,
        Err(exit) => return exit,
    };
    bar.stage("reporting");
    let options = report::Options {
        window: args.window.window(),
        low_confidence: args.low_confidence,
        quiet_after: chrono::Duration::minutes(args.quiet_after),
        over_eager_min: args.over_eager_min,
        flat_replies: report::flat_replies(&args.flat_reply),
        ..report::Options::default()
    };
    let report = report::build(&log, &options, &|d, t| bar.draw(d, t));
    drop(bar);
    if let Some(path) = &args.html {
        let page = handrail::review::html::page(&report, &args.log.display().to_string());
        if let Err(e) = std::fs::write(path, page) {
            eprintln!("error: cannot write `{}`: {e}", path.display());
            return Exit::Io;
        }
    }
    if args.output.json() {
        // INVARIANT: a report is strings, numbers and dates only, so it always serialises.
        out!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
    } else {
        print_text(&report, &args);
    }
    Exit::Ok
}

fn percent(rate: f64) -> String {
    format!("{:.1}%", rate * 100.0)
}

/// Seconds as `3m10s`, `2h05m`, or `-` when there is nothing.
pub fn duration(seconds: Option<i64>) -> String {
    match seconds {
        None => "-".into(),
        Some(s) if s < 60 => format!("{s}s"),
        Some(s) if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        Some(s) => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

fn print_groups(title: &str, groups: &[Group]) {
    if groups.is_empty() {
        return;
    }
    out!(
        "\n{title:<24} {:>9} {:>6} {:>7} {:>5} {:>7} {:>8} {:>10} {:>9} {:>7} {:>11} {:>9}",
        "escalated",
        "of",
        "rate",
        "live",
        "capture",
        "resolved",
        "unresolved",
        "abandoned",
        "pending",
        "median wait",
        "p90 wait"
    );
    for g in groups {
        out!(
            "  {:<22} {:>9} {:>6} {:>7} {:>5} {:>7} {:>8} {:>10} {:>9} {:>7} {:>11} {:>9}",
            g.name,
            g.escalated,
            g.conversations,
            percent(g.rate),
            g.live,
            g.capture,
            g.resolved,
            g.unresolved,
            g.abandoned,
            g.pending,
            duration(g.median_wait_s),
            duration(g.p90_wait_s)
        );
    }
}

fn print_text(report: &Report, args: &Args) {
    out!("handrail report: {}", args.log.display());
    let when = |t: Option<chrono::DateTime<chrono::Utc>>| t.map_or("-".to_string(), |t| t.to_rfc3339());
    out!(
        "window: {} to {} (decisions from {} to {})",
        when(report.since),
        when(report.until),
        when(report.first),
        when(report.last)
    );
    out!("conversations: {}, decisions: {}", report.conversations, report.decisions);
    out!(
        "handoff rate: {} ({} escalated: {} live, {} capture (nobody there), {} emergency)",
        percent(report.handoff_rate),
        report.escalated,
        report.live,
        report.capture,
        report.emergency
    );
    if !report.by_reason.is_empty() {
        out!("\n{:<24} {:>13} {:>7}", "reason", "conversations", "rate");
        for r in &report.by_reason {
            out!("  {:<22} {:>13} {:>7}", r.name, r.conversations, percent(r.rate));
        }
    }
    print_groups("rule", &report.by_rule);
    print_groups("queue", &report.by_queue);
    print_groups("routed to", &report.by_channel);
    print_groups("customer channel", &report.by_customer_channel);
    let r = &report.resolution;
    out!(
        "\npost-handoff: {} resolved, {} unresolved, {} abandoned, {} pending; wait for a person: median {}, p90 {}; abandoned after a median {}",
        r.resolved,
        r.unresolved,
        r.abandoned,
        r.pending,
        duration(r.median_wait_s),
        duration(r.p90_wait_s),
        duration(r.median_abandon_s)
    );
    for q in report.by_queue.iter().filter(|q| !q.promises.is_empty()) {
        let promises: Vec<String> =
            q.promises.iter().map(|p| format!("{} ({})", p.promise, p.count)).collect();
        out!("  promised by {}: {}", q.name, promises.join("; "));
    }
    out!("\nsilent failures: {}", report.silent_failures.len());
    for f in report.silent_failures.iter().take(args.show) {
        out!(
            "  {} (seq {}, {}): {}, then {}; near miss: {}",
            f.conversation,
            f.first_seq,
            f.started.format("%Y-%m-%d %H:%M"),
            f.shaky,
            f.ending,
            f.near_miss
        );
        for m in &f.last_messages {
            out!("      > {m}");
        }
    }
    if report.silent_failures.len() > args.show {
        out!(
            "  ... and {} more (`--json` or `--html` lists them all)",
            report.silent_failures.len() - args.show
        );
    }
    out!("\nover-eager rules: {}", report.over_eager.len());
    for o in &report.over_eager {
        out!(
            "  {}: {} of {} resolved escalations took at most one agent reply ({})",
            o.rule,
            o.one_reply,
            o.resolved,
            percent(o.share)
        );
    }
    if report.erased > 0 || report.unknown_kinds > 0 {
        out!(
            "\nskipped: {} decisions of an older log whose payload was erased, {} records of kinds this version does not know",
            report.erased,
            report.unknown_kinds
        );
    }
}
