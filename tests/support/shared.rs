//! Where the shared corpora are (`../shared`: labelled messages and conformance vectors).
//!
//! Tests that read them carry `#[cfg_attr(not(handrail_shared), ignore = "...")]`: `build.rs` sets
//! `handrail_shared` when `HANDRAIL_SHARED` is set, so without it they show as ignored, never as passed. Run
//! with `--ignored` and no variable, they fail here, naming what is missing.

use std::path::PathBuf;

/// The shared corpora's directory, from `HANDRAIL_SHARED`.
pub fn dir() -> PathBuf {
    match std::env::var_os("HANDRAIL_SHARED") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            assert!(dir.is_dir(), "HANDRAIL_SHARED is {}, which is not a directory", dir.display());
            dir
        }
        _ => panic!("HANDRAIL_SHARED must name the shared corpora (../shared); this test needs them"),
    }
}
