//! Evaluator behaviour, as TOML cases in the same format users write for `handrail test`.

use handrail::cli::PolicyArgs;
use handrail::cli::test::{Report, run_file};
use handrail::diagnostic::ErrorFormat;

use crate::{files, root};

#[test]
fn every_decision_case_passes() {
    let cases = files("tests/cases/eval", ".toml");
    assert!(!cases.is_empty());
    let mut report = Report::default();
    for rel in &cases {
        run_file(&root().join(rel), &PolicyArgs::default(), ErrorFormat::Plain, &mut report)
            .unwrap_or_else(|_| panic!("{} could not be run", rel.display()));
    }
    assert!(report.passed >= 25, "only {} cases ran", report.passed);
    assert!(report.failures.is_empty(), "{} failed:\n{}", report.failures.len(), report.failures.join("\n"));
}
