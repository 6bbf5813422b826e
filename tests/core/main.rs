//! handrail's integration tests: one binary, data-driven where it can be.
//!
//! - `diagnostics`: every file under `tests/cases/{syntax,compile}/err` and `tests/cases/lint` is compiled and its
//!   rendered diagnostics compared with an `insta` snapshot in `tests/cases/snapshots`.
//! - `shipped`: every `.policy` the project ships or uses as a valid case checks clean and survives `fmt`.
//! - `decisions`: the TOML cases under `tests/cases/eval`, in the format users write for `handrail test`.
//! - `cli`: the binary itself, through a tiny builder.
//! - `docs`: every command and whole policy the README and the docs show.
//! - `properties`: no input makes the parser, compiler or evaluator panic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod cli;
#[path = "../support/clock.rs"]
mod clock;
mod conversations;
mod decisions;
mod diagnostics;
mod docs;
mod pipes;
mod properties;
mod review;
mod shipped;
mod streams;

use std::path::{Path, PathBuf};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every file under `dir` (relative to the root) whose name ends with `ext`, sorted, as paths relative to the root.
pub fn files(dir: &str, ext: &str) -> Vec<PathBuf> {
    fn walk(base: &Path, dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(base.join(dir)) else {
            return;
        };
        for entry in entries.flatten() {
            let rel = dir.join(entry.file_name());
            if entry.path().is_dir() {
                walk(base, &rel, ext, out);
            } else if rel.to_string_lossy().ends_with(ext) {
                out.push(rel);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root(), Path::new(dir), ext, &mut out);
    out.sort();
    out
}
