//! Beside the pipeline, `text`: normalisation and phrase matching, used by `compile` (to build the automaton once
//! per policy) and by `eval` (to scan each message).
//!
//! - [`normalize`]: NFKC, case folding, straight quotes, collapsed space, squeezed stretched letters, with a map
//!   back to the original bytes.
//! - [`MatcherBuilder`] / [`Matcher`]: every phrase of every set in one Aho-Corasick automaton, matched on word
//!   boundaries, with `*` suffix wildcards, optional stemming ([`Language`]) and typo tolerance ([`Variation`]),
//!   sets that include other sets, and [`Proximity`] ("a word of this set near a word of that set"); each
//!   [`Hit`] carries its original byte span (both parts, for a proximity) and whether a negation cue governs
//!   it. Cost per message: one normalisation and one automaton pass plus work proportional to the hits,
//!   whatever the number of phrases.
//! - [`is_word`], [`is_common`]: word lists, to tell a slip from another real word and to flag phrases too
//!   generic to stand alone.
//! - [`suspicious_chars`]: invisible and look-alike characters, for the compiler's lints.
//! - [`shouting`], [`repeated_punctuation`], [`similarity`]: signals for frustration and rephrasing.
//!
//! No regular expressions anywhere: every step is a bounded pass over the text.

mod lookalike;
mod matcher;
mod negation;
mod normalize;
mod signals;
mod words;

pub use lookalike::{Suspicious, suspicious_chars};
pub use matcher::{
    Hit, Language, MAX_PHRASE_BYTES, MAX_PROXIMITY_WORDS, MIN_WILDCARD_PREFIX, Matcher, MatcherBuilder,
    PhraseError, Proximity, SLIP_MIN_LETTERS, SWAP_MIN_LETTERS, Said, Scan, Variation, describe_phrase,
    normalize_phrase, slip_collides,
};
pub use negation::MAX_SCOPE_WORDS;
pub use normalize::{Normalized, normalize};
pub use signals::{repeated_punctuation, shouting, similarity};
pub use words::{is_common, is_word};
