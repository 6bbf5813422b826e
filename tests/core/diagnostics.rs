//! Snapshots of every rendered diagnostic: the error messages are the product's face.

use handrail::compile::{Options, compile_source};
use handrail::diagnostic::{ErrorFormat, Severity};

use crate::{files, root};

/// Compiles a case and renders its diagnostics in the human and plain formats.
fn render(rel: &std::path::Path) -> (String, usize, usize) {
    let text = std::fs::read_to_string(root().join(rel)).unwrap();
    let name = rel.to_string_lossy().replace('\\', "/");
    // The cases extend `tests/cases/packs/floor.policy`, not a shipped pack, so their snapshots do not change
    // whenever a shipped pack does.
    let options =
        Options { pack_dirs: vec![std::path::PathBuf::from("tests/cases/packs")], ..Options::default() };
    let output = compile_source(&name, &text, &options);
    let mut rendered = String::new();
    for format in [ErrorFormat::Plain, ErrorFormat::Human] {
        for d in &output.diagnostics {
            rendered.push_str(&d.render(&output.sources, format));
        }
        rendered.push_str("----\n");
    }
    let errors = output.diagnostics.iter().filter(|d| d.severity == Severity::Error).count();
    let warnings = output.diagnostics.len() - errors;
    (rendered, errors, warnings)
}

fn snapshot(rel: &std::path::Path, rendered: &str) {
    let name = rel.file_stem().unwrap().to_string_lossy().to_string();
    let stage = rel.parent().unwrap().to_string_lossy().replace(['/', '\\'], "_").replace("tests_cases_", "");
    insta::with_settings!({
        snapshot_path => root().join("tests/cases/snapshots"),
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!(format!("{stage}__{name}"), rendered);
    });
}

#[test]
fn every_error_case_reports_errors_that_match_their_snapshot() {
    let cases: Vec<_> = files("tests/cases/syntax/err", ".policy")
        .into_iter()
        .chain(files("tests/cases/compile/err", ".policy"))
        .collect();
    assert!(cases.len() >= 15, "expected the error cases, found {}", cases.len());
    for case in cases {
        let (rendered, errors, _) = render(&case);
        assert!(errors > 0, "{} should not compile", case.display());
        snapshot(&case, &rendered);
    }
}

#[test]
fn every_lint_case_warns_without_errors() {
    let cases = files("tests/cases/lint", ".policy");
    assert!(!cases.is_empty());
    for case in cases {
        let (rendered, errors, warnings) = render(&case);
        assert_eq!(errors, 0, "{} should compile:\n{rendered}", case.display());
        assert!(warnings > 0, "{} should warn", case.display());
        snapshot(&case, &rendered);
    }
}

#[test]
fn json_diagnostics_name_file_line_and_column() {
    let case = std::path::Path::new("tests/cases/compile/err/unknown_phrase_set.policy");
    let text = std::fs::read_to_string(root().join(case)).unwrap();
    let output = compile_source("unknown_phrase_set.policy", &text, &Options::default());
    let error = output.diagnostics.iter().find(|d| d.severity == Severity::Error).unwrap();
    let json = error.json(&output.sources);
    assert_eq!(json["code"], "compile::unknown-phrase-set");
    assert_eq!(json["location"]["file"], "unknown_phrase_set.policy");
    assert_eq!(json["location"]["line"], 11);
    assert_eq!(json["location"]["column"], 27);
    assert_eq!(json["help"], "did you mean `human_request`?");
}

#[test]
fn limits_are_named_errors() {
    let huge = format!("policy p {{ version \"1\" }}\n#{}\n", "x".repeat(handrail::syntax::MAX_SOURCE_BYTES));
    let output = compile_source("huge.policy", &huge, &Options::default());
    assert_eq!(output.diagnostics[0].code, "syntax::file-too-large");

    let mut many = String::from(
        "policy p {\n  version \"1\"\n  safe_queue q\n}\nqueue q {\n  hours \"24/7\"\n}\nphrases a { \"x\" }\n",
    );
    for i in 0..=handrail::compile::MAX_RULES {
        many.push_str(&format!("@id(\"R{i}\") escalate r{i} {{ when says a }}\n"));
    }
    let output = compile_source("many.policy", &many, &Options::default());
    assert!(output.policy.is_none());
    let limit = output.diagnostics.iter().find(|d| d.code == "compile::limit").expect("a limit error");
    assert!(limit.message.contains("5001 rules, over the limit of 5000"), "{}", limit.message);

    let deep = format!(
        "policy p {{ version \"1\" }}\nphrases a {{ \"x\" }}\nescalate r {{ when {}says a{} }}\n",
        "(".repeat(40),
        ")".repeat(40)
    );
    let output = compile_source("deep.policy", &deep, &Options::default());
    assert_eq!(output.diagnostics[0].code, "syntax::too-deep");
}

/// Every kind of nesting is bounded before pest recurses: 9,000 chained `not`s once overflowed the stack
/// (exit 134). Run on a thread with a small stack, so a regression fails here rather than passing on a big one.
#[test]
fn nesting_of_every_kind_is_refused_before_it_can_overflow_the_stack() {
    let head = "policy p { version \"1\" safe_queue q }\nqueue q { hours \"24/7\" }\nphrases a { \"x\" }\n";
    let cases = [
        format!("escalate r {{ when {}says a }}", "not ".repeat(9_000)),
        format!("escalate r {{ when {}says a{} }}", "(".repeat(9_000), ")".repeat(9_000)),
        format!("escalate r {{ when intent in {}\"x\"{} }}", "[".repeat(9_000), "]".repeat(9_000)),
        format!("escalate r {{ when {}says a{} }}", "not (".repeat(4_500), ")".repeat(4_500)),
    ];
    let at_limit = [
        format!("escalate r {{ when {}says a }}", "not ".repeat(handrail::syntax::MAX_CONDITION_DEPTH)),
        // `not`s that negate separate tests do not nest.
        format!("escalate r {{ when {} }}", vec!["not says a"; 100].join(" and ")),
    ];
    let run = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            for body in cases {
                let output = compile_source("deep.policy", &format!("{head}{body}\n"), &Options::default());
                assert_eq!(output.diagnostics[0].code, "syntax::too-deep", "{}", &body[..40]);
                assert!(output.diagnostics[0].message.contains("nested more than 32 deep"));
            }
            for body in at_limit {
                let output = compile_source("ok.policy", &format!("{head}{body}\n"), &Options::default());
                assert!(output.policy.is_some(), "{body}: {:?}", output.diagnostics);
            }
        })
        .unwrap();
    run.join().unwrap();
}

/// A diagnostic far along a very long line renders (as plain text, naming the column) instead of panicking in
/// miette's padding, which cannot go past 65,535 columns.
#[test]
fn a_diagnostic_past_column_65536_renders() {
    let source = format!(
        "policy p {{ version \"1\" safe_queue q }}\nqueue q {{ hours \"24/7\" }}\n@id(\"R\") escalate r {{ when {}says nope }}\n",
        " ".repeat(70_000)
    );
    let output = compile_source("wide.policy", &source, &Options::default());
    let d = output.diagnostics.iter().find(|d| d.code == "compile::unknown-phrase-set").unwrap();
    let human = d.render(&output.sources, handrail::diagnostic::ErrorFormat::Human);
    assert!(human.starts_with("wide.policy:3:70033: error[compile::unknown-phrase-set]"), "{}", &human[..80]);
}
