//! Stage 2, `compile`: AST in, [`Policy`] out.
//!
//! Takes the parsed local policy, loads the packs it `extends` (see [`packs`]), merges them base first under the
//! `@locked` rules, resolves every name, checks every type and builds one phrase automaton over every phrase
//! set. Every problem is reported, not only the first; lints are warnings and never stop compilation.
//!
//! Hands on: a [`Policy`] that `eval` runs and cannot fail on, plus [`Diagnostic`]s for `check` to render.

mod build;
mod conditions;
mod error;
mod lint;
mod load;
mod lower;
mod merge;
pub mod packs;
mod phrases;
pub mod policy;
mod queues;

use std::path::{Path, PathBuf};

pub use error::{CompileError, CompileErrorKind};
pub use policy::Policy;

use crate::diagnostic::{Diagnostic, Severity, Source, Sources};

/// The most rules a policy (with its packs) may have.
pub const MAX_RULES: usize = 5_000;
/// The most phrase sets a policy may have.
pub const MAX_PHRASE_SETS: usize = 5_000;
/// The most phrases a policy may have, over all sets.
pub const MAX_PHRASES: usize = 250_000;
/// The longest `extends` chain.
pub const MAX_EXTENDS_DEPTH: usize = 8;

/// How to compile.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Directories searched for packs before the built-in ones.
    pub pack_dirs: Vec<PathBuf>,
    /// Packs given as text, found by their file's stem (`policies/legal/legal.policy` is `legal`) before any
    /// directory: how a policy recorded in an audit log is compiled again ([`compile_sources`]).
    pub packs: Vec<Source>,
}

/// The result of compiling: the policy when there was no error, every diagnostic, and the sources they refer to.
#[derive(Debug)]
pub struct Output {
    /// The policy, when there was no error.
    pub policy: Option<Policy>,
    /// Errors and warnings, in the order found.
    pub diagnostics: Vec<Diagnostic>,
    /// The files compiled: the local one first, then its packs.
    pub sources: Sources,
}

impl Output {
    /// The number of errors.
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.severity == Severity::Error).count()
    }

    /// The number of warnings.
    pub fn warnings(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.severity == Severity::Warning).count()
    }
}

/// Compiles a policy given as text, named `name` in messages.
pub fn compile_source(name: &str, text: &str, options: &Options) -> Output {
    let mut sources = Sources::default();
    let root = sources.add(name, text);
    // One sink for the stage: loading, merging, lowering and the lints all report into it.
    let mut problems = build::Builder { problems: Vec::new() };
    let policy = load::load_chain(&mut sources, root, options, &mut problems)
        .and_then(|layers| problems.build(&layers, &sources));
    let mut diagnostics: Vec<Diagnostic> =
        problems.problems.iter().map(CompileError::to_diagnostic).collect();
    // Reported in reading order: by file (the local one first), then by position.
    diagnostics.sort_by_key(|d| (d.location.source, d.location.span.start));
    Output { policy, diagnostics, sources }
}

/// The measured lint for phrases too generic to stand alone: each phrase of the local policy that fires on more
/// than `max_share` (0 to 1) of `negatives`, messages that need no person, as a warning.
pub fn generic_phrases(policy: &Policy, negatives: &[String], max_share: f64) -> Vec<Diagnostic> {
    lint::measured_generic(policy, negatives, max_share).iter().map(CompileError::to_diagnostic).collect()
}

/// A policy file that could not be read (problems in a file that was read are [`Output::diagnostics`]).
#[derive(Debug, thiserror::Error)]
#[error("cannot read `{}`: {source}", path.display())]
pub struct ReadError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    #[source]
    pub source: std::io::Error,
}

/// Compiles a policy file.
pub fn compile_file(path: &Path, options: &Options) -> Result<Output, ReadError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| ReadError { path: path.to_path_buf(), source })?;
    let mut options = options.clone();
    // A pack beside the policy (or in a `policies/` folder above it) is found without `--packs`.
    if let Some(dir) = path.parent() {
        options.pack_dirs.push(dir.to_path_buf());
    }
    Ok(compile_source(&path.display().to_string(), &text, &options))
}

/// Compiles a policy from the sources it was compiled from before ([`Policy::sources`], packs first, the local
/// file last), finding its packs among them only, never on disk or among the built-in packs: the same sources
/// give the same policy, with the same hash, whatever this build ships.
pub fn compile_sources(sources: &[Source]) -> Output {
    let Some((local, packs)) = sources.split_last() else {
        return compile_source("<no sources>", "", &Options::default());
    };
    let options = Options { pack_dirs: Vec::new(), packs: packs.to_vec() };
    compile_source(&local.name, &local.text, &options)
}

/// Compiles the built-in default policy (the `common` pack).
pub fn builtin_default() -> Output {
    let (_, path, text) =
        packs::BUILTIN.iter().find(|(n, _, _)| *n == packs::DEFAULT_PACK).copied().unwrap_or(("", "", ""));
    compile_source(&format!("<builtin>/{path}"), text, &Options::default())
}
