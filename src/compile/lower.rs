//! Lowering: the merged definitions into a [`Policy`](super::Policy), names resolved and types checked; the
//! rules, the fallback, disclaimers and retention here, conditions in [`conditions`](super::conditions),
//! queues in [`queues`](super::queues), phrase sets in [`phrases`](super::phrases).

use std::collections::HashMap;

use crate::diagnostic::{SourceId, Sources};
use crate::syntax::ast::{self, *};
use crate::text::PhraseError;

use super::build::Builder;
use super::conditions::{mentions_message, says};
use super::error::{CompileError, CompileErrorKind as K};
use super::load::{Layer, extends_of, header_id};
use super::merge::{Def, Merged};
use super::policy::{self, Cond, Priority, ReasonCode};
use super::{MAX_PHRASE_SETS, MAX_PHRASES, MAX_RULES};

/// The names a condition may refer to.
#[derive(Clone, Copy)]
pub(super) struct Names<'a> {
    pub(super) sets: &'a [String],
    pub(super) skills: &'a [String],
    pub(super) rules: &'a [String],
    pub(super) queues: &'a [String],
    pub(super) disclaimers: &'a [String],
}

fn too_many(what: &'static str, count: usize, limit: usize, src: SourceId) -> CompileError {
    CompileError::new(K::TooMany { what, count, limit }, src, Span::new(0, 0))
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

impl Builder {
    pub(super) fn lower(
        &mut self,
        m: Merged<'_>,
        layers: &[Layer],
        sources: &Sources,
    ) -> Option<policy::Policy> {
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
        let lints = super::lint::run(root, &m.rules, &rules, &m.sets, &empty, &used);
        self.problems.extend(lints);
        let root_file = layers.last().map(|l| &l.file);
        let root_id = root_file.and_then(header_id);
        let lints =
            super::lint::pack_queue_defaults(root, root_id, root_file.and_then(extends_of), &m.queues);
        self.problems.extend(lints);

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
            sources: layers.iter().filter_map(|l| sources.get(l.source).cloned()).collect(),
            conventions: policy::Conventions::default(),
        })
    }

    pub(super) fn timezone(&mut self, name: &str, src: SourceId, span: Span) -> chrono_tz::Tz {
        match name.parse::<chrono_tz::Tz>() {
            Ok(tz) => tz,
            Err(_) => {
                let zones = chrono_tz::TZ_VARIANTS.iter().map(|z| z.name());
                self.push(CompileError::new(K::UnknownTimezone(name.into()), src, span).suggest(name, zones));
                chrono_tz::UTC
            }
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
                    .suggest(&name.text, Priority::NAMES.iter().copied())
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
            tier: r.tier.into(),
            reason,
            when,
            say,
            route,
            priority: priority.unwrap_or(default_priority),
            disclaimers,
            negation: negation
                .unwrap_or(if r.tier == Tier::Emergency {
                    NegationMode::Ignored
                } else {
                    NegationMode::Respected
                })
                .into(),
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
        policy::Disclaimer { name: d.name.text.clone(), text, show: show.into(), when }
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
                        if let Some(kind) = crate::handoff::PiiKind::parse(&field.text) {
                            redact.push(kind);
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
            keep: (keep.0, keep.1.into()),
            redact,
            legal_hold,
            cite: def.annotation("cite"),
        }
    }
}
