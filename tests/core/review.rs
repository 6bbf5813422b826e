//! The review loop (`report`, `audit replay`, `whatif`, `diff`) on a small log whose answers are known.
//!
//! `examples/review/events.jsonl` is thirteen conversations written so that each number below can be counted by
//! hand: seven escalated (c1 and c8 on request, c2, c3, c9 and c10 to billing, c13 by the fallback after two weak
//! answers), one of them a capture (c8, on a Saturday), four resolved after a person joined, one unresolved
//! (c13), two abandoned (c3 left waiting, c8 left), and three silent failures (c4 went inactive after a shaky
//! answer, c5 closed on "ok", c11 went quiet and never came back). c6, c7 and c12 are not failures: c7 was shaky
//! but the customer said it was resolved.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::cli::handrail;

/// The example log, written by `handrail eval --audit` under `examples/review/shop.policy` into a fresh folder.
fn example_log() -> (tempfile::TempDir, PathBuf) {
    log_of(Path::new("examples/review/events.jsonl"))
}

/// The audit log of `events` decided under the review example's shop policy, in a new directory.
fn log_of(events: &Path) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("review");
    let run =
        handrail(&["audit", "keygen", "--name", "review.example/log", "--out", prefix.to_str().unwrap()], "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let log = dir.path().join("log");
    let key = dir.path().join("review.key");
    let run = handrail(
        &[
            "eval",
            "--policy",
            "examples/review/shop.policy",
            "--audit",
            log.to_str().unwrap(),
            "--audit-key",
            key.to_str().unwrap(),
            events.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    (dir, log)
}

fn json(args: &[&str]) -> Value {
    let run = handrail(args, "");
    assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap()
}

fn group<'a>(groups: &'a Value, name: &str) -> &'a Value {
    groups
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == name)
        .unwrap_or_else(|| panic!("no `{name}`: {groups}"))
}

#[test]
fn the_report_counts_what_the_example_log_holds() {
    let (_dir, log) = example_log();
    let r = json(&["report", log.to_str().unwrap(), "--json", "--over-eager-min", "2"]);
    assert_eq!(r["conversations"], 13);
    assert_eq!(r["decisions"], 39);
    assert_eq!(r["escalated"], 7);
    assert_eq!(
        (r["live"].as_u64(), r["capture"].as_u64(), r["emergency"].as_u64()),
        (Some(6), Some(1), Some(0))
    );
    assert!((r["handoff_rate"].as_f64().unwrap() - 7.0 / 13.0).abs() < 1e-9);

    let all = &r["resolution"];
    let fates = ["resolved", "unresolved", "abandoned", "pending"].map(|f| all[f].as_u64().unwrap());
    assert_eq!(fates, [4, 1, 2, 0], "resolved c1 c2 c9 c10; unresolved c13; abandoned c3 c8");
    // Waits for a person: c9 2 min, c1 3, c10 4, c13 5, c2 10 (nearest rank).
    assert_eq!(all["median_wait_s"], 240);
    assert_eq!(all["p90_wait_s"], 600);
    // Abandoned: c8 left after 5 minutes, c3 after 20.
    assert_eq!(all["median_abandon_s"], 300);

    let billing = group(&r["by_rule"], "HR-BILLING");
    assert_eq!((billing["escalated"].as_u64(), billing["resolved"].as_u64()), (Some(4), Some(3)));
    assert_eq!((billing["abandoned"].as_u64(), billing["one_reply"].as_u64()), (Some(1), Some(2)));
    let human = group(&r["by_rule"], "REQ-HUMAN");
    assert_eq!((human["live"].as_u64(), human["capture"].as_u64()), (Some(1), Some(1)));
    assert_eq!(group(&r["by_rule"], "(fallback)")["unresolved"], 1);
    assert_eq!(group(&r["by_queue"], "billing_desk")["promises"][0]["promise"], "live: about 5 minutes");
    let support = group(&r["by_queue"], "support");
    let promises: Vec<&str> =
        support["promises"].as_array().unwrap().iter().map(|p| p["promise"].as_str().unwrap()).collect();
    assert!(promises.iter().any(|p| p.starts_with("follow-up by 2026-11-30")), "{promises:?}");
    assert_eq!(group(&r["by_channel"], "callback")["capture"], 1);
    // The channel the customer wrote on, each rate a share of that channel's conversations: web c1-c7 (c1, c2
    // and c3 escalated), sms c8-c10 (all three), and c11-c13 said none (c13 escalated).
    let by_source: Vec<(&str, u64, u64)> = r["by_customer_channel"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["name"].as_str().unwrap(),
                g["escalated"].as_u64().unwrap(),
                g["conversations"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(by_source, [("sms", 3, 3), ("web", 3, 7), ("(unknown)", 1, 3)]);
    assert!((group(&r["by_customer_channel"], "web")["rate"].as_f64().unwrap() - 3.0 / 7.0).abs() < 1e-9);
    assert_eq!(group(&r["by_rule"], "HR-BILLING")["conversations"], 13, "a rule's rate is a share of all");

    let reasons: Vec<(&str, u64)> = r["by_reason"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["conversations"].as_u64().unwrap()))
        .collect();
    // c13's fallback handoff gives two reasons: two weak answers in a row.
    assert_eq!(
        reasons,
        [("hard_route", 4), ("explicit_request", 2), ("low_confidence", 1), ("repeated_failure", 1)]
    );

    let silent: Vec<(&str, &str)> = r["silent_failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["conversation"].as_str().unwrap(), f["ending"].as_str().unwrap()))
        .collect();
    assert_eq!(silent, [("c4", "customer_inactive"), ("c5", "flat reply"), ("c11", "went quiet")]);
    // c4 declined a person ("no need for a human"), then went inactive after a weak answer: the rule it came
    // near is named with the phrase, before the fallback threshold.
    assert_eq!(
        r["silent_failures"][0]["near_miss"],
        "REQ-HUMAN (request): \"human\" was said, but negated; fallback `confidence below 0.35`: confidence was 0.5"
    );
    let c11 = &r["silent_failures"][2];
    assert_eq!(c11["shaky"], "confidence 0.45");
    assert_eq!(c11["near_miss"], "fallback `confidence below 0.35`: confidence was 0.45");
    assert_eq!(
        c11["last_messages"][0], "my email is [email], can you update my account",
        "redacted for the lead"
    );

    assert_eq!(r["over_eager"].as_array().unwrap().len(), 1);
    assert_eq!(r["over_eager"][0]["rule"], "HR-BILLING");
    let days: Vec<(u64, u64)> = r["daily"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["conversations"].as_u64().unwrap(), d["escalated"].as_u64().unwrap()))
        .collect();
    assert_eq!(days, [(7, 3), (5, 3), (1, 1)], "Mon 23, Tue 24, Sat 28 November");
    assert_eq!(r["weekly_silent"][0]["silent_failures"], 3);
}

#[test]
fn flat_replies_are_compared_as_phrases_and_a_lead_can_add_their_own() {
    let scratch = tempfile::tempdir().unwrap();
    let events = scratch.path().join("events.jsonl");
    let lines = [
        r#"{"conversation":"f1","time":"2026-11-23T10:00:00Z","text":"can I pay by cheque?","confidence":0.5}"#,
        r#"{"conversation":"f1","time":"2026-11-23T10:02:00Z","text":"As you wish!","confidence":0.9}"#,
        r#"{"conversation":"f1","time":"2026-11-23T10:03:00Z","type":"closed"}"#,
        r#"{"conversation":"f2","time":"2026-11-23T11:00:00Z","text":"do you deliver on sundays","confidence":0.5}"#,
        r#"{"conversation":"f2","time":"2026-11-23T11:01:00Z","text":"Olvidalo...","confidence":0.9}"#,
        r#"{"conversation":"f2","time":"2026-11-23T11:02:00Z","type":"closed"}"#,
    ];
    std::fs::write(&events, lines.join("\n") + "\n").unwrap();
    let (_dir, log) = log_of(&events);
    let silent = |extra: &[&str]| -> Vec<String> {
        let mut args = vec!["report", log.to_str().unwrap(), "--json"];
        args.extend(extra);
        json(&args)["silent_failures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| format!("{} {}", f["conversation"].as_str().unwrap(), f["ending"].as_str().unwrap()))
            .collect()
    };
    // "olvídalo" is built in: written without its accent and with dots, it is still the same reply.
    assert_eq!(silent(&[]), ["f2 flat reply"]);
    assert_eq!(silent(&["--flat-reply", "as you wish"]), ["f1 flat reply", "f2 flat reply"]);
}

#[test]
fn a_terminal_gets_a_progress_bar_and_the_output_stays_clean() {
    // `script` (util-linux) runs the command on a pseudo-terminal: stderr is a terminal there, as at a desk,
    // while stdout goes to a file.
    let found =
        std::process::Command::new("script").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(std::env::var_os("CI").is_none(), "CI must have `script` (Debian's bsdutils)");
        eprintln!("note: skipping the terminal progress bar check: `script` is not installed");
        return;
    }
    let (dir, log) = example_log();
    let out = dir.path().join("report.json");
    let command = format!(
        "'{}' report '{}' --json > '{}'",
        env!("CARGO_BIN_EXE_handrail"),
        log.display(),
        out.display()
    );
    let run = std::process::Command::new("script").args(["-qec", &command, "/dev/null"]).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let terminal = String::from_utf8_lossy(&run.stdout);
    assert!(terminal.contains("reading") && terminal.contains("/47 records"), "no bar drawn: {terminal:?}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(report["conversations"], 13, "stdout is the report alone");
}

#[test]
fn the_window_keeps_the_conversations_that_start_inside_it() {
    let (_dir, log) = example_log();
    let r = json(&["report", log.to_str().unwrap(), "--json", "--since", "2026-11-24T00:00:00Z"]);
    assert_eq!(r["conversations"], 6, "c9 c10 c11 c13 c12 c8");
    assert_eq!(r["silent_failures"].as_array().unwrap().len(), 1);
    let r = json(&["report", log.to_str().unwrap(), "--format", "json", "--until", "2026-11-24T00:00:00Z"]);
    assert_eq!(r["conversations"], 7);
    assert_eq!(r["escalated"], 3);
}

#[test]
fn the_text_report_names_the_silent_failures_and_the_over_eager_rule() {
    let (_dir, log) = example_log();
    let run = handrail(&["report", log.to_str().unwrap(), "--over-eager-min", "2"], "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("handoff rate: 53.8% (7 escalated: 6 live, 1 capture"), "{}", run.stdout);
    assert!(run.stdout.contains("silent failures: 3"), "{}", run.stdout);
    assert!(
        run.stdout.contains("  c5 (seq 19, 2026-11-23 12:10): confidence 0.55, then flat reply"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("HR-BILLING: 2 of 3 resolved escalations"), "{}", run.stdout);
    assert!(run.stderr.is_empty(), "no progress bar when stderr is not a terminal: {}", run.stderr);
}

#[test]
fn a_record_that_does_not_parse_is_named_by_file_line_and_field() {
    let (_dir, log) = example_log();
    let path = log.join("log.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let broken = text.replacen("\"conversation\":\"c1\"", "\"conversation\":1", 1);
    std::fs::write(&path, broken).unwrap();
    let run = handrail(&["report", log.to_str().unwrap()], "");
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("log.jsonl`:2: record seq 1: invalid type: integer `1`, expected a string"),
        "{}",
        run.stderr
    );
}

fn replay(log: &Path) -> crate::cli::Run {
    handrail(&["audit", "replay", log.to_str().unwrap()], "")
}

#[test]
fn every_decision_replays_as_recorded_under_the_policy_in_force() {
    let (_dir, log) = example_log();
    let run = replay(&log);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("deployment seq 0: shop 2026.11.1"), "{}", run.stdout);
    assert!(
        run.stdout.ends_with("replayed: 39 of 39 decisions replayed under the policy in force, 0 differ\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_decision_that_does_not_follow_from_the_policy_is_reported() {
    let (_dir, log) = example_log();
    let path = log.join("log.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    // c6's answer, recorded as a handoff: the chain breaks too (verify's business), replay names the decision.
    let line = text
        .lines()
        .find(|l| l.contains("\"conversation\":\"c6\"") && l.contains("\"action\":\"answer\""))
        .unwrap();
    let seq: u64 = serde_json::from_str::<Value>(line).unwrap()["seq"].as_u64().unwrap();
    std::fs::write(
        &path,
        text.replacen(line, &line.replace("\"action\":\"answer\"", "\"action\":\"handoff\""), 1),
    )
    .unwrap();
    let run = replay(&log);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains(&format!("seq {seq} c6: action: handoff → answer")), "{}", run.stdout);
    assert!(
        run.stdout.contains("DIFFERS: 39 of 39 decisions replayed under the policy in force, 1 differ"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_deployment_without_its_sources_cannot_be_replayed() {
    let (_dir, log) = example_log();
    let path = log.join("log.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let first = text.lines().next().unwrap();
    let at = first.find(",\"handrail\"").unwrap();
    std::fs::write(&path, text.replacen(first, &format!("{}}}", &first[..at]), 1)).unwrap();
    let run = replay(&log);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("cannot replay: the deployment of `shop` 2026.11.1 records no policy source"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("39 the policy in force has no usable stored source"), "{}", run.stdout);
    // The samples were written before deployments stored their sources: replay says so rather than passing.
    let run = replay(&crate::root().join("audit/samples/valid"));
    assert_eq!(run.code, 1);
    assert!(run.stdout.starts_with("INCOMPLETE: 0 of 12 decisions replayed"), "{}", run.stdout);
}

#[test]
fn erased_payloads_are_skipped_and_counted_by_replay_and_whatif() {
    let (dir, log) = example_log();
    let key = dir.path().join("review.key");
    let run = handrail(
        &[
            "audit",
            "erase",
            log.to_str().unwrap(),
            "--conversation",
            "c2",
            "--reason",
            "request",
            "--signing-key",
            key.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = replay(&log);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "33 of 39 decisions replayed under the policy in force, 0 differ; skipped: 6 payload erased"
        ),
        "{}",
        run.stdout
    );
    let w = json(&[
        "whatif",
        "--log",
        log.to_str().unwrap(),
        "--policy",
        "examples/review/stricter.policy",
        "--json",
    ]);
    assert_eq!(w["skipped"]["erased"], 6);
    assert_eq!(w["replayed"], 33);
}

#[test]
fn whatif_counts_the_changes_a_stricter_fallback_makes() {
    let (_dir, log) = example_log();
    let args = ["whatif", "--log", log.to_str().unwrap(), "--policy", "examples/review/stricter.policy"];
    let w = json(&[&args[..], &["--json"]].concat());
    assert_eq!(w["replayed"], 39);
    assert_eq!(w["changed_action"], 4);
    assert_eq!((w["before"]["handoff"].as_u64(), w["after"]["handoff"].as_u64()), (Some(6), Some(8)));
    let transitions: Vec<(&str, &str, u64)> = w["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["from"].as_str().unwrap(), t["to"].as_str().unwrap(), t["count"].as_u64().unwrap()))
        .collect();
    // c7 (0.4), c11 (0.45) and c13 (0.2) now hand off below 0.5; c13's second message then waits (hold).
    assert_eq!(transitions, [("answer", "handoff", 3), ("handoff", "hold", 1)]);
    let examples: Vec<&str> = w["transitions"][0]["examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["conversation"].as_str().unwrap())
        .collect();
    assert_eq!(examples, ["c7", "c11", "c13"]);
    assert_eq!(w["transitions"][0]["examples"][1]["text"], "my email is [email], can you update my account");

    let gate = handrail(&[&args[..], &["--max-new-handoffs", "1"]].concat(), "");
    assert_eq!(gate.code, 1, "two more handoffs is over the threshold of 1");
    assert!(gate.stderr.contains("hands off 2 more decisions than the log recorded"), "{}", gate.stderr);
    let gate = handrail(&[&args[..], &["--max-new-handoffs", "2", "--max-changed", "20"]].concat(), "");
    assert_eq!(gate.code, 0, "{}", gate.stderr);
    let gate = handrail(&[&args[..], &["--max-changed", "10"]].concat(), "");
    assert_eq!(gate.code, 1, "4 of 39 is 10.3%");
    // The same policy changes nothing.
    let same = json(&[
        "whatif",
        "--log",
        log.to_str().unwrap(),
        "--policy",
        "examples/review/shop.policy",
        "--json",
    ]);
    assert_eq!(same["changed"], 0);
}

#[test]
fn diff_names_each_structural_change_and_the_messages_that_now_decide_differently() {
    let run =
        handrail(&["diff", "examples/review/shop.policy", "examples/review/stricter.policy", "--json"], "");
    assert_eq!(run.code, 1, "something changed: {}", run.stderr);
    let d: Value = serde_json::from_str(&run.stdout).unwrap();
    let p = &d["policy"];
    assert_eq!(p["header"][0]["details"], serde_json::json!(["version: 2026.11.1 → 2026.11.2"]));
    assert_eq!(p["phrases"][0]["name"], "billing");
    assert_eq!(p["phrases"][0]["details"], serde_json::json!(["+ \"invoice\""]));
    assert_eq!(
        p["fallback"][0]["details"],
        serde_json::json!(["confidence below: 0.35 → 0.6", "handoff below: - → 0.5"])
    );
    assert_eq!(p["rules"], serde_json::json!([]), "no rule changed");

    // A rule routed elsewhere and made a floor; a CSV corpus; the same policy twice.
    let dir = tempfile::tempdir().unwrap();
    let shop = std::fs::read_to_string(crate::root().join("examples/review/shop.policy")).unwrap();
    let moved = shop
        .replace("@id(\"HR-BILLING\")", "@id(\"HR-BILLING\") @locked")
        .replace("route billing_desk", "route support");
    std::fs::write(dir.path().join("shop.policy"), &shop).unwrap();
    std::fs::write(dir.path().join("moved.policy"), &moved).unwrap();
    std::fs::copy(
        crate::root().join("examples/review/shop_base.policy"),
        dir.path().join("shop_base.policy"),
    )
    .unwrap();
    let csv = dir.path().join("messages.csv");
    std::fs::write(&csv, "text,label\nI was charged twice,billing\nwhat are your hours?,none\n").unwrap();
    let (old, new) = (dir.path().join("shop.policy"), dir.path().join("moved.policy"));
    // Decided at the tests' pinned clock, when both queues are open: at night the base policy's `support`
    // queue would be closed and the move would turn a live handoff into a capture.
    let at = crate::clock::now().to_rfc3339();
    let args = [
        "diff",
        old.to_str().unwrap(),
        new.to_str().unwrap(),
        "--corpus",
        csv.to_str().unwrap(),
        "--json",
        "--at",
        &at,
    ];
    let run = handrail(&args, "");
    assert_eq!(run.code, 1, "{}", run.stderr);
    let d: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(d["policy"]["rules"][0]["name"], "HR-BILLING");
    assert_eq!(d["policy"]["rules"][0]["details"], serde_json::json!(["route: billing_desk → support"]));
    assert_eq!(
        d["policy"]["locks"],
        serde_json::json!([{"change": "added", "name": "HR-BILLING", "details": []}])
    );
    // Same action and rule, another queue: the decision's action and determining rules are unchanged.
    assert_eq!((d["corpus"]["messages"].as_u64(), d["corpus"]["changed"].as_u64()), (Some(2), Some(0)));

    let run = handrail(&["diff", old.to_str().unwrap(), old.to_str().unwrap()], "");
    assert_eq!(run.code, 0, "nothing changed: {}", run.stdout);
    assert!(run.stdout.contains("the policies are the same, part for part"));
}

#[test]
fn diff_names_queue_and_retention_changes_field_by_field() {
    let dir = tempfile::tempdir().unwrap();
    let firm = std::fs::read_to_string(crate::root().join("examples/law-firm/law-firm.policy")).unwrap();
    let changed = firm
        .replacen("hours \"Mon-Fri 08:30-17:30\"", "hours \"Mon-Sat 08:00-18:00\"", 1)
        .replace("keep 10 years", "keep 7 years")
        .replace("account_number\n}", "account_number, email\n}")
        + "\nqueue weekend {\n  hours \"24/7\"\n  channel live_chat\n}\n";
    let (old, new) = (dir.path().join("firm.policy"), dir.path().join("changed.policy"));
    std::fs::write(&old, &firm).unwrap();
    std::fs::write(&new, &changed).unwrap();
    let run = handrail(&["diff", old.to_str().unwrap(), new.to_str().unwrap(), "--json"], "");
    assert_eq!(run.code, 1, "something changed: {}", run.stderr);
    let d: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        d["policy"]["queues"],
        serde_json::json!([
            {"change": "changed", "name": "intake", "details": ["hours: Mon-Fri 08:30-17:30 → Mon-Sat 08:00-18:00"]},
            {"change": "added", "name": "weekend", "details": []},
        ])
    );
    assert_eq!(
        d["policy"]["retention"],
        serde_json::json!([{"change": "changed", "name": "client_file", "details": [
            "keep: 10 years → 7 years",
            "redact: ssn, card_number, date_of_birth, account_number → ssn, card_number, date_of_birth, account_number, email",
        ]}])
    );
    assert_eq!(d["policy"]["rules"], serde_json::json!([]), "no rule changed");
}

#[test]
fn diff_groups_the_corpus_changes_by_rule() {
    let args = [
        "diff",
        "examples/review/shop.policy",
        "examples/review/stricter.policy",
        "--corpus",
        "examples/review/events.jsonl",
        "--json",
    ];
    let d: Value = serde_json::from_str(&handrail(&args, "").stdout).unwrap();
    let c = &d["corpus"];
    assert_eq!((c["messages"].as_u64(), c["changed"].as_u64()), (Some(39), Some(4)));
    assert_eq!(c["by_rule"][0]["rule"], "(fallback)");
    assert_eq!(c["by_rule"][0]["count"], 4);
    assert_eq!(c["by_rule"][0]["examples"][0]["at"], "examples/review/events.jsonl:21");
    assert_eq!(c["by_rule"][0]["examples"][0]["before"], "answer []");
    assert_eq!(c["by_rule"][0]["examples"][0]["after"], "handoff []");
}

/// The browser to render with: Debian's `chromium` (`.ci/run` installs it when missing). `None`, with a note,
/// only where it is truly absent outside CI; under CI its absence fails the test instead of skipping it.
fn chromium() -> Option<&'static str> {
    let found =
        std::process::Command::new("chromium").arg("--version").output().is_ok_and(|o| o.status.success());
    if found {
        return Some("chromium");
    }
    assert!(std::env::var_os("CI").is_none(), "CI must have chromium: `.ci/run` installs it");
    eprintln!(
        "note: skipping the HTML rendering check: `chromium` is not installed (apt-get install chromium)"
    );
    None
}

/// Measures, in the rendered page, every chart and its marks, and writes the figures into the DOM for
/// `--dump-dom` to show: the page has no script of its own, so this one is added to a copy.
const MEASURE: &str = r#"<script>
window.addEventListener('load', () => {
  const charts = [...document.querySelectorAll('svg.chart')].map(svg => {
    const box = svg.getBoundingClientRect();
    const marks = [...svg.querySelectorAll('.mark')].map(m => m.getBoundingClientRect());
    return { chart: svg.dataset.chart, width: box.width, height: box.height, marks: marks.length,
             drawn: marks.filter(b => b.width > 0 && b.height > 0).length,
             line: svg.querySelector('polyline') ? svg.querySelector('polyline').getTotalLength() : 0 };
  });
  const out = document.createElement('pre');
  out.id = 'measured';
  out.textContent = JSON.stringify({ charts, scripts: document.scripts.length });
  document.body.appendChild(out);
});
</script>"#;

#[test]
fn the_html_report_draws_its_charts_in_headless_chromium() {
    let (dir, log) = example_log();
    let page = dir.path().join("report.html");
    let run = handrail(&["report", log.to_str().unwrap(), "--html", page.to_str().unwrap()], "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        !html.contains("<script") && !html.contains("http://") && !html.contains("https://"),
        "self-contained, no script"
    );
    assert_eq!(html.matches("<svg class=\"chart\"").count(), 5);
    let Some(browser) = chromium() else { return };
    let measured = dir.path().join("measured.html");
    std::fs::write(&measured, html.replace("</body>", &format!("{MEASURE}</body>"))).unwrap();
    let out = std::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--window-size=1200,1400",
            "--virtual-time-budget=2000",
        ])
        .arg("--dump-dom")
        .arg(format!("file://{}", measured.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    let start = dom
        .find("<pre id=\"measured\">")
        .unwrap_or_else(|| panic!("no measurement: {dom}\n{}", String::from_utf8_lossy(&out.stderr)));
    let rest = &dom[start + "<pre id=\"measured\">".len()..];
    let json = rest[..rest.find("</pre>").unwrap()].replace("&quot;", "\"");
    let m: Value = serde_json::from_str(&json).unwrap();
    let charts = m["charts"].as_array().unwrap();
    let names: Vec<&str> = charts.iter().map(|c| c["chart"].as_str().unwrap()).collect();
    assert_eq!(names, ["handoff-rate", "channels", "reasons", "silent-weekly", "waits"]);
    for c in charts {
        assert!(c["width"].as_f64().unwrap() > 200.0 && c["height"].as_f64().unwrap() > 80.0, "{c}");
    }
    // Three days of rates; three customer channels; four reasons; one week; waits in two of the six buckets
    // (the empty ones draw nothing).
    let drawn: Vec<u64> = charts.iter().map(|c| c["drawn"].as_u64().unwrap()).collect();
    assert_eq!(drawn, [3, 3, 4, 1, 2], "{charts:?}");
    assert!(charts[0]["line"].as_f64().unwrap() > 100.0, "the rate line is drawn: {}", charts[0]);
}

#[test]
fn recorded_sources_that_do_not_hash_to_the_recorded_hash_are_refused() {
    let (_dir, log) = example_log();
    let path = log.join("log.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let first = text.lines().next().unwrap();
    // The billing desk's rule edited in the stored copy: the policy it compiles to is not the one deployed.
    let edited = first.replacen("route billing_desk", "route support", 1);
    assert_ne!(edited, first);
    std::fs::write(&path, text.replacen(first, &edited, 1)).unwrap();
    let run = replay(&log);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("cannot replay: the recorded sources of `shop` hash to "), "{}", run.stdout);
}

#[test]
fn a_generated_log_verifies_reports_a_mix_of_outcomes_and_replays_as_recorded() {
    use handrail::review::{self, no_progress};
    let dir = tempfile::tempdir().unwrap();
    let signer = handrail::Signer::from_seed("gen.example/log", [4; 32]).unwrap();
    let key = signer.verifier();
    let options = handrail::WriterOptions { origin: "gen.example/log".into(), ..Default::default() };
    let mut log = handrail::AuditLog::open(dir.path(), signer, options).unwrap();
    let shop =
        handrail::compile_file(&crate::root().join("examples/review/shop.policy"), &Default::default())
            .unwrap()
            .policy
            .unwrap();
    let options = review::generate::Options { decisions: 3_000, ..Default::default() };
    let made = review::generate::generate(&mut log, &shop, &options, &no_progress).unwrap();
    log.close().unwrap();
    assert!(made.decisions >= 3_000 && made.conversations > 300, "{made:?}");
    let verified =
        handrail::verify(dir.path(), &handrail::VerifyOptions { keys: vec![key], ..Default::default() })
            .unwrap();
    assert_eq!(verified.outcome, handrail::Outcome::Verified, "{:?}", verified.problems);

    let read = review::Log::read(dir.path(), &no_progress).unwrap();
    let report = review::report::build(&read, &Default::default(), &no_progress);
    assert_eq!(report.decisions, made.decisions);
    assert_eq!(report.conversations, made.conversations);
    let r = &report.resolution;
    assert!(report.live > 0 && r.resolved > 0 && r.unresolved > 0 && r.abandoned > 0, "{r:?}");
    assert!(!report.silent_failures.is_empty() && report.handoff_rate > 0.1 && report.handoff_rate < 0.5);
    let mut differ = 0;
    let walked = review::replay::replay(
        &read,
        review::replay::Under::InForce,
        &Default::default(),
        &no_progress,
        |step| {
            if let review::replay::Step::Replayed { record, decision, .. } = step {
                differ += usize::from(!review::replay::differences(record, &decision, None).is_empty());
            }
        },
    );
    assert_eq!((walked.replayed, differ), (made.decisions, 0));
}
