//! Benchmark `decide`: the cost of one decision as a multiple of one raw pass over the text, and of compiling.
//!
//! Absolute budgets do not travel between machines, so every figure is also printed as a ratio to a floor timed
//! in the same run on the same messages: one raw `aho-corasick` pass (leftmost-longest, no normalisation) over
//! the policy's phrases (issue 13). Budgets: an answer costs at most 3x the floor and an escalation with its
//! packet at most 6x, at 1,000 and at 100,000 phrases; p99 at most 3x p50; a decision at turn 50 at most 1.5x
//! one at turn 1; compiling 100,000 phrases under 1 s, printed as a ratio to building the raw automaton.
//! Allocations per decision are counted with a counting allocator and printed.
//!
//! Run with `cargo bench --bench decide`. It prints the machine, the inputs and the figures; the policies and
//! messages are generated from a fixed seed, so every run measures the same work. Each latency sample is one
//! call timed on its own (the clock read costs a few tens of nanoseconds, included in every figure, the floor's
//! too).

// Benchmark inputs are generated here, so a failure is a bug in the benchmark itself: panicking is right.
#![allow(clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;
// The generated workload, shared with the peer benchmark (benches/peers); not in `common`, which audit.rs uses too.
#[path = "common/workload.rs"]
mod workload;

use std::time::{Duration, Instant};

use aho_corasick::{AhoCorasick, MatchKind};
use handrail::compile::{Options, Policy, compile_source};
use handrail::eval::{Action, ConversationState, Event, EventKind, decide};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use workload::{Figures, messages};

#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

/// The time of the benchmark's events: a Monday afternoon (UTC), inside business hours.
fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_767_625_200, 0).unwrap_or_default()
}

/// A policy with `sets` phrase sets of `per_set` phrases each, spread over the four tiers, and all its phrases.
fn policy_source(sets: usize, per_set: usize, seed: u64) -> (String, Vec<String>) {
    let sets = workload::phrase_sets(sets, per_set, seed);
    (workload::policy_source(&sets), sets.concat())
}

impl Figures {
    fn line(&self) -> String {
        format!(
            "mean {:6.2} µs, p50 {:6.2} µs, p99 {:6.2} µs ({} calls)",
            self.mean, self.p50, self.p99, self.samples
        )
    }

    fn ratio(&self, floor: &Figures) -> String {
        format!(
            "{:.1}x / {:.1}x / {:.1}x the floor (mean / p50 / p99)",
            self.mean / floor.mean,
            self.p50 / floor.p50,
            self.p99 / floor.p99
        )
    }
}

/// Times `f` on every item, `rounds` times, one sample per call.
fn time<T>(items: &[T], rounds: usize, mut f: impl FnMut(&T)) -> Figures {
    for item in items.iter().take(200) {
        f(item); // warm-up
    }
    let mut samples = Vec::with_capacity(items.len() * rounds);
    for _ in 0..rounds {
        for item in items {
            let t = Instant::now();
            f(item);
            samples.push(t.elapsed());
        }
    }
    Figures::of(samples)
}

/// Allocations per call of `f`, over every item.
fn allocations<T>(items: &[T], mut f: impl FnMut(&T)) -> f64 {
    let region = Region::new(GLOBAL);
    for item in items {
        f(item);
    }
    region.change().allocations as f64 / items.len() as f64
}

fn event(text: &str, confidence: f64) -> Event {
    Event {
        text: Some(text.to_string()),
        confidence: Some(confidence),
        time: Some(now()),
        ..Event::default()
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT MET" }
}

/// The three kinds of decision, each against the raw pass over the same messages.
fn decisions(label: &str, policy: &Policy, phrases: &[String], rounds: usize) {
    let floor_automaton = AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostLongest)
        .build(phrases)
        .expect("the floor builds");
    let plain = messages(1_000, phrases, usize::MAX);
    let triggered = messages(1_000, phrases, 1);
    let state = ConversationState::default();
    let kinds = [
        ("answer", plain.iter().map(|t| event(t, 0.8)).collect::<Vec<_>>(), Action::Answer, 3.0),
        ("fallback handoff", plain.iter().map(|t| event(t, 0.3)).collect(), Action::Handoff, 6.0),
        ("phrase-triggered handoff", triggered.iter().map(|t| event(t, 0.8)).collect(), Action::Handoff, 6.0),
    ];
    println!(
        "{label}: {} phrases, {} decisions of each kind on 300-character messages",
        phrases.len(),
        1_000 * rounds
    );
    for (name, events, expected, budget) in &kinds {
        let escalating =
            events.iter().filter(|e| decide(policy, &state, e, now()).0.action != Action::Answer).count();
        let texts: Vec<&str> = events.iter().map(|e| e.text.as_deref().unwrap_or("")).collect();
        let floor = time(&texts, rounds, |t| {
            std::hint::black_box(floor_automaton.find_iter(t).count());
        });
        let figures = time(events, rounds, |e| {
            std::hint::black_box(decide(policy, &state, e, now()));
        });
        let allocs = allocations(events, |e| {
            std::hint::black_box(decide(policy, &state, e, now()));
        });
        let ok = figures.mean / floor.mean <= *budget && figures.p50 / floor.p50 <= *budget;
        println!(
            "  {name:<25} {} = {} (budget {budget}x: {}); p99 {:.1}x p50 (budget 3x: {}); {allocs:.1} allocations; {} of {} {}",
            figures.line(),
            figures.ratio(&floor),
            verdict(ok),
            figures.p99 / figures.p50,
            verdict(figures.p99 <= 3.0 * figures.p50),
            if *expected == Action::Answer { events.len() - escalating } else { escalating },
            events.len(),
            if *expected == Action::Answer { "answered" } else { "escalated" },
        );
        println!("  {:<25} {} (the floor)", "", floor.line());
    }
}

/// A decision from a 50-turn conversation against one from a fresh one.
fn long_conversation(policy: &Policy, phrases: &[String]) {
    let plain = messages(1_000, phrases, usize::MAX);
    let triggered = messages(1_000, phrases, 1);
    let mut state = ConversationState::default();
    for (i, text) in plain.iter().take(25).enumerate() {
        state = decide(policy, &state, &event(text, 0.8), now()).1;
        let reply = Event { kind: EventKind::BotReply, ..event(&plain[i + 100], 0.8) };
        state = decide(policy, &state, &reply, now()).1;
    }
    assert_eq!(state.transcript.len(), 50, "the state holds 50 turns");
    let fresh = ConversationState::default();
    for (name, texts) in [("answer", &plain), ("phrase-triggered handoff", &triggered)] {
        let events: Vec<Event> = texts.iter().map(|t| event(t, 0.8)).collect();
        let turn1 = time(&events, 10, |e| {
            std::hint::black_box(decide(policy, &fresh, e, now()));
        });
        let turn50 = time(&events, 10, |e| {
            std::hint::black_box(decide(policy, &state, e, now()));
        });
        println!(
            "  {name:<25} turn 1 {}; turn 50 {}: {:.2}x (budget 1.5x: {})",
            turn1.line(),
            turn50.line(),
            turn50.mean / turn1.mean,
            verdict(turn50.mean <= 1.5 * turn1.mean)
        );
    }
}

/// One decision per message against a shipped pack (the built-in copy), and the time to compile it.
fn pack_decisions(pack: &str) {
    let source = format!("policy bench_{pack} {{\n  version \"1\"\n  extends {pack}\n}}\n");
    let t = Instant::now();
    let compiled = compile_source("bench.policy", &source, &Options::default());
    let compile_time = t.elapsed();
    let policy = compiled.policy.expect("the pack compiles");
    // The floor: the pack's quoted phrases as literals (proximities are not literals and are left out of it).
    let literals: Vec<String> =
        policy.phrases.iter().filter(|p| !p.proximity).map(|p| p.text.clone()).collect();
    let floor_automaton = AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostLongest)
        .build(&literals)
        .expect("the floor builds");
    let plain = messages(1_000, &literals, usize::MAX);
    let mut urgent = plain.clone();
    for m in &mut urgent {
        m.truncate(250);
        m.push_str(" and i dont want to live anymore");
    }
    let state = ConversationState::default();
    let answers: Vec<Event> = plain.iter().map(|t| event(t, 0.8)).collect();
    let emergencies: Vec<Event> = urgent.iter().map(|t| event(t, 0.8)).collect();
    let found = emergencies
        .iter()
        .filter(|e| decide(&policy, &state, e, now()).0.action == Action::Emergency)
        .count();
    println!(
        "pack {pack}: {} phrases ({} automaton patterns), compiled in {:.0} ms; {found} of {} emergencies found",
        policy.phrases.len(),
        policy.matcher.patterns(),
        compile_time.as_secs_f64() * 1e3,
        emergencies.len()
    );
    for (name, events) in [("answer", &answers), ("emergency", &emergencies)] {
        let texts: Vec<&str> = events.iter().map(|e| e.text.as_deref().unwrap_or("")).collect();
        let floor = time(&texts, 10, |t| {
            std::hint::black_box(floor_automaton.find_iter(t).count());
        });
        let figures = time(events, 10, |e| {
            std::hint::black_box(decide(&policy, &state, e, now()));
        });
        let scan = time(&texts, 10, |t| {
            std::hint::black_box(policy.matcher.scan(t));
        });
        println!("  {name:<10} decide {} = {}", figures.line(), figures.ratio(&floor));
        println!(
            "  {:<10} scan   {}; raw pass over its {} literals {}",
            "",
            scan.line(),
            literals.len(),
            floor.line()
        );
    }
}

fn main() {
    println!("machine: {}", common::machine());

    for (sets, per_set, rounds) in [(20, 50, 20), (100, 1_000, 5)] {
        let (source, phrases) = policy_source(sets, per_set, 42);
        let compiled = compile_source("bench.policy", &source, &Options::default());
        let policy = compiled.policy.expect("the benchmark policy compiles");
        decisions(&format!("decide at {} phrases", phrases.len()), &policy, &phrases, rounds);
        if phrases.len() == 1_000 {
            println!("conversation length, {} phrases:", phrases.len());
            long_conversation(&policy, &phrases);
        }
    }

    // The shipped packs as they are: proximity, stemming and typo tolerance included.
    for pack in ["common", "healthcare"] {
        pack_decisions(pack);
    }

    // Compiling a 100,000-phrase policy, against building the raw automaton over the same phrases.
    let (big, phrases) = policy_source(100, 1_000, 9);
    let mut compile = Vec::new();
    let mut raw = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let out = compile_source("big.policy", &big, &Options::default());
        compile.push(t.elapsed());
        assert!(out.policy.is_some(), "the 100,000-phrase policy compiles");
        let t = Instant::now();
        std::hint::black_box(
            AhoCorasick::builder().match_kind(MatchKind::LeftmostLongest).build(&phrases).expect("builds"),
        );
        raw.push(t.elapsed());
    }
    compile.sort_unstable();
    raw.sort_unstable();
    println!(
        "compile: 100,000 phrases ({} KiB of policy text): median {:.0} ms of 3 runs (budget: < 1000 ms: {}), {:.2}x building the raw automaton ({:.0} ms)",
        big.len() / 1024,
        compile[1].as_secs_f64() * 1e3,
        verdict(compile[1] < Duration::from_secs(1)),
        compile[1].as_secs_f64() / raw[1].as_secs_f64(),
        raw[1].as_secs_f64() * 1e3
    );
}
