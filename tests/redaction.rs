//! Redaction measured on synthetic PII with labelled spans: `$HANDRAIL_SHARED/data/presidio_synth_pii`
//! (microsoft/presidio-research, MIT; see its PROVENANCE.md). For each entity type handrail redacts, recall is the
//! share of labelled spans wholly covered by redactions; precision is the share of redacted bytes that fall inside
//! some labelled span (any type). Shown as ignored when `HANDRAIL_SHARED` is unset (see `build.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "support/shared.rs"]
mod shared;

use std::collections::BTreeMap;

use handrail::handoff::redact::{PiiKind, find};

/// Floors a little under the figures measured (docs/handoff.md): a drop below them fails the test.
const FLOORS: &[(&str, f64)] = &[
    ("EMAIL_ADDRESS", 0.97),
    ("CREDIT_CARD", 0.97),
    ("US_SSN", 0.93),
    ("PHONE_NUMBER", 0.95),
    ("IBAN_CODE", 0.95),
];
const MIN_PRECISION: f64 = 0.97;

#[test]
#[cfg_attr(not(handrail_shared), ignore = "needs the shared corpora: set HANDRAIL_SHARED (see README)")]
fn redaction_on_presidio_synthetic_pii() {
    let shared = shared::dir().display().to_string();
    let path = std::path::Path::new(&shared).join("data/presidio_synth_pii/synth_dataset_v2.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut covered: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    let (mut redacted_bytes, mut inside_bytes) = (0usize, 0usize);
    for line in text.lines() {
        let row: serde_json::Value = serde_json::from_str(line).unwrap();
        // The dataset's offsets count characters; handrail's are bytes.
        let t = row["text"].as_str().unwrap();
        let byte_at = |chars: u64| t.char_indices().nth(chars as usize).map(|(b, _)| b).unwrap_or(t.len());
        let spans: Vec<(String, usize, usize)> = row["spans"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["entity_type"].as_str().unwrap().to_string(),
                    byte_at(s["start"].as_u64().unwrap()),
                    byte_at(s["end"].as_u64().unwrap()),
                )
            })
            .collect();
        let found = find(t, &PiiKind::ALL);
        for (kind, start, end) in &spans {
            if !FLOORS.iter().any(|(k, _)| k == kind) {
                continue;
            }
            let entry = covered.entry(kind.clone()).or_insert((0, 0));
            entry.1 += 1;
            // Covered when every non-space byte of the span is inside some redaction.
            let hidden = (*start..*end)
                .all(|b| t.as_bytes()[b].is_ascii_whitespace() || found.iter().any(|f| f.span.contains(&b)));
            if hidden {
                entry.0 += 1;
            }
        }
        for f in &found {
            redacted_bytes += f.span.len();
            inside_bytes +=
                f.span.clone().filter(|b| spans.iter().any(|(_, s, e)| (s..e).contains(&b))).count();
        }
    }
    let precision = inside_bytes as f64 / redacted_bytes.max(1) as f64;
    let mut failures = Vec::new();
    for (kind, floor) in FLOORS {
        let (hit, total) = covered.get(*kind).copied().unwrap_or((0, 0));
        let recall = f64::from(hit) / f64::from(total.max(1));
        println!("redaction recall {kind}: {:.1}% ({hit}/{total})", recall * 100.0);
        if total == 0 || recall < *floor {
            failures.push(format!("{kind} recall {recall:.3} below {floor}"));
        }
    }
    println!(
        "redaction precision (redacted bytes inside a labelled span): {:.1}% ({inside_bytes}/{redacted_bytes})",
        precision * 100.0
    );
    assert!(precision >= MIN_PRECISION, "precision {precision:.3} below {MIN_PRECISION}");
    assert!(failures.is_empty(), "{failures:?}");
}
