//! From parsed files to a [`Policy`]: load the `extends` chain, merge the layers (pack first, local last,
//! enforcing `@locked`), resolve every name, check every type, and build the phrase automaton.
//!
//! Every problem is collected; the policy is produced only when there is no error. Lints are collected too and
//! never stop compilation.

use std::collections::{BTreeMap, HashMap};

use crate::diagnostic::{SourceId, Sources};
use crate::syntax::ast::{self, *};
use crate::text::{MAX_PROXIMITY_WORDS, MatcherBuilder, PhraseError, Proximity, Variation};

use super::error::{CompileError, CompileErrorKind as K};
use super::packs;
use super::policy::{self, Cond, Literal, NumberField, Priority, ReasonCode, TextField};
use super::{MAX_EXTENDS_DEPTH, MAX_PHRASE_SETS, MAX_PHRASES, MAX_RULES, Options};

/// One file of the chain.
pub(super) struct Layer {
    source: SourceId,
    file: PolicyFile,
    /// The pack's name, or `None` for the local policy.
    pack: Option<String>,
}

/// Parses `root` and every pack it extends. Returns the layers base first, or the problems that stopped loading.
pub(super) fn load_chain(
    sources: &mut Sources,
    root: SourceId,
    options: &Options,
    problems: &mut Vec<crate::diagnostic::Diagnostic>,
) -> Option<Vec<Layer>> {
    let text = sources.get(root).map(|s| s.text.clone()).unwrap_or_default();
    let file = match crate::syntax::parse(&text) {
        Ok(file) => file,
        Err(e) => {
            problems.push(e.to_diagnostic(root));
            return None;
        }
    };
    let mut chain = vec![Layer { source: root, file, pack: None }];
    let mut seen: Vec<String> = Vec::new();
    while let Some((name, at, from)) =
        chain.last().and_then(|l| extends_of(&l.file).map(|n| (n.text.clone(), n.span, l.source)))
    {
        if seen.contains(&name) || chain.first().and_then(|l| header_id(&l.file)).is_some_and(|id| id == name)
        {
            seen.push(name.clone());
            let err = CompileError::new(K::ExtendsCycle(name, seen.join(" -> ")), from, at);
            problems.push(err.to_diagnostic());
            return None;
        }
        if seen.len() >= MAX_EXTENDS_DEPTH {
            problems.push(CompileError::new(K::ExtendsTooDeep(MAX_EXTENDS_DEPTH), from, at).to_diagnostic());
            return None;
        }
        seen.push(name.clone());
        let found = match packs::find(&name, &options.pack_dirs) {
            Ok(Some(found)) => found,
            Ok(None) => {
                let known = packs::known_names(&options.pack_dirs);
                let err = CompileError::new(K::UnknownPack(name.clone()), from, at)
                    .suggest(&name, known.iter().map(String::as_str));
                let err = if err.help.is_none() {
                    err.help(format!("the packs are: {}; or pass `--packs DIR`", known.join(", ")))
                } else {
                    err
                };
                problems.push(err.to_diagnostic());
                return None;
            }
            Err(why) => {
                problems.push(CompileError::new(K::PackFailed(name, why), from, at).to_diagnostic());
                return None;
            }
        };
        let id = sources.add(found.name, found.text.clone());
        match crate::syntax::parse(&found.text) {
            Ok(file) => chain.push(Layer { source: id, file, pack: Some(name) }),
            Err(e) => {
                problems.push(e.to_diagnostic(id));
                return None;
            }
        }
    }
    chain.reverse();
    Some(chain)
}

fn headers(file: &PolicyFile) -> impl Iterator<Item = &Header> {
    file.items.iter().filter_map(|i| match &i.kind {
        ItemKind::Header(h) => Some(h),
        _ => None,
    })
}

fn header_id(file: &PolicyFile) -> Option<&str> {
    headers(file).next().map(|h| h.id.text.as_str())
}

fn extends_of(file: &PolicyFile) -> Option<&Name> {
    headers(file).next()?.settings.iter().find_map(|s| match &s.node {
        HeaderSetting::Extends(n) => Some(n),
        _ => None,
    })
}

/// Something defined in a layer, with where it came from.
pub(super) struct Def<'a, T> {
    pub(super) node: &'a T,
    pub(super) annotations: &'a [Annotation],
    pub(super) source: SourceId,
    pub(super) span: Span,
    pub(super) pack: Option<&'a str>,
}

impl<T> Clone for Def<'_, T> {
    fn clone(&self) -> Self {
        Def {
            node: self.node,
            annotations: self.annotations,
            source: self.source,
            span: self.span,
            pack: self.pack,
        }
    }
}

impl<T> Def<'_, T> {
    pub(super) fn locked(&self) -> bool {
        self.annotations.iter().any(|a| a.name.text == "locked")
    }

    pub(super) fn annotation(&self, name: &str) -> Option<String> {
        self.annotations
            .iter()
            .find(|a| a.name.text == name)
            .and_then(|a| a.value.as_ref())
            .map(|v| v.value.clone())
    }
}

/// A phrase set after merging: where it was defined, its options, and every entry with where it was written.
pub(super) struct MergedSet {
    pub(super) name: String,
    pub(super) source: SourceId,
    pub(super) span: Span,
    pub(super) variation: Variation,
    pub(super) phrases: Vec<MergedPhrase>,
    pub(super) includes: Vec<(Name, SourceId)>,
    pub(super) proximities: Vec<(ast::Proximity, SourceId, Span)>,
    pub(super) from_root: bool,
}

/// A quoted phrase of a merged set.
pub(super) struct MergedPhrase {
    pub(super) text: String,
    pub(super) source: SourceId,
    pub(super) span: Span,
    /// `@reviewed("...")`: its author has checked that it may stand alone.
    pub(super) reviewed: bool,
}

/// The phrase sets on their way to the automaton.
struct LoweredSets {
    builder: MatcherBuilder,
    phrases: Vec<policy::PhraseInfo>,
    sets: Vec<policy::PhraseSetInfo>,
}

/// The layers merged into one list of definitions per kind, in definition order.
#[derive(Default)]
struct Merged<'a> {
    id: Option<(String, SourceId, Span)>,
    title: Option<String>,
    version: Option<String>,
    timezone: Option<(String, SourceId, Span)>,
    safe_queue: Option<(String, SourceId, Span)>,
    sets: Vec<MergedSet>,
    rules: Vec<Def<'a, ast::Rule>>,
    fallback: BTreeMap<&'static str, (Def<'a, FallbackClause>, Span)>,
    disclaimers: Vec<Def<'a, ast::Disclaimer>>,
    retains: Vec<Def<'a, Retain>>,
    queues: Vec<Def<'a, ast::Queue>>,
}

/// Collects problems and builds the policy.
pub(super) struct Builder {
    pub problems: Vec<CompileError>,
}

impl Builder {
    fn push(&mut self, e: CompileError) {
        self.problems.push(e);
    }

    pub(super) fn build(&mut self, layers: &[Layer], sources: &Sources) -> Option<policy::Policy> {
        let merged = self.merge(layers);
        self.lower(merged, layers, sources)
    }

    // ---- merging ------------------------------------------------------------------------------------------

    fn merge<'a>(&mut self, layers: &'a [Layer]) -> Merged<'a> {
        let mut m = Merged::default();
        for layer in layers {
            let src = layer.source;
            let pack = layer.pack.as_deref();
            let is_root = layer.pack.is_none();
            let mut local_names: HashMap<(&'static str, &str), Span> = HashMap::new();
            let mut header_seen = false;
            let mut fallback_seen = false;
            for item in &layer.file.items {
                self.check_annotations(item, src);
                let mut once =
                    |this: &mut Self, kind: &'static str, name: &'a Name| {
                        if let Some(first) = local_names.insert((kind, name.text.as_str()), name.span) {
                            this.push(
                                CompileError::new(K::Duplicate(kind, name.text.clone()), src, name.span)
                                    .note(src, first, "first defined here"),
                            );
                        }
                    };
                match &item.kind {
                    ItemKind::Header(h) => {
                        if header_seen {
                            self.push(CompileError::new(K::DuplicateHeader, src, h.id.span));
                            continue;
                        }
                        header_seen = true;
                        self.merge_header(&mut m, h, src);
                    }
                    ItemKind::Phrases(set) => {
                        once(self, "phrase set", &set.name);
                        if let Some(existing) = m.sets.iter().find(|s| s.name == set.name.text) {
                            if existing.source != src {
                                let owner = pack_of(layers, existing.source);
                                self.push(
                                    CompileError::new(
                                        K::RedefinedPackSet(set.name.text.clone(), owner),
                                        src,
                                        set.name.span,
                                    )
                                    .note(existing.source, existing.span, "defined here")
                                    .help(format!(
                                        "to add phrases, write `extend phrases {} {{ ... }}`",
                                        set.name.text
                                    )),
                                );
                            }
                            continue;
                        }
                        let mut merged = MergedSet {
                            name: set.name.text.clone(),
                            source: src,
                            span: set.name.span,
                            variation: self.variation(set, src),
                            phrases: Vec::new(),
                            includes: Vec::new(),
                            proximities: Vec::new(),
                            from_root: is_root,
                        };
                        self.add_entries(&mut merged, set, src);
                        m.sets.push(merged);
                    }
                    ItemKind::ExtendPhrases(set) => {
                        match m.sets.iter_mut().find(|s| s.name == set.name.text) {
                            Some(existing) => self.add_entries(existing, set, src),
                            None => {
                                let names: Vec<String> = m.sets.iter().map(|s| s.name.clone()).collect();
                                self.push(
                                    CompileError::new(
                                        K::ExtendUnknownSet(set.name.text.clone()),
                                        src,
                                        set.name.span,
                                    )
                                    .suggest(&set.name.text, names.iter().map(String::as_str)),
                                );
                            }
                        }
                    }
                    ItemKind::Rule(rule) => {
                        once(self, "rule", &rule.name);
                        let new = Def {
                            node: rule,
                            annotations: &item.annotations,
                            source: src,
                            span: item.span,
                            pack,
                        };
                        match m.rules.iter().position(|r| r.node.name.text == rule.name.text) {
                            Some(i) => {
                                let Some(old) = m.rules.get(i) else { continue };
                                if old.source == src {
                                    continue;
                                }
                                if old.locked() {
                                    self.push(locked(old, old.node.name.span, &rule.name, src, "replaced"));
                                    continue;
                                }
                                if let Some(slot) = m.rules.get_mut(i) {
                                    *slot = new;
                                }
                            }
                            None => m.rules.push(new),
                        }
                    }
                    ItemKind::Disable(name) => {
                        match m.rules.iter().position(|r| r.node.name.text == name.text) {
                            Some(i) => {
                                if let Some(old) = m.rules.get(i)
                                    && old.locked()
                                {
                                    self.push(locked(old, old.node.name.span, name, src, "disabled"));
                                    continue;
                                }
                                m.rules.remove(i);
                            }
                            None => {
                                let names: Vec<&str> =
                                    m.rules.iter().map(|r| r.node.name.text.as_str()).collect();
                                self.push(
                                    CompileError::new(K::UnknownRule(name.text.clone()), src, name.span)
                                        .suggest(&name.text, names),
                                );
                            }
                        }
                    }
                    ItemKind::Fallback(f) => {
                        if fallback_seen {
                            self.push(CompileError::new(
                                K::Duplicate("fallback", "fallback".into()),
                                src,
                                item.span,
                            ));
                            continue;
                        }
                        fallback_seen = true;
                        let mut here: HashMap<&'static str, Span> = HashMap::new();
                        for clause in &f.clauses {
                            let key = fallback_key(&clause.node);
                            if here.insert(key, clause.span).is_some() {
                                self.push(CompileError::new(K::DuplicateClause(key), src, clause.span));
                            }
                            m.fallback.insert(
                                key,
                                (
                                    Def {
                                        node: &clause.node,
                                        annotations: &item.annotations,
                                        source: src,
                                        span: item.span,
                                        pack,
                                    },
                                    clause.span,
                                ),
                            );
                        }
                    }
                    ItemKind::Disclaimer(d) => {
                        once(self, "disclaimer", &d.name);
                        replace_named(
                            &mut m.disclaimers,
                            Def {
                                node: d,
                                annotations: &item.annotations,
                                source: src,
                                span: item.span,
                                pack,
                            },
                            |x| &x.name.text,
                        );
                    }
                    ItemKind::Retain(r) => {
                        once(self, "retention rule", &r.name);
                        if let Some(old) =
                            m.retains.iter().find(|x| x.node.name.text == r.name.text && x.source != src)
                            && old.locked()
                        {
                            let old = old.clone();
                            self.push(locked(&old, old.node.name.span, &r.name, src, "replaced"));
                            continue;
                        }
                        replace_named(
                            &mut m.retains,
                            Def {
                                node: r,
                                annotations: &item.annotations,
                                source: src,
                                span: item.span,
                                pack,
                            },
                            |x| &x.name.text,
                        );
                    }
                    ItemKind::Queue(q) => {
                        once(self, "queue", &q.name);
                        replace_named(
                            &mut m.queues,
                            Def {
                                node: q,
                                annotations: &item.annotations,
                                source: src,
                                span: item.span,
                                pack,
                            },
                            |x| &x.name.text,
                        );
                    }
                }
            }
            if !header_seen {
                self.push(
                    CompileError::new(K::MissingHeader, src, Span::new(0, 0))
                        .help("start the file with `policy <id> { version \"1\" }`"),
                );
            }
        }
        m
    }

    fn merge_header(&mut self, m: &mut Merged<'_>, h: &Header, src: SourceId) {
        m.id = Some((h.id.text.clone(), src, h.id.span));
        let mut seen: HashMap<&'static str, Span> = HashMap::new();
        for s in &h.settings {
            let key = match &s.node {
                HeaderSetting::Title(t) => {
                    m.title = Some(t.value.clone());
                    "title"
                }
                HeaderSetting::Version(v) => {
                    m.version = Some(v.value.clone());
                    "version"
                }
                HeaderSetting::Extends(_) => "extends",
                HeaderSetting::Timezone(t) => {
                    m.timezone = Some((t.value.clone(), src, t.span));
                    "timezone"
                }
                HeaderSetting::SafeQueue(q) => {
                    m.safe_queue = Some((q.text.clone(), src, q.span));
                    "safe_queue"
                }
            };
            if let Some(first) = seen.insert(key, s.span) {
                self.push(CompileError::new(K::DuplicateSetting(key.into()), src, s.span).note(
                    src,
                    first,
                    "first set here",
                ));
            }
        }
    }

    /// The options of a set definition, each at most once.
    fn variation(&mut self, set: &PhraseSet, src: SourceId) -> Variation {
        let mut variation = Variation::default();
        let (mut stem_seen, mut typos_seen) = (false, false);
        for option in &set.options {
            let (seen, what) = match option.node {
                SetOption::Stem(language) => {
                    variation.stem = Some(match language {
                        StemLanguage::English => crate::text::Language::English,
                        StemLanguage::Spanish => crate::text::Language::Spanish,
                    });
                    (&mut stem_seen, "stem")
                }
                SetOption::Typos => {
                    variation.typos = true;
                    (&mut typos_seen, "typos")
                }
            };
            if std::mem::replace(seen, true) {
                let help = if what == "stem" {
                    "a set is stemmed in one language: put phrases of another language in a set of their own and include both"
                } else {
                    "write the option once"
                };
                self.push(
                    CompileError::new(K::DuplicateSetOption(set.name.text.clone(), what), src, option.span)
                        .help(help),
                );
            }
        }
        variation
    }

    /// Adds the entries of a definition or extension to a merged set, checking their annotations.
    fn add_entries(&mut self, merged: &mut MergedSet, set: &PhraseSet, src: SourceId) {
        for entry in &set.entries {
            let mut reviewed = false;
            for a in &entry.annotations {
                match (a.name.text.as_str(), &a.value, &entry.kind) {
                    ("reviewed", Some(_), EntryKind::Phrase(_)) => reviewed = true,
                    ("reviewed", None, _) => self.push(
                        CompileError::new(K::BadAnnotation("reviewed".into(), "needs a value"), src, a.span)
                            .help("write `@reviewed(\"why this phrase may stand alone\")`"),
                    ),
                    ("reviewed", Some(_), _) => self.push(CompileError::new(
                        K::MisplacedAnnotation(
                            "reviewed".into(),
                            "a set name or a proximity, only to a quoted phrase",
                        ),
                        src,
                        a.span,
                    )),
                    (name, _, _) => self.push(
                        CompileError::new(K::MisplacedAnnotation(name.into(), "a phrase"), src, a.span)
                            .help("a phrase takes only `@reviewed(\"...\")`"),
                    ),
                }
            }
            match &entry.kind {
                EntryKind::Phrase(p) => merged.phrases.push(MergedPhrase {
                    text: p.value.clone(),
                    source: src,
                    span: p.span,
                    reviewed,
                }),
                EntryKind::Include(name) => merged.includes.push((name.clone(), src)),
                EntryKind::Proximity(p) => merged.proximities.push((p.clone(), src, entry.span)),
            }
        }
    }

    fn check_annotations(&mut self, item: &Item, src: SourceId) {
        let what = match &item.kind {
            ItemKind::Header(_) => "a policy header",
            ItemKind::Phrases(_) | ItemKind::ExtendPhrases(_) => "a phrase set",
            ItemKind::Rule(_) => "a rule",
            ItemKind::Fallback(_) => "the fallback",
            ItemKind::Disclaimer(_) => "a disclaimer",
            ItemKind::Retain(_) => "a retention rule",
            ItemKind::Queue(_) => "a queue",
            ItemKind::Disable(_) => "`disable`",
        };
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for a in &item.annotations {
            let name = a.name.text.as_str();
            if seen.insert(name, a.span).is_some() {
                self.push(CompileError::new(K::BadAnnotation(name.into(), "is given twice"), src, a.span));
                continue;
            }
            match (name, &a.value) {
                ("id" | "cite" | "owner" | "message", None) => self.push(
                    CompileError::new(K::BadAnnotation(name.into(), "needs a value"), src, a.span)
                        .help(format!("write `@{name}(\"...\")`")),
                ),
                ("locked", Some(_)) => {
                    self.push(CompileError::new(K::BadAnnotation(name.into(), "takes no value"), src, a.span))
                }
                ("id" | "cite" | "owner" | "message" | "locked", _) => {}
                _ => self.push(
                    CompileError::new(K::UnknownAnnotation(name.into()), src, a.name.span)
                        .suggest(name, ["id", "cite", "owner", "message", "locked"]),
                ),
            }
            let applies = match name {
                "id" => matches!(item.kind, ItemKind::Rule(_)),
                "locked" => matches!(item.kind, ItemKind::Rule(_) | ItemKind::Retain(_)),
                _ => !matches!(item.kind, ItemKind::Disable(_)),
            };
            if !applies {
                self.push(CompileError::new(K::MisplacedAnnotation(name.into(), what), src, a.span));
            }
        }
    }

    // ---- lowering -----------------------------------------------------------------------------------------

    fn lower(&mut self, m: Merged<'_>, layers: &[Layer], sources: &Sources) -> Option<policy::Policy> {
        let root = layers.last().map(|l| l.source).unwrap_or(0);
        let (id, _, _) = m.id.clone().unwrap_or_else(|| ("unnamed".into(), root, Span::new(0, 0)));
        let timezone = match &m.timezone {
            Some((tz, src, span)) => self.timezone(tz, *src, *span),
            None => chrono_tz::UTC,
        };

        // Queues first: rules refer to them.
        let queue_names: Vec<String> = m.queues.iter().map(|q| q.node.name.text.clone()).collect();
        let queues: Vec<policy::Queue> = m.queues.iter().map(|q| self.queue(q, timezone)).collect();
        let safe_queue =
            match &m.safe_queue {
                Some((name, src, span)) => {
                    self.queue_ref(name, *src, *span, &queue_names);
                    name.clone()
                }
                None => {
                    self.push(CompileError::new(K::MissingSafeQueue, root, Span::new(0, 0)).help(
                        "add `safe_queue <queue>` to the `policy` header: decisions that fail go there",
                    ));
                    String::new()
                }
            };

        // Phrase sets and the automaton.
        if m.sets.len() > MAX_PHRASE_SETS {
            self.push(too_many("phrase sets", m.sets.len(), MAX_PHRASE_SETS, root));
        }
        let total: usize = m.sets.iter().map(|s| s.phrases.len() + s.proximities.len()).sum();
        if total > MAX_PHRASES {
            self.push(too_many("phrases", total, MAX_PHRASES, root));
            return None;
        }
        let set_names: Vec<String> = m.sets.iter().map(|s| s.name.clone()).collect();
        let (mut builder, phrases, phrase_sets, empty) = self.phrase_sets(&m.sets, &set_names);
        let disclaimer_names: Vec<String> = m.disclaimers.iter().map(|d| d.node.name.text.clone()).collect();

        // Rules, then their precedence order, then everything that may say `matched <rule>`.
        if m.rules.len() > MAX_RULES {
            self.push(too_many("rules", m.rules.len(), MAX_RULES, root));
        }
        let skills: Vec<String> = queues.iter().filter_map(|q| q.skill.clone()).collect();
        let names = Names {
            sets: &set_names,
            skills: &skills,
            rules: &[],
            queues: &queue_names,
            disclaimers: &disclaimer_names,
        };
        let mut rules: Vec<policy::Rule> = m.rules.iter().map(|r| self.rule(r, &names, sources)).collect();
        rules.sort_by(|a, b| a.tier.cmp(&b.tier).then(b.rank.cmp(&a.rank)).then(a.id.cmp(&b.id)));
        self.check_ids(&m.rules);
        let rule_names: Vec<String> = rules.iter().map(|r| r.name.clone()).collect();
        let names = Names { rules: &rule_names, ..names };

        let fallback = self.fallback(&m, &names);
        let disclaimers: Vec<policy::Disclaimer> =
            m.disclaimers.iter().map(|d| self.disclaimer(d, &names)).collect();
        let retention: Vec<policy::Retention> = m.retains.iter().map(|r| self.retain(r, &names)).collect();

        let mut used = std::collections::HashSet::new();
        let mut found = Vec::new();
        rules.iter().for_each(|r| found.extend(r.when.phrase_sets()));
        disclaimers
            .iter()
            .filter_map(|d: &policy::Disclaimer| d.when.as_ref())
            .for_each(|c| found.extend(c.phrase_sets()));
        retention.iter().for_each(|r: &policy::Retention| found.extend(r.when.phrase_sets()));
        found.extend(fallback.frustration_phrases);
        found.extend(fallback.dissatisfied_phrases);
        // Sets a condition tests, through the sets they include: only their hits are asked about negation.
        let tested: std::collections::HashSet<u32> = found
            .iter()
            .flat_map(|set| super::lint::members(&m.sets, *set as usize, false))
            .map(|i| i as u32)
            .collect();
        (0..phrase_sets.len() as u32).filter(|s| !tested.contains(s)).for_each(|s| builder.quiet(s));
        used.extend(
            found
                .into_iter()
                .flat_map(|set| super::lint::members(&m.sets, set as usize, true))
                .map(|i| i as u32),
        );
        super::lint::run(self, root, &m.rules, &rules, &m.sets, &empty, &used);
        let root_file = layers.last().map(|l| &l.file);
        let root_id = root_file.and_then(header_id);
        super::lint::pack_queue_defaults(self, root, root_id, root_file.and_then(extends_of), &m.queues);

        if self.problems.iter().any(CompileError::is_error) {
            return None;
        }
        let matcher = match builder.build() {
            Ok(matcher) => matcher,
            Err(PhraseError::TooManyPatterns(count, limit)) => {
                self.push(too_many("automaton patterns (typo variants included)", count, limit, root).help(
                    "`typos` adds about fifty patterns per letter of a phrase's first long word: use it on the sets where a slip matters",
                ));
                return None;
            }
            Err(e) => {
                self.push(CompileError::new(
                    K::BadPhrase(String::new(), e.to_string()),
                    root,
                    Span::new(0, 0),
                ));
                return None;
            }
        };
        Some(policy::Policy {
            id,
            title: m.title.clone(),
            version: m.version.clone().unwrap_or_else(|| "0".into()),
            hash: content_hash(layers, sources),
            timezone,
            safe_queue,
            phrase_sets,
            phrases,
            matcher,
            rules,
            fallback,
            disclaimers,
            retention,
            queues,
            files: layers.iter().filter_map(|l| sources.get(l.source).map(|s| s.name.clone())).collect(),
        })
    }

    /// Lowers the phrase sets: resolves included sets and the sides of proximities, and adds every phrase to the
    /// automaton's builder. Returns the builder, the phrase table, the set table (a side written as a quoted
    /// phrase becomes a set of its own, after the named ones), and which named sets can never match (empty,
    /// with everything they include).
    fn phrase_sets(
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

    fn timezone(&mut self, name: &str, src: SourceId, span: Span) -> chrono_tz::Tz {
        match name.parse::<chrono_tz::Tz>() {
            Ok(tz) => tz,
            Err(_) => {
                let zones = chrono_tz::TZ_VARIANTS.iter().map(|z| z.name());
                self.push(CompileError::new(K::UnknownTimezone(name.into()), src, span).suggest(name, zones));
                chrono_tz::UTC
            }
        }
    }

    fn queue_ref(&mut self, name: &str, src: SourceId, span: Span, queues: &[String]) {
        if !queues.iter().any(|q| q == name) {
            self.push(
                CompileError::new(K::UnknownQueue(name.into()), src, span)
                    .suggest(name, queues.iter().map(String::as_str)),
            );
        }
    }

    fn target(&mut self, t: &RouteTarget, src: SourceId, names: &Names<'_>) -> policy::Target {
        if !t.by_skill {
            self.queue_ref(&t.queue.text, src, t.queue.span, names.queues);
            return policy::Target::Queue(t.queue.text.clone());
        }
        if !names.skills.contains(&t.queue.text) {
            self.push(
                CompileError::new(K::UnknownSkill(t.queue.text.clone()), src, t.queue.span)
                    .suggest(&t.queue.text, names.skills.iter().map(String::as_str))
                    .help("give a queue this skill with `skill <name>` in its block"),
            );
        }
        policy::Target::Skill(t.queue.text.clone())
    }

    fn priority(&mut self, name: &Name, src: SourceId) -> Priority {
        Priority::parse(&name.text).unwrap_or_else(|| {
            self.push(
                CompileError::new(K::UnknownPriority(name.text.clone()), src, name.span)
                    .suggest(&name.text, Priority::NAMES)
                    .help("the priorities are `low`, `normal`, `high` and `urgent`"),
            );
            Priority::Normal
        })
    }

    fn rule(&mut self, def: &Def<'_, ast::Rule>, names: &Names<'_>, sources: &Sources) -> policy::Rule {
        let r = def.node;
        let src = def.source;
        let mut when = None;
        let mut say = None;
        let mut route = None;
        let mut priority = None;
        let mut disclaimers = Vec::new();
        let mut negation = None;
        let mut rank = None;
        let mut seen: HashMap<&'static str, Span> = HashMap::new();
        for clause in &r.clauses {
            let key = match &clause.node {
                RuleClause::When(c) => {
                    when = Some(self.cond(c, src, names, false));
                    "when"
                }
                RuleClause::Say(s) => {
                    say = Some(s.value.clone());
                    "say"
                }
                RuleClause::Route(t) => {
                    route = Some(self.target(t, src, names));
                    priority = t.priority.as_ref().map(|p| self.priority(p, src));
                    "route"
                }
                RuleClause::Disclaimer(n) => {
                    match names.disclaimers.iter().position(|d| *d == n.text) {
                        Some(i) => disclaimers.push(i),
                        None => self.push(
                            CompileError::new(K::UnknownDisclaimer(n.text.clone()), src, n.span)
                                .suggest(&n.text, names.disclaimers.iter().map(String::as_str)),
                        ),
                    }
                    continue;
                }
                RuleClause::Negation(mode) => {
                    negation = Some(*mode);
                    "negation"
                }
                RuleClause::Rank(n) => {
                    rank = Some(n.value);
                    "rank"
                }
            };
            if let Some(first) = seen.insert(key, clause.span) {
                self.push(CompileError::new(K::DuplicateClause(key), src, clause.span).note(
                    src,
                    first,
                    "first here",
                ));
            }
        }
        let when = when.unwrap_or_else(|| {
            self.push(
                CompileError::new(K::MissingWhen(r.name.text.clone()), src, r.name.span)
                    .help("add a condition, for example `when says human_request`"),
            );
            Cond::Or(Vec::new())
        });
        let reason = match r.tier {
            Tier::Emergency => ReasonCode::Emergency,
            Tier::Request => ReasonCode::ExplicitRequest,
            Tier::HardRoute => ReasonCode::HardRoute,
            Tier::Escalate if mentions_message(&when) => ReasonCode::Topic,
            Tier::Escalate => ReasonCode::BusinessRule,
        };
        let default_priority = if r.tier == Tier::Emergency { Priority::Urgent } else { Priority::Normal };
        let defined_at = sources
            .get(src)
            .map(|s| {
                let (line, _) = crate::diagnostic::line_col(&s.text, r.name.span.start);
                format!("{}:{line}", s.name)
            })
            .unwrap_or_default();
        policy::Rule {
            id: def.annotation("id").unwrap_or_else(|| r.name.text.clone()),
            name: r.name.text.clone(),
            tier: r.tier,
            reason,
            when,
            say,
            route,
            priority: priority.unwrap_or(default_priority),
            disclaimers,
            negation: negation.unwrap_or(if r.tier == Tier::Emergency {
                NegationMode::Ignored
            } else {
                NegationMode::Respected
            }),
            rank: rank.unwrap_or(0),
            locked: def.locked(),
            cite: def.annotation("cite"),
            owner: def.annotation("owner"),
            message: def.annotation("message"),
            defined_at,
        }
    }

    fn check_ids(&mut self, rules: &[Def<'_, ast::Rule>]) {
        let mut seen: HashMap<String, (SourceId, Span)> = HashMap::new();
        for r in rules {
            let id = r.annotation("id").unwrap_or_else(|| r.node.name.text.clone());
            let at = r
                .annotations
                .iter()
                .find(|a| a.name.text == "id")
                .map(|a| a.span)
                .unwrap_or(r.node.name.span);
            if let Some((src, first)) = seen.insert(id.clone(), (r.source, at)) {
                self.push(CompileError::new(K::DuplicateId(id), r.source, at).note(
                    src,
                    first,
                    "first used here",
                ));
            }
        }
    }

    /// Lowers a condition, checking names and types. `allow_matched` is true in retention rules and disclaimers.
    fn cond(&mut self, c: &Condition, src: SourceId, names: &Names<'_>, allow_matched: bool) -> Cond {
        match &c.kind {
            ConditionKind::And(parts) => {
                Cond::And(parts.iter().map(|p| self.cond(p, src, names, allow_matched)).collect())
            }
            ConditionKind::Or(parts) => {
                Cond::Or(parts.iter().map(|p| self.cond(p, src, names, allow_matched)).collect())
            }
            ConditionKind::Not(inner) => Cond::Not(Box::new(self.cond(inner, src, names, allow_matched))),
            ConditionKind::Says(set) => match names.sets.iter().position(|s| *s == set.text) {
                Some(i) => Cond::Says(i as u32),
                None => {
                    self.push(
                        CompileError::new(K::UnknownPhraseSet(set.text.clone()), src, set.span)
                            .suggest(&set.text, names.sets.iter().map(String::as_str)),
                    );
                    Cond::Or(Vec::new())
                }
            },
            ConditionKind::Matched(rule) => {
                if !allow_matched {
                    self.push(CompileError::new(K::MatchedOutsideRetain, src, c.span));
                    return Cond::Or(Vec::new());
                }
                match names.rules.iter().position(|r| *r == rule.text) {
                    Some(i) => Cond::Matched(i),
                    None => {
                        self.push(
                            CompileError::new(K::UnknownRule(rule.text.clone()), src, rule.span)
                                .suggest(&rule.text, names.rules.iter().map(String::as_str)),
                        );
                        Cond::Or(Vec::new())
                    }
                }
            }
            ConditionKind::Compare { field, op, value } => self.compare(field, op, value, src),
        }
    }

    fn compare(&mut self, field: &Name, op: &Spanned<CompareOp>, value: &Value, src: SourceId) -> Cond {
        let f = field.text.as_str();
        if let Some(attr) = f.strip_prefix("customer.") {
            if matches!(op.node, CompareOp::Lt | CompareOp::Le | CompareOp::Gt | CompareOp::Ge)
                && !matches!(value, Value::Number(_))
            {
                self.push(mismatch(f, "is compared by order only with numbers", value, src));
            }
            if op.node == CompareOp::In && !matches!(value, Value::List(_)) {
                self.push(mismatch(f, "is tested with `in` against a list", value, src));
            }
            return Cond::Customer(attr.to_string(), op.node, literal(value));
        }
        let number_field = match f {
            "confidence" => Some((NumberField::Confidence, 0.0, 1.0)),
            "sentiment" => Some((NumberField::Sentiment, -1.0, 1.0)),
            "frustration" => Some((NumberField::Frustration, 0.0, 1.0)),
            "strikes" => Some((NumberField::Strikes, 0.0, f64::from(u32::MAX))),
            "turn" => Some((NumberField::Turn, 0.0, f64::from(u32::MAX))),
            "hour" => Some((NumberField::Hour, 0.0, 23.0)),
            _ => None,
        };
        if let Some((nf, min, max)) = number_field {
            return match (op.node, value) {
                (CompareOp::Has | CompareOp::StartsWith, _) => {
                    self.push(CompileError::new(
                        K::BadOperator { field: f.into(), op: op.node.symbol() },
                        src,
                        op.span,
                    ));
                    Cond::Or(Vec::new())
                }
                (CompareOp::In, Value::List(items)) => {
                    let mut values = Vec::new();
                    for item in &items.node {
                        match item {
                            Value::Number(n) => values.push(n.value),
                            other => self.push(mismatch(f, "is a number", other, src)),
                        }
                    }
                    Cond::NumberIn(nf, values)
                }
                (CompareOp::In, other) => {
                    self.push(mismatch(f, "is tested with `in` against a list", other, src));
                    Cond::Or(Vec::new())
                }
                (_, Value::Number(n)) => {
                    if n.value < min || n.value > max {
                        self.push(CompileError::new(
                            K::OutOfRange { field: f.into(), min, max, value: n.value },
                            src,
                            n.span,
                        ));
                    }
                    Cond::Number(nf, op.node, n.value)
                }
                (_, other) => {
                    self.push(mismatch(f, "is a number", other, src));
                    Cond::Or(Vec::new())
                }
            };
        }
        let text_field = match f {
            "feedback" => Some((TextField::Feedback, &["positive", "negative"][..])),
            "channel" => Some((TextField::Channel, &[][..])),
            "page" => Some((TextField::Page, &[][..])),
            "weekday" => Some((TextField::Weekday, &["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][..])),
            "intent" => None,
            _ => {
                self.push(
                    CompileError::new(K::UnknownField(f.into()), src, field.span)
                        .suggest(f, FIELDS.iter().copied())
                        .help(format!(
                            "the fields are {}, and `customer.<attribute>`",
                            FIELDS.map(|x| format!("`{x}`")).join(", ")
                        )),
                );
                return Cond::Or(Vec::new());
            }
        };
        let allowed = match text_field {
            Some(_) => [CompareOp::Eq, CompareOp::Ne, CompareOp::In, CompareOp::StartsWith].as_slice(),
            None => [CompareOp::Eq, CompareOp::Ne, CompareOp::In, CompareOp::Has].as_slice(),
        };
        if !allowed.contains(&op.node) {
            self.push(CompileError::new(
                K::BadOperator { field: f.into(), op: op.node.symbol() },
                src,
                op.span,
            ));
            return Cond::Or(Vec::new());
        }
        let values: Vec<String> = match (op.node, value) {
            (CompareOp::In, Value::List(items)) => items
                .node
                .iter()
                .filter_map(|v| match v {
                    Value::Str(s) => Some(s.value.clone()),
                    other => {
                        self.push(mismatch(f, "is text", other, src));
                        None
                    }
                })
                .collect(),
            (CompareOp::In, other) => {
                self.push(mismatch(f, "is tested with `in` against a list", other, src));
                Vec::new()
            }
            (_, Value::Str(s)) => vec![s.value.clone()],
            (_, other) => {
                self.push(mismatch(f, "is text", other, src));
                Vec::new()
            }
        };
        match text_field {
            Some((tf, known)) => {
                let mut canonical = Vec::with_capacity(values.len());
                for v in values {
                    if known.is_empty() {
                        canonical.push(v);
                        continue;
                    }
                    match known.iter().find(|k| k.eq_ignore_ascii_case(&v) || weekday_long(k, &v)) {
                        Some(k) => canonical.push(k.to_string()),
                        None => self.push(
                            CompileError::new(
                                K::UnknownValue { field: f.into(), value: v.clone() },
                                src,
                                value.span(),
                            )
                            .suggest(&v, known.iter().copied())
                            .help(format!("`{f}` is one of {}", known.join(", "))),
                        ),
                    }
                }
                Cond::Text(tf, op.node, canonical)
            }
            None => Cond::Intent(op.node, values),
        }
    }

    fn fallback(&mut self, m: &Merged<'_>, names: &Names<'_>) -> policy::Fallback {
        let mut f = policy::Fallback {
            weak_below: None,
            handoff_below: None,
            strikes: None,
            frustration_above: None,
            frustration_phrases: None,
            rephrase_above: None,
            dissatisfied_phrases: None,
            route: None,
            priority: Priority::Normal,
            say: None,
        };
        for (def, span) in m.fallback.values() {
            let src = def.source;
            let unit = |this: &mut Self, what: &'static str, n: &Number| {
                if !(0.0..=1.0).contains(&n.value) {
                    this.push(CompileError::new(K::FallbackRange(what, 0.0, 1.0), src, n.span));
                }
                Some(n.value)
            };
            match def.node {
                FallbackClause::WeakBelow(n) => f.weak_below = unit(self, "confidence below", n),
                FallbackClause::HandoffBelow(n) => f.handoff_below = unit(self, "handoff below", n),
                FallbackClause::FrustrationAbove(n) => {
                    f.frustration_above = unit(self, "frustration above", n)
                }
                FallbackClause::RephraseAbove(n) => f.rephrase_above = unit(self, "rephrase above", n),
                FallbackClause::Strikes(n) => {
                    if n.value == 0 {
                        self.push(CompileError::new(
                            K::FallbackRange("strikes", 1.0, f64::from(u32::MAX)),
                            src,
                            n.span,
                        ));
                    }
                    f.strikes = Some(n.value);
                }
                FallbackClause::FrustrationSays(set) | FallbackClause::DissatisfiedSays(set) => {
                    let index = match self.cond(&says(set, *span), src, names, false) {
                        Cond::Says(i) => Some(i),
                        _ => None,
                    };
                    if matches!(def.node, FallbackClause::FrustrationSays(_)) {
                        f.frustration_phrases = index;
                    } else {
                        f.dissatisfied_phrases = index;
                    }
                }
                FallbackClause::Route(t) => {
                    f.route = Some(self.target(t, src, names));
                    if let Some(p) = &t.priority {
                        f.priority = self.priority(p, src);
                    }
                }
                FallbackClause::Say(s) => f.say = Some(s.value.clone()),
            }
        }
        f
    }

    fn disclaimer(&mut self, def: &Def<'_, ast::Disclaimer>, names: &Names<'_>) -> policy::Disclaimer {
        let d = def.node;
        let mut text = None;
        let mut show = ShowMode::Once;
        let mut when = None;
        for clause in &d.clauses {
            match &clause.node {
                DisclaimerClause::Text(t) => text = Some(t.value.clone()),
                DisclaimerClause::Show(mode) => show = *mode,
                DisclaimerClause::When(c) => when = Some(self.cond(c, def.source, names, true)),
            }
        }
        let text = text.unwrap_or_else(|| {
            self.push(CompileError::new(K::MissingText(d.name.text.clone()), def.source, d.name.span));
            String::new()
        });
        policy::Disclaimer { name: d.name.text.clone(), text, show, when }
    }

    fn retain(&mut self, def: &Def<'_, Retain>, names: &Names<'_>) -> policy::Retention {
        let r = def.node;
        let mut when = Cond::True;
        let mut keep = None;
        let mut redact = Vec::new();
        let mut legal_hold = false;
        for clause in &r.clauses {
            match &clause.node {
                RetainClause::When(c) => when = self.cond(c, def.source, names, true),
                RetainClause::Keep(n, unit) => keep = Some((n.value, *unit)),
                RetainClause::Redact(fields) => {
                    for field in fields {
                        if crate::handoff::PiiKind::parse(&field.text).is_some() {
                            redact.push(field.text.clone());
                        } else {
                            self.push(
                                CompileError::new(
                                    K::UnknownRedaction(field.text.clone()),
                                    def.source,
                                    field.span,
                                )
                                .suggest(&field.text, crate::handoff::PiiKind::ALL.map(|k| k.name()))
                                .help(format!(
                                    "the fields are {}",
                                    crate::handoff::PiiKind::ALL.map(|k| k.name()).join(", ")
                                )),
                            );
                        }
                    }
                }
                RetainClause::LegalHold => legal_hold = true,
            }
        }
        let keep = keep.unwrap_or_else(|| {
            self.push(
                CompileError::new(K::MissingKeep(r.name.text.clone()), def.source, r.name.span)
                    .help("add for example `keep 6 years`"),
            );
            (0, PeriodUnit::Days)
        });
        policy::Retention {
            class: r.name.text.clone(),
            when,
            keep,
            redact,
            legal_hold,
            cite: def.annotation("cite"),
        }
    }

    fn queue(&mut self, def: &Def<'_, ast::Queue>, default_tz: chrono_tz::Tz) -> policy::Queue {
        let q = def.node;
        let src = def.source;
        let mut out = policy::Queue {
            name: q.name.text.clone(),
            timezone: default_tz,
            hours: None,
            closed: Vec::new(),
            channel: "live_chat".into(),
            wait: None,
            after_hours: None,
            follow_up_minutes: 0,
            skill: None,
            phone: None,
            schedule: crate::route::Schedule::always(default_tz),
        };
        let mut seen: HashMap<&'static str, Span> = HashMap::new();
        let mut hours_span = None;
        let mut closed_spans: Vec<Span> = Vec::new();
        for clause in &q.clauses {
            let key = match &clause.node {
                QueueClause::Timezone(t) => {
                    out.timezone = self.timezone(&t.value, src, t.span);
                    "timezone"
                }
                QueueClause::Hours(h) => {
                    out.hours = Some(h.value.clone());
                    hours_span = Some(h.span);
                    "hours"
                }
                QueueClause::Closed(days) => {
                    out.closed.extend(days.iter().map(|d| d.value.clone()));
                    closed_spans.extend(days.iter().map(|d| d.span));
                    "closed"
                }
                QueueClause::Channel(c) => {
                    self.channel(c, src, false);
                    out.channel = c.text.clone();
                    "channel"
                }
                QueueClause::Wait(w) => {
                    out.wait = Some(w.value.clone());
                    "wait"
                }
                QueueClause::AfterHours(c, t) => {
                    self.channel(c, src, true);
                    if let Err(e) = crate::route::check_template(&t.value) {
                        self.push(hours_error(e, src, t.span));
                    }
                    out.after_hours = Some((c.text.clone(), t.value.clone()));
                    "after_hours"
                }
                QueueClause::FollowUp(n, unit) => {
                    let per = match unit {
                        DurationUnit::Minutes => 1,
                        DurationUnit::Hours => 60,
                        DurationUnit::Days => 24 * 60,
                    };
                    out.follow_up_minutes = n.value.saturating_mul(per);
                    "follow_up"
                }
                QueueClause::Skill(s) => {
                    out.skill = Some(s.text.clone());
                    "skill"
                }
                QueueClause::Phone(p) => {
                    out.phone = Some(p.value.clone());
                    "phone"
                }
            };
            if let Some(first) = seen.insert(key, clause.span) {
                self.push(CompileError::new(K::DuplicateClause(key), src, clause.span).note(
                    src,
                    first,
                    "first here",
                ));
            }
        }
        match crate::route::Schedule::parse(out.timezone, out.hours.as_deref(), &out.closed) {
            Ok(schedule) => out.schedule = schedule,
            Err((which, e)) => {
                let span = if which == usize::MAX { hours_span } else { closed_spans.get(which).copied() };
                self.push(hours_error(e, src, span.unwrap_or(q.name.span)));
            }
        }
        out
    }

    fn channel(&mut self, c: &Name, src: SourceId, after_hours: bool) {
        if !policy::CHANNELS.contains(&c.text.as_str()) {
            self.push(
                CompileError::new(K::UnknownChannel(c.text.clone()), src, c.span)
                    .suggest(&c.text, policy::CHANNELS)
                    .help(format!("the channels are {}", policy::CHANNELS.join(", "))),
            );
        } else if after_hours && c.text == "live_chat" {
            self.push(
                CompileError::new(
                    K::BadQueueSetting("after hours nobody is there to chat live".into()),
                    src,
                    c.span,
                )
                .help(
                    "use `ticket`, `email` or `callback`: off hours is never a fake \"connecting you now\"",
                ),
            );
        }
    }
}

/// An hours, closure or template error, pointed at the character inside the string (after its opening quote).
fn hours_error(e: crate::route::HoursError, src: SourceId, string: Span) -> CompileError {
    let at = string.start + 1 + e.offset.min(string.end.saturating_sub(string.start + 2));
    let err = CompileError::new(K::BadQueueSetting(e.message), src, Span::new(at, (at + 1).min(string.end)));
    match e.help {
        Some(help) => err.help(help),
        None => err,
    }
}

/// The names a condition may refer to.
#[derive(Clone, Copy)]
struct Names<'a> {
    sets: &'a [String],
    skills: &'a [String],
    rules: &'a [String],
    queues: &'a [String],
    disclaimers: &'a [String],
}

/// The fields of an event a condition may test (besides `customer.<attribute>`).
pub const FIELDS: [&str; 11] = [
    "confidence",
    "sentiment",
    "frustration",
    "strikes",
    "turn",
    "hour",
    "feedback",
    "channel",
    "page",
    "weekday",
    "intent",
];

fn weekday_long(short: &str, value: &str) -> bool {
    value.len() > 3 && value.to_ascii_lowercase().starts_with(&short.to_ascii_lowercase())
}

fn says(set: &Name, span: Span) -> Condition {
    Condition { kind: ConditionKind::Says(set.clone()), span }
}

fn mentions_message(c: &Cond) -> bool {
    match c {
        Cond::Says(_) | Cond::Intent(..) => true,
        Cond::And(parts) | Cond::Or(parts) => parts.iter().any(mentions_message),
        Cond::Not(inner) => mentions_message(inner),
        _ => false,
    }
}

fn literal(v: &Value) -> Literal {
    match v {
        Value::Number(n) => Literal::Number(n.value),
        Value::Str(s) => Literal::Text(s.value.clone()),
        Value::Bool(b) => Literal::Bool(b.node),
        Value::List(items) => Literal::List(items.node.iter().map(literal).collect()),
    }
}

fn describe_value(v: &Value) -> &'static str {
    match v {
        Value::Number(_) => "a number",
        Value::Str(_) => "text",
        Value::Bool(_) => "a boolean",
        Value::List(_) => "a list",
    }
}

fn mismatch(field: &str, expected: &'static str, found: &Value, src: SourceId) -> CompileError {
    CompileError::new(
        K::TypeMismatch { field: field.into(), expected, found: describe_value(found) },
        src,
        found.span(),
    )
}

fn too_many(what: &'static str, count: usize, limit: usize, src: SourceId) -> CompileError {
    CompileError::new(K::TooMany { what, count, limit }, src, Span::new(0, 0))
}

fn locked<T>(
    old: &Def<'_, T>,
    old_name: Span,
    name: &Name,
    src: SourceId,
    action: &'static str,
) -> CompileError {
    let pack = old.pack.unwrap_or("this policy").to_string();
    CompileError::new(K::LockedRule { rule: name.text.clone(), pack, action }, src, name.span)
        .note(
            old.source,
            old_name,
            "locked here: a compliance floor no extending policy may remove or weaken",
        )
        .help("add a new rule beside it instead, or extend its phrase sets with `extend phrases`")
}

fn pack_of(layers: &[Layer], source: SourceId) -> String {
    layers
        .iter()
        .find(|l| l.source == source)
        .and_then(|l| l.pack.clone())
        .unwrap_or_else(|| "this policy".into())
}

fn replace_named<'a, T>(list: &mut Vec<Def<'a, T>>, new: Def<'a, T>, name: impl Fn(&T) -> &String) {
    match list.iter().position(|d| name(d.node) == name(new.node)) {
        Some(i) => {
            if let Some(slot) = list.get_mut(i) {
                *slot = new;
            }
        }
        None => list.push(new),
    }
}

fn fallback_key(c: &FallbackClause) -> &'static str {
    match c {
        FallbackClause::WeakBelow(_) => "confidence below",
        FallbackClause::HandoffBelow(_) => "handoff below",
        FallbackClause::Strikes(_) => "strikes",
        FallbackClause::FrustrationAbove(_) => "frustration above",
        FallbackClause::FrustrationSays(_) => "frustration says",
        FallbackClause::RephraseAbove(_) => "rephrase above",
        FallbackClause::DissatisfiedSays(_) => "dissatisfied says",
        FallbackClause::Route(_) => "route",
        FallbackClause::Say(_) => "say",
    }
}

/// SHA-256 over every layer's text, base first, each framed by its length: the policy's identity.
fn content_hash(layers: &[Layer], sources: &Sources) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for layer in layers {
        let text = sources.get(layer.source).map(|s| s.text.as_bytes()).unwrap_or_default();
        ctx.update(&(text.len() as u64).to_be_bytes());
        ctx.update(text);
    }
    ctx.finish().as_ref().iter().map(|b| format!("{b:02x}")).collect()
}
