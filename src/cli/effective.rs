//! `handrail effective`: the policy that is really in force once every pack it extends is merged in.

use std::path::PathBuf;

use serde_json::json;

use super::{Exit, Format, PackArgs};
use handrail::compile::Policy;
use handrail::compile::policy::Target;
use handrail::compile::policy::{PeriodUnit, ShowMode};
use handrail::diagnostic::{ErrorFormat, Sources};
use handrail::syntax::ast::ItemKind;

/// Show the effective policy: what a policy that extends packs really contains once they are merged.
///
/// Lists every queue (its hours, channel and after-hours promise, and the file that defines it: a queue left as
/// a pack wrote it promises what the pack promised), every rule in precedence order (the first that matches
/// decides) with its route, rank, `@locked` floor and where it is defined, the fallback, retention classes and
/// disclaimers. `--format json` gives the same as one JSON object.
///
/// Exit codes: 0 shown, 1 the policy has errors (they are printed instead), 3 a file could not be read.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The policy file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// `text` (for reading) or `json` (for tools).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Where to find packs named by `extends`.
    #[command(flatten)]
    pub packs: PackArgs,
}

/// Runs `handrail effective`.
pub fn run(args: Args) -> Exit {
    let output = match handrail::compile::compile_file(&args.file, &args.packs.options()) {
        Ok(output) => output,
        Err(why) => {
            eprintln!("error: {why}");
            return Exit::Io;
        }
    };
    let Some(policy) = &output.policy else {
        super::print_diagnostics(&output, ErrorFormat::Human);
        return Exit::Failed;
    };
    let view = effective(policy, &output.sources);
    match args.format {
        Format::Json => out!("{view}"),
        Format::Text => out_raw!("{}", text(&view)),
    }
    Exit::Ok
}

/// Where each queue is defined, `file:line`: the first source (the local file, then the packs in `extends`
/// order) that defines it, which is the definition the merge keeps.
fn queue_origins(sources: &Sources) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = Vec::new();
    for source in &sources.files {
        let Ok(file) = handrail::syntax::parse(&source.text) else { continue };
        for item in &file.items {
            if let ItemKind::Queue(q) = &item.kind
                && !found.iter().any(|(name, _)| *name == q.name.text)
            {
                let (line, _) = handrail::diagnostic::line_col(&source.text, q.name.span.start);
                found.push((q.name.text.clone(), format!("{}:{line}", source.name)));
            }
        }
    }
    found
}

fn target(t: Option<&Target>, safe_queue: &str) -> String {
    match t {
        Some(Target::Queue(q)) => q.clone(),
        Some(Target::Skill(s)) => format!("skill {s}"),
        None => format!("{safe_queue} (the safe queue)"),
    }
}

/// The effective policy as JSON, the one shape both formats print.
fn effective(policy: &Policy, sources: &Sources) -> serde_json::Value {
    let origins = queue_origins(sources);
    let queues: Vec<serde_json::Value> = policy
        .queues
        .iter()
        .map(|q| {
            let from = origins.iter().find(|(n, _)| *n == q.name).map(|(_, at)| at.as_str()).unwrap_or("");
            json!({
                "name": q.name,
                "defined_at": from,
                "timezone": q.schedule.timezone().name(),
                "hours": q.schedule.written_hours().unwrap_or("24/7"),
                "closed": q.schedule.written_closures(),
                "channel": q.channel,
                "wait": q.wait,
                "after_hours": q.after_hours.as_ref().map(|(c, t)| json!({"channel": c, "promise": t})),
                "follow_up_minutes": q.follow_up_minutes,
                "skill": q.skill,
                "phone": q.phone,
            })
        })
        .collect();
    let rules: Vec<serde_json::Value> = policy
        .rules
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "tier": r.tier.keyword(),
                "reason": r.reason.as_str(),
                "rank": r.rank,
                "locked": r.locked,
                "route": target(r.route.as_ref(), &policy.safe_queue),
                "priority": r.priority.as_str(),
                "defined_at": r.defined_at,
                "cite": r.cite,
            })
        })
        .collect();
    let fb = &policy.fallback;
    let unit = |u: PeriodUnit| match u {
        PeriodUnit::Days => "days",
        PeriodUnit::Months => "months",
        PeriodUnit::Years => "years",
    };
    let retention: Vec<serde_json::Value> = policy
        .retention
        .iter()
        .map(|r| {
            json!({"class": r.class, "keep": format!("{} {}", r.keep.0, unit(r.keep.1)), "redact": r.redact,
                   "legal_hold": r.legal_hold, "cite": r.cite})
        })
        .collect();
    let disclaimers: Vec<serde_json::Value> = policy
        .disclaimers
        .iter()
        .map(|d| {
            let show = match d.show {
                ShowMode::Once => "once",
                ShowMode::Always => "always",
                ShowMode::FirstMessage => "first_message",
            };
            json!({"name": d.name, "show": show, "text": d.text})
        })
        .collect();
    json!({
        "policy": {"id": policy.id, "title": policy.title, "version": policy.version, "hash": policy.hash,
                   "timezone": policy.timezone.name(), "safe_queue": policy.safe_queue, "files": policy.files},
        "queues": queues,
        "rules": rules,
        "locked": policy.rules.iter().filter(|r| r.locked).map(|r| r.id.clone()).collect::<Vec<_>>(),
        "fallback": {"confidence_below": fb.weak_below, "handoff_below": fb.handoff_below, "strikes": fb.strikes,
                     "frustration_above": fb.frustration_above, "rephrase_above": fb.rephrase_above,
                     "route": target(fb.route.as_ref(), &policy.safe_queue), "priority": fb.priority.as_str()},
        "retention": retention,
        "disclaimers": disclaimers,
    })
}

/// A member of a JSON object, `null` when absent (indexing would do the same, but the crate denies indexing).
fn at<'a>(v: &'a serde_json::Value, key: &str) -> &'a serde_json::Value {
    static NULL: serde_json::Value = serde_json::Value::Null;
    v.get(key).unwrap_or(&NULL)
}

/// The text format: one section per kind, one line per item.
fn text(v: &serde_json::Value) -> String {
    use std::fmt::Write as _;
    let s = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "-".into(),
        other => other.to_string(),
    };
    let list = |v: &serde_json::Value| v.as_array().cloned().unwrap_or_default();
    let p = at(v, "policy");
    let mut out = String::new();
    let _ = writeln!(
        out,
        "policy {} version {} (hash {})",
        s(at(p, "id")),
        s(at(p, "version")),
        s(at(p, "hash"))
    );
    let _ = writeln!(out, "  timezone {}, safe queue {}", s(at(p, "timezone")), s(at(p, "safe_queue")));
    let files: Vec<String> = list(at(p, "files")).iter().map(s).collect();
    let _ = writeln!(out, "  files {}", files.join(", "));
    let _ = writeln!(out, "\nqueues");
    for q in list(at(v, "queues")) {
        let after = match at(&q, "after_hours") {
            serde_json::Value::Null => "-".to_string(),
            a => format!("{} \"{}\"", s(at(a, "channel")), s(at(a, "promise"))),
        };
        let _ = writeln!(
            out,
            "  {:<20} hours {} ({}), channel {}, wait {}, after hours {}, skill {}\n  {:<20} defined at {}",
            s(at(&q, "name")),
            s(at(&q, "hours")),
            s(at(&q, "timezone")),
            s(at(&q, "channel")),
            s(at(&q, "wait")),
            after,
            s(at(&q, "skill")),
            "",
            s(at(&q, "defined_at")),
        );
    }
    let _ = writeln!(out, "\nrules, in precedence order (the first that matches decides)");
    for r in list(at(v, "rules")) {
        let locked = if *at(&r, "locked") == true { " @locked" } else { "" };
        let _ = writeln!(
            out,
            "  {:<10} {:<28} rank {:<4} route {} priority {}{locked}  ({})",
            s(at(&r, "tier")),
            s(at(&r, "id")),
            s(at(&r, "rank")),
            s(at(&r, "route")),
            s(at(&r, "priority")),
            s(at(&r, "defined_at")),
        );
    }
    let locked: Vec<String> = list(at(v, "locked")).iter().map(s).collect();
    let _ =
        writeln!(out, "\nlocked (a floor no extending policy may remove or weaken): {}", locked.join(", "));
    let f = at(v, "fallback");
    let _ = writeln!(
        out,
        "\nfallback: confidence below {}, handoff below {}, strikes {}, frustration above {}, rephrase above {}, route {} priority {}",
        s(at(f, "confidence_below")),
        s(at(f, "handoff_below")),
        s(at(f, "strikes")),
        s(at(f, "frustration_above")),
        s(at(f, "rephrase_above")),
        s(at(f, "route")),
        s(at(f, "priority")),
    );
    let _ = writeln!(out, "\nretention");
    for r in list(at(v, "retention")) {
        let redact: Vec<String> = list(at(&r, "redact")).iter().map(s).collect();
        let hold = if *at(&r, "legal_hold") == true { ", legal hold" } else { "" };
        let _ = writeln!(
            out,
            "  {:<28} keep {}, redact {}{hold}",
            s(at(&r, "class")),
            s(at(&r, "keep")),
            redact.join(", ")
        );
    }
    let _ = writeln!(out, "\ndisclaimers");
    for d in list(at(v, "disclaimers")) {
        let _ = writeln!(out, "  {:<28} show {}", s(at(&d, "name")), s(at(&d, "show")));
    }
    out
}
