//! The records of the log: one JSON object per line, always starting `{"seq":N,"prev":"<hex>","time":"...",
//! "kind":"..."` so a verifier can read the chain without a JSON parser. See `audit/FORMAT.md`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Position in the log, from 0.
    pub seq: u64,
    /// The leaf hash (SHA-256(0x00 || line)) of the previous line, hex; 64 zeros for the first record.
    pub prev: String,
    /// When it was written (UTC).
    pub time: DateTime<Utc>,
    /// What happened.
    #[serde(flatten)]
    pub body: Body,
}

/// The policy a record refers to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRef {
    /// Its id.
    pub id: String,
    /// Its version.
    pub version: String,
    /// Its content hash.
    pub hash: String,
}

/// The retention of a record's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    /// The data class.
    pub class: String,
    /// When the payload may be purged.
    pub keep_until: DateTime<Utc>,
    /// Never purge.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub legal_hold: bool,
}

/// Where a record's payload is, and the commitment to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayloadRef {
    /// Byte offset of the salt in `payloads.bin`.
    pub offset: u64,
    /// Length of the payload (after its 32-byte salt).
    pub length: u64,
    /// SHA-256(tag || salt || payload), hex.
    pub commitment: String,
}

/// A decision on one event, as recorded. `P` is where its payload is: the bytes a caller hands the writer
/// ([`Entry`](super::Entry)), or the reference and commitment the record holds ([`PayloadRef`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord<P = PayloadRef> {
    /// The committed event (message text and all). First, so a verifier reads it at a fixed place.
    pub payload: P,
    /// The conversation.
    pub conversation: String,
    /// The policy in force.
    pub policy: PolicyRef,
    /// The action.
    pub action: String,
    /// Reason codes.
    pub reasons: Vec<String>,
    /// Determining rule ids.
    pub rules: Vec<String>,
    /// Retention of the payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<Retention>,
    /// What the event was, in facts that hold no personal data (absent in logs written before them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<EventFacts>,
    /// Where a handoff or capture went and what was promised (absent for other actions, and in older logs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<RouteFacts>,
}

/// The facts of a decided event that the review commands (`handrail report`) read without opening its payload:
/// its type, the bot's confidence, the strikes counted after it, the customer's channel and, for `closed`, the
/// outcome. None of them is personal data, so they may sit in the chain.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EventFacts {
    /// The event's `type` (`message`, `bot_reply`, `agent_joined`, `closed`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    /// The confidence the event carried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// The conversation's strikes after the decision.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub strikes: u32,
    /// How a `closed` conversation ended, when the caller said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// The channel the customer wrote on (`web`, `sms`, ...), when the event said: the report's handoff rate
    /// per channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Where a decision sent the conversation, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteFacts {
    /// The queue.
    pub queue: String,
    /// `live_chat`, `ticket`, `email` or `callback`.
    pub channel: String,
    /// Whether a person was there (live chat, open and staffed) or the customer was promised a follow-up.
    pub live: bool,
    /// The honest promise: the wait when live, the follow-up time otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promise: Option<String>,
}

/// One source file of a deployed policy, as stored in its `policy_deployed` record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicySource {
    /// The file's name as it was compiled (a pack's file stem is its name for `extends`).
    pub file: String,
    /// Its text.
    pub text: String,
}

/// A handoff packet given to a person, as recorded; `P` as in [`DecisionRecord`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransferRecord<P = PayloadRef> {
    /// The committed packet. First, so a verifier reads it at a fixed place.
    pub payload: P,
    /// The conversation.
    pub conversation: String,
    /// The queue it went to.
    pub queue: String,
    /// The policy in force.
    pub policy: PolicyRef,
    /// Reason codes.
    pub reasons: Vec<String>,
    /// Determining rule ids.
    pub rules: Vec<String>,
    /// Retention of the payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<Retention>,
}

impl<P> DecisionRecord<P> {
    /// The same record with its payload replaced.
    pub fn with_payload<Q>(self, payload: Q) -> DecisionRecord<Q> {
        let DecisionRecord {
            payload: _,
            conversation,
            policy,
            action,
            reasons,
            rules,
            retention,
            event,
            route,
        } = self;
        DecisionRecord { payload, conversation, policy, action, reasons, rules, retention, event, route }
    }
}

impl<P> TransferRecord<P> {
    /// The same record with its payload replaced.
    pub fn with_payload<Q>(self, payload: Q) -> TransferRecord<Q> {
        let TransferRecord { payload: _, conversation, queue, policy, reasons, rules, retention } = self;
        TransferRecord { payload, conversation, queue, policy, reasons, rules, retention }
    }
}

/// The kinds of record and their fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Body {
    /// A decision on one event.
    Decision(DecisionRecord),
    /// A handoff packet given to a person.
    Transfer(TransferRecord),
    /// Payloads deleted on request (a data-subject request, a legal instruction).
    Erasure {
        /// The conversation erased.
        conversation: String,
        /// The records whose payloads were deleted.
        seqs: Vec<u64>,
        /// Why.
        reason: String,
    },
    /// Payloads deleted because their retention ended.
    RetentionPurge {
        /// The time the retention rules were applied at.
        at: DateTime<Utc>,
        /// The records whose payloads were deleted.
        seqs: Vec<u64>,
    },
    /// A policy was deployed.
    PolicyDeployed {
        /// The policy.
        policy: PolicyRef,
        /// The version of handrail that evaluates under it (absent in older logs): with the sources, what pins
        /// a decision for `handrail audit replay`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        handrail: Option<String>,
        /// The policy's source files, packs first (absent in older logs); their hash is `policy.hash`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        sources: Vec<PolicySource>,
        /// The conversations in progress carry on under it with the state they had (a server's reload or
        /// restart), rather than starting afresh (a new `eval` run); absent means afresh.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        continues: bool,
    },
    /// The signing key changed; the checkpoint covering it is signed by both keys.
    KeyRotated {
        /// The old key (`name+id`).
        old_key: String,
        /// The new verifier key.
        new_key: String,
        /// The old key's authorisation: base64(key id || Ed25519 signature) over [`rotation_message`]. Absent in
        /// records written before rotations were authorised; a verifier then does not trust the new key.
        #[serde(default)]
        signature: String,
    },
    /// The writer, on open, cut what it could not keep (a torn line, an interrupted commit, records it could not
    /// prove it wrote) or adopted records on the operator's word.
    Recovery {
        /// Bytes cut from the end of `log.jsonl`.
        log_bytes_cut: u64,
        /// Bytes cut from the end of `payloads.bin`.
        payload_bytes_cut: u64,
        /// Why the cut began where it did.
        cause: String,
        /// Complete records among the bytes cut.
        #[serde(default)]
        records_cut: u64,
        /// Records past the last seal kept on the operator's instruction (they precede this record).
        #[serde(default)]
        records_adopted: u64,
        /// SHA-256 of the bytes cut from `log.jsonl`, hex, so a copy of them can be recognised.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cut_sha256: Option<String>,
    },
}

impl Body {
    /// The kind, as written in the `kind` field.
    pub fn kind(&self) -> &'static str {
        match self {
            Body::Decision { .. } => "decision",
            Body::Transfer { .. } => "transfer",
            Body::Erasure { .. } => "erasure",
            Body::RetentionPurge { .. } => "retention_purge",
            Body::PolicyDeployed { .. } => "policy_deployed",
            Body::KeyRotated { .. } => "key_rotated",
            Body::Recovery { .. } => "recovery",
        }
    }

    /// The payload reference, for records that have one.
    pub fn payload(&self) -> Option<&PayloadRef> {
        match self {
            Body::Decision(DecisionRecord { payload, .. })
            | Body::Transfer(TransferRecord { payload, .. }) => Some(payload),
            _ => None,
        }
    }

    /// The conversation, for records that belong to one (decisions and transfers; an erasure names the
    /// conversation it erased but does not belong to it).
    pub fn conversation(&self) -> Option<&str> {
        match self {
            Body::Decision(DecisionRecord { conversation, .. })
            | Body::Transfer(TransferRecord { conversation, .. }) => Some(conversation),
            _ => None,
        }
    }

    /// The retention of the payload, for records that have one.
    pub fn retention(&self) -> Option<&Retention> {
        match self {
            Body::Decision(DecisionRecord { retention, .. })
            | Body::Transfer(TransferRecord { retention, .. }) => retention.as_ref(),
            _ => None,
        }
    }
}

/// What the old key signs to authorise a rotation (FORMAT.md §5): the record's own seq and prev bind the
/// authorisation to one place in one log, so it cannot be replayed into another position or another log.
pub fn rotation_message(seq: u64, prev: &str, new_key: &str) -> Vec<u8> {
    format!("handrail/key-rotation/v1\n{seq}\n{prev}\n{new_key}\n").into_bytes()
}

/// The fixed head of a line, read without a JSON parser:
/// `{"seq":N,"prev":"<64 hex>","time":"<...>","kind":"<kind>"` and, for decisions and transfers,
/// `,"payload":{"offset":N,"length":N,"commitment":"<64 hex>"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head<'a> {
    /// `seq`.
    pub seq: u64,
    /// `prev`, hex.
    pub prev: &'a [u8],
    /// `kind`.
    pub kind: &'a [u8],
    /// `payload`, when the record has one.
    pub payload: Option<PayloadHead>,
}

/// A payload reference as the verifier needs it: no allocation, the commitment decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayloadHead {
    /// Byte offset of the salt in `payloads.bin`.
    pub offset: u64,
    /// Length of the payload after its salt.
    pub length: u64,
    /// The commitment.
    pub commitment: super::hash::Hash,
}

impl PayloadRef {
    /// The payload's bytes in `payloads` (the whole of `payloads.bin`), after its salt; `None` when the file does
    /// not hold them or they were erased (salt and payload zeroed). The commitment is `verify`'s to check.
    pub fn bytes<'a>(&self, payloads: &'a [u8]) -> Option<&'a [u8]> {
        let start = self.offset.checked_add(SALT_LEN_U64)?;
        let end = start.checked_add(self.length)?;
        let salt = payloads.get(usize::try_from(self.offset).ok()?..usize::try_from(start).ok()?)?;
        let bytes = payloads.get(usize::try_from(start).ok()?..usize::try_from(end).ok()?)?;
        let erased = salt.iter().all(|b| *b == 0) && bytes.iter().all(|b| *b == 0);
        (!erased).then_some(bytes)
    }
}

impl PayloadHead {
    /// Where the stored region (salt, then payload) starts and ends in `payloads.bin`; `None` when the end does
    /// not fit in a u64, which no real file reaches (a hostile `offset` or `length`).
    pub fn region(&self) -> Option<std::ops::Range<u64>> {
        let end = self.offset.checked_add(SALT_LEN_U64)?.checked_add(self.length)?;
        Some(self.offset..end)
    }

    /// The stored region in `payloads` (the file's bytes), or `None` when the file does not hold all of it.
    pub fn slice<'a>(&self, payloads: &'a [u8]) -> Option<&'a [u8]> {
        let region = self.region()?;
        payloads.get(usize::try_from(region.start).ok()?..usize::try_from(region.end).ok()?)
    }
}

/// [`SALT_LEN`](super::hash::SALT_LEN) as the type of file offsets.
const SALT_LEN_U64: u64 = super::hash::SALT_LEN as u64;

/// Reads a line's head; `None` when the line does not start as every record must.
pub fn head(line: &[u8]) -> Option<Head<'_>> {
    let rest = line.strip_prefix(b"{\"seq\":")?;
    let (seq, rest) = number(rest)?;
    let rest = rest.strip_prefix(b",\"prev\":\"")?;
    let (prev, rest) = (rest.get(..64)?, rest.get(64..)?);
    let rest = rest.strip_prefix(b"\",\"time\":\"")?;
    let rest = rest.get(memchr::memchr(b'"', rest)?..)?.strip_prefix(b"\"")?;
    let rest = rest.strip_prefix(b",\"kind\":\"")?;
    let (kind, rest) = rest.split_at_checked(memchr::memchr(b'"', rest)?)?;
    let rest = rest.strip_prefix(b"\"")?;
    let payload = match rest.strip_prefix(b",\"payload\":{\"offset\":") {
        Some(rest) => {
            let (offset, rest) = number(rest)?;
            let (length, rest) = number(rest.strip_prefix(b",\"length\":")?)?;
            let rest = rest.strip_prefix(b",\"commitment\":\"")?;
            let commitment = super::hash::Hash::from_hex(std::str::from_utf8(rest.get(..64)?).ok()?)?;
            Some(PayloadHead { offset, length, commitment })
        }
        None => None,
    };
    Some(Head { seq, prev, kind, payload })
}

/// A decimal number as FORMAT.md writes them: no sign, no leading zero (but `0` itself), at most `u64::MAX`.
fn number(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    let (text, rest) = bytes.split_at_checked(digits)?;
    if text.len() > 1 && text.first() == Some(&b'0') {
        return None;
    }
    let n = std::str::from_utf8(text).ok()?.parse().ok()?;
    Some((n, rest))
}
