//! The policy parser and compiler on arbitrary text: no panic, no stack overflow; every output is a policy or at
//! least one error; every diagnostic renders in every format; a policy that compiles decides a few events
//! without an internal error.
#![no_main]

use handrail::compile::{Options, compile_source};
use handrail::compile::policy::ReasonCode;
use handrail::diagnostic::ErrorFormat;
use handrail::eval::{ConversationState, Event, decide};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else { return };
    let output = compile_source("fuzz.policy", source, &Options::default());
    assert!(output.policy.is_some() || output.errors() > 0, "neither a policy nor an error");
    for d in &output.diagnostics {
        for format in [ErrorFormat::Human, ErrorFormat::Plain, ErrorFormat::Json] {
            let _ = d.render(&output.sources, format);
        }
    }
    if let Some(policy) = &output.policy {
        let time = chrono::DateTime::from_timestamp(1_767_625_200, 0).unwrap_or_default();
        let mut state = ConversationState::default();
        for text in ["hello", "I want a human", "chest pain, I want to kill myself", ""] {
            let event = Event { text: Some(text.into()), confidence: Some(0.3), time: Some(time), ..Event::default() };
            let (decision, next) = decide(policy, &state, &event, chrono::DateTime::UNIX_EPOCH);
            assert!(!decision.reasons.contains(&ReasonCode::EngineError), "{:?}", decision.errors);
            state = next;
        }
    }
});
