//! `handrail audit`: under construction.

use super::Exit;

/// Work with the tamper-evident audit log.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `handrail audit`.
pub fn run(_args: Args) -> Exit {
    eprintln!("error: `handrail audit` is not built yet");
    Exit::Internal
}
