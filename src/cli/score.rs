//! `handrail score`: under construction.

use super::Exit;

/// Measure a policy on labelled messages: per-trigger precision, recall and F1.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `handrail score`.
pub fn run(_args: Args) -> Exit {
    eprintln!("error: `handrail score` is not built yet");
    Exit::Internal
}
