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
//! decision into the records that prove it. [`cli`] holds one file per
//! subcommand; `main.rs` only wires.
//!
//! Using it as a library: compile once, then decide each event, keeping the conversation state between them.
//!
//! ```
//! use handrail::compile::{compile_source, Options};
//! use handrail::eval::{decide, Action, ConversationState, Event};
//!
//! let source = r#"
//!     policy shop { version "1" safe_queue support }
//!     phrases human { "agent" "a person" }
//!     @id("REQ-HUMAN") request human { when says human route support }
//!     queue support { hours "24/7" }
//! "#;
//! let output = compile_source("shop.policy", source, &Options::default());
//! let policy = output.policy.expect("the policy compiles");
//!
//! let event = Event { text: Some("Can I talk to an AGENNNT?".into()), confidence: Some(0.93), ..Event::default() };
//! let (decision, state) = decide(&policy, &ConversationState::default(), &event);
//! assert_eq!(decision.action, Action::Handoff);
//! assert_eq!(decision.determining, ["REQ-HUMAN"]);
//! assert_eq!(decision.rules[0].matches[0].text, "AGENNNT");
//!
//! // The customer now waits for a person: the bot holds instead of queueing them again.
//! let again = Event { text: Some("hello? an agent please".into()), ..Event::default() };
//! assert_eq!(decide(&policy, &state, &again).0.action, Action::Hold);
//! ```

pub mod audit;
pub mod cli;
pub mod compile;
pub mod diagnostic;
pub mod eval;
pub mod evidence;
pub mod handoff;
pub mod route;
pub mod syntax;
pub mod text;
