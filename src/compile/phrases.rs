//! Phrase sets: included sets and proximity sides resolved, every phrase added to the automaton's builder.

use crate::syntax::ast::*;
use crate::text::{MAX_PROXIMITY_WORDS, MatcherBuilder, Proximity, Variation};

use super::build::Builder;
use super::error::{CompileError, CompileErrorKind as K};
use super::merge::{MergedPhrase, MergedSet};
use super::policy::{self};

/// The phrase sets on their way to the automaton.
struct LoweredSets {
    pub(super) builder: MatcherBuilder,
    pub(super) phrases: Vec<policy::PhraseInfo>,
    pub(super) sets: Vec<policy::PhraseSetInfo>,
}

impl Builder {
    /// Lowers the phrase sets: resolves included sets and the sides of proximities, and adds every phrase to the
    /// automaton's builder. Returns the builder, the phrase table, the set table (a side written as a quoted
    /// phrase becomes a set of its own, after the named ones), and which named sets can never match (empty,
    /// with everything they include).
    pub(super) fn phrase_sets(
        &mut self,
        sets: &[MergedSet],
        names: &[String],
    ) -> (MatcherBuilder, Vec<policy::PhraseInfo>, Vec<policy::PhraseSetInfo>, Vec<bool>) {
        let mut lowered = LoweredSets {
            builder: MatcherBuilder::new(),
            phrases: Vec::new(),
            sets: sets
                .iter()
                .map(|s| policy::PhraseSetInfo {
                    name: s.name.clone(),
                    len: s.phrases.len() + s.proximities.len(),
                    variation: s.variation,
                    side_of: None,
                })
                .collect(),
        };
        let mut includes: Vec<Vec<usize>> = vec![Vec::new(); sets.len()];
        for (i, set) in sets.iter().enumerate() {
            for (name, src) in &set.includes {
                match names.iter().position(|n| *n == name.text) {
                    Some(j) => {
                        lowered.builder.include(i as u32, j as u32);
                        if let Some(list) = includes.get_mut(i) {
                            list.push(j);
                        }
                    }
                    None if matches!(name.text.as_str(), "near" | "before" | "within" | "words" | "word") => self.push(
                        CompileError::new(K::UnknownPhraseSet(name.text.clone()), *src, name.span).help(
                            "a proximity has two sides and a distance: `bleeding near \"won't stop\" within 4 words`",
                        ),
                    ),
                    None => self.push(
                        CompileError::new(K::UnknownPhraseSet(name.text.clone()), *src, name.span)
                            .suggest(&name.text, names.iter().map(String::as_str)),
                    ),
                }
            }
        }
        self.include_cycles(sets, &includes);
        let reach = |start: usize| {
            let mut found = vec![start];
            let mut next = 0;
            while let Some(&set) = found.get(next) {
                for &j in includes.get(set).map(Vec::as_slice).unwrap_or(&[]) {
                    if !found.contains(&j) {
                        found.push(j);
                    }
                }
                next += 1;
            }
            found
        };
        let reached: Vec<Vec<usize>> = (0..sets.len()).map(reach).collect();
        let holds = |i: usize, what: fn(&MergedSet) -> bool| {
            reached.get(i).is_some_and(|r| r.iter().any(|j| sets.get(*j).is_some_and(what)))
        };
        let holds_proximity: Vec<bool> =
            (0..sets.len()).map(|i| holds(i, |s| !s.proximities.is_empty())).collect();
        let empty: Vec<bool> = (0..sets.len())
            .map(|i| !holds(i, |s| !s.phrases.is_empty() || !s.proximities.is_empty()))
            .collect();

        for (i, set) in sets.iter().enumerate() {
            for p in &set.phrases {
                self.add_phrase(&mut lowered, i as u32, set.variation, p);
            }
        }
        for (i, set) in sets.iter().enumerate() {
            for (prox, src, span) in &set.proximities {
                if prox.within.value > MAX_PROXIMITY_WORDS {
                    self.push(
                        CompileError::new(
                            K::ProximityDistance(prox.within.value, MAX_PROXIMITY_WORDS),
                            *src,
                            prox.within.span,
                        )
                        .help("words further apart than that are rarely about one thing: write two phrases instead"),
                    );
                    continue;
                }
                let mut side = |this: &mut Self, side: &ProximitySide| match side {
                    ProximitySide::Set(name) => match names.iter().position(|n| *n == name.text) {
                        Some(j) if holds_proximity.get(j).copied().unwrap_or(false) => {
                            this.push(
                                CompileError::new(K::NestedProximity(name.text.clone()), *src, name.span)
                                    .help("a side is a set of phrases; proximities do not nest"),
                            );
                            None
                        }
                        Some(j) => Some(j as u32),
                        None => {
                            this.push(
                                CompileError::new(K::UnknownPhraseSet(name.text.clone()), *src, name.span)
                                    .suggest(&name.text, names.iter().map(String::as_str)),
                            );
                            None
                        }
                    },
                    ProximitySide::Phrase(text) => {
                        let hidden = lowered.sets.len() as u32;
                        let phrase = MergedPhrase {
                            text: text.value.clone(),
                            source: *src,
                            span: text.span,
                            reviewed: true,
                        };
                        this.add_phrase(&mut lowered, hidden, set.variation, &phrase).then(|| {
                            lowered.sets.push(policy::PhraseSetInfo {
                                name: format!("{} {}", set.name, crate::syntax::print::quote(&text.value)),
                                len: 1,
                                variation: set.variation,
                                side_of: Some(i as u32),
                            });
                            hidden
                        })
                    }
                };
                let left = side(self, &prox.left);
                let right = side(self, &prox.right);
                let (Some(left), Some(right)) = (left, right) else { continue };
                lowered.builder.proximity(Proximity {
                    set: i as u32,
                    left,
                    right,
                    within: prox.within.value,
                    ordered: prox.ordered,
                });
                lowered.phrases.push(policy::PhraseInfo {
                    set: i as u32,
                    text: crate::syntax::print::proximity(prox),
                    location: crate::diagnostic::Location { source: *src, span: *span },
                    reviewed: true,
                    proximity: true,
                });
            }
        }
        (lowered.builder, lowered.phrases, lowered.sets, empty)
    }

    /// Adds one quoted phrase to the automaton and the phrase table; reports it if it cannot be matched.
    fn add_phrase(
        &mut self,
        lowered: &mut LoweredSets,
        set: u32,
        variation: Variation,
        p: &MergedPhrase,
    ) -> bool {
        match lowered.builder.add(set, &p.text, variation) {
            Ok(_) => {
                lowered.phrases.push(policy::PhraseInfo {
                    set,
                    text: p.text.clone(),
                    location: crate::diagnostic::Location { source: p.source, span: p.span },
                    reviewed: p.reviewed,
                    proximity: false,
                });
                true
            }
            Err(e) => {
                self.push(CompileError::new(K::BadPhrase(p.text.clone(), e.to_string()), p.source, p.span));
                false
            }
        }
    }

    /// Reports sets that include each other in a circle, once per circle, at the inclusion that closes it.
    fn include_cycles(&mut self, sets: &[MergedSet], includes: &[Vec<usize>]) {
        let mut reported: Vec<usize> = Vec::new();
        for start in 0..sets.len() {
            // Depth-first, keeping the path: a set met again on the path closes a circle.
            let mut path = vec![start];
            let mut stack: Vec<std::slice::Iter<'_, usize>> =
                vec![includes.get(start).map(|v| v.iter()).unwrap_or_default()];
            while let Some(top) = stack.last_mut() {
                let Some(&next) = top.next() else {
                    stack.pop();
                    path.pop();
                    continue;
                };
                if next == start && !reported.contains(&start) {
                    reported.extend(path.iter().copied());
                    let names: Vec<&str> = path
                        .iter()
                        .chain(std::iter::once(&start))
                        .filter_map(|i| sets.get(*i).map(|s| s.name.as_str()))
                        .collect();
                    let closing = path.last().and_then(|i| sets.get(*i));
                    let at = closing.and_then(|s| {
                        s.includes.iter().find(|(n, _)| sets.get(start).is_some_and(|t| t.name == n.text))
                    });
                    if let Some((name, src)) = at {
                        self.push(
                            CompileError::new(K::IncludeCycle(names.join(" → ")), *src, name.span)
                                .help("a set may include another, but never itself, directly or not"),
                        );
                    }
                    continue;
                }
                if !path.contains(&next) && path.len() <= sets.len() {
                    path.push(next);
                    stack.push(includes.get(next).map(|v| v.iter()).unwrap_or_default());
                }
            }
        }
    }
}
