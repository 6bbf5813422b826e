//! No input makes the parser, compiler or evaluator panic, and the evaluator never answers when it cannot
//! evaluate.

use handrail::compile::{Options, builtin_default, compile_source};
use handrail::eval::{Action, ConversationState, Event, decide};
use proptest::prelude::*;

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

    #[test]
    fn deciding_any_text_never_panics(text in any::<String>(), confidence in proptest::option::of(-1.0f64..2.0)) {
        let event = Event { text: Some(text), confidence, time: Some(chrono::Utc::now()), ..Event::default() };
        let (decision, _) = decide(policy(), &ConversationState::default(), &event);
        if confidence.is_some_and(|c| !(0.0..=1.0).contains(&c)) {
            prop_assert_eq!(decision.action, Action::Handoff);
            prop_assert!(!decision.errors.is_empty());
        }
        for rule in &decision.rules {
            for m in &rule.matches {
                prop_assert!(m.start <= m.end);
            }
        }
    }

    #[test]
    fn any_json_line_is_refused_or_decided(line in "\\{[a-z\":, 0-9.\\[\\]{}-]{0,60}\\}") {
        if let Ok(event) = Event::from_json(&line) {
            let _ = decide(policy(), &ConversationState::default(), &event);
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
