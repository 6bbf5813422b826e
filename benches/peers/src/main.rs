//! handrail against its peers on the same rules and messages, in one run on one core (issue 13, point 2).
//!
//! **The workload** is `benches/decide.rs`'s (the generator is shared: `benches/common/workload.rs`): 20 phrase
//! sets, one rule each, five per tier (emergency > request > hard_route > escalate; the highest tier wins), of
//! 5, 50 and 500 phrases (100, 1,000 and 10,000 in all), and ~300-character messages of ordinary words, half of
//! them with one policy phrase inside.
//!
//! **The engines**, each asked for the winning tier of every message:
//!
//! | engine / mode | what one timed call does |
//! |---|---|
//! | handrail | `decide(&policy, &state, &event, now)` on a prebuilt `Event`: normalisation, the scan, every tier, the decision value (with its handoff packet when one is built), then the determining rule's tier |
//! | regorus interpreter, `regex.match` | `set_input` (a clone of a prebuilt input `Value`, a reference count) + `eval_rule("data.bench.tier")`: one `regex.match` per phrase set, its compiled regex from regorus's cache |
//! | regorus interpreter, `contains` | the same call; each set is `some p in data.sets.setN.phrases; contains(input.text, p)` |
//! | regorus RVM, `regex.match` / `contains` | the same two policies compiled to an RVM program: `set_input` + `execute` on one reused VM |
//! | Cedar | `Context::from_pairs` + `Request::new` + `is_authorized` over one policy per rule (`context.text like "*phrase*" \|\| ...`), then the highest tier among the satisfied policies |
//!
//! Every call's answer is checked against handrail's before anything is timed: one differing tier on one
//! message stops the run with the message (exit code 1).
//!
//! **Matching semantics, aligned.** handrail matches phrases on word boundaries in normalised (case-folded)
//! text; the peers match plain substrings of the raw text. The phrase set is chosen so the two agree: a
//! generated phrase is kept only if no kept phrase occurs inside it, or it inside a kept phrase, except on word
//! boundaries (where handrail reports both, overlapping hits included), and it cannot begin inside or end inside
//! a filler word (nor lie inside one). The phrases are lowercase ASCII and, so, every substring occurrence in a
//! message is the inserted phrase itself or a word-bounded part of it, and the filler's capitals ("I",
//! "Tuesday") can never be part of a match: lowercasing the text would change nothing, so no peer lowercases.

// A benchmark's inputs are generated here, so a failure is a bug in the benchmark itself, and it should stop
// loudly: panicking is right, and indexing generated vectors is checked by their construction.
#![allow(clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

#[path = "../../common/mod.rs"]
mod common;
#[path = "../../common/workload.rs"]
mod workload;

use std::collections::HashMap;
use std::str::FromStr;
use std::time::{Duration, Instant};

use aho_corasick::{AhoCorasick, MatchKind};
use workload::{FILLER, Figures, TIERS};

/// Phrase sets (rules) at every size: five per tier.
const SETS: usize = 20;

/// The sizes measured, in phrases.
const SIZES: [usize; 3] = [100, 1_000, 10_000];

/// Messages of each kind (with and without a phrase) at every size.
const MESSAGES: usize = 500;

/// Candidate phrases generated per phrase wanted; the alignment filter keeps about half of them.
const OVERSAMPLE: usize = 4;

/// Each timed series runs at least this long (and at least [`MIN_ROUNDS`] passes over the messages).
const MIN_SERIES: Duration = Duration::from_millis(1_500);
const MIN_ROUNDS: usize = 3;
const MAX_ROUNDS: usize = 50;

/// The budget (issue 13): handrail at least this many times faster than the fastest peer configuration.
const BUDGET: f64 = 20.0;

/// The winning tier, as an index into [`TIERS`]; `None` when no rule matches.
type Tier = Option<usize>;

/// The tier of rule `R{s}`, or of `policyN`/set N.
fn tier_of_set(s: usize) -> usize {
    s % TIERS.len()
}

/// One engine in one mode: it prepares its input from a message outside the timing, then decides.
trait Engine {
    type Input;
    fn name(&self) -> &'static str;
    fn prepare(&self, text: &str) -> Self::Input;
    /// The timed call.
    fn decide(&mut self, input: &Self::Input) -> Tier;
}

// ---------------------------------------------------------------------------------------------------------------
// handrail
// ---------------------------------------------------------------------------------------------------------------

struct Handrail {
    policy: handrail::Policy,
    state: handrail::ConversationState,
    now: chrono::DateTime<chrono::Utc>,
    rule_tiers: HashMap<String, usize>,
}

impl Handrail {
    fn new(sets: &[Vec<String>], now: chrono::DateTime<chrono::Utc>) -> Handrail {
        let source = workload::policy_source(sets);
        let out = handrail::compile_source("peers.policy", &source, &handrail::CompileOptions::default());
        let policy =
            out.policy.unwrap_or_else(|| panic!("the benchmark policy compiles: {:?}", out.diagnostics));
        let rule_tiers = (0..sets.len()).map(|s| (format!("R{s}"), tier_of_set(s))).collect();
        Handrail { policy, state: handrail::ConversationState::default(), now, rule_tiers }
    }
}

impl Engine for Handrail {
    type Input = handrail::Event;

    fn name(&self) -> &'static str {
        "handrail"
    }

    fn prepare(&self, text: &str) -> handrail::Event {
        handrail::Event {
            text: Some(text.to_string()),
            confidence: Some(0.8),
            time: Some(self.now),
            ..handrail::Event::default()
        }
    }

    fn decide(&mut self, event: &handrail::Event) -> Tier {
        let (decision, _next) = handrail::decide(&self.policy, &self.state, event, self.now);
        let tier = decision.determining.first().and_then(|id| self.rule_tiers.get(id).copied());
        // With confidence 0.8 the fallback never fires: no rule means the bot answers, or the run is wrong.
        if tier.is_none() && decision.action != handrail::Action::Answer {
            panic!("handrail did not answer a message no rule matched: {:?}", decision.action);
        }
        tier
    }
}

// ---------------------------------------------------------------------------------------------------------------
// regorus
// ---------------------------------------------------------------------------------------------------------------

/// How a Rego rule tests one phrase set.
#[derive(Clone, Copy)]
enum RegoMatch {
    /// `regex.match` of the set's phrases as one alternation.
    Regex,
    /// `contains` once per phrase.
    Contains,
}

/// The Rego module: one rule body per set, the tier an `else` chain in precedence order.
fn rego_source(sets: &[Vec<String>], how: RegoMatch) -> String {
    let mut src = String::from("package bench\n\ndefault tier := \"none\"\n\n");
    src.push_str(&format!("tier := \"{}\" if {{\n  {}\n}}", TIERS[0], TIERS[0]));
    for t in &TIERS[1..] {
        src.push_str(&format!(" else := \"{t}\" if {{\n  {t}\n}}"));
    }
    src.push_str("\n\n");
    for s in 0..sets.len() {
        let tier = TIERS[tier_of_set(s)];
        match how {
            RegoMatch::Regex => {
                for c in 0..regex_chunks(&sets[s]).len() {
                    src.push_str(&format!(
                        "{tier} if regex.match(data.sets.set{s}.patterns[{c}], input.text)\n\n"
                    ));
                }
            }
            RegoMatch::Contains => src.push_str(&format!(
                "{tier} if {{\n  some p in data.sets.set{s}.phrases\n  contains(input.text, p)\n}}\n\n"
            )),
        }
    }
    src
}

/// regorus refuses a `regex.match` pattern whose compiled form exceeds this (`REGEX_SIZE_LIMIT` in regorus's
/// `src/builtins/regex.rs`, 0.14), as an error, not a slower path.
const REGORUS_REGEX_SIZE_LIMIT: usize = 100 * 1024;

/// A set's phrases as alternations, as few as regorus accepts: the whole set in one when it fits under
/// [`REGORUS_REGEX_SIZE_LIMIT`] (the same regex crate and limit regorus compiles with), else the fewest equal
/// chunks that each fit. At 10,000 phrases (500 a set) a set needs a few; below, one.
fn regex_chunks(phrases: &[String]) -> Vec<String> {
    let alternation = |chunk: &[String]| chunk.iter().map(|p| regex::escape(p)).collect::<Vec<_>>().join("|");
    for count in 1..=phrases.len().max(1) {
        let chunks: Vec<String> =
            phrases.chunks(phrases.len().div_ceil(count).max(1)).map(alternation).collect();
        let fits = chunks
            .iter()
            .all(|c| regex::RegexBuilder::new(c).size_limit(REGORUS_REGEX_SIZE_LIMIT).build().is_ok());
        if fits {
            return chunks;
        }
    }
    panic!("no chunking of a set fits regorus's regex size limit");
}

/// The phrases as data: each set's list and its alternations (in data, not in the module: regorus limits a
/// module's lines to 1,024 columns).
fn rego_data(sets: &[Vec<String>]) -> regorus::Value {
    let mut data = serde_json::Map::new();
    for (s, phrases) in sets.iter().enumerate() {
        let patterns = regex_chunks(phrases);
        data.insert(format!("set{s}"), serde_json::json!({ "phrases": phrases, "patterns": patterns }));
    }
    regorus::Value::from(serde_json::json!({ "sets": data }))
}

fn rego_input(text: &str) -> regorus::Value {
    regorus::Value::from(serde_json::json!({ "text": text }))
}

fn rego_tier(value: &regorus::Value) -> Tier {
    let name = value.as_string().unwrap_or_else(|e| panic!("the tier is a string: {e} ({value})"));
    match name.as_ref() {
        "none" => None,
        other => {
            Some(TIERS.iter().position(|t| *t == other).unwrap_or_else(|| panic!("unknown tier `{other}`")))
        }
    }
}

fn rego_engine(sets: &[Vec<String>], how: RegoMatch) -> regorus::Engine {
    let mut engine = regorus::Engine::new();
    engine.add_policy("bench.rego".into(), rego_source(sets, how)).expect("the Rego module parses");
    engine.add_data(rego_data(sets)).expect("the data loads");
    engine
}

struct RegorusInterpreter {
    engine: regorus::Engine,
    name: &'static str,
    rule: String,
}

impl Engine for RegorusInterpreter {
    type Input = regorus::Value;

    fn name(&self) -> &'static str {
        self.name
    }

    fn prepare(&self, text: &str) -> regorus::Value {
        rego_input(text)
    }

    fn decide(&mut self, input: &regorus::Value) -> Tier {
        self.engine.set_input(input.clone());
        let value =
            self.engine.eval_rule(self.rule.clone()).unwrap_or_else(|e| panic!("regorus evaluates: {e}"));
        rego_tier(&value)
    }
}

struct RegorusVm {
    vm: regorus::rvm::RegoVM,
    name: &'static str,
}

impl RegorusVm {
    fn new(sets: &[Vec<String>], how: RegoMatch, name: &'static str) -> RegorusVm {
        let mut engine = rego_engine(sets, how);
        let entry: regorus::Rc<str> = "data.bench.tier".into();
        let compiled = engine.compile_with_entrypoint(&entry).expect("the Rego module compiles");
        let program = regorus::languages::rego::compiler::Compiler::compile_from_policy(&compiled, &[&entry])
            .expect("the module compiles to an RVM program");
        let mut vm = regorus::rvm::RegoVM::new();
        // The default limit (25,000 instructions) stops the `contains` program at 10,000 phrases; regorus's own
        // RVM benchmark runs with 10,000,000. The check costs the same whatever the limit.
        vm.set_max_instructions(10_000_000);
        vm.load_program(program);
        vm.set_data(rego_data(sets)).expect("the RVM takes the data");
        RegorusVm { vm, name }
    }
}

impl Engine for RegorusVm {
    type Input = regorus::Value;

    fn name(&self) -> &'static str {
        self.name
    }

    fn prepare(&self, text: &str) -> regorus::Value {
        rego_input(text)
    }

    fn decide(&mut self, input: &regorus::Value) -> Tier {
        self.vm.set_input(input.clone());
        let value = self.vm.execute().unwrap_or_else(|e| panic!("the RVM executes: {e}"));
        rego_tier(&value)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Cedar
// ---------------------------------------------------------------------------------------------------------------

struct Cedar {
    policies: cedar_policy::PolicySet,
    authorizer: cedar_policy::Authorizer,
    entities: cedar_policy::Entities,
    principal: cedar_policy::EntityUid,
    action: cedar_policy::EntityUid,
    resource: cedar_policy::EntityUid,
    policy_tiers: HashMap<cedar_policy::PolicyId, usize>,
}

impl Cedar {
    fn new(sets: &[Vec<String>]) -> Cedar {
        let mut policies = cedar_policy::PolicySet::new();
        let mut policy_tiers = HashMap::new();
        for (s, phrases) in sets.iter().enumerate() {
            // `*` is the only character `like` treats specially; the phrases have none, but escape it anyway.
            let conditions = phrases
                .iter()
                .map(|p| format!("context.text like \"*{}*\"", p.replace('*', "\\*")))
                .collect::<Vec<_>>()
                .join(" || ");
            let src = format!("permit(principal, action, resource) when {{ {conditions} }};");
            let id = cedar_policy::PolicyId::new(format!("R{s}"));
            let policy = cedar_policy::Policy::parse(Some(id.clone()), src)
                .unwrap_or_else(|e| panic!("the Cedar policy of set {s} parses: {e}"));
            policies.add(policy).expect("policy ids are distinct");
            policy_tiers.insert(id, tier_of_set(s));
        }
        let uid = |s: &str| cedar_policy::EntityUid::from_str(s).expect("the entity uid parses");
        Cedar {
            policies,
            authorizer: cedar_policy::Authorizer::new(),
            entities: cedar_policy::Entities::empty(),
            principal: uid(r#"Customer::"c""#),
            action: uid(r#"Action::"answer""#),
            resource: uid(r#"Conversation::"x""#),
            policy_tiers,
        }
    }
}

impl Engine for Cedar {
    type Input = String;

    fn name(&self) -> &'static str {
        "Cedar"
    }

    fn prepare(&self, text: &str) -> String {
        text.to_string()
    }

    fn decide(&mut self, text: &String) -> Tier {
        let context = cedar_policy::Context::from_pairs([(
            "text".to_string(),
            cedar_policy::RestrictedExpression::new_string(text.clone()),
        )])
        .expect("the context builds");
        let request = cedar_policy::Request::new(
            self.principal.clone(),
            self.action.clone(),
            self.resource.clone(),
            context,
            None,
        )
        .expect("the request builds");
        let response = self.authorizer.is_authorized(&request, &self.policies, &self.entities);
        if let Some(e) = response.diagnostics().errors().next() {
            panic!("Cedar reported an error: {e}");
        }
        response.diagnostics().reason().filter_map(|id| self.policy_tiers.get(id).copied()).min()
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The workload, aligned
// ---------------------------------------------------------------------------------------------------------------

/// Whether `inner` occurs in `outer` other than on word boundaries (the phrases' only separator is a space).
fn unbounded_occurrence(outer: &str, start: usize, end: usize) -> bool {
    let bytes = outer.as_bytes();
    (start > 0 && bytes[start - 1] != b' ') || (end < bytes.len() && bytes[end] != b' ')
}

/// Whether a phrase could be found by substring matching where handrail's word matching would not: inside a
/// filler word, or beginning inside one or ending inside one.
fn touches_filler(phrase: &str) -> bool {
    let first = phrase.split(' ').next().unwrap_or(phrase);
    let last = phrase.rsplit(' ').next().unwrap_or(phrase);
    FILLER
        .iter()
        .map(|f| f.to_lowercase())
        .any(|f| f.contains(phrase) || f.ends_with(first) || f.starts_with(last))
}

/// `SETS` sets of `size / SETS` phrases each, generated as `benches/decide.rs` does and kept only where plain
/// substring matching and word matching agree (see the crate doc). Greedy, in generation order: a candidate is
/// kept unless it conflicts with a phrase kept before it.
fn aligned_sets(size: usize, seed: u64) -> Vec<Vec<String>> {
    let per_set = size / SETS;
    let candidates = workload::phrase_sets(SETS, per_set * OVERSAMPLE, seed);
    let flat: Vec<&str> = candidates.iter().flatten().map(String::as_str).collect();
    let automaton = AhoCorasick::builder()
        .match_kind(MatchKind::Standard)
        .build(&flat)
        .expect("the conflict automaton builds");
    // conflicts[i]: candidates that occur inside candidate i off word boundaries, or inside which it does, or
    // that are the same phrase.
    let mut conflicts: Vec<Vec<usize>> = vec![Vec::new(); flat.len()];
    for (i, text) in flat.iter().enumerate() {
        for m in automaton.find_overlapping_iter(*text) {
            let j = m.pattern().as_usize();
            let whole = m.start() == 0 && m.end() == text.len();
            if j != i && (whole || unbounded_occurrence(text, m.start(), m.end())) {
                conflicts[i].push(j);
                conflicts[j].push(i);
            }
        }
    }
    let mut kept = vec![false; flat.len()];
    let mut sets: Vec<Vec<String>> = vec![Vec::new(); SETS];
    let mut index = 0;
    for (s, set) in candidates.iter().enumerate() {
        for phrase in set {
            let ok = !touches_filler(phrase) && !conflicts[index].iter().any(|&j| kept[j]);
            if ok && sets[s].len() < per_set {
                kept[index] = true;
                sets[s].push(phrase.clone());
            }
            index += 1;
        }
        assert_eq!(sets[s].len(), per_set, "set {s} keeps {per_set} phrases; raise OVERSAMPLE");
    }
    sets
}

// ---------------------------------------------------------------------------------------------------------------
// Timing
// ---------------------------------------------------------------------------------------------------------------

/// Every message's tier from `engine`, then its figures: one sample per call, passes over all the messages
/// until [`MIN_SERIES`] has gone by.
fn run<E: Engine>(engine: &mut E, texts: &[String]) -> (Vec<Tier>, Figures) {
    let inputs: Vec<E::Input> = texts.iter().map(|t| engine.prepare(t)).collect();
    // The untimed pass: the answers the check compares, and the warm-up.
    let tiers: Vec<Tier> = inputs.iter().map(|i| engine.decide(i)).collect();
    let mut samples = Vec::with_capacity(inputs.len() * MIN_ROUNDS);
    let start = Instant::now();
    let mut rounds = 0;
    while rounds < MIN_ROUNDS || (start.elapsed() < MIN_SERIES && rounds < MAX_ROUNDS) {
        for input in &inputs {
            let t = Instant::now();
            std::hint::black_box(engine.decide(std::hint::black_box(input)));
            samples.push(t.elapsed());
        }
        rounds += 1;
    }
    (tiers, Figures::of(samples))
}

/// One row of the table.
struct Row {
    size: usize,
    kind: &'static str,
    engine: &'static str,
    figures: Figures,
}

fn tier_name(t: Tier) -> &'static str {
    t.map_or("none", |t| TIERS[t])
}

/// Runs `engine` on `texts`, checks every tier against handrail's, and records its row.
fn measure<E: Engine>(
    engine: &mut E,
    texts: &[String],
    reference: Option<&[Tier]>,
    size: usize,
    kind: &'static str,
    rows: &mut Vec<Row>,
) -> Vec<Tier> {
    let (tiers, figures) = run(engine, texts);
    if let Some(reference) = reference {
        let differ: Vec<usize> = (0..texts.len()).filter(|&i| tiers[i] != reference[i]).collect();
        if let Some(&i) = differ.first() {
            eprintln!(
                "DISAGREEMENT at {size} phrases: {} gives {} tiers unlike handrail's ({kind}); first, message {i}: {} says `{}`, handrail says `{}`:\n  {:?}",
                engine.name(),
                differ.len(),
                engine.name(),
                tier_name(tiers[i]),
                tier_name(reference[i]),
                texts[i]
            );
            std::process::exit(1);
        }
    }
    eprintln!(
        "  {size:>6} phrases, {kind:<10} {:<28} mean {:9.2} µs ({} samples)",
        engine.name(),
        figures.mean,
        figures.samples
    );
    rows.push(Row { size, kind, engine: engine.name(), figures });
    tiers
}

fn main() {
    println!("machine: {}", common::machine());
    let pinned = core_affinity::get_core_ids()
        .and_then(|ids| ids.last().copied())
        .filter(|id| core_affinity::set_for_current(*id));
    match pinned {
        Some(id) => println!("pinned to core {}", id.id),
        None => println!("NOT pinned to one core (the OS refused): figures may wander between cores"),
    }
    println!(
        "workload: {SETS} rules (5 per tier), {MESSAGES} ~300-character messages with a phrase and {MESSAGES} without"
    );
    let now = chrono::DateTime::from_timestamp(1_767_625_200, 0).unwrap_or_default();
    let mut rows = Vec::new();
    for size in SIZES {
        let sets = aligned_sets(size, 42);
        let all = sets.concat();
        let kinds: [(&'static str, Vec<String>); 2] = [
            ("no phrase", workload::messages(MESSAGES, &all, usize::MAX)),
            ("phrase", workload::messages(MESSAGES, &all, 1)),
        ];
        let t = Instant::now();
        let mut handrail = Handrail::new(&sets, now);
        let mut rego_regex = RegorusInterpreter {
            engine: rego_engine(&sets, RegoMatch::Regex),
            name: "regorus interpreter, regex",
            rule: "data.bench.tier".into(),
        };
        let mut rego_contains = RegorusInterpreter {
            engine: rego_engine(&sets, RegoMatch::Contains),
            name: "regorus interpreter, contains",
            rule: "data.bench.tier".into(),
        };
        let mut rvm_regex = RegorusVm::new(&sets, RegoMatch::Regex, "regorus RVM, regex");
        let mut rvm_contains = RegorusVm::new(&sets, RegoMatch::Contains, "regorus RVM, contains");
        let mut cedar = Cedar::new(&sets);
        let chunks: usize = sets.iter().map(|set| regex_chunks(set).len()).sum();
        println!(
            "{size} phrases: engines built in {:.1} s; {chunks} `regex.match` patterns for {SETS} sets",
            t.elapsed().as_secs_f64()
        );
        for (kind, texts) in &kinds {
            let reference = measure(&mut handrail, texts, None, size, kind, &mut rows);
            // The workload is what it says: every message with a phrase gets a tier, none without one does.
            let tiered = reference.iter().filter(|t| t.is_some()).count();
            let expected = if *kind == "phrase" { texts.len() } else { 0 };
            assert_eq!(
                tiered,
                expected,
                "{kind}: handrail gives a tier to {tiered} of {} messages",
                texts.len()
            );
            let r = Some(reference.as_slice());
            measure(&mut rego_regex, texts, r, size, kind, &mut rows);
            measure(&mut rego_contains, texts, r, size, kind, &mut rows);
            measure(&mut rvm_regex, texts, r, size, kind, &mut rows);
            measure(&mut rvm_contains, texts, r, size, kind, &mut rows);
            measure(&mut cedar, texts, r, size, kind, &mut rows);
        }
        println!(
            "{size} phrases: every engine and mode gave handrail's tier on all {} messages",
            2 * MESSAGES
        );
    }
    report(&rows);
}

/// The table and the budget.
fn report(rows: &[Row]) {
    println!();
    println!(
        "| phrases | messages | engine / mode | mean µs | p50 µs | p99 µs | mean / p50 / p99 as a multiple of handrail |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut verdicts = Vec::new();
    for size in SIZES {
        for kind in ["no phrase", "phrase"] {
            let group: Vec<&Row> = rows.iter().filter(|r| r.size == size && r.kind == kind).collect();
            let Some(base) = group.iter().find(|r| r.engine == "handrail").map(|r| r.figures) else {
                continue;
            };
            for r in &group {
                let f = r.figures;
                println!(
                    "| {size} | {kind} | {} | {:.2} | {:.2} | {:.2} | {:.1}x / {:.1}x / {:.1}x |",
                    r.engine,
                    f.mean,
                    f.p50,
                    f.p99,
                    f.mean / base.mean,
                    f.p50 / base.p50,
                    f.p99 / base.p99
                );
            }
            let fastest = group
                .iter()
                .filter(|r| r.engine != "handrail")
                .min_by(|a, b| a.figures.mean.total_cmp(&b.figures.mean));
            if let Some(fastest) = fastest {
                let by_mean = fastest.figures.mean / base.mean;
                let by_p50 = fastest.figures.p50 / base.p50;
                verdicts.push(format!(
                    "{size} phrases, {kind}: the fastest peer is {} at {by_mean:.1}x handrail's mean and {by_p50:.1}x its p50: {}",
                    fastest.engine,
                    if by_mean >= BUDGET && by_p50 >= BUDGET { "met" } else { "NOT MET" }
                ));
            }
        }
    }
    println!();
    println!(
        "budget: handrail at least {BUDGET}x faster than the fastest peer configuration (mean and p50), at every size"
    );
    for v in verdicts {
        println!("  {v}");
    }
}
