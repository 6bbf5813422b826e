//! `handrail fmt`: rewrite policy files in the canonical layout, keeping every comment.

use std::path::PathBuf;

use super::Exit;
use handrail::diagnostic::{ErrorFormat, Sources};

/// Format policy files in place, in the one canonical layout. Comments are kept where they were written.
///
/// With `--check`, nothing is written: a unified diff of what would change is printed, and the exit code says
/// whether the files are formatted. `-` reads a policy from stdin and prints it formatted on stdout.
///
/// Exit codes: 0 formatted (or, with `--check`, already formatted), 1 a file does not parse or (with `--check`)
/// would change, 3 a file could not be read or written.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The policy files to format; `-` reads stdin and writes stdout.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Print a diff instead of writing; exit 1 if any file would change.
    #[arg(long)]
    pub check: bool,
    /// How to print syntax errors.
    #[arg(long, value_enum, default_value_t = ErrorFormat::Human)]
    pub error_format: ErrorFormat,
}

/// Runs `handrail fmt`.
pub fn run(args: Args) -> Exit {
    let mut exit = Exit::Ok;
    for path in &args.files {
        let stdin = path.as_os_str() == "-";
        let name = if stdin { "<stdin>".to_string() } else { path.display().to_string() };
        let read = if stdin {
            super::read_stdin()
        } else {
            std::fs::read_to_string(path).map_err(|e| {
                eprintln!("error: cannot read `{name}`: {e}");
                Exit::Io
            })
        };
        let source = match read {
            Ok(s) => s,
            Err(exit) => return exit,
        };
        let formatted = match format_source(&source) {
            Ok(f) => f,
            Err(e) => {
                let mut sources = Sources::default();
                let id = sources.add(name, source);
                eprint!(
                    "{}",
                    e.to_diagnostic(id).render_coloured(&sources, args.error_format, super::colour())
                );
                exit = Exit::Failed;
                continue;
            }
        };
        if stdin && !args.check {
            if std::io::Write::write_all(&mut std::io::stdout().lock(), formatted.as_bytes()).is_err() {
                return Exit::Io;
            }
            continue;
        }
        if formatted == source {
            continue;
        }
        if args.check {
            let diff = similar::TextDiff::from_lines(&source, &formatted);
            let text = diff
                .unified_diff()
                .context_radius(2)
                .header(&name, &format!("{name} (formatted)"))
                .to_string();
            // A closed pipe (`fmt --check | head`) is not an error worth a panic: stop printing.
            if std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes()).is_err() {
                return Exit::Failed;
            }
            exit = Exit::Failed;
        } else if let Err(e) = std::fs::write(path, &formatted) {
            eprintln!("error: cannot write `{name}`: {e}");
            return Exit::Io;
        }
    }
    exit
}

/// Formats a policy source: parse, print back.
pub fn format_source(source: &str) -> Result<String, handrail::syntax::SyntaxError> {
    let file = handrail::syntax::parse(source)?;
    Ok(handrail::syntax::print::print(&file, source))
}
