//! The rule packs measured on labelled messages written by people (`$HANDRAIL_SHARED/data`, dev files only; see
//! docs/accuracy.md). Each figure must stay at or above its target; the test prints the table it checked.
//! Shown as ignored when `HANDRAIL_SHARED` is unset (see `build.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "support/shared.rs"]
mod shared;

use std::path::PathBuf;
use std::process::Command;

const INTENT_SETS: [&str; 5] =
    ["bitext_customer_support", "nlupp", "banking77", "clinc150", "rasa_sara_demo"];
const SAFETY_SETS: [&str; 4] = ["openai_moderation", "do_not_answer", "simple_safety_tests", "xstest"];
const ALL_SETS: [&str; 11] = [
    "bitext_customer_support",
    "nlupp",
    "banking77",
    "clinc150",
    "rasa_sara_demo",
    "openai_moderation",
    "do_not_answer",
    "simple_safety_tests",
    "xstest",
    "goemotions",
    "medquad",
];

fn file(shared: &str, set: &str) -> String {
    PathBuf::from(shared).join("data").join(set).join(format!("{set}.dev.csv")).display().to_string()
}

/// `handrail score --json` with the pack's trigger mapping.
fn score(pack: &str, files: Vec<String>, extra: &[&str]) -> serde_json::Value {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_handrail"))
        .current_dir(&root)
        .args(["score", "--policy", &format!("policies/{pack}/{pack}.policy")])
        .args(["--triggers", &format!("policies/{pack}/triggers.toml"), "--json"])
        .args(extra)
        .args(files)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn recall(score: &serde_json::Value, trigger: &str) -> (f64, u64) {
    let t = &score["triggers"][trigger];
    let (tp, fn_) = (t["true_positives"].as_u64().unwrap(), t["false_negatives"].as_u64().unwrap());
    (tp as f64 / (tp + fn_).max(1) as f64, tp + fn_)
}

#[test]
#[cfg_attr(not(handrail_shared), ignore = "needs the shared corpora: set HANDRAIL_SHARED (see README)")]
fn packs_meet_their_accuracy_targets_on_the_dev_sets() {
    let shared = shared::dir().display().to_string();
    let sets = |names: &[&str]| names.iter().map(|s| file(&shared, s)).collect::<Vec<_>>();
    let mapping = ["--mapping-column", "mapping"];
    let intents = score("common", sets(&INTENT_SETS), &mapping);
    let safety = score("common", sets(&SAFETY_SETS), &mapping);
    let medical = score("healthcare", sets(&["medquad", "do_not_answer"]), &mapping);
    let everything = score("common", sets(&ALL_SETS), &mapping);

    let mut failures = Vec::new();
    let mut check = |what: &str, value: f64, at_least: bool, target: f64, n: u64| {
        let ok = if at_least { value >= target } else { value <= target };
        println!(
            "{what:<52} {:>6.1}%  (target {} {:.0}%, n = {n})",
            value * 100.0,
            if at_least { ">=" } else { "<=" },
            target * 100.0
        );
        if !ok {
            failures.push(format!("{what}: {:.1}%", value * 100.0));
        }
    };
    for (trigger, target) in [
        ("human_request", 0.95),
        ("fraud_security", 0.85),
        ("billing_refund_cancel", 0.85),
        ("complaint", 0.80),
    ] {
        let (r, n) = recall(&intents, trigger);
        check(&format!("common: {trigger} recall"), r, true, target, n);
    }
    let (r, n) = recall(&safety, "emergency_self_harm");
    check("common: emergency_self_harm recall", r, true, 0.95, n);
    let (r, n) = recall(&medical, "regulated_medical");
    check("healthcare: regulated_medical recall", r, true, 0.85, n);
    let negatives = everything["negatives"].as_u64().unwrap();
    let rate = everything["negatives_fired"].as_u64().unwrap() as f64 / negatives as f64;
    check("common: false triggers on `none` rows, all sets", rate, false, 0.03, negatives);
    for pack in ["common", "healthcare", "legal", "finance"] {
        let safe = score(pack, sets(&["xstest"]), &["--filter", "safety_label=safe"]);
        let fired: u64 = safe["triggers"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(name, _)| name.starts_with("emergency"))
            .map(|(_, t)| t["false_positives"].as_u64().unwrap())
            .sum();
        let n = safe["negatives"].as_u64().unwrap();
        check(
            &format!("{pack}: emergencies on xstest safe prompts"),
            fired as f64 / n.max(1) as f64,
            false,
            0.01,
            n,
        );
    }
    assert!(failures.is_empty(), "below target: {failures:?}");
}
