//! The command-line interface: one file per subcommand, each with its `Args` (whose `///` docs are its
//! `--help`) and a `run` that returns an `Exit` code. Results go to stdout, diagnostics to stderr.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// `println!` for results: a closed stdout (`handrail audit show log | head`) ends the output quietly instead of
/// panicking; the command still finishes and returns its exit code.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// `print!` for results, with the same handling of a closed stdout as [`out!`].
macro_rules! out_raw {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// `eprintln!` for diagnostics, shadowing the standard one in every subcommand (this macro is in textual scope
/// for every module declared below): a closed stderr (`handrail check x.policy 2>&1 | head -1`) must not panic.
/// What cannot be told is dropped; the command still finishes and returns its exit code.
macro_rules! eprintln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

/// `eprint!` with the same handling of a closed stderr as [`eprintln!`].
macro_rules! eprint {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr().lock(), $($arg)*);
    }};
}

use handrail::compile::{Options, Output, Policy};
use handrail::diagnostic::ErrorFormat;

pub mod audit;
pub mod check;
pub mod diff;
pub mod effective;
pub mod eval;
pub mod fmt;
pub mod report;
pub mod score;
#[cfg(feature = "serve")]
pub mod serve;
pub mod shell;
pub mod test;
pub mod whatif;

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

/// The subcommands. Each variant's help is the `///` doc of its `Args` (one place for it), which is why the
/// variants carry no doc comment of their own.
#[derive(Debug, Subcommand)]
#[allow(missing_docs)]
pub enum Command {
    Check(check::Args),
    Effective(effective::Args),
    Fmt(fmt::Args),
    Eval(eval::Args),
    Test(test::Args),
    Score(score::Args),
    #[cfg(feature = "serve")]
    Serve(serve::Args),
    Audit(audit::Args),
    Report(report::Args),
    Whatif(whatif::Args),
    Diff(diff::Args),
    Completions(shell::CompletionsArgs),
    Man(shell::ManArgs),
}

/// Parses the command line. Only when `--version` is asked for are the built-in packs compiled, to name their
/// hashes ([`shell::long_version`]).
pub fn parse() -> Cli {
    use clap::{CommandFactory, FromArgMatches};
    let mut command = Cli::command();
    if std::env::args_os().any(|a| a == "--version" || a == "-V") {
        command = command.version(shell::long_version());
    }
    let matches = command.get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
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
/// | 5 | `audit verify`: no problem, but records after the last signature that nothing vouches for |
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
    /// An audit log sound as far as it is signed, with unsigned records after that.
    Unsigned = 5,
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit as u8)
    }
}

/// Runs `command`, turning a panic (a bug: the crate denies panicking constructs, but a dependency might) into
/// [`Exit::Internal`], so the documented exit code 4 is what a caller sees instead of Rust's 101. The panic's
/// message has already gone to stderr through the standard hook.
pub fn run_guarded(command: impl FnOnce() -> Exit) -> Exit {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(command)) {
        Ok(exit) => exit,
        Err(_) => {
            eprintln!(
                "error: internal error in handrail (this is a bug); please report it with the command and its input"
            );
            Exit::Internal
        }
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Exit {
    match cli.command {
        Command::Check(args) => check::run(args),
        Command::Effective(args) => effective::run(args),
        Command::Fmt(args) => fmt::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Test(args) => test::run(args),
        Command::Score(args) => score::run(args),
        #[cfg(feature = "serve")]
        Command::Serve(args) => serve::run(args),
        Command::Audit(args) => audit::run(args),
        Command::Report(args) => report::run(args),
        Command::Whatif(args) => whatif::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Completions(args) => shell::completions(args),
        Command::Man(args) => shell::man(args),
    }
}

/// Where to find packs, shared by every subcommand that compiles a policy.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PackArgs {
    /// A directory to search for packs named by `extends` (before the built-in packs); may be repeated.
    #[arg(long = "packs", value_name = "DIR")]
    pub pack_dirs: Vec<PathBuf>,
}

impl PackArgs {
    /// The compile options these arguments give.
    pub fn options(&self) -> Options {
        Options { pack_dirs: self.pack_dirs.clone(), ..Options::default() }
    }
}

/// Which policy to load, shared by the subcommands that evaluate one.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PolicyArgs {
    /// The policy file. Without it, the built-in `common` pack is used.
    #[arg(long, short = 'p', value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Where to find packs.
    #[command(flatten)]
    pub packs: PackArgs,
}

impl PolicyArgs {
    /// The compile options these arguments give.
    pub fn options(&self) -> Options {
        self.packs.options()
    }

    /// Compiles the policy, printing its diagnostics; `Err` carries the exit code when it cannot be used.
    pub fn load(&self, format: ErrorFormat) -> Result<Policy, Exit> {
        let output = match &self.policy {
            Some(path) => handrail::compile::compile_file(path, &self.options()).map_err(|why| {
                eprintln!("error: {why}");
                Exit::Io
            })?,
            None => handrail::compile::builtin_default(),
        };
        // Warnings are `check`'s business; here only errors are worth interrupting the run for.
        if output.errors() > 0 {
            print_diagnostics(&output, format);
        }
        match output.policy {
            Some(policy) => Ok(policy),
            None if output.errors() == 0 => {
                eprintln!(
                    "error: the policy could not be compiled, but no error was reported; this is a bug"
                );
                Err(Exit::Internal)
            }
            None => Err(Exit::Failed),
        }
    }
}

/// How a subcommand prints its result: `--format text|json`, one flag name and one set of values for every
/// subcommand that has a result to print (`--error-format` is the separate choice of how diagnostics print).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Lines for people.
    #[default]
    #[value(alias = "human")]
    Text,
    /// JSON.
    Json,
}

/// Whether diagnostics on stderr are in colour: stderr is a terminal and `NO_COLOR` is unset or empty
/// (<https://no-color.org>).
pub fn colour() -> bool {
    use std::io::IsTerminal as _;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// A progress bar on stderr, only when stderr is a terminal (none when piped or redirected, so logs and CI
/// output stay clean). `draw` is the callback the review library takes.
pub struct ProgressBar(Option<indicatif::ProgressBar>);

impl ProgressBar {
    /// A bar labelled `what` (`reading`, `replaying`).
    pub fn new(what: &str) -> ProgressBar {
        use std::io::IsTerminal as _;
        if !std::io::stderr().is_terminal() {
            return ProgressBar(None);
        }
        let bar = indicatif::ProgressBar::new(0);
        let style =
            indicatif::ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} records ({eta})")
                .map(|s| s.progress_chars("=> "));
        if let Ok(style) = style {
            bar.set_style(style);
        }
        bar.set_message(what.to_string());
        ProgressBar(Some(bar))
    }

    /// Moves the bar to `done` of `total`.
    pub fn draw(&self, done: u64, total: u64) {
        if let Some(bar) = &self.0 {
            bar.set_length(total);
            bar.set_position(done);
        }
    }

    /// Relabels the bar for the next stage.
    pub fn stage(&self, what: &str) {
        if let Some(bar) = &self.0 {
            bar.set_message(what.to_string());
            bar.set_position(0);
        }
    }
}

impl Drop for ProgressBar {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// Reads a log for review, with a progress bar on a terminal; an error is reported and is exit 3 (a file) or 1
/// (a record that does not parse).
pub fn read_log(dir: &std::path::Path, bar: &ProgressBar) -> Result<handrail::review::Log, Exit> {
    handrail::review::Log::read(dir, &|d, t| bar.draw(d, t)).map_err(|e| {
        eprintln!("error: {e}");
        match e {
            handrail::review::ReviewError::Io { .. } => Exit::Io,
            _ => Exit::Failed,
        }
    })
}

/// `--json` or `--format text|json`, for the review commands (`--json` is the short way to say
/// `--format json`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct OutputArgs {
    /// Print JSON (the same as `--format json`).
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// `text` or `json`.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

impl OutputArgs {
    /// Whether to print JSON.
    pub fn json(&self) -> bool {
        self.json || self.format == Format::Json
    }
}

/// A time window from `--since` and `--until`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct WindowArgs {
    /// Only from this time on (RFC 3339, e.g. `2026-11-02T00:00:00Z`).
    #[arg(long, value_name = "TIME")]
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// Only before this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub until: Option<chrono::DateTime<chrono::Utc>>,
}

impl WindowArgs {
    /// The window.
    pub fn window(&self) -> handrail::review::Window {
        handrail::review::Window { since: self.since, until: self.until }
    }
}

/// Reads all of stdin as text (for a `-` argument); a read failure is reported and is exit 3.
pub fn read_stdin() -> Result<String, Exit> {
    let mut text = String::new();
    match std::io::Read::read_to_string(&mut std::io::stdin(), &mut text) {
        Ok(_) => Ok(text),
        Err(e) => {
            eprintln!("error: cannot read stdin: {e}");
            Err(Exit::Io)
        }
    }
}

/// Prints a compile output's diagnostics: human and plain to stderr, JSON to stdout.
pub fn print_diagnostics(output: &Output, format: ErrorFormat) {
    for d in &output.diagnostics {
        let text = d.render_coloured(&output.sources, format, colour());
        if format == ErrorFormat::Json {
            out_raw!("{text}");
        } else {
            eprint!("{text}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_is_exit_code_4_and_every_code_is_as_documented() {
        let exit = run_guarded(|| panic!("a bug"));
        assert_eq!(exit, Exit::Internal);
        let codes = [Exit::Ok, Exit::Failed, Exit::Usage, Exit::Io, Exit::Internal].map(|e| e as u8);
        assert_eq!(codes, [0, 1, 2, 3, 4], "the README's table of exit codes");
        assert_eq!(run_guarded(|| Exit::Io), Exit::Io);
    }
}
