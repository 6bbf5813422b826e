//! The event decoder and the evaluator on arbitrary lines, as `handrail eval` reads them: a valid event is
//! decided without an internal error; anything else is refused and fails safe, never to `answer`. Two events in
//! one conversation exercise the state carried between them.
#![no_main]

use std::sync::OnceLock;

use handrail::compile::Policy;
use handrail::compile::policy::ReasonCode;
use handrail::eval::{Action, ConversationState, decide, decode, fail_safe};
use libfuzzer_sys::fuzz_target;

fn policy() -> &'static Policy {
    static POLICY: OnceLock<Policy> = OnceLock::new();
    POLICY.get_or_init(|| {
        let output = handrail::compile::compile_source(
            "healthcare.policy",
            "policy fuzz { version \"1\" extends healthcare }\n",
            &handrail::compile::Options::default(),
        );
        output.policy.unwrap_or_else(|| handrail::compile::builtin_default().policy.unwrap())
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut state = ConversationState::default();
    for line in text.splitn(3, '\n').take(2) {
        let decoded = decode(line);
        let (decision, next) = if decoded.errors.is_empty() {
            let (d, next) = decide(policy(), &state, &decoded.event, chrono::DateTime::UNIX_EPOCH);
            assert!(!d.reasons.contains(&ReasonCode::EngineError), "{line:?}: {:?}", d.errors);
            (d, next)
        } else {
            let (d, next) = fail_safe(policy(), &state, &decoded.event, decoded.errors.clone());
            assert_ne!(d.action, Action::Answer, "{line:?}");
            assert!(d.reasons.contains(&ReasonCode::EngineError));
            (d, next)
        };
        let _ = serde_json::to_string(&decision);
        state = next;
    }
});
