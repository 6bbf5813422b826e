//! Beside the pipeline, `text`: normalisation and phrase matching, used by `compile` (to build the automaton once
//! per policy) and by `eval` (to scan each message).
//!
//! - [`normalize`]: NFKC, case folding, straight quotes, collapsed space, squeezed stretched letters, with a map
//!   back to the original bytes.
//! - [`MatcherBuilder`] / [`Matcher`]: every phrase of every set in one Aho-Corasick automaton, matched on word
//!   boundaries, with `*` suffix wildcards; each [`Hit`] carries its original byte span and whether a negation
//!   cue governs it. Cost per message: one normalisation and one automaton pass, whatever the number of phrases.
//! - [`suspicious_chars`]: invisible and look-alike characters, for the compiler's lints.
//! - [`shouting`], [`repeated_punctuation`], [`similarity`]: signals for frustration and rephrasing.
//!
//! No regular expressions anywhere: every step is a bounded pass over the text.

mod lookalike;
mod matcher;
mod negation;
mod normalize;
mod signals;

pub use lookalike::{Suspicious, suspicious_chars};
pub use matcher::{
    Hit, MAX_PHRASE_BYTES, MIN_WILDCARD_PREFIX, Matcher, MatcherBuilder, PhraseError, Scan, normalize_phrase,
};
pub use negation::MAX_SCOPE_WORDS;
pub use normalize::{Normalized, normalize};
pub use signals::{repeated_punctuation, shouting, similarity};
