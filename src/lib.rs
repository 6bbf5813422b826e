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
//! [`audit`] (the tamper-evident log, which depends on nothing else in the crate). [`cli`] holds one file per
//! subcommand; `main.rs` only wires.

pub mod audit;
pub mod cli;
pub mod compile;
pub mod diagnostic;
pub mod eval;
pub mod handoff;
pub mod route;
pub mod syntax;
pub mod text;
