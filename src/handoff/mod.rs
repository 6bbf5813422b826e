//! Beside the pipeline, `handoff`: the packet a person receives when the bot steps aside, so the customer never
//! repeats themselves.
//!
//! - [`redact`](mod@redact): personal data found by hand-written scanners (email, phone, US SSN, Luhn-checked card numbers,
//!   dates of birth, account and record numbers) and replaced by typed markers, per the matching `retain` rule.
//! - [`packet`]: the transcript (redacted), identity and references found or supplied, a short extractive
//!   summary (what the customer wants, what was tried, why it escalated) and the typed reason.
//!
//! `eval` builds a packet whenever a conversation escalates; `eval --audit` records its transfer as a `transfer`
//! record committing to the packet. The module depends on nothing else in the crate: reasons and rule ids are
//! plain strings. The JSON shape is documented in `docs/handoff.md`.

pub mod packet;
pub mod redact;

pub use packet::{Field, Identity, Packet, PacketInput, PacketRetention, Role, Summary, Turn, build};
pub use redact::{PiiKind, Redacted, redact};
