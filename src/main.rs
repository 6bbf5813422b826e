//! The `handrail` binary: parses arguments, installs tracing (to stderr) and the diagnostic handler, dispatches
//! to a subcommand and returns its exit code. Nothing else lives here.

mod cli;

fn main() -> std::process::ExitCode {
    let cli = cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("HANDRAIL_LOG"))
        .init();
    cli::run_guarded(|| cli::run(cli)).into()
}
