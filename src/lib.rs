//! handrail decides, for every message a customer sends to a chatbot, whether the bot may answer or must hand
//! the conversation to a person, and proves afterwards what it decided and why.
//!
//! The crate is a pipeline; each module is one stage and says in its docs what it takes and what it hands on:
//!
//! ```text
//!   policy text ──syntax──▶ AST ──compile──▶ Policy ─┐
//!                                                    ├─eval──▶ Decision (+ next ConversationState)
//!   event (JSON) + ConversationState ────────────────┘            │
//!                                                                 └──audit──▶ hash-chained, signed log
//! ```
//!
//! Beside the pipeline: [`text`] (normalisation and phrase matching, used by `compile` and `eval`), [`route`]
//! (queues and business hours), [`handoff`] (the packet a person receives: redaction, identity, summary) and
//! [`audit`] (the tamper-evident log, which depends on nothing else in the crate), with [`evidence`] turning a
//! decision into the records that prove it, [`review`] reading a log back (report, replay, whatif, diff),
//! [`cases`] running the declarative TOML cases of `handrail test`
//! and [`fold`] splitting labelled messages into folds. The command line is the binary's own (`src/main.rs`
//! and `src/cli/`, one file per subcommand), built on this API alone.
//!
//! # Embedding
//!
//! The crate root re-exports what an embedding program needs: [`compile_source`] or [`compile_file`] once,
//! then [`decide`] for each event (at the event's time, or the `now` you pass), keeping the [`ConversationState`] between them. Errors and warnings in a
//! policy are [`Diagnostic`]s with a file, a place and help.
//!
//! ```
//! use handrail::{Action, CompileOptions, ConversationState, Event, compile_source, decide};
//!
//! let source = r#"
//!     policy shop { version "1" safe_queue support }
//!     phrases human { "agent" "a person" }
//!     @id("REQ-HUMAN") request human { when says human route support }
//!     queue support { hours "24/7" }
//! "#;
//! let output = compile_source("shop.policy", source, &CompileOptions::default());
//! assert_eq!(output.errors(), 0, "{:?}", output.diagnostics);
//! let policy = output.policy.expect("the policy compiles");
//!
//! // `decide` is pure: the time comes from the event, or from the `now` it is given when the event has none.
//! let now = chrono::Utc::now();
//! let event = Event { text: Some("Can I talk to an AGENNNT?".into()), confidence: Some(0.93), ..Event::default() };
//! let (decision, state) = decide(&policy, &ConversationState::default(), &event, now);
//! assert_eq!(decision.action, Action::Handoff);
//! assert_eq!(decision.determining, ["REQ-HUMAN"]);
//! assert_eq!(decision.rules[0].matches[0].text, "AGENNNT");
//!
//! // The customer now waits for a person: the bot holds instead of queueing them again.
//! let again = Event { text: Some("hello? an agent please".into()), ..Event::default() };
//! assert_eq!(decide(&policy, &state, &again, now).0.action, Action::Hold);
//! ```
//!
//! # Recording a decision in the audit log
//!
//! [`evidence::record`] turns a decision (and the packet handed to a person) into the records that prove it,
//! exactly as `handrail eval --audit` does; a record is durable once [`AuditLog::commit`] returns.
//!
//! ```
//! use handrail::{AuditLog, ConversationState, Event, Signer, WriterOptions, builtin_default, decide, evidence};
//!
//! let policy = builtin_default().policy.expect("the built-in pack compiles");
//! let dir = tempfile::tempdir()?;
//! let signer = Signer::from_seed("example.org/log", [7; 32])?;
//! let options = WriterOptions { origin: "example.org/log".into(), ..WriterOptions::default() };
//! let mut log = AuditLog::open(dir.path(), signer, options)?;
//! log.append(chrono::Utc::now(), evidence::deployed(&policy))?;
//!
//! let event = Event {
//!     conversation: "c-1".into(),
//!     text: Some("I want to talk to a person".into()),
//!     time: Some(chrono::Utc::now()),
//!     ..Event::default()
//! };
//! let (decision, next) = decide(&policy, &ConversationState::default(), &event, chrono::Utc::now());
//! let stored = evidence::stored_event(&event, &decision, &next);
//! evidence::record(&mut log, &decision, &next, stored)?;
//! log.commit()?; // now the decision may be acted on
//! log.close()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Verifying a log
//!
//! An auditor needs only the log directory and the writer's public key; [`verify()`] reports every problem it
//! finds rather than stopping at the first.
//!
//! ```
//! # use handrail::{AuditLog, Signer, WriterOptions};
//! use handrail::{Outcome, VerifyOptions, verify};
//! # let dir = tempfile::tempdir()?;
//! # let signer = Signer::from_seed("example.org/log", [7; 32])?;
//! let key = signer.verifier();
//! # let options = WriterOptions { origin: "example.org/log".into(), ..WriterOptions::default() };
//! # AuditLog::open(dir.path(), signer, options)?.close()?;
//! let report = verify(dir.path(), &VerifyOptions { keys: vec![key], ..VerifyOptions::default() })?;
//! assert_eq!(report.outcome, Outcome::Verified, "{:?}", report.problems);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What is stable
//!
//! The items re-exported at the crate root, and the records of [`audit`] (their format is `audit/FORMAT.md`'s),
//! are the API an embedder builds on: they change only with the major version, and the output types are
//! `#[non_exhaustive]` so that a new field is not a breaking change. The stage modules are public because the
//! command line, the server and the benchmarks are built on this crate alone; what they expose beyond the root
//! ([`syntax`]'s AST, [`text`]'s matcher, [`compile`]'s builders, [`cases`], [`fold`]) follows the command
//! line's needs and may change in a minor version.

// STYLE rule 14: an item is public because an embedder needs it, not because a module is.
#![warn(unreachable_pub)]

pub mod audit;
#[cfg(feature = "cases")]
pub mod cases;
pub mod compile;
pub mod diagnostic;
pub mod eval;
pub mod evidence;
#[cfg(feature = "cases")]
pub mod fold;
pub mod handoff;
pub mod review;
pub mod route;
#[cfg(feature = "serve")]
pub mod serve;
pub mod syntax;
pub mod text;

pub use audit::{
    AuditError, AuditLog, Outcome, Report as VerifyReport, Signer, Verifier, VerifyOptions, WriterOptions,
    verify,
};
pub use compile::policy::ReasonCode;
pub use compile::{
    CompileError, Options as CompileOptions, Output as CompileOutput, Policy, ReadError, builtin_default,
    compile_file, compile_source,
};
pub use diagnostic::{Diagnostic, ErrorFormat, Severity};
pub use eval::{
    Action, ConversationState, DecideOptions, Decision, Event, InvalidEvent, Phase, decide, decide_with,
};
pub use route::{Channel, Priority, Route};
