//! Stage 1, `syntax`: policy text in, [`PolicyFile`] (the AST) out.
//!
//! This is the only module that sees pest. The grammar lives in `grammar/policy.pest`; [`parse`] runs it and
//! walks the parse tree into the AST defined in [`ast`], one walker function per grammar rule. Comments are
//! collected separately by position, so that [`print`](mod@print) (the formatter) can put them back: formatting is the AST
//! printed back, and `parse(print(parse(x))) == parse(x)`.
//!
//! Hands on: a [`PolicyFile`] to `compile`, or one [`SyntaxError`] (a syntax error leaves the rest of the file
//! unreadable, so only the first is reported; `compile` reports all of its errors at once).

pub mod ast;
mod error;
mod parser;
pub mod print;

pub use ast::PolicyFile;
pub use error::{SyntaxError, SyntaxErrorKind};
pub use parser::{MAX_CONDITION_DEPTH, MAX_SOURCE_BYTES, parse};
