//! No input makes the parser, compiler or evaluator panic, and the evaluator never answers when it cannot
//! evaluate. Each property asserts what would be false if it were broken: the evaluator turns its own panics into
//! a fail-safe decision, so a test of "no panic" on decisions checks that no decision carries `engine_error`.

use handrail::compile::policy::{Priority, ReasonCode};
use handrail::compile::{Options, builtin_default, compile_source};
use handrail::eval::{Action, ConversationState, Event, decide, decode, fail_safe};
use proptest::prelude::*;

use crate::clock::now;

/// The built-in policy, compiled once for all cases.
fn policy() -> &'static handrail::compile::Policy {
    static POLICY: std::sync::OnceLock<handrail::compile::Policy> = std::sync::OnceLock::new();
    POLICY.get_or_init(|| builtin_default().policy.unwrap())
}

/// Fragments of the language, so generated sources reach deep into the grammar instead of failing at byte one.
fn policy_fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("policy p { version \"1\" safe_queue q }\n".to_string()),
        Just("queue q { hours \"24/7\" }\n".to_string()),
        Just("phrases a { \"x\" \"y*\" }\n".to_string()),
        Just("@id(\"R\") request r { when says a }\n".to_string()),
        Just("emergency e { when says a or confidence < 0.5 route q priority urgent }\n".to_string()),
        Just(
            "escalate s { when (says a and not customer.tier == \"vip\") or intent in [\"x\"] }\n"
                .to_string()
        ),
        Just("fallback { confidence below 0.4 strikes 2 }\n".to_string()),
        Just("retain r { when matched r keep 6 years redact ssn }\n".to_string()),
        Just("disclaimer d { text \"t\" show once }\n".to_string()),
        Just("policy p { extends common }\n".to_string()),
        Just("escalate n { when not not not not not not not not says a }\n".to_string()),
        Just("escalate l { when intent in [[[[[[[[[[\"x\"]]]]]]]]]] }\n".to_string()),
        "(not |\\(|\\[){0,80}",
        "[a-z_{}()\"@#. <>=!*\n-]{0,40}",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn compiling_any_source_never_panics(parts in prop::collection::vec(policy_fragment(), 0..8)) {
        let source = parts.concat();
        let output = compile_source("fuzz.policy", &source, &Options::default());
        // Either a policy or at least one error, never neither.
        prop_assert!(output.policy.is_some() || output.errors() > 0);
        for d in &output.diagnostics {
            let _ = d.render(&output.sources, handrail::diagnostic::ErrorFormat::Human);
        }
        if let Ok(ast) = handrail::syntax::parse(&source) {
            let printed = handrail::syntax::print::print(&ast, &source);
            prop_assert_eq!(handrail::syntax::parse(&printed).map(|f| f.items).ok(), Some(ast.items));
        }
    }

    /// A valid event is evaluated, never failed safe: the evaluator catches its own panics and turns them into a
    /// fail-safe decision (reason `engine_error`), so "no panic" is only checked by asserting there was none.
    #[test]
    fn a_valid_event_is_decided_without_engine_error(
        text in prop_oneof![any::<String>(), "(agent|human|chest pain|refund|kill myself|no|not|but| |!){0,12}"],
        confidence in proptest::option::of(0.0f64..=1.0),
    ) {
        let event = Event { text: Some(text), confidence, time: Some(chrono::Utc::now()), ..Event::default() };
        prop_assume!(event.validate().is_ok());
        let (decision, _) = decide(policy(), &ConversationState::default(), &event, now());
        prop_assert!(!decision.reasons.contains(&ReasonCode::EngineError), "{:?}", decision.errors);
        prop_assert!(decision.errors.is_empty(), "{:?}", decision.errors);
        for rule in &decision.rules {
            for m in &rule.matches {
                let text = event.text.as_deref().unwrap_or("");
                prop_assert!(m.start < m.end && text.get(m.start..m.end).is_some(), "{m:?}");
            }
        }
    }

    /// An event that cannot be evaluated as it stands is never answered by the bot: it names what is wrong and
    /// goes to a person (or, when its text is an emergency, gets the emergency response).
    #[test]
    fn an_out_of_range_event_fails_safe(text in any::<String>(), confidence in prop_oneof![-5.0f64..-0.001, 1.001f64..5.0]) {
        let event = Event { text: Some(text), confidence: Some(confidence), ..Event::default() };
        let (decision, next) = decide(policy(), &ConversationState::default(), &event, now());
        prop_assert_ne!(decision.action, Action::Answer);
        prop_assert!(decision.reasons.contains(&ReasonCode::EngineError));
        prop_assert!(decision.errors.iter().any(|e| e.contains("`confidence`")), "{:?}", decision.errors);
        prop_assert_eq!(next.phase, handrail::eval::Phase::Waiting);
    }

    /// A person in crisis gets the emergency response whatever else is wrong with the event: an out-of-range
    /// confidence, a misspelt field, a field of the wrong type.
    #[test]
    fn a_crisis_is_an_emergency_even_in_a_malformed_event(
        before in "[a-zA-Z0-9,.!? ]{0,30}",
        after in "[a-zA-Z0-9,.!? ]{0,30}",
        fault in prop_oneof![
            Just(""),
            Just(",\"confidence\":1.5"),
            Just(",\"confidnce\":0.5"),
            Just(",\"confidence\":\"high\""),
            Just(",\"time\":\"yesterday\""),
            Just(",\"type\":\"mesage\""),
        ],
    ) {
        let text = format!("{before} I want to kill myself {after}");
        let line = format!("{{\"conversation\":\"c1\",\"text\":{}{fault}}}", serde_json::to_string(&text).unwrap());
        let decoded = decode(&line);
        prop_assert_eq!(decoded.errors.is_empty(), fault.is_empty(), "{:?}", decoded.errors);
        let (decision, _) = if decoded.errors.is_empty() {
            decide(policy(), &ConversationState::default(), &decoded.event, now())
        } else {
            fail_safe(policy(), &ConversationState::default(), &decoded.event, now(), decoded.errors.clone())
        };
        prop_assert_eq!(decision.action, Action::Emergency, "{}", line);
        prop_assert_eq!(decision.determining.first().map(String::as_str), Some("EMER-SELF-HARM"));
        prop_assert_eq!(decision.route.as_ref().map(|r| r.priority), Some(Priority::Urgent));
        prop_assert!(decision.say.iter().any(|s| s.contains("988")));
        prop_assert_eq!(decision.conversation, "c1");
    }

    /// Every JSON line is either a valid event (decided without `engine_error`) or refused with messages that
    /// each name a field in backticks or say the line is not a JSON object, and its fail-safe is never `answer`.
    #[test]
    fn any_json_line_is_decided_or_refused_naming_the_field(
        line in prop_oneof![
            "\\{[a-z\":, 0-9.\\[\\]{}-]{0,60}\\}",
            r#"\{"(conversation|type|text|time|confidence|sentiment|intents|channel|page|customer|feedback|agents_online|confidnce|txt)":(1|-1|2.5|"x"|""|null|true|\[\]|\{\}|\["a"\]|\{"q":true\})\}"#,
        ]
    ) {
        let decoded = decode(&line);
        if decoded.errors.is_empty() {
            let (decision, _) = decide(policy(), &ConversationState::default(), &decoded.event, now());
            prop_assert!(!decision.reasons.contains(&ReasonCode::EngineError), "{line}: {:?}", decision.errors);
            prop_assert_eq!(Event::from_json(&line).ok(), Some(decoded.event));
        } else {
            for e in &decoded.errors {
                prop_assert!(
                    e.contains('`') || e.starts_with("not valid JSON") || e.starts_with("an event must be"),
                    "{line}: {e}"
                );
            }
            let (decision, _) =
                fail_safe(policy(), &ConversationState::default(), &decoded.event, now(), decoded.errors.clone());
            prop_assert_ne!(decision.action, Action::Answer);
            prop_assert!(decision.reasons.contains(&ReasonCode::EngineError));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// Redaction runs on every escalation: it never panics, its spans are in order, do not overlap and fall on
    /// character boundaries, and `redact` replaces exactly what `find` reports.
    #[test]
    fn redaction_never_panics_and_its_spans_are_sound(
        text in prop_oneof![any::<String>(), "[0-9 +()@.a-z-]{0,60}", "(dob|ssn|account|mrn|born) [0-9/ -]{0,20}"]
    ) {
        use handrail::handoff::redact::{PiiKind, find, redact};
        let found = find(&text, &PiiKind::ALL);
        let mut last = 0;
        for f in &found {
            prop_assert!(f.span.start >= last && f.span.start < f.span.end && f.span.end <= text.len());
            prop_assert!(text.is_char_boundary(f.span.start) && text.is_char_boundary(f.span.end));
            last = f.span.end;
        }
        let redacted = redact(&text, &PiiKind::ALL);
        prop_assert_eq!(redacted.found.len(), found.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// The matcher on any text, including long stretched runs, combining marks, fullwidth letters and emoji: every
    /// hit is a non-empty range on character boundaries of the original text.
    #[test]
    fn every_scan_hit_is_a_char_boundary_range_of_the_input(
        text in prop_oneof![
            any::<String>(),
            "(a{1,40}|g{1,40}|e{1,40}|n{1,40}|t{1,40}| |\u{0301}|\u{0303}|Ａ|Ｇ|😀|ﬁ|'|’){0,40}",
            "(agent|human|chest pain|refund|don't|no|not|but|I|want|an|a){0,12}",
        ]
    ) {
        let p = policy();
        let scan = p.matcher.scan(&text);
        for hit in &scan.hits {
            prop_assert!(hit.span.start < hit.span.end && hit.span.end <= text.len(), "{:?} in {:?}", hit.span, text);
            prop_assert!(text.is_char_boundary(hit.span.start) && text.is_char_boundary(hit.span.end));
        }
    }
}
