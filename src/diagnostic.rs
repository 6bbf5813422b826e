//! Diagnostics: what `check` (and every command that loads a policy) tells the person who wrote it.
//!
//! Each stage has its own error type (`syntax::SyntaxError`, `compile::CompileError`); both convert into a
//! [`Diagnostic`] (severity, stable code, message, file and span, help, notes in other files), which renders in
//! three formats: `human` (miette: source snippet, underline, help), `plain` (`file:line:col: error: message`,
//! one line plus indented help, for editors and grep) and `json` (one object per line, for tools).

use std::fmt::Write as _;

use crate::syntax::ast::Span;

/// A loaded policy source: its display name (a path, or `<builtin>/common.policy`) and its text.
#[derive(Debug, Clone)]
pub struct Source {
    /// How the file is named in messages.
    pub name: String,
    /// Its text.
    pub text: String,
}

/// Index of a [`Source`] in a [`Sources`].
pub type SourceId = usize;

/// Every source a policy was compiled from: the local file first, then the packs it extends.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// The files, by [`SourceId`].
    pub files: Vec<Source>,
}

impl Sources {
    /// Adds a file and returns its id.
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> SourceId {
        self.files.push(Source { name: name.into(), text: text.into() });
        self.files.len() - 1
    }

    /// A file by id.
    pub fn get(&self, id: SourceId) -> Option<&Source> {
        self.files.get(id)
    }
}

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Severity {
    /// A lint: the policy compiles, but something is probably wrong.
    Warning,
    /// The policy cannot be used.
    Error,
}

/// A place in a file, with what to say about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Location {
    /// The file.
    pub source: SourceId,
    /// The bytes.
    pub span: Span,
}

/// One message for the author of a policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// A stable code such as `compile::unknown-phrase-set`.
    pub code: &'static str,
    /// One lowercase sentence; user text in backticks.
    pub message: String,
    /// Where.
    pub location: Location,
    /// How to fix it.
    pub help: Option<String>,
    /// The name that was probably meant ("did you mean `confidence`?"), kept apart from `help` so neither
    /// overwrites the other.
    pub suggestion: Option<String>,
    /// Other places involved (for example the pack file that locked a rule), each with a note.
    pub notes: Vec<(Location, String)>,
}

/// The output format of diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum ErrorFormat {
    /// Source snippets with underlines and help (the default).
    #[default]
    Human,
    /// One line per diagnostic: `file:line:col: severity[code]: message`, help indented below.
    Plain,
    /// One JSON object per line.
    Json,
}

/// A 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.bytes().filter(|b| *b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let col = before.get(line_start..).map(|s| s.chars().count()).unwrap_or(0) + 1;
    (line, col)
}

impl Diagnostic {
    /// The help as shown: the suggestion ("did you mean `x`?") first, then the help, one per line.
    pub fn help_text(&self) -> Option<String> {
        let suggestion = self.suggestion.as_ref().map(|s| format!("did you mean `{s}`?"));
        match (suggestion, &self.help) {
            (Some(s), Some(h)) => Some(format!("{s}\n{h}")),
            (Some(s), None) => Some(s),
            (None, h) => h.clone(),
        }
    }

    /// `file:line:col` of the diagnostic.
    pub fn position(&self, sources: &Sources) -> String {
        match sources.get(self.location.source) {
            Some(src) => {
                let (line, col) = line_col(&src.text, self.location.span.start);
                format!("{}:{line}:{col}", src.name)
            }
            None => "<unknown>".to_string(),
        }
    }

    /// Renders in the given format, without colour. Human output ends with a newline; plain and json are one
    /// entry each.
    pub fn render(&self, sources: &Sources, format: ErrorFormat) -> String {
        self.render_coloured(sources, format, false)
    }

    /// [`Diagnostic::render`], with the human format in colour when `colour` is set (the CLI sets it when stderr
    /// is a terminal and `NO_COLOR` is not).
    pub fn render_coloured(&self, sources: &Sources, format: ErrorFormat, colour: bool) -> String {
        match format {
            ErrorFormat::Human => self.human(sources, colour),
            ErrorFormat::Plain => self.plain(sources),
            ErrorFormat::Json => self.json(sources).to_string() + "\n",
        }
    }

    fn plain(&self, sources: &Sources) -> String {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut out = format!("{}: {severity}[{}]: {}\n", self.position(sources), self.code, self.message);
        for help in self.help_text().iter().flat_map(|h| h.lines()) {
            let _ = writeln!(out, "  help: {help}");
        }
        for (location, note) in &self.notes {
            let at = Diagnostic {
                location: location.clone(),
                notes: Vec::new(),
                help: None,
                suggestion: None,
                ..self.clone()
            };
            let _ = writeln!(out, "  note: {}: {note}", at.position(sources));
        }
        out
    }

    /// The JSON form: file, line, column, end line and column, severity, code, message, help (with the
    /// suggestion, as shown), the suggested name alone, notes.
    pub fn json(&self, sources: &Sources) -> serde_json::Value {
        let place = |location: &Location| {
            let src = sources.get(location.source);
            let text = src.map(|s| s.text.as_str()).unwrap_or("");
            let (line, column) = line_col(text, location.span.start);
            let (end_line, end_column) = line_col(text, location.span.end);
            serde_json::json!({
                "file": src.map(|s| s.name.as_str()).unwrap_or("<unknown>"),
                "line": line, "column": column, "end_line": end_line, "end_column": end_column,
                "start_byte": location.span.start, "end_byte": location.span.end,
            })
        };
        serde_json::json!({
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "location": place(&self.location),
            "help": self.help_text(),
            "suggestion": self.suggestion,
            "notes": self.notes.iter().map(|(l, n)| serde_json::json!({"location": place(l), "message": n}))
                .collect::<Vec<_>>(),
        })
    }

    /// Without the `cli` feature there is no snippet renderer: human output is the plain form.
    #[cfg(not(feature = "cli"))]
    fn human(&self, sources: &Sources, _colour: bool) -> String {
        self.plain(sources)
    }

    #[cfg(feature = "cli")]
    fn human(&self, sources: &Sources, colour: bool) -> String {
        // miette pads to the column of the span; past 65,535 columns that padding panics, and a snippet of a very
        // long line helps nobody anyway. Such a diagnostic (or one whose notes point at such a line) is rendered
        // in the plain format, which still names file, line and column.
        let places = std::iter::once(&self.location).chain(self.notes.iter().map(|(l, _)| l));
        if !places.into_iter().all(|l| snippet_fits(sources, l)) {
            return self.plain(sources);
        }
        let mut out = String::new();
        let theme = if colour {
            miette::GraphicalTheme::unicode()
        } else {
            miette::GraphicalTheme::unicode_nocolor()
        };
        let handler = miette::GraphicalReportHandler::new_themed(theme).with_width(100);
        let report = Rendered::from(self, sources);
        if handler.render_report(&mut out, &report).is_err() {
            return self.plain(sources);
        }
        for (location, note) in &self.notes {
            let related = Diagnostic {
                severity: Severity::Warning,
                code: "note",
                message: note.clone(),
                location: location.clone(),
                help: None,
                suggestion: None,
                notes: Vec::new(),
            };
            let rendered = Rendered::from(&related, sources);
            let _ = handler.render_report(&mut out, &rendered);
        }
        out
    }
}

/// The longest line (in characters) a human snippet shows; a diagnostic on or next to a longer one is rendered
/// plain. Far below the 65,535 columns where miette's padding would panic.
pub const MAX_SNIPPET_LINE_CHARS: usize = 1_000;

/// Whether every line miette would show for `location` (the span's lines and one line of context on each side)
/// is at most [`MAX_SNIPPET_LINE_CHARS`] long.
#[cfg(feature = "cli")]
fn snippet_fits(sources: &Sources, location: &Location) -> bool {
    let Some(src) = sources.get(location.source) else {
        return true;
    };
    let (first, _) = line_col(&src.text, location.span.start);
    let (last, _) = line_col(&src.text, location.span.end);
    src.text
        .split('\n')
        .enumerate()
        .skip(first.saturating_sub(2))
        .take(last.saturating_sub(first) + 3)
        // Tabs are shown as several columns.
        .all(|(_, line)| {
            line.chars().map(|c| if c == '\t' { 4 } else { 1 }).sum::<usize>() <= MAX_SNIPPET_LINE_CHARS
        })
}

/// A diagnostic in the shape miette renders.
#[cfg(feature = "cli")]
#[derive(Debug)]
struct Rendered {
    message: String,
    code: String,
    severity: miette::Severity,
    help: Option<String>,
    label: miette::LabeledSpan,
    source: miette::NamedSource<String>,
}

#[cfg(feature = "cli")]
impl Rendered {
    fn from(d: &Diagnostic, sources: &Sources) -> Rendered {
        let (name, text) = sources
            .get(d.location.source)
            .map(|s| (s.name.clone(), s.text.clone()))
            .unwrap_or_else(|| ("<unknown>".into(), String::new()));
        let span = d.location.span;
        let len = span.end.saturating_sub(span.start);
        Rendered {
            message: format!("{}: {}", d.position(sources), d.message),
            code: d.code.to_string(),
            severity: match d.severity {
                Severity::Error => miette::Severity::Error,
                Severity::Warning if d.code == "note" => miette::Severity::Advice,
                Severity::Warning => miette::Severity::Warning,
            },
            help: d.help_text(),
            label: miette::LabeledSpan::new_with_span(None, (span.start.min(text.len()), len)),
            source: miette::NamedSource::new(name, text),
        }
    }
}

#[cfg(feature = "cli")]
impl std::fmt::Display for Rendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(feature = "cli")]
impl std::error::Error for Rendered {}

#[cfg(feature = "cli")]
impl miette::Diagnostic for Rendered {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(&self.code))
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(self.label.clone())))
    }
}

/// The nearest of `candidates` to `word`, if one is close enough to be what was meant.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(f64, &'a str)> = None;
    for candidate in candidates {
        if candidate == word {
            continue;
        }
        let score = strsim::jaro_winkler(&word.to_lowercase(), &candidate.to_lowercase());
        if score > 0.8 && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, c)| c)
}

impl crate::syntax::SyntaxError {
    /// This error as a diagnostic in `source`.
    pub fn to_diagnostic(&self, source: SourceId) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code: self.code(),
            message: self.to_string(),
            location: Location { source, span: self.span },
            help: self.help(),
            suggestion: None,
            notes: Vec::new(),
        }
    }
}
