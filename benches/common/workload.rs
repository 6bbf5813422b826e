//! The generated workload every benchmark runs: phrase sets spread over the four tiers, the policy that holds
//! them, and ~300-character messages with or without a phrase inside. Everything comes from fixed seeds, so
//! every run and every engine measures the same work. `benches/decide.rs` and the peer benchmark
//! (`benches/peers`, which includes this file by path) share it.

/// The tiers in precedence order; set `s` belongs to tier `TIERS[s % 4]` (issue 13: highest tier wins).
pub const TIERS: [&str; 4] = ["emergency", "request", "hard_route", "escalate"];

/// A small deterministic generator (64-bit LCG), so the benchmark needs no dependency and never varies.
pub struct Lcg(pub u64);

impl Lcg {
    /// The next 31 bits.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    /// A made-up word of two to four syllables.
    pub fn word(&mut self) -> String {
        const SYLLABLES: [&str; 24] = [
            "ka", "lo", "mi", "tu", "re", "sa", "no", "vi", "de", "po", "ra", "ne", "bo", "li", "fa", "gu",
            "che", "tra", "sol", "mer", "dan", "ique", "ver", "pon",
        ];
        let n = 2 + self.next() % 3;
        (0..n).map(|_| SYLLABLES[(self.next() % SYLLABLES.len() as u64) as usize]).collect()
    }

    /// A phrase of one to three made-up words.
    pub fn phrase(&mut self) -> String {
        let words = 1 + self.next() % 3;
        (0..words).map(|_| self.word()).collect::<Vec<_>>().join(" ")
    }
}

/// `sets` phrase sets of `per_set` phrases each, from `seed`.
pub fn phrase_sets(sets: usize, per_set: usize, seed: u64) -> Vec<Vec<String>> {
    let mut rng = Lcg(seed);
    (0..sets).map(|_| (0..per_set).map(|_| rng.phrase()).collect()).collect()
}

/// A policy with one rule per phrase set: set `s` is rule `R{s}` of tier `TIERS[s % 4]`, rank `s`, routed to
/// one 24/7 queue; a confidence fallback below 0.6.
pub fn policy_source(sets: &[Vec<String>]) -> String {
    let mut src = String::from(
        "policy bench {\n  version \"1\"\n  safe_queue desk\n}\n\nqueue desk {\n  hours \"24/7\"\n}\n\n",
    );
    for (s, phrases) in sets.iter().enumerate() {
        src.push_str(&format!("phrases set{s} {{\n"));
        for p in phrases {
            src.push_str(&format!("  \"{p}\"\n"));
        }
        src.push_str("}\n\n");
        let tier = TIERS[s % TIERS.len()];
        src.push_str(&format!(
            "@id(\"R{s}\")\n{tier} rule{s} {{\n  when says set{s}\n  route desk\n  rank {s}\n}}\n\n"
        ));
    }
    src.push_str("fallback {\n  confidence below 0.6\n  handoff below 0.45\n  strikes 2\n}\n");
    src
}

/// The ordinary words messages are made of.
pub const FILLER: [&str; 27] = [
    "hello", "I", "would", "like", "to", "know", "about", "my", "order", "from", "last", "week", "and",
    "whether", "the", "delivery", "can", "be", "changed", "to", "Tuesday", "morning", "thanks", "so", "much",
    "for", "help",
];

/// ~300-character messages of [`FILLER`] words with, in every `every`th message, one of `phrases` inside
/// (around the 150th character, so it is never cut off).
pub fn messages(count: usize, phrases: &[String], every: usize) -> Vec<String> {
    let mut rng = Lcg(7);
    (0..count)
        .map(|i| {
            let mut m = String::new();
            while m.len() < 300 {
                m.push_str(FILLER[(rng.next() % FILLER.len() as u64) as usize]);
                m.push(' ');
                if (i + 1) % every == 0 && m.len() > 150 && m.len() < 160 {
                    m.push_str(&phrases[(rng.next() % phrases.len() as u64) as usize]);
                    m.push(' ');
                }
            }
            m.truncate(300);
            m
        })
        .collect()
}

/// Latency figures of one timed call, in microseconds, from one sample per call.
#[derive(Debug, Clone, Copy)]
pub struct Figures {
    /// The mean.
    pub mean: f64,
    /// The median.
    pub p50: f64,
    /// The 99th percentile.
    pub p99: f64,
    /// How many calls were timed.
    pub samples: usize,
}

impl Figures {
    /// The figures of `samples` (at least one).
    pub fn of(mut samples: Vec<std::time::Duration>) -> Figures {
        samples.sort_unstable();
        let us = |d: std::time::Duration| d.as_secs_f64() * 1e6;
        let mean = samples.iter().map(|d| us(*d)).sum::<f64>() / samples.len() as f64;
        let at = |p: f64| us(samples[((samples.len() - 1) as f64 * p) as usize]);
        Figures { mean, p50: at(0.50), p99: at(0.99), samples: samples.len() }
    }
}
