//! Every phrase of a policy in one Aho-Corasick automaton, found on word boundaries, with suffix wildcards.
//!
//! Build time: each phrase is normalised and split at its wildcards: `"cancel* my subscription*"` becomes the
//! literal segments `cancel` and ` my subscription`, each followed by "the rest of the word". The first segment
//! of every phrase goes into one automaton (phrases that share it share its pattern). Cost: linear in the total
//! length of the phrases.
//!
//! Scan time: the message is normalised once and the automaton reports every occurrence of every first segment,
//! overlapping ones included (so "chest pain" and "pain" both hit). Each occurrence is then checked in
//! constant work per phrase that shares it: a word boundary before it, the remaining segments after the
//! wildcards, and a word boundary after the last literal. Cost: one pass over the message plus the hits.

use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

use super::negation;
use super::normalize::{Normalized, is_word_char, normalize};

/// The longest phrase accepted, in bytes after normalisation. Phrases are short by nature; a long one is a
/// pasted paragraph by mistake.
pub const MAX_PHRASE_BYTES: usize = 200;

/// Up to this many distinct first segments the automaton is a DFA; beyond, a contiguous NFA.
pub const DFA_MAX_PATTERNS: usize = 5_000;

/// Letters a wildcard needs before it: `rep*` is accepted, `re*` would match half the language.
pub const MIN_WILDCARD_PREFIX: usize = 3;

/// Why a phrase cannot be matched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhraseError {
    /// Nothing left after normalisation.
    #[error("it is empty once normalised")]
    Empty,
    /// Over [`MAX_PHRASE_BYTES`].
    #[error("it is {0} bytes long, over the limit of {MAX_PHRASE_BYTES}")]
    TooLong(usize),
    /// A `*` not at the end of a word.
    #[error("`*` may only end a word, as in `diagnos*`")]
    MisplacedWildcard,
    /// A `*` after too few letters.
    #[error("`*` needs at least {MIN_WILDCARD_PREFIX} letters before it")]
    ShortWildcard,
    /// The automaton could not be built.
    #[error("the phrase automaton could not be built: {0}")]
    Build(String),
}

/// One occurrence of a phrase in a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The phrase set.
    pub set: u32,
    /// The phrase, by the order it was added.
    pub phrase: u32,
    /// The bytes of the original message it matched.
    pub span: Range<usize>,
    /// Whether a negation cue governs it ("I don't need an agent").
    pub negated: bool,
}

/// Everything found in one message.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    /// Every occurrence of every phrase, in order of where they end.
    pub hits: Vec<Hit>,
    /// The normalised message, kept for questions asked after the scan.
    normalized: Normalized,
}

impl Scan {
    /// Whether a contrast word ("but", "though", "pero") starts after `offset` (original bytes): "this is
    /// frustrating, but you've been great" softens what came before it. Computed on demand: most messages never
    /// need it.
    pub fn contrast_after(&self, offset: usize) -> bool {
        negation::contrasts(&self.normalized.text)
            .into_iter()
            .any(|at| self.normalized.original(at, at + 1).start >= offset)
    }
}

/// A phrase split at its wildcards.
#[derive(Debug, Clone)]
struct Compiled {
    set: u32,
    /// Literal segments; a wildcard follows every one flagged in `wild`.
    segments: Vec<String>,
    wild: Vec<bool>,
}

/// Collects phrases, then builds the [`Matcher`].
#[derive(Debug, Default)]
pub struct MatcherBuilder {
    phrases: Vec<Compiled>,
}

impl MatcherBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a phrase to a set; returns its index (the `phrase` of its hits).
    pub fn add(&mut self, set: u32, phrase: &str) -> Result<u32, PhraseError> {
        let (segments, wild) = split(phrase)?;
        self.phrases.push(Compiled { set, segments, wild });
        Ok(self.phrases.len().saturating_sub(1) as u32)
    }

    /// Builds one automaton over every phrase.
    pub fn build(self) -> Result<Matcher, PhraseError> {
        let mut patterns: Vec<String> = Vec::new();
        let mut by_pattern: Vec<Vec<u32>> = Vec::new();
        let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for (i, p) in self.phrases.iter().enumerate() {
            let first = p.segments.first().cloned().unwrap_or_default();
            let slot = *index.entry(first.clone()).or_insert_with(|| {
                patterns.push(first);
                by_pattern.push(Vec::new());
                patterns.len() - 1
            });
            if let Some(list) = by_pattern.get_mut(slot) {
                list.push(i as u32);
            }
        }
        // A DFA scans fastest (one table lookup per byte) but its size grows with the patterns; above
        // `DFA_MAX_PATTERNS` the contiguous NFA keeps memory and build time linear.
        let kind = if patterns.len() <= DFA_MAX_PATTERNS { Some(AhoCorasickKind::DFA) } else { None };
        let automaton = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .kind(kind)
            .build(&patterns)
            .map_err(|e| PhraseError::Build(e.to_string()))?;
        Ok(Matcher { automaton, by_pattern, phrases: self.phrases })
    }
}

/// Normalises a phrase and splits it at its wildcards.
fn split(phrase: &str) -> Result<(Vec<String>, Vec<bool>), PhraseError> {
    let normal = normalize(phrase).text;
    let normal = normal.trim();
    if normal.is_empty() {
        return Err(PhraseError::Empty);
    }
    if normal.len() > MAX_PHRASE_BYTES {
        return Err(PhraseError::TooLong(normal.len()));
    }
    let mut segments = Vec::new();
    let mut wild = Vec::new();
    let mut current = String::new();
    let mut chars = normal.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '*' {
            current.push(c);
            continue;
        }
        // A wildcard must end a word: letters before it, a space or the end after it.
        let letters = current.chars().rev().take_while(|c| is_word_char(*c)).count();
        if letters == 0 || chars.peek().is_some_and(|n| *n != ' ') {
            return Err(PhraseError::MisplacedWildcard);
        }
        if letters < MIN_WILDCARD_PREFIX {
            return Err(PhraseError::ShortWildcard);
        }
        segments.push(std::mem::take(&mut current));
        wild.push(true);
    }
    if !current.is_empty() {
        segments.push(current);
        wild.push(false);
    }
    if segments.first().is_none_or(|s| s.trim().is_empty()) {
        return Err(PhraseError::Empty);
    }
    Ok((segments, wild))
}

/// A phrase in normalised form, wildcards kept: how the compiler compares phrases for duplicates.
pub fn normalize_phrase(phrase: &str) -> Result<String, PhraseError> {
    split(phrase).map(|(segments, wild)| {
        segments.iter().zip(wild).map(|(s, w)| if w { format!("{s}*") } else { s.clone() }).collect()
    })
}

/// Every phrase of a policy, ready to scan messages.
#[derive(Debug, Clone)]
pub struct Matcher {
    automaton: AhoCorasick,
    /// For each automaton pattern, the phrases whose first segment it is.
    by_pattern: Vec<Vec<u32>>,
    phrases: Vec<Compiled>,
}

impl Matcher {
    /// The number of phrases.
    pub fn len(&self) -> usize {
        self.phrases.len()
    }

    /// Whether there are no phrases.
    pub fn is_empty(&self) -> bool {
        self.phrases.is_empty()
    }

    /// Finds every occurrence of every phrase in `text`.
    pub fn scan(&self, text: &str) -> Scan {
        let norm = normalize(text);
        let mut hits = Vec::new();
        for m in self.automaton.find_overlapping_iter(norm.text.as_str()) {
            let Some(candidates) = self.by_pattern.get(m.pattern().as_usize()) else { continue };
            if !boundary_before(&norm.text, m.start()) {
                continue;
            }
            for &phrase in candidates {
                let Some(p) = self.phrases.get(phrase as usize) else { continue };
                if let Some(end) = complete(&norm.text, m.end(), p) {
                    hits.push(Hit {
                        set: p.set,
                        phrase,
                        span: norm.original(m.start(), end),
                        negated: negation::negated(&norm.text, m.start()),
                    });
                }
            }
        }
        Scan { hits, normalized: norm }
    }

    /// The normalised form of a text (for explanations and tests).
    pub fn normalized(text: &str) -> Normalized {
        normalize(text)
    }
}

fn boundary_before(text: &str, at: usize) -> bool {
    text.get(..at).and_then(|s| s.chars().next_back()).is_none_or(|c| !is_word_char(c))
}

fn boundary_after(text: &str, at: usize) -> bool {
    text.get(at..).and_then(|s| s.chars().next()).is_none_or(|c| !is_word_char(c))
}

/// Checks the rest of a phrase after its first segment matched, ending at `at`. Returns where the whole phrase
/// ends in the normalised text.
fn complete(text: &str, mut at: usize, p: &Compiled) -> Option<usize> {
    for (i, wild) in p.wild.iter().enumerate() {
        if *wild {
            // The rest of the word.
            at += text.get(at..)?.chars().take_while(|c| is_word_char(*c)).map(char::len_utf8).sum::<usize>();
        } else if !boundary_after(text, at) {
            return None;
        }
        if let Some(next) = p.segments.get(i + 1) {
            if !text.get(at..)?.starts_with(next.as_str()) {
                return None;
            }
            at += next.len();
        }
    }
    Some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(phrases: &[(u32, &str)]) -> Matcher {
        let mut b = MatcherBuilder::new();
        for (set, p) in phrases {
            b.add(*set, p).unwrap();
        }
        b.build().unwrap()
    }

    fn found<'a>(m: &Matcher, text: &'a str) -> Vec<&'a str> {
        m.scan(text).hits.iter().map(|h| &text[h.span.clone()]).collect()
    }

    #[test]
    fn matches_on_word_boundaries_only() {
        let m = matcher(&[(0, "agent")]);
        assert_eq!(found(&m, "I need an agent."), vec!["agent"]);
        assert!(found(&m, "a reagent").is_empty());
        assert!(found(&m, "agents").is_empty());
        assert!(found(&m, "agentive").is_empty());
        assert_eq!(found(&m, "the agent's desk"), vec!["agent"]);
    }

    #[test]
    fn reports_overlapping_phrases_and_shared_phrases() {
        let m = matcher(&[(0, "chest pain"), (1, "pain"), (2, "pain")]);
        let hits = m.scan("I have chest pain").hits;
        let sets: Vec<u32> = hits.iter().map(|h| h.set).collect();
        assert_eq!(sets, vec![0, 1, 2]);
    }

    #[test]
    fn suffix_wildcards() {
        let m = matcher(&[(0, "diagnos*"), (1, "cancel* my subscription*")]);
        assert_eq!(found(&m, "was I diagnosed?"), vec!["diagnosed"]);
        assert_eq!(found(&m, "a diagnosis"), vec!["diagnosis"]);
        assert_eq!(found(&m, "cancelling my subscriptions now"), vec!["cancelling my subscriptions"]);
        assert!(found(&m, "undiagnosed").is_empty());
    }

    #[test]
    fn bad_wildcards_are_refused() {
        let mut b = MatcherBuilder::new();
        assert_eq!(b.add(0, "*ing"), Err(PhraseError::MisplacedWildcard));
        assert_eq!(b.add(0, "a*b"), Err(PhraseError::MisplacedWildcard));
        assert_eq!(b.add(0, "*"), Err(PhraseError::MisplacedWildcard));
        assert_eq!(b.add(0, "re*"), Err(PhraseError::ShortWildcard));
        assert_eq!(b.add(0, "   "), Err(PhraseError::Empty));
        assert!(matches!(b.add(0, &"ab".repeat(150)), Err(PhraseError::TooLong(_))));
    }

    #[test]
    fn stretched_and_styled_text_matches_with_original_spans() {
        let m = matcher(&[(0, "agent"), (1, "help"), (2, "don't")]);
        assert_eq!(found(&m, "I need an AGENNNT now"), vec!["AGENNNT"]);
        assert_eq!(found(&m, "HEEELP"), vec!["HEEELP"]);
        assert_eq!(found(&m, "ＡＧＥＮＴ please"), vec!["ＡＧＥＮＴ"]);
        assert_eq!(found(&m, "I don\u{2019}t know"), vec!["don\u{2019}t"]);
    }

    #[test]
    fn negation_is_reported_not_applied() {
        let m = matcher(&[(0, "agent"), (0, "speak to a human"), (0, "human"), (1, "chest pain")]);
        let negated = |t: &str| m.scan(t).hits.iter().all(|h| h.negated);
        assert!(negated("I don't need an agent"));
        assert!(negated("I do not want to speak to a human"));
        assert!(negated("no chest pain"));
        assert!(negated("no quiero hablar con un agent"));
        assert!(!negated("I can't reach a human"));
        assert!(!negated("not happy, I want an agent"));
        assert!(!negated("no, I want a human"));
        assert!(!negated("why can't I talk to a human"));
        assert!(!negated("this doesn't work I want an agent"));
        assert!(!negated("I do not know how to contact an agent"));
        assert!(!negated("i dont understand, i need a human"));
        assert!(!negated("I'm not able to find a human to talk to"));
        assert!(negated("I don't need to speak to a human"));
    }

    #[test]
    fn contrast_after_a_phrase() {
        let m = matcher(&[(0, "frustrating")]);
        let scan = m.scan("this is frustrating, but you've been great");
        assert!(scan.contrast_after(scan.hits[0].span.end));
        let scan = m.scan("you've been great but this is frustrating");
        assert!(!scan.contrast_after(scan.hits[0].span.end));
    }
}
