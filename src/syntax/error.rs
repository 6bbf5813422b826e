//! The error of the `syntax` stage: a kind and a span.

use super::ast::Span;

/// A syntax error: the file could not be read as a policy.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{kind}")]
pub struct SyntaxError {
    /// What is wrong.
    pub kind: SyntaxErrorKind,
    /// Where.
    pub span: Span,
}

impl SyntaxError {
    /// A syntax error of `kind` at `span`.
    pub fn new(kind: SyntaxErrorKind, span: Span) -> Self {
        SyntaxError { kind, span }
    }

    /// A hint on how to fix it, if there is one.
    pub fn help(&self) -> Option<String> {
        match &self.kind {
            SyntaxErrorKind::Unexpected { expected, found } => {
                let keywords: Vec<&str> = expected
                    .iter()
                    .flat_map(|e| e.split('`').skip(1).step_by(2))
                    .filter(|w| w.chars().all(|c| c.is_ascii_alphabetic() || c == '_'))
                    .collect();
                crate::diagnostic::did_you_mean(found, keywords.iter().copied())
                    .map(|k| format!("did you mean `{k}`?"))
            }
            SyntaxErrorKind::MixedAndOr => Some(
                "add parentheses to say which is meant, for example `(a and b) or c` or `a and (b or c)`"
                    .into(),
            ),
            SyntaxErrorKind::BadEscape => Some(
                "the escapes are `\\\"`, `\\\\`, `\\n`, `\\t` and `\\u{...}` (a hexadecimal code point)"
                    .into(),
            ),
            SyntaxErrorKind::FileTooLarge { .. } => {
                Some("split the policy, or move phrase lists into a pack".into())
            }
            SyntaxErrorKind::TooDeep { .. } => Some("split the condition into simpler rules".into()),
            SyntaxErrorKind::UnclosedString => {
                Some("add the closing `\"`; a string cannot span lines (write `\\n`)".into())
            }
            SyntaxErrorKind::IntegerTooLarge | SyntaxErrorKind::BadNumber => None,
            SyntaxErrorKind::Internal(_) => {
                Some("this is a bug in handrail; please report it with the file".into())
            }
        }
    }

    /// A stable code for the error, for `--error-format json` and for searching the docs.
    pub fn code(&self) -> &'static str {
        match self.kind {
            SyntaxErrorKind::Unexpected { .. } => "syntax::unexpected",
            SyntaxErrorKind::MixedAndOr => "syntax::mixed-and-or",
            SyntaxErrorKind::UnclosedString => "syntax::unclosed-string",
            SyntaxErrorKind::BadEscape => "syntax::bad-escape",
            SyntaxErrorKind::IntegerTooLarge => "syntax::integer-too-large",
            SyntaxErrorKind::BadNumber => "syntax::bad-number",
            SyntaxErrorKind::FileTooLarge { .. } => "syntax::file-too-large",
            SyntaxErrorKind::TooDeep { .. } => "syntax::too-deep",
            SyntaxErrorKind::Internal(_) => "syntax::internal",
        }
    }
}

/// The kinds of syntax error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SyntaxErrorKind {
    /// The parser found something it did not expect.
    #[error("expected {}, found {}", list(expected), found_words(found))]
    Unexpected {
        /// What would have been accepted, in plain words.
        expected: Vec<String>,
        /// What was there.
        found: String,
    },
    /// A string without its closing quote on the same line.
    #[error("this string is not closed before the end of the line")]
    UnclosedString,
    /// `a and b or c` without parentheses.
    #[error("`and` and `or` are mixed without parentheses")]
    MixedAndOr,
    /// An unknown escape in a string.
    #[error("this escape is not known")]
    BadEscape,
    /// A whole number beyond `u32`.
    #[error("this number is too large")]
    IntegerTooLarge,
    /// A number that is not a finite decimal.
    #[error("this is not a number handrail can use")]
    BadNumber,
    /// The file is over [`super::MAX_SOURCE_BYTES`].
    #[error("the file is {size} bytes, over the limit of {limit} bytes")]
    FileTooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Parentheses, lists and `not` nested over [`super::MAX_CONDITION_DEPTH`].
    #[error(
        "this is nested more than {limit} deep (parentheses, `[` lists and chained `not` count together)"
    )]
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// The parser and the grammar disagree: a bug.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

fn list(expected: &[String]) -> String {
    match expected {
        [] => "something else".to_string(),
        [one] => one.clone(),
        [init @ .., last] => format!("{}, or {}", init.join(", "), last),
    }
}

fn found_words(found: &str) -> String {
    if found.is_empty() { "the end of the file".to_string() } else { format!("`{found}`") }
}
