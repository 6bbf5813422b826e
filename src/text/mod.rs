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

/// Text as XML or HTML content or attribute value: the five markup characters and newlines escaped, control
/// characters (which XML 1.0 cannot hold at all) replaced. The JUnit report of `handrail test` and the HTML
/// report of `handrail report` both write through it.
pub fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' => out.push_str("&#10;"),
            c if c.is_control() && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}
