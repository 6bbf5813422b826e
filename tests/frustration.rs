//! Frustration measured on real text: the goemotions dev set (Reddit comments labelled with emotions) from
//! `$HANDRAIL_SHARED/data/goemotions`. Rows whose labels include anger or annoyance are `direct` frustration;
//! rows with no negative emotion are `none` (see the set's PROVENANCE.md). The detector is the frustration score
//! the built-in policy computes, compared with its fallback threshold; `partial` rows (disgust, disappointment,
//! disapproval) are reported but not scored.
//!
//! Shown as ignored when `HANDRAIL_SHARED` is unset (see `build.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "support/shared.rs"]
mod shared;

use handrail::compile::builtin_default;
use handrail::eval::{ConversationState, Event, decide};

#[path = "support/clock.rs"]
mod clock;
use clock::now;

/// Floors a little under the figures measured when the detector was tuned (docs/frustration.md); a drop below
/// them means a change made the detector worse.
const MIN_PRECISION: f64 = 0.62;
const MIN_RECALL: f64 = 0.24;
/// The most `none` rows (no negative emotion) that may be flagged.
const MAX_FALSE_RATE: f64 = 0.02;

#[test]
#[cfg_attr(not(handrail_shared), ignore = "needs the shared corpora: set HANDRAIL_SHARED (see README)")]
fn frustration_on_goemotions_dev() {
    let shared = shared::dir().display().to_string();
    let path = std::path::Path::new(&shared).join("data/goemotions/goemotions.dev.csv");
    let mut reader = csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (text, mapping, trigger) = (col("text"), col("mapping"), col("mapped_trigger"));

    let policy = builtin_default().policy.unwrap();
    let threshold = policy.fallback.frustration_above.unwrap();
    let (mut tp, mut fp, mut fn_, mut tn, mut partial_hits, mut partial) =
        (0u32, 0u32, 0u32, 0u32, 0u32, 0u32);
    for row in reader.records() {
        let row = row.unwrap();
        let event = Event { text: Some(row[text].to_string()), ..Event::default() };
        let (d, _) = decide(&policy, &ConversationState::default(), &event, now());
        let flagged = d.signals.frustration > threshold;
        match (&row[trigger], &row[mapping]) {
            ("frustration_negative", "direct") if flagged => tp += 1,
            ("frustration_negative", "direct") => fn_ += 1,
            ("frustration_negative", _) => {
                partial += 1;
                partial_hits += u32::from(flagged);
            }
            (_, "none") if flagged => fp += 1,
            (_, "none") => tn += 1,
            _ => {}
        }
    }
    let precision = f64::from(tp) / f64::from((tp + fp).max(1));
    let recall = f64::from(tp) / f64::from((tp + fn_).max(1));
    let false_rate = f64::from(fp) / f64::from((fp + tn).max(1));
    println!(
        "frustration (goemotions dev, threshold {threshold}): precision {:.1}% ({tp}/{}), recall {:.1}% ({tp}/{}), \
         false flags on `none` rows {:.2}% ({fp}/{}), partial rows flagged {partial_hits}/{partial}",
        precision * 100.0,
        tp + fp,
        recall * 100.0,
        tp + fn_,
        false_rate * 100.0,
        fp + tn,
    );
    assert!(tp + fn_ > 100, "the direct rows were not found");
    assert!(precision >= MIN_PRECISION, "precision {precision:.3} fell below {MIN_PRECISION}");
    assert!(recall >= MIN_RECALL, "recall {recall:.3} fell below {MIN_RECALL}");
    assert!(false_rate <= MAX_FALSE_RATE, "false flags {false_rate:.4} rose above {MAX_FALSE_RATE}");
}
