//! Every shipped rule pack and example is run: each pack's `handrail test` cases (at least 60 per pack, all
//! passing, every rule determining at least one decision), and each example's policy, cases and sample
//! conversations.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;
use std::process::Command;

use handrail::cases::{Report, RunOptions, run_file};

#[path = "support/clock.rs"]
mod clock;
use clock::now;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_pack_passes_its_cases_and_covers_every_rule() {
    for pack in ["common", "healthcare", "legal", "finance"] {
        let mut report = Report::default();
        let dir = root().join("policies").join(pack).join("tests");
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            // The cases are TOML; the folder also holds the written emergency messages (scored below).
            if path.extension().is_some_and(|e| e == "toml") {
                run_file(&path, &RunOptions::default(), &mut report).unwrap();
            }
        }
        assert!(report.failures.is_empty(), "{pack}: {}", report.failures.join("\n"));
        assert!(report.passed >= 60, "{pack} has only {} cases", report.passed);
        let coverage = report.coverage.values().next().unwrap();
        let never: Vec<&String> = coverage.rules.iter().filter(|(_, n)| **n == 0).map(|(id, _)| id).collect();
        assert!(never.is_empty(), "{pack}: rules never tested: {never:?}");
        println!("{pack}: {} cases passed, {} rules covered", report.passed, coverage.rules.len());
    }
}

#[test]
fn every_example_checks_passes_its_cases_and_decides_its_conversations() {
    let examples = ["clinic", "law-firm", "bank"];
    for example in examples {
        let dir = root().join("examples").join(example);
        let policy = dir.join(format!("{example}.policy"));
        let mut report = Report::default();
        run_file(&dir.join("tests.toml"), &RunOptions::default(), &mut report).unwrap();
        assert!(report.failures.is_empty(), "{example}: {}", report.failures.join("\n"));
        assert!(report.passed >= 3);

        let out = Command::new(env!("CARGO_BIN_EXE_handrail"))
            .args([
                "eval",
                "--policy",
                policy.to_str().unwrap(),
                dir.join("conversation.jsonl").to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{example}: {}", String::from_utf8_lossy(&out.stderr));
        let decisions: Vec<serde_json::Value> =
            String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert!(decisions.len() >= 5, "{example}");
        let actions: Vec<&str> = decisions.iter().map(|d| d["action"].as_str().unwrap()).collect();
        for expected in ["answer", "emergency", "capture"] {
            assert!(actions.contains(&expected), "{example}: no `{expected}` among {actions:?}");
        }
        assert!(decisions.iter().all(|d| d["policy"]["id"] != "common"), "{example} runs its own policy");
    }
    // Every folder in examples/ is one of these, the quick start (run by the CLI tests) the HTTP clients (run
    // by tests/serve/clients.rs) or the review loop's shop (run by `tests/core/review.rs`).
    for entry in std::fs::read_dir(root().join("examples")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        assert!(
            examples.contains(&name.as_str()) || name == "quickstart" || name == "serve" || name == "review",
            "examples/{name} is not run by a test"
        );
    }
}

/// The written emergency messages of each pack (`policies/<pack>/tests/emergencies.csv`, sources named in the
/// file and in EMERGENCIES.md beside it): the share of emergency rows that get the emergency response, and the
/// share of near misses that get it wrongly, on the tuning folds (whose misses the pack authors read) and the
/// checking fold (1/5 by `handrail score --fold`, never read), by language. The issue "generalise" asks for 97%
/// and 3% overall; the test prints whether that is met, and fails below the floor each pack holds today.
#[test]
fn written_emergencies_reach_the_emergency_response_and_near_misses_do_not() {
    const TARGET_RECALL: f64 = 0.97;
    const TARGET_FALSE_ALARMS: f64 = 0.03;
    // (pack, least recall, most false alarms), over all rows of the file.
    const FLOORS: [(&str, f64, f64); 4] = [
        ("common", 0.92, 0.01),
        ("healthcare", 0.95, 0.025),
        ("legal", 0.965, 0.015),
        ("finance", 0.955, 0.01),
    ];
    let mut failures = Vec::new();
    for (pack, least_recall, most_alarms) in FLOORS {
        let dir = root().join("policies").join(pack);
        let output =
            handrail::compile::compile_file(&dir.join(format!("{pack}.policy")), &Default::default())
                .unwrap();
        let policy = output.policy.unwrap();
        let mut reader = csv::Reader::from_path(dir.join("tests/emergencies.csv")).unwrap();
        // (emergency rows, reached, near misses, false alarms) by fold and language, and overall.
        let mut counts: std::collections::BTreeMap<String, [usize; 4]> = Default::default();
        for row in reader.deserialize::<std::collections::HashMap<String, String>>() {
            let row = row.unwrap();
            let event = handrail::eval::Event { text: Some(row["text"].clone()), ..Default::default() };
            let (decision, _) =
                handrail::eval::decide(&policy, &handrail::eval::ConversationState::default(), &event, now());
            let emergency = decision.action == handrail::eval::Action::Emergency;
            let positive = row["mapped_trigger"] != "none";
            let fold = if handrail::fold::Fold::of(&row["text"], 5) == 1 { "checking" } else { "tuning" };
            for key in [format!("{fold} {}", row["lang"]), fold.to_string(), "all".to_string()] {
                let c = counts.entry(key).or_default();
                if positive {
                    c[0] += 1;
                    c[1] += usize::from(emergency);
                } else {
                    c[2] += 1;
                    c[3] += usize::from(emergency);
                }
            }
        }
        let share = |a: usize, b: usize| a as f64 / b.max(1) as f64;
        for (key, [n, hit, near, false_alarms]) in &counts {
            println!(
                "{pack:<10} {key:<12} emergencies reached {:>5.1}% of {n:<4} false alarms {:>4.1}% of {near}",
                share(*hit, *n) * 100.0,
                share(*false_alarms, *near) * 100.0
            );
        }
        let [n, hit, near, false_alarms] = counts["all"];
        let (recall, alarms) = (share(hit, n), share(false_alarms, near));
        let met = recall >= TARGET_RECALL && alarms <= TARGET_FALSE_ALARMS;
        println!("{pack:<10} target 97% / 3%: {}", if met { "met" } else { "NOT met" });
        if recall < least_recall || alarms > most_alarms {
            failures.push(format!(
                "{pack}: recall {:.1}%, false alarms {:.1}%",
                recall * 100.0,
                alarms * 100.0
            ));
        }
        assert!(n >= 150 && near >= 100, "{pack}: too few written cases");
    }
    assert!(failures.is_empty(), "below the floor: {failures:?}");
}
