//! Word lists: which strings are real words, and which words are too common to mean anything on their own.
//!
//! - [`is_word`]: whether a normalised word is an English or Spanish word. Typo tolerance uses it to tell a slip
//!   from another real word: "sucidal" is a slip of "suicidal", but "strike" is not a slip of "stroke", and
//!   "cooking" (normalised "coking") is not a slip of "choking". English is SCOWL size 35 (`words/english.txt`,
//!   see `words/NOTICE`); Spanish is a list of common word forms written for handrail (`words/spanish.txt`).
//! - [`is_common`]: the few hundred words that carry no meaning alone ("help", "card", "problem"), for the
//!   lint that flags a phrase too generic to stand alone.
//!
//! Both compare normalised forms (see [`super::normalize`]): the lists are normalised once, on first use.

use rustc_hash::FxHashSet as HashSet;
use std::sync::OnceLock;

use super::normalize::normalize;

const ENGLISH: &str = include_str!("words/english.txt");
const SPANISH: &str = include_str!("words/spanish.txt");

/// Words so frequent in customer messages that, alone, they say nothing about what the customer needs. English
/// and Spanish; function words are left out (a phrase of one function word is caught by its length).
const COMMON: &[&str] = &[
    // English: the nouns, verbs and adjectives of any support conversation.
    "account",
    "address",
    "again",
    "app",
    "answer",
    "any",
    "anything",
    "ask",
    "back",
    "bad",
    "bank",
    "bill",
    "book",
    "bought",
    "business",
    "buy",
    "call",
    "called",
    "calling",
    "can",
    "card",
    "care",
    "case",
    "change",
    "changed",
    "charge",
    "chat",
    "check",
    "close",
    "code",
    "come",
    "contact",
    "cost",
    "could",
    "customer",
    "date",
    "day",
    "days",
    "did",
    "do",
    "does",
    "done",
    "email",
    "error",
    "find",
    "fine",
    "fix",
    "form",
    "free",
    "get",
    "give",
    "go",
    "going",
    "good",
    "got",
    "had",
    "has",
    "have",
    "hello",
    "help",
    "here",
    "hey",
    "hi",
    "home",
    "how",
    "issue",
    "item",
    "just",
    "know",
    "last",
    "like",
    "line",
    "look",
    "lost",
    "mail",
    "make",
    "message",
    "money",
    "month",
    "more",
    "name",
    "need",
    "new",
    "next",
    "no",
    "not",
    "now",
    "number",
    "office",
    "ok",
    "okay",
    "old",
    "online",
    "open",
    "order",
    "page",
    "paid",
    "password",
    "pay",
    "payment",
    "people",
    "person",
    "phone",
    "place",
    "please",
    "price",
    "problem",
    "question",
    "really",
    "reason",
    "right",
    "said",
    "say",
    "see",
    "send",
    "sent",
    "service",
    "set",
    "should",
    "sign",
    "site",
    "so",
    "someone",
    "something",
    "soon",
    "sorry",
    "start",
    "still",
    "stop",
    "sure",
    "take",
    "team",
    "tell",
    "thank",
    "thanks",
    "thing",
    "think",
    "time",
    "today",
    "told",
    "try",
    "trying",
    "update",
    "use",
    "used",
    "want",
    "wanted",
    "way",
    "website",
    "week",
    "well",
    "what",
    "when",
    "where",
    "why",
    "will",
    "work",
    "working",
    "would",
    "wrong",
    "yes",
    "yet",
    // Spanish.
    "ahora",
    "algo",
    "alguien",
    "ayuda",
    "ayudar",
    "bien",
    "buenas",
    "buenos",
    "cambiar",
    "casa",
    "cita",
    "como",
    "cosa",
    "cuenta",
    "dia",
    "dias",
    "dinero",
    "gracias",
    "hola",
    "hoy",
    "llamar",
    "mal",
    "mensaje",
    "necesito",
    "nombre",
    "numero",
    "pagar",
    "pago",
    "pedido",
    "persona",
    "por favor",
    "pregunta",
    "problema",
    "puedo",
    "quiero",
    "saber",
    "servicio",
    "tarjeta",
    "tengo",
    "tiempo",
    "todo",
    "vale",
];

fn normalised_set(words: impl Iterator<Item = &'static str>) -> HashSet<String> {
    words.map(str::trim).filter(|w| !w.is_empty()).map(|w| normalize(w).text).collect::<HashSet<String>>()
}

fn dictionary() -> &'static HashSet<String> {
    static WORDS: OnceLock<HashSet<String>> = OnceLock::new();
    WORDS.get_or_init(|| normalised_set(ENGLISH.lines().chain(SPANISH.lines())))
}

fn common() -> &'static HashSet<String> {
    static WORDS: OnceLock<HashSet<String>> = OnceLock::new();
    WORDS.get_or_init(|| normalised_set(COMMON.iter().copied()))
}

/// The stems of every listed word in one language, by the word's normalised form: a stemmed set compares a
/// message's word by its stem, and most words of a message are listed, so their stems are looked up instead of
/// computed (the Snowball algorithms cost about a microsecond a word). Built on first use.
pub(crate) fn known_stem(language: super::Language, normalised: &str) -> Option<&'static str> {
    static ENGLISH_STEMS: OnceLock<rustc_hash::FxHashMap<String, String>> = OnceLock::new();
    static SPANISH_STEMS: OnceLock<rustc_hash::FxHashMap<String, String>> = OnceLock::new();
    let table = match language {
        super::Language::English => &ENGLISH_STEMS,
        super::Language::Spanish => &SPANISH_STEMS,
    };
    table
        .get_or_init(|| {
            // Two listed words can share a normalised form ("bled" and "bleed" are both "bled") and differ in
            // stem: such a form is left out, and the message's word is stemmed as spelled.
            let mut table: rustc_hash::FxHashMap<String, String> = rustc_hash::FxHashMap::default();
            let mut ambiguous: Vec<String> = Vec::new();
            for word in ENGLISH.lines().chain(SPANISH.lines()).map(str::trim).filter(|w| !w.is_empty()) {
                let stem = language.stem(&super::normalize::unsqueezed(word));
                match table.entry(normalize(word).text) {
                    std::collections::hash_map::Entry::Occupied(known) if *known.get() != stem => {
                        ambiguous.push(known.key().clone());
                    }
                    std::collections::hash_map::Entry::Occupied(_) => {}
                    std::collections::hash_map::Entry::Vacant(slot) => {
                        slot.insert(stem);
                    }
                }
            }
            for key in ambiguous {
                table.remove(&key);
            }
            table
        })
        .get(normalised)
        .map(String::as_str)
}

/// Whether a normalised word is an English or Spanish word.
pub fn is_word(normalised: &str) -> bool {
    dictionary().contains(normalised)
}

/// Whether a normalised phrase is one word too common to mean anything on its own.
pub fn is_common(normalised: &str) -> bool {
    common().contains(normalised)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_words_in_their_normalised_form() {
        assert!(is_word("stroke") && is_word("strike") && is_word("breath"));
        // "cooking" is normalised to "coking" (letters squeezed), on both sides.
        assert!(is_word(&normalize("cooking").text));
        assert!(!is_word("sucidal") && !is_word("refnud") && !is_word("pian"));
    }

    #[test]
    fn common_words_are_a_short_list() {
        assert!(is_common("help") && is_common("tarjeta") && is_common(&normalize("account").text));
        assert!(!is_common("suicide") && !is_common("chest pain"));
    }
}
