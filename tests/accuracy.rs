//! The rule packs measured on labelled messages written by people (`$HANDRAIL_SHARED/data`, dev files only; see
//! docs/accuracy.md), on two parts of each file kept apart by `handrail score --fold`: the **tuning folds**
//! (`^1/5`, whose misses the pack authors read) and the **checking fold** (`1/5`, whose rows nobody reads). The
//! targets ask every figure to meet its target on both, and, where the checking fold has at least 100 rows, the
//! two to differ by at most 3 points: a larger gap means the phrases fit the rows they were tuned on rather than
//! their meaning. The test prints the table, says which targets are met, and fails when a figure falls below
//! the floor it holds. Shown as ignored when `HANDRAIL_SHARED` is unset (see `build.rs`).

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
const FOLDS: [(&str, &str); 2] = [("tuning", "^1/5"), ("checking", "1/5")];
/// The largest tuning-to-checking gap the targets allow, in points, on figures whose checking fold has
/// this many rows.
const MAX_GAP: f64 = 3.0;
const GAP_MIN_ROWS: u64 = 100;

fn file(shared: &str, set: &str) -> String {
    PathBuf::from(shared).join("data").join(set).join(format!("{set}.dev.csv")).display().to_string()
}

/// `handrail score --json` with the pack's trigger mapping, on one fold.
fn score(pack: &str, files: Vec<String>, fold: &str, extra: &[&str]) -> serde_json::Value {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_handrail"))
        .current_dir(&root)
        .args(["score", "--policy", &format!("policies/{pack}/{pack}.policy")])
        .args(["--triggers", &format!("policies/{pack}/triggers.toml"), "--format", "json", "--fold", fold])
        .args(extra)
        .args(files)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// One measured figure: a share and the rows it is a share of.
type Figure = (f64, u64);

fn recall(score: &serde_json::Value, trigger: &str) -> Figure {
    let t = &score["triggers"][trigger];
    let (tp, fn_) = (t["true_positives"].as_u64().unwrap(), t["false_negatives"].as_u64().unwrap());
    (tp as f64 / (tp + fn_).max(1) as f64, tp + fn_)
}

/// Every figure of one fold, in the order of `TARGETS`.
fn figures(shared: &str, fold: &str) -> Vec<Figure> {
    let sets = |names: &[&str]| names.iter().map(|s| file(shared, s)).collect::<Vec<_>>();
    let mapping = ["--mapping-column", "mapping"];
    let intents = score("common", sets(&INTENT_SETS), fold, &mapping);
    let safety = score("common", sets(&SAFETY_SETS), fold, &mapping);
    let medical = score("healthcare", sets(&["medquad", "do_not_answer"]), fold, &mapping);
    let everything = score("common", sets(&ALL_SETS), fold, &mapping);
    let mut out = vec![
        recall(&intents, "human_request"),
        recall(&intents, "fraud_security"),
        recall(&intents, "billing_refund_cancel"),
        recall(&intents, "complaint"),
        recall(&safety, "emergency_self_harm"),
        recall(&medical, "regulated_medical"),
    ];
    let negatives = everything["negatives"].as_u64().unwrap();
    out.push((everything["negatives_fired"].as_u64().unwrap() as f64 / negatives.max(1) as f64, negatives));
    for pack in ["common", "healthcare", "legal", "finance"] {
        let safe = score(pack, sets(&["xstest"]), fold, &["--filter", "safety_label=safe"]);
        let fired: u64 = safe["triggers"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(name, _)| name.starts_with("emergency"))
            .map(|(_, t)| t["false_positives"].as_u64().unwrap())
            .sum();
        let n = safe["negatives"].as_u64().unwrap();
        out.push((fired as f64 / n.max(1) as f64, n));
    }
    out
}

/// (figure, at least (true) or at most (false), the target issue "generalise" sets, the floor this test holds on
/// both folds). Where the packs do not reach a target yet, the floor is what they reach today, so that no change
/// makes them worse unnoticed; the table says which targets are met (docs/accuracy.md).
const TARGETS: [(&str, bool, f64, f64); 11] = [
    ("common: human_request recall", true, 0.97, 0.90),
    ("common: fraud_security recall", true, 0.90, 0.89),
    ("common: billing_refund_cancel recall", true, 0.90, 0.90),
    ("common: complaint recall", true, 0.85, 0.85),
    ("common: emergency_self_harm recall", true, 0.97, 0.72),
    ("healthcare: regulated_medical recall", true, 0.95, 0.95),
    ("common: false triggers on `none` rows, all sets", false, 0.02, 0.02),
    ("common: emergencies on xstest safe prompts", false, 0.005, 0.005),
    ("healthcare: emergencies on xstest safe prompts", false, 0.005, 0.005),
    ("legal: emergencies on xstest safe prompts", false, 0.005, 0.005),
    ("finance: emergencies on xstest safe prompts", false, 0.005, 0.005),
];

#[test]
#[cfg_attr(not(handrail_shared), ignore = "needs the shared corpora: set HANDRAIL_SHARED (see README)")]
fn packs_hold_their_accuracy_floors_on_tuning_and_checking_folds() {
    let shared = shared::dir().display().to_string();
    let by_fold: Vec<Vec<Figure>> = FOLDS.iter().map(|(_, fold)| figures(&shared, fold)).collect();
    let mut failures = Vec::new();
    let mut unmet = 0;
    println!(
        "{:<48} {:>16} {:>16} {:>6}  {:>12}  {:>8}",
        "figure", "tuning (n)", "checking (n)", "gap", "target", "floor"
    );
    for (i, (what, at_least, target, floor)) in TARGETS.iter().enumerate() {
        let (tune, check) = (by_fold[0][i], by_fold[1][i]);
        let gap = (tune.0 - check.0).abs() * 100.0;
        let sign = if *at_least { ">=" } else { "<=" };
        let meets = |value: f64, bound: f64| if *at_least { value >= bound } else { value <= bound };
        let met =
            meets(tune.0, *target) && meets(check.0, *target) && (check.1 < GAP_MIN_ROWS || gap <= MAX_GAP);
        unmet += usize::from(!met);
        println!(
            "{what:<48} {:>7.1}% ({:>5}) {:>7.1}% ({:>5}) {gap:>5.1}  {sign} {:>5.1}% {:>4}  {sign} {:>4.1}%",
            tune.0 * 100.0,
            tune.1,
            check.0 * 100.0,
            check.1,
            target * 100.0,
            if met { "met" } else { "NOT" },
            floor * 100.0
        );
        for ((name, _), (value, _)) in FOLDS.iter().zip([tune, check]) {
            if !meets(value, *floor) {
                failures.push(format!("{what} on the {name} folds: {:.1}%, below the floor", value * 100.0));
            }
        }
    }
    println!("{unmet} of {} targets not met yet (see docs/accuracy.md)", TARGETS.len());
    assert!(failures.is_empty(), "below target: {failures:#?}");
}
