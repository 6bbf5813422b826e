//! Benchmark `decide`: the cost of one decision, and of compiling a large policy.
//!
//! Budgets (DESIGN §6, on a 2-core machine): one decision on a ~300-character message against a policy of over
//! 1,000 phrases, p50 under 5 µs and p99 under 25 µs; over 200,000 decisions per second per core; compiling a
//! 100,000-phrase policy in under a second.
//!
//! Run with `cargo bench --bench decide`. It prints the machine, the inputs and the figures; the policies and
//! messages are generated from a fixed seed, so every run measures the same work. Each latency sample is one
//! call timed on its own (the clock read costs a few tens of nanoseconds, included in the figures).

// Benchmark inputs are generated here, so a failure is a bug in the benchmark itself: panicking is right.
#![allow(clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use handrail::compile::{Options, compile_source};
use handrail::eval::{ConversationState, Event, decide};

/// A small deterministic generator (64-bit LCG), so the benchmark needs no dependency and never varies.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn word(&mut self) -> String {
        const SYLLABLES: [&str; 24] = [
            "ka", "lo", "mi", "tu", "re", "sa", "no", "vi", "de", "po", "ra", "ne", "bo", "li", "fa", "gu",
            "che", "tra", "sol", "mer", "dan", "ique", "ver", "pon",
        ];
        let n = 2 + self.next() % 3;
        (0..n).map(|_| SYLLABLES[(self.next() % SYLLABLES.len() as u64) as usize]).collect()
    }

    fn phrase(&mut self) -> String {
        let words = 1 + self.next() % 3;
        (0..words).map(|_| self.word()).collect::<Vec<_>>().join(" ")
    }
}

/// A policy with `sets` phrase sets of `per_set` phrases each, spread over the four tiers.
/// The time of the benchmark's events (they carry none): a Monday afternoon (UTC), inside business hours.
fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_767_625_200, 0).unwrap_or_default()
}

fn policy_source(sets: usize, per_set: usize, seed: u64) -> (String, Vec<String>) {
    let mut rng = Lcg(seed);
    let mut all = Vec::new();
    let mut src = String::from(
        "policy bench {\n  version \"1\"\n  safe_queue desk\n}\n\nqueue desk {\n  hours \"24/7\"\n}\n\n",
    );
    for s in 0..sets {
        src.push_str(&format!("phrases set{s} {{\n"));
        for _ in 0..per_set {
            let p = rng.phrase();
            src.push_str(&format!("  \"{p}\"\n"));
            all.push(p);
        }
        src.push_str("}\n\n");
        let tier = ["emergency", "request", "hard_route", "escalate"][s % 4];
        src.push_str(&format!(
            "@id(\"R{s}\")\n{tier} rule{s} {{\n  when says set{s}\n  route desk\n  rank {s}\n}}\n\n"
        ));
    }
    src.push_str("fallback {\n  confidence below 0.45\n  strikes 2\n}\n");
    (src, all)
}

/// A ~300-character message of ordinary words with, every `every`th message, one policy phrase inside.
fn messages(count: usize, phrases: &[String], every: usize) -> Vec<String> {
    let mut rng = Lcg(7);
    let filler = [
        "hello", "I", "would", "like", "to", "know", "about", "my", "order", "from", "last", "week", "and",
        "whether", "the", "delivery", "can", "be", "changed", "to", "Tuesday", "morning", "thanks", "so",
        "much", "for", "help",
    ];
    (0..count)
        .map(|i| {
            let mut m = String::new();
            while m.len() < 300 {
                m.push_str(filler[(rng.next() % filler.len() as u64) as usize]);
                m.push(' ');
                if i % every == 0 && m.len() > 150 && m.len() < 160 {
                    m.push_str(&phrases[(rng.next() % phrases.len() as u64) as usize]);
                    m.push(' ');
                }
            }
            m.truncate(300);
            m
        })
        .collect()
}

/// One decision per message against a shipped pack (the built-in copy), p50 and p99, and the time to compile it.
fn pack_decisions(pack: &str, texts: &[String]) {
    let source = format!("policy bench_{pack} {{\n  version \"1\"\n  extends {pack}\n}}\n");
    let t = Instant::now();
    let compiled = compile_source("bench.policy", &source, &Options::default());
    let compile_time = t.elapsed();
    let policy = compiled.policy.expect("the pack compiles");
    // Ordinary messages, and the same with an emergency phrase inside, so both paths are timed.
    let mut all: Vec<String> = texts.iter().take(1_000).cloned().collect();
    all.extend(texts.iter().take(1_000).map(|t| {
        let mut m = t.clone();
        m.truncate(250);
        m.push_str(" and i dont want to live anymore");
        m
    }));
    let events: Vec<Event> = all
        .iter()
        .map(|t| Event {
            text: Some(t.clone()),
            confidence: Some(0.8),
            time: Some(now()),
            ..Event::default()
        })
        .collect();
    let state = ConversationState::default();
    let emergencies = events
        .iter()
        .filter(|e| decide(&policy, &state, e, now()).0.action == handrail::eval::Action::Emergency)
        .count();
    let mut samples = Vec::with_capacity(events.len() * 50);
    for _ in 0..50 {
        for e in &events {
            let t = Instant::now();
            std::hint::black_box(decide(&policy, &state, e, now()));
            samples.push(t.elapsed());
        }
    }
    samples.sort_unstable();
    let mut scans = Vec::with_capacity(events.len() * 10);
    for _ in 0..10 {
        for t in &all {
            let start = Instant::now();
            std::hint::black_box(policy.matcher.scan(t));
            scans.push(start.elapsed());
        }
    }
    scans.sort_unstable();
    let mut norms = Vec::with_capacity(all.len());
    for t in &all {
        let start = Instant::now();
        std::hint::black_box(handrail::text::normalize(t));
        norms.push(start.elapsed());
    }
    norms.sort_unstable();
    println!("pack {pack}: normalisation alone: p50 {:.2} µs", percentile(&norms, 0.5).as_secs_f64() * 1e6);
    let hits: usize = all.iter().map(|t| policy.matcher.scan(t).hits.len()).sum();
    println!(
        "pack {pack}: the phrase scan alone: p50 {:.2} µs, p99 {:.2} µs, {:.1} hits per message",
        percentile(&scans, 0.50).as_secs_f64() * 1e6,
        percentile(&scans, 0.99).as_secs_f64() * 1e6,
        hits as f64 / all.len() as f64
    );
    println!(
        "pack {pack}: {} phrases ({} automaton patterns), compiled in {:.0} ms; {} decisions on ~300-character messages, {} of {} emergencies; p50 {:.2} µs, p99 {:.2} µs (budget: p50 < 5 µs, p99 < 25 µs)",
        policy.phrases.len(),
        policy.matcher.patterns(),
        compile_time.as_secs_f64() * 1e3,
        samples.len(),
        emergencies,
        events.len(),
        percentile(&samples, 0.50).as_secs_f64() * 1e6,
        percentile(&samples, 0.99).as_secs_f64() * 1e6,
    );
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p) as usize]
}

fn main() {
    println!("machine: {}", common::machine());

    // One decision against a policy of 1,200 phrases.
    let (source, phrases) = policy_source(24, 50, 42);
    let compiled = compile_source("bench.policy", &source, &Options::default());
    let policy = compiled.policy.expect("the benchmark policy compiles");
    let texts = messages(2_000, &phrases, 4);
    let events: Vec<Event> = texts
        .iter()
        .map(|t| Event {
            text: Some(t.clone()),
            confidence: Some(0.8),
            time: Some(now()),
            ..Event::default()
        })
        .collect();
    let state = ConversationState::default();
    let mut handoffs = 0usize;
    for e in events.iter().take(2_000) {
        // Warm-up, and a check that the phrases are really found.
        if decide(&policy, &state, e, now()).0.rules.iter().any(|r| !r.matches.is_empty()) {
            handoffs += 1;
        }
    }
    let rounds = 100;
    let mut samples = Vec::with_capacity(events.len() * rounds);
    let started = Instant::now();
    for _ in 0..rounds {
        for e in &events {
            let t = Instant::now();
            let d = decide(&policy, &state, e, now());
            samples.push(t.elapsed());
            std::hint::black_box(d);
        }
    }
    let total = started.elapsed();
    samples.sort_unstable();
    let n = samples.len();
    println!(
        "decide: policy of {} phrases in {} sets, {n} decisions on {}-character messages ({}% contain a phrase)",
        policy.phrases.len(),
        policy.phrase_sets.len(),
        texts[0].len(),
        handoffs * 100 / events.len()
    );
    println!(
        "decide: p50 {:.2} µs, p90 {:.2} µs, p99 {:.2} µs, max {:.2} µs (budget: p50 < 5 µs, p99 < 25 µs)",
        percentile(&samples, 0.50).as_secs_f64() * 1e6,
        percentile(&samples, 0.90).as_secs_f64() * 1e6,
        percentile(&samples, 0.99).as_secs_f64() * 1e6,
        samples[n - 1].as_secs_f64() * 1e6,
    );
    println!(
        "decide: {:.0} decisions/s on one core, timing included (budget: > 200,000)",
        n as f64 / total.as_secs_f64()
    );

    // The shipped packs as they are: proximity, stemming and typo tolerance included.
    for pack in ["common", "healthcare"] {
        pack_decisions(pack, &texts);
    }

    // Compiling a 100,000-phrase policy.
    let (big, _) = policy_source(100, 1_000, 9);
    let mut times = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let out = compile_source("big.policy", &big, &Options::default());
        times.push(t.elapsed());
        assert!(out.policy.is_some(), "the 100,000-phrase policy compiles");
    }
    times.sort_unstable();
    println!(
        "compile: 100,000 phrases ({} KiB of policy text): median {:.0} ms of 3 runs (budget: < 1000 ms)",
        big.len() / 1024,
        times[1].as_secs_f64() * 1e3
    );
}
