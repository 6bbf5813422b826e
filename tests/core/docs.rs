//! Everything the README and the docs show is run (STYLE rule 9): every `sh` block's commands, in a scratch
//! folder that sees the repository's `examples/`, `policies/`, `audit/` and `docs/`, with the built `handrail` on
//! the `PATH`; and every `policy` block, which must be a whole policy that `handrail check` accepts (a block
//! that is only a piece of one is marked `policy-fragment`). `cargo` lines are the reader's own build and test
//! steps (this test runs inside them) and are not run, nor is a block left with no `handrail` command.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::root;

/// A fenced block: the file, the line its body starts on, its info string and its body.
struct Block {
    file: PathBuf,
    line: usize,
    info: String,
    body: String,
}

/// The documents whose commands a reader copies.
fn documents() -> Vec<PathBuf> {
    let mut docs = vec![PathBuf::from("README.md")];
    docs.extend(crate::files("docs", ".md"));
    docs.extend(crate::files("examples", "README.md"));
    docs
}

fn blocks(file: &Path) -> Vec<Block> {
    let text = std::fs::read_to_string(root().join(file)).unwrap();
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in text.lines().enumerate() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(info)) => {
                open = Some(Block {
                    file: file.into(),
                    line: i + 2,
                    info: info.trim().into(),
                    body: String::new(),
                })
            }
            (Some(_), Some(_)) => out.extend(open.take()),
            (Some(block), None) => {
                block.body.push_str(line);
                block.body.push('\n');
            }
            (None, None) => {}
        }
    }
    out
}

/// The commands of an `sh` block to run: continuation lines joined, trailing comments dropped, `cargo` lines
/// left out.
fn commands(body: &str) -> Vec<String> {
    let joined = body.replace("\\\n", " ");
    joined
        .lines()
        .map(|l| match l.find("  #") {
            Some(at) => l[..at].trim(),
            None => l.trim(),
        })
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter(|l| !l.starts_with("cargo ") && !l.contains(" cargo "))
        .map(str::to_string)
        .collect()
}

/// Runs the commands of every `sh` block that does (`shared`) or does not refer to the shared corpora.
fn run_sh_blocks(shared: Option<&str>) -> usize {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_handrail"));
    let path = format!("{}:{}", bin.parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
    let mut ran = 0;
    for doc in documents() {
        for block in blocks(&doc).into_iter().filter(|b| b.info == "sh") {
            if block.body.contains("../shared") != shared.is_some() {
                continue;
            }
            let mut script = commands(&block.body).join("\n");
            // A block of build steps only (`cd fuzz`, then `cargo fuzz ...`) has nothing of handrail's to run.
            if !script.lines().any(|l| l.starts_with("handrail ") || l.contains(" handrail ")) {
                continue;
            }
            if let Some(dir) = shared {
                script = script.replace("../shared", dir);
            }
            let scratch = tempfile::tempdir().unwrap();
            for dir in ["examples", "policies", "audit", "docs"] {
                std::os::unix::fs::symlink(root().join(dir), scratch.path().join(dir)).unwrap();
            }
            let out = Command::new("sh")
                .args(["-ec", &script])
                .current_dir(scratch.path())
                .env("PATH", &path)
                .env("NO_COLOR", "1")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}:{}: the block failed:\n{script}\n--- stdout\n{}\n--- stderr\n{}",
                block.file.display(),
                block.line,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            ran += 1;
        }
    }
    ran
}

#[test]
fn every_shell_block_in_the_docs_runs() {
    let ran = run_sh_blocks(None);
    assert!(ran >= 4, "only {ran} blocks ran");
}

#[test]
#[cfg_attr(not(handrail_shared), ignore = "needs the shared corpora (HANDRAIL_SHARED)")]
fn every_shell_block_that_reads_the_shared_corpora_runs() {
    let shared = std::env::var("HANDRAIL_SHARED").expect("HANDRAIL_SHARED names the shared corpora");
    let shared = std::fs::canonicalize(&shared).unwrap();
    let ran = run_sh_blocks(Some(shared.to_str().unwrap()));
    assert!(ran >= 1, "no block read the shared corpora");
}

#[test]
fn every_policy_block_in_the_docs_is_a_policy_that_checks() {
    let mut checked = 0;
    for doc in documents() {
        for block in blocks(&doc).into_iter().filter(|b| b.info == "policy") {
            let scratch = tempfile::tempdir().unwrap();
            let file = scratch.path().join("block.policy");
            std::fs::write(&file, &block.body).unwrap();
            let run = crate::cli::handrail(&["check", "--error-format", "plain", file.to_str().unwrap()], "");
            assert_eq!(run.code, 0, "{}:{}: {}", block.file.display(), block.line, run.stderr);
            checked += 1;
        }
    }
    assert!(checked >= 1, "the README's language tour is a `policy` block");
}
