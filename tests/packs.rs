//! Every shipped rule pack and example is run: each pack's `handrail test` cases (at least 60 per pack, all
//! passing, every rule determining at least one decision), and each example's policy, cases and sample
//! conversations.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;
use std::process::Command;

use handrail::cli::PolicyArgs;
use handrail::cli::test::{Report, run_file};
use handrail::diagnostic::ErrorFormat;

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
                run_file(&path, &PolicyArgs::default(), ErrorFormat::Plain, &mut report).unwrap();
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
        run_file(&dir.join("tests.toml"), &PolicyArgs::default(), ErrorFormat::Plain, &mut report).unwrap();
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
    // Every folder in examples/ is one of these, or the quick start (run by the CLI tests).
    for entry in std::fs::read_dir(root().join("examples")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        assert!(
            examples.contains(&name.as_str()) || name == "quickstart",
            "examples/{name} is not run by a test"
        );
    }
}
