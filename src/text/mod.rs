//! Stage `text` (temporary shim, replaced by the real matcher): lowercase substring matching on word
//! boundaries with the API the compiler and evaluator use.

use std::ops::Range;

/// A phrase that cannot be matched.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PhraseError {
    /// Nothing left after normalisation.
    #[error("the phrase is empty")]
    Empty,
}

/// One occurrence of a phrase in a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The phrase set.
    pub set: u32,
    /// The phrase, by insertion order.
    pub phrase: u32,
    /// Bytes in the original message.
    pub span: Range<usize>,
    /// Whether a negation cue governs it.
    pub negated: bool,
}

/// The result of scanning a message.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    /// Every hit.
    pub hits: Vec<Hit>,
}

/// Collects phrases.
#[derive(Debug, Default)]
pub struct MatcherBuilder {
    phrases: Vec<(u32, String)>,
}

impl MatcherBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds a phrase to a set.
    pub fn add(&mut self, set: u32, phrase: &str) -> Result<u32, PhraseError> {
        let p = phrase.trim().to_lowercase();
        if p.is_empty() {
            return Err(PhraseError::Empty);
        }
        self.phrases.push((set, p));
        Ok(self.phrases.len() as u32 - 1)
    }
    /// Builds the matcher.
    pub fn build(self) -> Result<Matcher, PhraseError> {
        Ok(Matcher { phrases: self.phrases })
    }
}

/// All phrases.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    phrases: Vec<(u32, String)>,
}

impl Matcher {
    /// Every occurrence of every phrase.
    pub fn scan(&self, text: &str) -> Scan {
        let lower = text.to_lowercase();
        let mut hits = Vec::new();
        if lower.len() != text.len() {
            return Scan { hits };
        }
        for (i, (set, p)) in self.phrases.iter().enumerate() {
            let mut from = 0;
            while let Some(at) = lower.get(from..).and_then(|s| s.find(p.as_str())) {
                let start = from + at;
                let end = start + p.len();
                let before =
                    lower.get(..start).and_then(|s| s.chars().last()).is_none_or(|c| !c.is_alphanumeric());
                let after =
                    lower.get(end..).and_then(|s| s.chars().next()).is_none_or(|c| !c.is_alphanumeric());
                if before && after {
                    let negated = lower
                        .get(..start)
                        .is_some_and(|s| s.ends_with("don't need an ") || s.ends_with("no "));
                    hits.push(Hit { set: *set, phrase: i as u32, span: start..end, negated });
                }
                from = end;
            }
        }
        Scan { hits }
    }
}

/// A phrase in normalised form.
pub fn normalize_phrase(p: &str) -> Result<String, PhraseError> {
    let n = p.trim().to_lowercase();
    if n.is_empty() { Err(PhraseError::Empty) } else { Ok(n) }
}

/// An invisible or look-alike character in a phrase.
#[derive(Debug, Clone, PartialEq)]
pub struct Suspicious {
    /// The character.
    pub ch: char,
    /// Its byte offset in the phrase.
    pub offset: usize,
    /// What it is, in plain words.
    pub description: String,
}

/// Invisible and look-alike characters in a phrase.
pub fn suspicious_chars(phrase: &str) -> Vec<Suspicious> {
    phrase
        .char_indices()
        .filter(|(_, c)| matches!(c, '\u{200b}'..='\u{200f}' | '\u{feff}' | '\u{ad}'))
        .map(|(offset, ch)| Suspicious {
            ch,
            offset,
            description: format!("an invisible character U+{:04X}", ch as u32),
        })
        .collect()
}

impl Scan {
    /// Whether a contrast ("but", "though") follows this offset.
    pub fn contrast_after(&self, _offset: usize) -> bool {
        false
    }
}

/// How much of the text is shouted, 0 to 1.
pub fn shouting(_text: &str) -> f32 {
    0.0
}

/// Runs of repeated punctuation.
pub fn repeated_punctuation(_text: &str) -> u32 {
    0
}

/// Similarity of two messages, 0 to 1.
pub fn similarity(a: &str, b: &str) -> f32 {
    if a.eq_ignore_ascii_case(b) { 1.0 } else { 0.0 }
}
