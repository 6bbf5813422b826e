//! Rule packs: where `extends <name>` finds its pack.
//!
//! A pack is found, in order, as `<dir>/<name>.policy` or `<dir>/<name>/<name>.policy` in each directory given
//! with `--packs`, then among the packs built into the binary (the files under `policies/`, embedded at build
//! time so that `handrail` works with no files beside it).

use std::path::{Path, PathBuf};

/// The packs embedded in the binary, by name: `(name, display path, text)`.
pub const BUILTIN: &[(&str, &str, &str)] = &[
    ("common", "policies/common/common.policy", include_str!("../../policies/common/common.policy")),
    (
        "healthcare",
        "policies/healthcare/healthcare.policy",
        include_str!("../../policies/healthcare/healthcare.policy"),
    ),
    ("legal", "policies/legal/legal.policy", include_str!("../../policies/legal/legal.policy")),
    ("finance", "policies/finance/finance.policy", include_str!("../../policies/finance/finance.policy")),
];

/// The name of the pack used when no policy is given.
pub const DEFAULT_PACK: &str = "common";

/// A pack found for `extends`: its display name and text.
#[derive(Debug, Clone)]
pub struct FoundPack {
    /// How the file is named in messages.
    pub name: String,
    /// Its text.
    pub text: String,
}

/// Looks a pack up by name. `Err` carries an I/O problem reading a file that exists.
pub fn find(name: &str, dirs: &[PathBuf]) -> Result<Option<FoundPack>, super::ReadError> {
    find_with(name, &[], dirs)
}

/// Looks a pack up by name among `given` packs (by file stem) first, then as [`find`] does.
pub fn find_with(
    name: &str,
    given: &[crate::diagnostic::Source],
    dirs: &[PathBuf],
) -> Result<Option<FoundPack>, super::ReadError> {
    if let Some(source) =
        given.iter().find(|s| Path::new(&s.name).file_stem().is_some_and(|stem| stem == name))
    {
        return Ok(Some(FoundPack { name: source.name.clone(), text: source.text.clone() }));
    }
    for dir in dirs {
        for candidate in [dir.join(format!("{name}.policy")), dir.join(name).join(format!("{name}.policy"))] {
            if candidate.is_file() {
                return read(&candidate).map(Some);
            }
        }
    }
    Ok(BUILTIN
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, path, text)| FoundPack { name: format!("<builtin>/{path}"), text: text.to_string() }))
}

/// Every pack name that `find` could return, for "did you mean".
pub fn known_names(dirs: &[PathBuf]) -> Vec<String> {
    let mut names: Vec<String> = BUILTIN.iter().map(|(n, _, _)| n.to_string()).collect();
    for dir in dirs {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                let stem = path.file_stem().and_then(|s| s.to_str()).map(str::to_string);
                if let Some(stem) = stem {
                    names.push(stem);
                }
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

fn read(path: &Path) -> Result<FoundPack, super::ReadError> {
    std::fs::read_to_string(path)
        .map(|text| FoundPack { name: path.display().to_string(), text })
        .map_err(|source| super::ReadError { path: path.to_path_buf(), source })
}
