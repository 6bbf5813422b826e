//! `handrail completions` and `handrail man`: shell completions and the man page, generated from the same clap
//! definitions as `--help`, so they never drift from the flags.

use clap::CommandFactory;

use super::{Cli, Exit};

/// Print shell completions for handrail, e.g. `handrail completions bash > /etc/bash_completion.d/handrail`.
///
/// Exit codes: 0 printed, 3 stdout could not be written.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Print the man page (roff), e.g. `handrail man > handrail.1`.
///
/// Exit codes: 0 printed, 3 stdout could not be written.
#[derive(Debug, clap::Args)]
pub struct ManArgs {}

/// Runs `handrail completions`.
pub fn completions(args: CompletionsArgs) -> Exit {
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "handrail", &mut out);
    write(&out)
}

/// Runs `handrail man`.
pub fn man(_: ManArgs) -> Exit {
    let mut out = Vec::new();
    if clap_mangen::Man::new(Cli::command()).render(&mut out).is_err() {
        return Exit::Internal;
    }
    write(&out)
}

fn write(bytes: &[u8]) -> Exit {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => Exit::Ok,
        Err(_) => Exit::Io,
    }
}

/// What `--version` says: the version, the build (target and profile), and the content hash of each built-in
/// pack, the hash a decision made by that pack names in its `policy.hash`.
pub fn long_version() -> String {
    let mut text = format!(
        "{} ({}, {} build)\nbuilt-in packs:",
        env!("CARGO_PKG_VERSION"),
        env!("HANDRAIL_TARGET"),
        env!("HANDRAIL_PROFILE")
    );
    for (name, path, source) in handrail::compile::packs::BUILTIN {
        let output = handrail::compile::compile_source(
            &format!("<builtin>/{path}"),
            source,
            &handrail::compile::Options::default(),
        );
        let hash = output.policy.map_or_else(|| "does not compile".to_string(), |p| p.hash);
        text.push_str(&format!("\n  {name:<11} {hash}"));
    }
    text
}
