//! Lints: warnings about a policy that compiles but is probably not what its author meant.
//!
//! - `missing-id`: a rule without `@id` (tests, explanations and audit records key on the id).
//! - `never-fires`: a condition no event can satisfy (`confidence < 0.3 and confidence > 0.5`, an empty set).
//! - `phrase-in-two-tiers`: one phrase in sets used by rules of two tiers; the higher tier always wins.
//! - `duplicate-phrase`: one phrase twice in a set (after normalisation).
//! - `suspicious-phrase`: invisible or look-alike characters, which make a phrase silently never match.
//! - `ambiguous-route`: two rules of one tier routing to different queues with no `rank` between them.
//! - `unused-phrase-set`: a set of the local policy that nothing uses.
//! - `proximity-never-matches`: a proximity with a side that holds no phrase.
//! - `generic-phrase`: a phrase of one common word ("help", "card"), which fires on messages that need nothing;
//!   `@reviewed("why")` before the phrase silences it. (`handrail check --negatives FILE` adds the measured
//!   form: a phrase that fires on more than a set share of a file of negative messages.)
//! - `typo-collision`: with `typos`, a phrase that also matches a phrase of a set used by another tier.
//! - `pack-queue-default`: a queue of an extended pack, not redefined, that is live chat 24/7 (see
//!   [`pack_queue_defaults`]).

use std::collections::{BTreeMap, HashSet};

use super::policy::{CompareOp, Tier};
use crate::diagnostic::SourceId;
use crate::syntax::ast;

use super::error::{CompileError, CompileErrorKind as K};
use super::merge::{Def as Definition, MergedSet as Set};
use super::policy::{Cond, Rule};
use crate::syntax::ast::ProximitySide;

/// Runs every lint and returns the warnings.
///
/// Only the file being compiled is linted: a pack's lints are its authors' business, shown when the pack itself
/// is checked, and would only be noise to the person extending it.
pub(super) fn run(
    root: SourceId,
    defs: &[Definition<'_, ast::Rule>],
    rules: &[Rule],
    sets: &[Set],
    empty: &[bool],
    used: &HashSet<u32>,
) -> Vec<CompileError> {
    let mut lints = Vec::new();
    let b = &mut lints;
    for def in defs {
        let r = def.node;
        if def.annotation("id").is_none() {
            b.push(CompileError::new(K::MissingId(r.name.text.clone()), def.source, r.name.span).help(
                format!("add `@id(\"{}\")` above it: tests and audit records key on the id", suggested_id(r)),
            ));
        }
        let Some(rule) = rules.iter().find(|x| x.name == r.name.text) else {
            continue;
        };
        if let Some(why) = never(&rule.when, sets, empty) {
            b.push(CompileError::new(K::NeverFires(rule.name.clone(), why), def.source, r.name.span));
        }
    }
    // A phrase "wins" for a tier only where it can fire a rule of that tier alone: not as a side of a proximity,
    // not beside another phrase test in an `and`, not under `not`.
    let tiers = tiers_of_sets(rules, sets, alone);
    phrases(b, &tiers, sets);
    proximities(b, sets, empty);
    generic(b, &tiers, sets);
    typo_collisions(b, &tiers, sets);
    ambiguous_routes(b, defs, rules);
    for (i, set) in sets.iter().enumerate() {
        if set.from_root && !used.contains(&(i as u32)) {
            b.push(CompileError::new(K::UnusedPhraseSet(set.name.clone()), set.source, set.span));
        }
    }
    lints.retain(|p| p.location.source == root);
    lints
}

fn suggested_id(r: &ast::Rule) -> String {
    let prefix = match Tier::from(r.tier) {
        Tier::Emergency => "EMER",
        Tier::Request => "REQ",
        Tier::HardRoute => "HR",
        Tier::Escalate => "ESC",
    };
    format!("{prefix}-{}", r.name.text.to_uppercase().replace('_', "-"))
}

/// Why a condition can never hold, if it cannot.
fn never(c: &Cond, sets: &[Set], empty: &[bool]) -> Option<String> {
    match c {
        Cond::Says(i) => sets
            .get(*i as usize)
            .filter(|_| empty.get(*i as usize).copied().unwrap_or(false))
            .map(|s| format!("the phrase set `{}` is empty", s.name)),
        Cond::Or(parts) if !parts.is_empty() => {
            let reasons: Option<Vec<String>> = parts.iter().map(|p| never(p, sets, empty)).collect();
            reasons.map(|r| r.join("; "))
        }
        Cond::And(parts) => {
            if let Some(why) = parts.iter().find_map(|p| never(p, sets, empty)) {
                return Some(why);
            }
            empty_interval(parts)
        }
        _ => None,
    }
}

/// Finds a numeric field whose comparisons in one `and` leave no possible value.
fn empty_interval(parts: &[Cond]) -> Option<String> {
    let mut bounds: BTreeMap<&'static str, (f64, bool, f64, bool)> = BTreeMap::new();
    for p in parts {
        let Cond::Number(field, op, v) = p else { continue };
        let name = field.name();
        let (lo, lo_strict, hi, hi_strict) =
            bounds.entry(name).or_insert((f64::NEG_INFINITY, false, f64::INFINITY, false));
        match op {
            CompareOp::Gt | CompareOp::Ge if *v > *lo || (*v == *lo && *op == CompareOp::Gt) => {
                *lo = *v;
                *lo_strict = *op == CompareOp::Gt;
            }
            CompareOp::Lt | CompareOp::Le if *v < *hi || (*v == *hi && *op == CompareOp::Lt) => {
                *hi = *v;
                *hi_strict = *op == CompareOp::Lt;
            }
            CompareOp::Eq => {
                if *v > *lo {
                    *lo = *v;
                    *lo_strict = false;
                }
                if *v < *hi {
                    *hi = *v;
                    *hi_strict = false;
                }
            }
            _ => {}
        }
    }
    bounds.into_iter().find_map(|(name, (lo, lo_strict, hi, hi_strict))| {
        let empty = lo > hi || (lo == hi && (lo_strict || hi_strict));
        empty.then(|| format!("no value of `{name}` satisfies every comparison"))
    })
}

/// The sets a set is built from: itself and the sets it includes, directly or not, and, with `sides`, the named
/// sides of its proximities (whose phrases never match alone).
pub(super) fn members(sets: &[Set], start: usize, sides: bool) -> Vec<usize> {
    let mut found = vec![start];
    let mut next = 0;
    while let Some(&i) = found.get(next) {
        next += 1;
        let Some(set) = sets.get(i) else { continue };
        let named_sides = set.proximities.iter().filter(|_| sides).flat_map(|(p, _, _)| [&p.left, &p.right]);
        let named_sides = named_sides.filter_map(|side| match side {
            ProximitySide::Set(name) => Some(name),
            ProximitySide::Phrase(_) => None,
        });
        for name in set.includes.iter().map(|(name, _)| name).chain(named_sides) {
            if let Some(j) = sets.iter().position(|s| s.name == name.text)
                && !found.contains(&j)
            {
                found.push(j);
            }
        }
    }
    found
}

/// The highest tier whose rules test each set, through the sets that include it (not through proximities: a
/// side's phrases never decide alone).
fn tiers_of_sets(rules: &[Rule], sets: &[Set], tested: fn(&Cond) -> Vec<u32>) -> BTreeMap<u32, Tier> {
    let mut tier_of_set: BTreeMap<u32, Tier> = BTreeMap::new();
    for rule in rules {
        for set in tested(&rule.when) {
            for member in members(sets, set as usize, false) {
                let tier = tier_of_set.entry(member as u32).or_insert(rule.tier);
                *tier = (*tier).min(rule.tier);
            }
        }
    }
    tier_of_set
}

/// Duplicate phrases, suspicious characters, and phrases shared between tiers.
fn phrases(b: &mut Vec<CompileError>, tier_of_set: &BTreeMap<u32, Tier>, sets: &[Set]) {
    let mut first_seen: BTreeMap<String, (u32, Tier)> = BTreeMap::new();
    let mut reported: HashSet<(u32, u32)> = HashSet::new();
    for (i, set) in sets.iter().enumerate() {
        let i = i as u32;
        let mut in_set: HashSet<String> = HashSet::new();
        for phrase in &set.phrases {
            let (text, src, span) = (&phrase.text, &phrase.source, &phrase.span);
            for s in crate::text::suspicious_chars(text) {
                b.push(
                    CompileError::new(K::SuspiciousPhrase(text.clone(), s.description.clone()), *src, *span)
                        .help("retype the phrase: such characters make it look right but never match"),
                );
            }
            let Ok(normal) = crate::text::normalize_phrase(text) else {
                continue;
            };
            if !in_set.insert(normal.clone()) {
                b.push(CompileError::new(K::DuplicatePhrase(text.clone(), set.name.clone()), *src, *span));
                continue;
            }
            let Some(tier) = tier_of_set.get(&i).copied() else {
                continue;
            };
            match first_seen.get(&normal) {
                Some((other, other_tier)) if *other_tier != tier && reported.insert((*other, i)) => {
                    let other_name = sets.get(*other as usize).map(|s| s.name.clone()).unwrap_or_default();
                    b.push(
                        CompileError::new(
                            K::PhraseInTwoTiers {
                                phrase: normal.clone(),
                                first: other_name,
                                first_tier: other_tier.keyword(),
                                second: set.name.clone(),
                                second_tier: tier.keyword(),
                            },
                            *src,
                            *span,
                        )
                        .help("the higher tier always wins, so the phrase never reaches the lower one"),
                    );
                }
                Some(_) => {}
                None => {
                    first_seen.insert(normal, (i, tier));
                }
            }
        }
    }
}

/// Proximities with a side that holds no phrase.
fn proximities(b: &mut Vec<CompileError>, sets: &[Set], empty: &[bool]) {
    for set in sets {
        for (p, src, span) in &set.proximities {
            for side in [&p.left, &p.right] {
                let ProximitySide::Set(name) = side else { continue };
                let Some(j) = sets.iter().position(|s| s.name == name.text) else { continue };
                if empty.get(j).copied().unwrap_or(false) {
                    b.push(CompileError::new(
                        K::ProximityNeverMatches(
                            crate::syntax::print::proximity(p),
                            format!("the phrase set `{}` is empty", name.text),
                        ),
                        *src,
                        *span,
                    ));
                }
            }
        }
    }
}

/// The sets whose phrases alone can make a condition hold: not those under `not`, nor those joined by `and` to
/// another phrase test (`says denial and says payment` needs both, so neither word stands alone).
fn alone(c: &Cond) -> Vec<u32> {
    match c {
        Cond::Says(set) => vec![*set],
        Cond::Or(parts) => parts.iter().flat_map(alone).collect(),
        Cond::And(parts) => {
            let with_phrases =
                parts.iter().filter(|p| !p.phrase_sets().is_empty() && !matches!(p, Cond::Not(_)));
            if with_phrases.count() > 1 { Vec::new() } else { parts.iter().flat_map(alone).collect() }
        }
        _ => Vec::new(),
    }
}

/// Phrases of one common word in sets whose phrases alone can fire a rule.
fn generic(b: &mut Vec<CompileError>, tier_of_set: &BTreeMap<u32, Tier>, sets: &[Set]) {
    for (i, set) in sets.iter().enumerate() {
        if !tier_of_set.contains_key(&(i as u32)) {
            continue;
        }
        for phrase in set.phrases.iter().filter(|p| !p.reviewed) {
            let Ok(normal) = crate::text::normalize_phrase(&phrase.text) else { continue };
            let one_word = normal.chars().all(|c| c.is_alphanumeric() || c == '*');
            let why = if !one_word {
                continue;
            } else if crate::text::is_common(&normal) {
                "it is one of the most common words in customer messages".to_string()
            } else if normal.trim_end_matches('*').chars().count() <= 2 {
                "it is only one or two characters".to_string()
            } else {
                continue;
            };
            b.push(
                CompileError::new(K::GenericPhrase(phrase.text.clone(), why), phrase.source, phrase.span).help(
                    "say what the customer means in a few words, or mark it `@reviewed(\"why it may stand alone\")`",
                ),
            );
        }
    }
}

/// Phrases that, with `typos`, also match a phrase of a set that another tier tests.
fn typo_collisions(b: &mut Vec<CompileError>, tier_of_set: &BTreeMap<u32, Tier>, sets: &[Set]) {
    let mut others: Vec<(usize, Tier, String, usize)> = Vec::new();
    for (j, set) in sets.iter().enumerate() {
        let Some(tier) = tier_of_set.get(&(j as u32)) else { continue };
        for q in &set.phrases {
            if let Ok(normal) = crate::text::normalize_phrase(&q.text) {
                let words = normal.split(' ').count();
                others.push((j, *tier, normal, words));
            }
        }
    }
    for (i, set) in sets.iter().enumerate().filter(|(_, s)| s.variation.typos) {
        let Some(tier) = tier_of_set.get(&(i as u32)) else { continue };
        for p in &set.phrases {
            let Ok(normal) = crate::text::normalize_phrase(&p.text) else { continue };
            let words = normal.split(' ').count();
            let collision = others.iter().find(|(_, other_tier, q, q_words)| {
                other_tier != tier
                    && *q_words == words
                    && q.len().abs_diff(normal.len()) <= 1
                    && crate::text::slip_collides(&normal, set.variation, q)
            });
            if let Some((j, other_tier, q, _)) = collision {
                b.push(
                    CompileError::new(
                        K::TypoCollision {
                            phrase: p.text.clone(),
                            set: set.name.clone(),
                            tier: tier.keyword(),
                            other: q.clone(),
                            other_set: sets.get(*j).map(|s| s.name.clone()).unwrap_or_default(),
                            other_tier: other_tier.keyword(),
                        },
                        p.source,
                        p.span,
                    )
                    .help("the higher tier takes such messages: reword one phrase, or move it to a set without `typos`"),
                );
            }
        }
    }
}

/// One warning per rule that shares its tier with earlier rules routing elsewhere, none of them having a `rank`
/// (so each pair is reported once, at the later rule).
fn ambiguous_routes(b: &mut Vec<CompileError>, defs: &[Definition<'_, ast::Rule>], rules: &[Rule]) {
    let compiled = |def: &Definition<'_, ast::Rule>| rules.iter().find(|r| r.name == def.node.name.text);
    for (i, def) in defs.iter().enumerate() {
        let Some(rule) = compiled(def) else { continue };
        if rule.rank != 0 || rule.route.is_none() {
            continue;
        }
        let others: Vec<&Rule> = defs
            .iter()
            .take(i)
            .filter_map(compiled)
            .filter(|o| o.tier == rule.tier && o.rank == 0 && o.route.is_some() && o.route != rule.route)
            .collect();
        if let Some(first) = others.first() {
            let more = match others.len() {
                1 => String::new(),
                n => format!(" (and {} more)", n - 1),
            };
            b.push(
                CompileError::new(
                    K::AmbiguousRoute(rule.id.clone(), first.id.clone(), more),
                    def.source,
                    def.node.name.span,
                )
                .help("give one of them `rank <n>` (higher wins); without it the rule id decides"),
            );
        }
    }
}

/// The measured form of `generic-phrase`: phrases of the local policy (source 0) that fire on more than
/// `max_share` of `negatives` (messages that need no person). `@reviewed` phrases are left out.
pub(crate) fn measured_generic(
    policy: &super::Policy,
    negatives: &[String],
    max_share: f64,
) -> Vec<CompileError> {
    let mut fired = vec![0usize; policy.phrases.len()];
    for text in negatives {
        let mut seen: Vec<u32> = policy.matcher.scan(text).hits.iter().map(|h| h.phrase).collect();
        seen.sort_unstable();
        seen.dedup();
        for phrase in seen {
            if let Some(n) = fired.get_mut(phrase as usize) {
                *n += 1;
            }
        }
    }
    let total = negatives.len().max(1);
    policy
        .phrases
        .iter()
        .zip(fired)
        .filter(|(p, n)| p.location.source == 0 && !p.reviewed && *n as f64 / total as f64 > max_share)
        .map(|(p, n)| {
            let why = format!(
                "it fires on {n} of {} negative messages ({:.2}%, over the {:.2}% allowed)",
                negatives.len(),
                n as f64 * 100.0 / total as f64,
                max_share * 100.0
            );
            CompileError::new(K::GenericPhrase(p.text.clone(), why), p.location.source, p.location.span).help(
                "say what the customer means in more words, or mark it `@reviewed(\"why it may stand alone\")`",
            )
        })
        .collect()
}

/// `pack-queue-default`: a policy extends a pack and leaves one of the pack's queues as the pack wrote it, live
/// chat around the clock. A pack cannot know a deployer's hours or staff; left so, every handoff to that queue
/// says "connecting you with a person now" at 3 a.m. whether or not anyone is there. The warning points at the
/// policy's `extends` and notes the pack's queue; redefining the queue (even identically) silences it.
///
/// A built-in pack checked on its own (its id is a pack name) is not warned: it is extended, not deployed, and
/// the warning reaches whoever extends it.
pub(super) fn pack_queue_defaults(
    root: SourceId,
    root_id: Option<&str>,
    extends: Option<&ast::Name>,
    queues: &[Definition<'_, ast::Queue>],
) -> Vec<CompileError> {
    let mut lints = Vec::new();
    let Some(extends) = extends else { return lints };
    if root_id.is_some_and(|id| super::packs::BUILTIN.iter().any(|(name, _, _)| *name == id)) {
        return lints;
    }
    for def in queues.iter().filter(|d| d.source != root) {
        let q = def.node;
        let always = q.clauses.iter().all(|c| match &c.node {
            ast::QueueClause::Hours(h) => h.value.trim() == "24/7",
            _ => true,
        });
        let live = q.clauses.iter().all(|c| match &c.node {
            ast::QueueClause::Channel(ch) => ch.text == "live_chat",
            _ => true,
        });
        if always && live {
            let pack = def.pack.unwrap_or(extends.text.as_str()).to_string();
            lints.push(
                CompileError::new(K::PackQueueDefault(q.name.text.clone(), pack), root, extends.span)
                    .help(format!(
                        "redefine `queue {} {{ hours \"...\" channel ... after_hours ... }}` in this policy with your own \
                         hours and after-hours promise (or confirm 24/7 live chat by writing it here)",
                        q.name.text
                    ))
                    .note(def.source, q.name.span, "the pack's queue"),
            );
        }
    }
    lints
}
