//! What the policy obliges beside the action: the disclaimers shown (each per its `show` mode, remembered in the
//! conversation state) and the retention class the event is kept under.

use chrono::{DateTime, Months, Utc};

use super::cond::{self, Facts};
use super::decision::{RetentionDecision, ShownDisclaimer};
use super::event::ConversationState;
use crate::compile::policy::{NegationMode, PeriodUnit, Policy, ShowMode};

/// Disclaimers: those named by matching rules, and those whose `when` holds, each per its `show` mode.
pub(super) fn disclaimers(
    policy: &Policy,
    matched: &[bool],
    facts: &Facts<'_>,
    next: &mut ConversationState,
) -> Vec<ShownDisclaimer> {
    let mut wanted: Vec<usize> = Vec::new();
    for (rule, m) in policy.rules.iter().zip(matched) {
        if *m {
            wanted.extend(&rule.disclaimers);
        }
    }
    for (i, d) in policy.disclaimers.iter().enumerate() {
        let fires = match (&d.when, d.show) {
            (Some(c), _) => cond::holds(c, facts, NegationMode::Respected),
            (None, ShowMode::FirstMessage) => true,
            (None, _) => false,
        };
        if fires {
            wanted.push(i);
        }
    }
    wanted.sort_unstable();
    wanted.dedup();
    let mut shown = Vec::new();
    for i in wanted {
        let Some(d) = policy.disclaimers.get(i) else {
            continue;
        };
        let already = next.disclaimers_shown.contains(&d.name);
        let show = match d.show {
            ShowMode::Always => true,
            ShowMode::Once => !already,
            ShowMode::FirstMessage => facts.turn == 1 && !already,
        };
        if show {
            if !already {
                next.disclaimers_shown.push(d.name.clone());
            }
            shown.push(ShownDisclaimer { name: d.name.clone(), text: d.text.clone() });
        }
    }
    shown
}

/// The strictest matching retention class: the longest period (legal hold beats any), redactions united.
pub(super) fn retention(
    policy: &Policy,
    facts: &Facts<'_>,
    time: DateTime<Utc>,
) -> Option<RetentionDecision> {
    let mut best: Option<RetentionDecision> = None;
    let mut redact: Vec<crate::handoff::PiiKind> = Vec::new();
    let mut hold = false;
    for r in &policy.retention {
        if !cond::holds(&r.when, facts, NegationMode::Respected) {
            continue;
        }
        redact.extend(r.redact.iter().copied());
        hold |= r.legal_hold;
        let until = keep_until(time, r.keep);
        let stricter = match &best {
            None => true,
            Some(b) => r.legal_hold && !b.legal_hold || until > b.keep_until,
        };
        if stricter {
            best = Some(RetentionDecision {
                class: r.class.clone(),
                keep_until: until,
                redact: Vec::new(),
                legal_hold: r.legal_hold,
            });
        }
    }
    // By name, as the decision lists them.
    redact.sort_by_key(|k| k.name());
    redact.dedup();
    best.map(|b| RetentionDecision { redact, legal_hold: hold, ..b })
}

fn keep_until(time: DateTime<Utc>, (n, unit): (u32, PeriodUnit)) -> DateTime<Utc> {
    let far = DateTime::<Utc>::MAX_UTC;
    match unit {
        PeriodUnit::Days => time.checked_add_signed(chrono::Duration::days(i64::from(n))).unwrap_or(far),
        PeriodUnit::Months => time.checked_add_months(Months::new(n)).unwrap_or(far),
        PeriodUnit::Years => time.checked_add_months(Months::new(n.saturating_mul(12))).unwrap_or(far),
    }
}
