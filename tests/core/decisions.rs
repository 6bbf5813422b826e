//! Evaluator behaviour, as TOML cases in the same format users write for `handrail test`.

use handrail::cases::{Report, RunOptions, run_file};

use crate::{files, root};

use crate::clock::now;

#[test]
fn every_decision_case_passes() {
    let cases = files("tests/cases/eval", ".toml");
    assert!(!cases.is_empty());
    let mut report = Report::default();
    for rel in &cases {
        run_file(&root().join(rel), &RunOptions::default(), &mut report)
            .unwrap_or_else(|_| panic!("{} could not be run", rel.display()));
    }
    assert!(report.passed >= 25, "only {} cases ran", report.passed);
    assert!(report.failures.is_empty(), "{} failed:\n{}", report.failures.len(), report.failures.join("\n"));
}

#[test]
fn matches_report_byte_spans_of_the_original_text() {
    let policy = handrail::compile::builtin_default().policy.unwrap();
    let text = "Hi!! I need a REAL PERSONNN, now";
    let event =
        handrail::eval::Event { text: Some(text.into()), confidence: Some(0.9), ..Default::default() };
    let (d, _) = handrail::eval::decide(&policy, &Default::default(), &event, now());
    let m = &d.rules[0].matches;
    assert!(!m.is_empty());
    for hit in m {
        assert_eq!(&text[hit.start..hit.end], hit.text);
    }
    assert!(m.iter().any(|h| h.text == "REAL PERSONNN"), "{m:?}");
}
