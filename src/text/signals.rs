//! Text signals the fallback combines: shouting, repeated punctuation, and how similar two messages are (for
//! "is this a rephrase of the previous question").

use super::normalize::normalize;

/// The share of shouted words: words of three letters or more written all in capitals, among such words.
/// Zero when there are fewer than two such words ("OK", "I", a lone "ASAP" are not shouting).
pub fn shouting(text: &str) -> f32 {
    let (mut long, mut shouted) = (0u32, 0u32);
    // One pass: the current word's letter count and whether it has lower- and upper-case letters.
    let (mut letters, mut lower, mut upper) = (0u32, false, false);
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_alphabetic() {
            letters += 1;
            lower |= c.is_lowercase();
            upper |= c.is_uppercase();
            continue;
        }
        if letters >= 3 {
            long += 1;
            if upper && !lower {
                shouted += 1;
            }
        }
        (letters, lower, upper) = (0, false, false);
    }
    if long < 2 { 0.0 } else { shouted as f32 / long as f32 }
}

/// Runs of two or more `!` or `?` ("!!", "???", "?!?!").
pub fn repeated_punctuation(text: &str) -> u32 {
    let mut runs = 0;
    let mut run = 0;
    for c in text.chars().chain(std::iter::once(' ')) {
        if matches!(c, '!' | '?' | '！' | '？') {
            run += 1;
        } else {
            if run >= 2 {
                runs += 1;
            }
            run = 0;
        }
    }
    runs
}

/// Words too common to say what a message is about.
const STOP_WORDS: &[&str] = &[
    "a", "an", "the", "i", "me", "my", "you", "your", "it", "is", "are", "to", "do", "can", "how", "what",
    "of", "in", "on", "for", "and", "or", "please", "pls", "plz", "this", "that", "there", "be", "with",
    "at", "so", "just",
];

/// Whether a normalised word is one of [`STOP_WORDS`]: one hash lookup, since every word of both messages asks.
fn is_stop_word(word: &str) -> bool {
    static SET: std::sync::LazyLock<rustc_hash::FxHashSet<&'static str>> =
        std::sync::LazyLock::new(|| STOP_WORDS.iter().copied().collect());
    SET.contains(word)
}

/// The content words of a normalised text, sorted and distinct, borrowed from it (no word is copied).
fn content_words(norm: &str) -> Vec<&str> {
    let mut words: Vec<&str> = norm
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !is_stop_word(w))
        // A crude stem: plural and past forms count as one word.
        .map(|w| w.strip_suffix("s").filter(|s| s.len() > 2).unwrap_or(w))
        .collect();
    words.sort_unstable();
    words.dedup();
    words
}

/// How similar two messages are, 0 to 1: the Jaccard index of their content words (normalised, stop words
/// removed, a trailing `s` dropped). "how do I reset my password" and "how can I reset the password" share all
/// their content words and score 1; unrelated questions score near 0.
pub fn similarity(a: &str, b: &str) -> f32 {
    let (a, b) = (normalize(a).text, normalize(b).text);
    let (a, b) = (content_words(&a), content_words(&b));
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let shared = a.iter().filter(|w| b.binary_search(w).is_ok()).count();
    let union = a.len() + b.len() - shared;
    shared as f32 / union as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shouting_needs_several_capitalised_words() {
        assert_eq!(shouting("I NEED HELP NOW"), 1.0);
        assert_eq!(shouting("OK thanks"), 0.0);
        assert_eq!(shouting("ASAP"), 0.0);
        assert!((shouting("this is NOT what I ASKED for") - 0.4).abs() < 1e-6);
    }

    #[test]
    fn repeated_punctuation_counts_runs() {
        assert_eq!(repeated_punctuation("why??? seriously!!"), 2);
        assert_eq!(repeated_punctuation("ok?!?!"), 1);
        assert_eq!(repeated_punctuation("fine. really?"), 0);
    }

    #[test]
    fn paraphrases_score_high_and_unrelated_low() {
        assert!(similarity("how do I reset my password", "how can I reset the password") > 0.8);
        assert!(similarity("how do I reset my password", "where is your office") < 0.2);
        assert_eq!(similarity("", "anything"), 0.0);
    }
}
