//! The command-line interface: one file per subcommand, each with its `Args` (whose `///` docs are its
//! `--help`) and a `run` that returns an [`Exit`] code. Results go to stdout, diagnostics to stderr.

use clap::{Parser, Subcommand};

pub mod audit;

/// handrail: decide when a chatbot must hand a conversation to a person, and prove it.
///
/// Policies are `.policy` files written in handrail's policy language. Every subcommand documents its exit
/// codes in its `--help`; they share the meanings of `Exit`.
#[derive(Debug, Parser)]
#[command(name = "handrail", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Which subcommand to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Work with the tamper-evident audit log: keygen, verify, prove, check-proof, show, erase, purge.
    Audit(audit::Args),
}

/// Process exit codes shared by every subcommand.
///
/// | code | meaning |
/// |---|---|
/// | 0 | success: the policy is valid, every test passed, the log verified |
/// | 1 | the thing checked failed: policy errors, a failing test, `fmt --check` differences, audit problems, a malformed event |
/// | 2 | usage error: unknown flag or missing argument (also clap's own code) |
/// | 3 | an input or output file could not be read or written |
/// | 4 | internal error: a bug in handrail; please report it |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// Success.
    Ok = 0,
    /// What was checked did not pass.
    Failed = 1,
    /// The command line was wrong.
    Usage = 2,
    /// A file could not be read or written.
    Io = 3,
    /// A bug in handrail.
    Internal = 4,
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit as u8)
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Exit {
    match cli.command {
        Command::Audit(args) => audit::run(args),
    }
}
