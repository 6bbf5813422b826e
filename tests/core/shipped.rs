//! Everything shipped is run: every pack, example and valid case policy checks clean, and the formatter keeps the
//! meaning of every policy that parses (`parse(fmt(x)) == parse(x)`) and is idempotent (`fmt(fmt(x)) == fmt(x)`).

use handrail::compile::{Options, compile_file};
use handrail::syntax::{parse, print::print};

use crate::{files, root};

fn all_policies() -> Vec<std::path::PathBuf> {
    ["policies", "examples", "tests/cases"].iter().flat_map(|d| files(d, ".policy")).collect()
}

#[test]
fn shipped_and_valid_policies_check_clean() {
    let clean: Vec<_> =
        ["policies", "examples", "tests/cases/compile/ok"].iter().flat_map(|d| files(d, ".policy")).collect();
    assert!(clean.len() >= 2);
    for rel in clean {
        let output = compile_file(&root().join(&rel), &Options::default()).unwrap();
        let rendered: Vec<String> = output
            .diagnostics
            .iter()
            .map(|d| d.render(&output.sources, handrail::diagnostic::ErrorFormat::Plain))
            .collect();
        assert!(output.diagnostics.is_empty(), "{} has diagnostics:\n{}", rel.display(), rendered.join(""));
        assert!(output.policy.is_some());
    }
}

#[test]
fn formatting_keeps_meaning_and_is_idempotent() {
    let mut formatted_any = 0;
    for rel in all_policies() {
        let source = std::fs::read_to_string(root().join(&rel)).unwrap();
        let Ok(ast) = parse(&source) else { continue };
        let once = print(&ast, &source);
        let reparsed = parse(&once)
            .unwrap_or_else(|e| panic!("{}: formatted text does not parse: {e}\n{once}", rel.display()));
        assert_eq!(ast.items, reparsed.items, "{}: formatting changed the meaning", rel.display());
        assert_eq!(
            ast.comments.len(),
            reparsed.comments.len(),
            "{}: formatting lost a comment",
            rel.display()
        );
        let twice = print(&reparsed, &once);
        assert_eq!(once, twice, "{}: formatting is not idempotent", rel.display());
        formatted_any += 1;
    }
    assert!(formatted_any >= 10, "only {formatted_any} policies were formatted");
}

#[test]
fn shipped_policies_are_formatted() {
    for rel in ["policies", "examples", "tests/cases/compile/ok", "tests/cases/packs"]
        .iter()
        .flat_map(|d| files(d, ".policy"))
    {
        let source = std::fs::read_to_string(root().join(&rel)).unwrap();
        let formatted = print(&parse(&source).unwrap(), &source);
        assert_eq!(
            source,
            formatted,
            "{} is not formatted; run `handrail fmt {}`",
            rel.display(),
            rel.display()
        );
    }
}

#[test]
fn comments_stay_where_they_were_written() {
    let source = "# leading\npolicy p { # after brace\n  version \"1\" # trailing\n  # inside, last\n}\n\n# before set\nphrases a {\n  \"x\" # why x\n  # why y\n  \"y\"\n}\n# at the end\n";
    let out = print(&parse(source).unwrap(), source);
    assert_eq!(out, source);
}
