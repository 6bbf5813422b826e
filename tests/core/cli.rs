//! The binary, end to end, through a tiny builder: arguments and stdin in; exit code, stdout and stderr out.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::root;

pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// `handrail ARGS` started in the repository root, stdin and stdout piped, stderr as given.
pub(crate) fn spawn(args: &[&str], stderr: Stdio) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_handrail"))
        .args(args)
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap()
}

/// `handrail ARGS` in the repository root, with `stdin`.
pub(crate) fn handrail(args: &[&str], stdin: &str) -> Run {
    handrail_bytes(args, stdin.as_bytes())
}

/// [`handrail`] with stdin as bytes (which need not be UTF-8), written from a thread so a child that stops
/// reading cannot block the test.
pub(crate) fn handrail_bytes(args: &[&str], stdin: &[u8]) -> Run {
    let mut child = spawn(args, Stdio::piped());
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn the_readme_quick_start_decides_the_sample_conversation() {
    let run = handrail(&["eval", "examples/quickstart/conversation.jsonl"], "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let decisions: Vec<serde_json::Value> =
        run.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(decisions.len() >= 5);
    let actions: Vec<&str> = decisions.iter().map(|d| d["action"].as_str().unwrap()).collect();
    assert!(
        actions.contains(&"answer") && actions.contains(&"handoff") && actions.contains(&"emergency"),
        "{actions:?}"
    );
    for d in &decisions {
        assert_eq!(d["policy"]["id"], "common");
        assert_eq!(d["policy"]["hash"].as_str().unwrap().len(), 64);
    }
}

#[test]
fn a_malformed_line_names_line_and_field_and_the_stream_goes_on() {
    let input = "{\"text\":\"hi\",\"confidence\":0.9}\n{\"text\":\"hi\",\"confidnce\":0.9}\n{\"text\":\"hi\",\"confidence\":7}\nnot json\n{\"text\":\"a human please\",\"confidence\":0.9}\n";
    let run = handrail(&["eval", "-"], input);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("<stdin>:2: unknown field `confidnce`"), "{}", run.stderr);
    assert!(
        run.stderr.contains("<stdin>:3: `confidence` must be a number between 0 and 1, found 7"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("<stdin>:4:"), "{}", run.stderr);
    let decisions: Vec<serde_json::Value> =
        run.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(decisions.len(), 5, "every line gets a decision");
    for bad in &decisions[1..4] {
        assert_eq!(bad["action"], "handoff");
        assert_eq!(bad["reasons"][0], "engine_error");
    }
    assert_eq!(decisions[4]["determining"][0], "REQ-HUMAN");
}

#[test]
fn explain_says_why_each_rule_did_or_did_not_fire() {
    let run = handrail(&["eval", "--explain"], "{\"text\":\"I want a human\",\"confidence\":0.9}\n");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let d: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    let explain = d["explain"].as_array().unwrap();
    let human = explain.iter().find(|r| r["id"] == "REQ-HUMAN").unwrap();
    assert_eq!(human["matched"], true);
    assert!(human["why"].as_str().unwrap().contains("says human_request [yes"), "{human}");
    let self_harm = explain.iter().find(|r| r["id"] == "EMER-SELF-HARM").unwrap();
    assert_eq!(self_harm["matched"], false);
    assert!(self_harm["why"].as_str().unwrap().contains("[no"));
}

#[test]
fn explain_writes_conditions_as_the_author_did_and_explains_the_fallback() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("vip.policy");
    std::fs::write(
        &policy,
        "policy vip { version \"1\" safe_queue desk }\nphrases human { \"agent\" }\n@id(\"ESC-VIP\") escalate vip { when customer.tier == \"vip\" and channel in [\"web\", \"app\"] route desk }\nfallback { confidence below 0.45 strikes 2 }\nqueue desk { hours \"24/7\" }\n",
    )
    .unwrap();
    let events = "{\"conversation\":\"c\",\"text\":\"hm\",\"confidence\":0.2}\n{\"conversation\":\"c\",\"text\":\"and?\",\"confidence\":0.2,\"customer\":{\"tier\":\"gold\"}}\n";
    let run = handrail(&["eval", "--explain", "--policy", policy.to_str().unwrap()], events);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let last: serde_json::Value = serde_json::from_str(run.stdout.lines().last().unwrap()).unwrap();
    let explain = last["explain"].as_array().unwrap();
    let vip = explain.iter().find(|r| r["id"] == "ESC-VIP").unwrap()["why"].as_str().unwrap();
    assert!(vip.contains("customer.tier == \"vip\" [no: \"gold\"]"), "{vip}");
    assert!(vip.contains("channel in [\"web\", \"app\"] [no: absent]"), "{vip}");
    let fallback = explain.iter().find(|r| r["tier"] == "fallback").unwrap();
    assert_eq!((fallback["matched"].as_bool(), fallback["determining"].as_bool()), (Some(true), Some(true)));
    assert!(fallback["why"].as_str().unwrap().contains("strikes 2 [yes: 2]"), "{fallback}");
    assert_eq!(last["reasons"][0], "repeated_failure");
    assert_eq!(last["signals"]["strikes"], 2, "the signals name the strikes the reason counted");
}

#[test]
fn check_reports_every_error_and_exits_one() {
    let run =
        handrail(&["check", "--error-format", "plain", "tests/cases/compile/err/many_errors.policy"], "");
    assert_eq!(run.code, 1);
    let errors = run.stderr.lines().filter(|l| l.contains(": error[")).count();
    assert!(errors >= 6, "{}", run.stderr);
    assert!(run.stderr.contains("tests/cases/compile/err/many_errors.policy:"), "{}", run.stderr);
    assert!(run.stderr.contains("checked 1 file: 9 errors, 1 warning"), "{}", run.stderr);
}

#[test]
fn check_json_is_one_object_per_line_on_stdout() {
    let run =
        handrail(&["check", "--error-format", "json", "tests/cases/compile/err/unknown_field.policy"], "");
    assert_eq!(run.code, 1);
    for line in run.stdout.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v["location"]["line"].as_u64().unwrap() > 0);
    }
    assert!(run.stdout.lines().count() >= 2);
}

#[test]
fn check_of_a_clean_policy_exits_zero() {
    let run = handrail(&["check", "tests/cases/compile/ok/everything.policy"], "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = handrail(&["check", "--deny-warnings", "tests/cases/lint/lints.policy"], "");
    assert_eq!(run.code, 1);
}

#[test]
fn check_of_a_missing_file_exits_three() {
    let run = handrail(&["check", "no/such.policy"], "");
    assert_eq!(run.code, 3);
    assert!(run.stderr.contains("cannot read `no/such.policy`"));
}

#[test]
fn fmt_check_prints_a_diff_and_fmt_writes_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.policy");
    std::fs::write(&path, "policy p {   version \"1\"  safe_queue q } # keep me\nqueue q {hours \"24/7\"}\n")
        .unwrap();
    let p = path.to_str().unwrap();
    let run = handrail(&["fmt", "--check", p], "");
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("+  version \"1\""), "{}", run.stdout);
    let run = handrail(&["fmt", p], "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let formatted = std::fs::read_to_string(&path).unwrap();
    assert!(formatted.contains("# keep me\n"), "{formatted}");
    let run = handrail(&["fmt", "--check", p], "");
    assert_eq!(run.code, 0);
    assert!(run.stdout.is_empty());
}

#[test]
fn test_prints_the_closing_line_and_fails_on_a_failing_case() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cases.toml");
    std::fs::write(
        &path,
        "[[case]]\nname = \"ok\"\nevents = [{ text = \"a human please\" }]\nexpect = { action = \"handoff\", rules = [\"REQ-HUMAN\"] }\n\n[[case]]\nname = \"wrong\"\nevents = [{ text = \"hello\", confidence = 0.9 }]\nexpect = { action = \"handoff\" }\n",
    )
    .unwrap();
    let run = handrail(&["test", path.to_str().unwrap()], "");
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("FAIL "), "{}", run.stdout);
    assert!(run.stdout.contains("expected action `handoff`, got `answer`"), "{}", run.stdout);
    assert!(run.stdout.ends_with("1 passed, 1 failed\n"), "{}", run.stdout);
    assert!(run.stdout.contains("coverage common:"), "{}", run.stdout);
}

#[test]
fn test_runs_the_shipped_tree_skipping_toml_that_holds_no_cases() {
    // Each pack folder also holds `triggers.toml` (for `handrail score`), which is not a case file.
    let run = handrail(&["test", "policies"], "");
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("skipped `policies/common/triggers.toml`"), "{}", run.stderr);
    assert!(run.stdout.ends_with(" passed, 0 failed\n"), "{}", run.stdout);
}

#[test]
fn test_filters_by_name_writes_junit_and_fails_a_case_without_expect() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cases.toml");
    std::fs::write(
        &path,
        "[[case]]\nname = \"human <1>\"\nevents = [{ text = \"a human please\" }]\nexpect = { action = \"handoff\" }\n\n[[case]]\nname = \"no expect\"\nevents = [{ text = \"hello\" }]\n",
    )
    .unwrap();
    let junit = dir.path().join("junit.xml");
    let run = handrail(&["test", path.to_str().unwrap(), "--junit", junit.to_str().unwrap()], "");
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("no expect: the case has no `expect`"), "{}", run.stdout);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<testsuites name=\"handrail\" tests=\"2\" failures=\"1\">"), "{xml}");
    assert!(xml.contains("<testcase name=\"human &lt;1&gt;\""), "{xml}");
    assert!(xml.contains("<failure message=\"the case has no `expect`"), "{xml}");

    let run = handrail(&["test", path.to_str().unwrap(), "--filter", "human"], "");
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.stdout.ends_with("1 passed, 0 failed\n"), "{}", run.stdout);
}

#[test]
fn version_names_the_build_and_the_hash_of_each_built_in_pack() {
    let run = handrail(&["--version"], "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with(&format!("handrail {} (", env!("CARGO_PKG_VERSION"))), "{}", run.stdout);
    let common = handrail::compile::builtin_default().policy.unwrap().hash;
    assert!(run.stdout.contains(&format!("common      {common}")), "{}", run.stdout);
    for pack in ["healthcare", "legal", "finance"] {
        assert!(run.stdout.contains(&format!("\n  {pack} ")), "{}", run.stdout);
    }
}

#[test]
fn completions_and_the_man_page_come_from_the_clap_definitions() {
    let run = handrail(&["completions", "bash"], "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("_handrail()") && run.stdout.contains("--error-format"), "{}", run.stdout);
    let run = handrail(&["man"], "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains(".TH handrail 1"), "{}", run.stdout);
}

#[test]
fn check_and_fmt_read_stdin_on_a_dash() {
    let messy = "policy x {version \"1\"   safe_queue q}\nqueue q {hours \"24/7\"}\n";
    let run = handrail(&["check", "-"], messy);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = handrail(&["check", "--error-format", "plain", "-"], "policy x { version \"1\" }\n");
    assert_eq!(run.code, 1);
    assert!(run.stderr.starts_with("<stdin>:1:1: error[compile::missing-safe-queue]"), "{}", run.stderr);
    let run = handrail(&["fmt", "-"], messy);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "policy x {\n  version \"1\"\n  safe_queue q\n}\nqueue q {\n  hours \"24/7\"\n}\n"
    );
    let run = handrail(&["fmt", "--check", "-"], messy);
    assert_eq!(run.code, 1, "a dash with --check says whether stdin is formatted");
    assert!(run.stdout.contains("+  safe_queue q"), "{}", run.stdout);
}

#[test]
fn help_teaches_exit_codes() {
    for sub in ["check", "effective", "fmt", "eval", "test"] {
        let run = handrail(&[sub, "--help"], "");
        assert_eq!(run.code, 0);
        assert!(run.stdout.contains("Exit codes"), "{sub} --help lacks exit codes");
    }
}

#[test]
fn the_audit_flow_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("log");
    let log = dir.path().join("audit");
    let (key_s, log_s) = (key.to_str().unwrap(), log.to_str().unwrap());
    let run = handrail(&["audit", "keygen", "--name", "clinic.example/handrail", "--out", key_s], "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with("clinic.example/handrail+"));
    let (secret, public) = (format!("{key_s}.key"), format!("{key_s}.pub"));

    let run = handrail(
        &["eval", "examples/quickstart/conversation.jsonl", "--audit", log_s, "--audit-key", &secret],
        "",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout.lines().count(), 7, "every decision is printed once durable");

    let run = handrail(&["audit", "verify", log_s, "--key", &public], "");
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    // 1 policy deployed + 7 decisions + a transfer for each of the 3 handoffs, the emergency and the capture.
    assert!(run.stdout.contains("verified: 12 records"), "{}", run.stdout);
    let run = handrail(&["audit", "show", log_s, "--kind", "transfer"], "");
    assert_eq!(run.stdout.lines().count(), 4, "{}", run.stdout);

    let run = handrail(
        &[
            "audit",
            "show",
            log_s,
            "--conversation",
            "q2",
            "--kind",
            "decision",
            "--rule",
            "HR-BILLING-DISPUTE",
        ],
        "",
    );
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);

    let proof = dir.path().join("proof.json");
    let run = handrail(&["audit", "prove", log_s, "4"], "");
    std::fs::write(&proof, &run.stdout).unwrap();
    let run = handrail(&["audit", "check-proof", proof.to_str().unwrap(), "--key", &public], "");
    assert_eq!(run.code, 0, "{}", run.stdout);

    let run = handrail(
        &[
            "audit",
            "erase",
            log_s,
            "--conversation",
            "q1",
            "--reason",
            "request #7",
            "--signing-key",
            &secret,
        ],
        "",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = handrail(&["audit", "verify", log_s, "--key", &public, "--format", "json"], "");
    assert_eq!(run.code, 0, "{}", run.stdout);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["payloads_erased"], 4, "q1's three decisions and its transfer");

    // Tampering with one byte makes verify exit 1 and name the record.
    let path = log.join("log.jsonl");
    let text = std::fs::read_to_string(&path).unwrap().replacen("\"answer\"", "\"handoff\"", 1);
    std::fs::write(&path, text).unwrap();
    let run = handrail(&["audit", "verify", log_s, "--key", &public], "");
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("(line 3): prev does not match"), "{}", run.stdout);
}

#[test]
fn score_measures_recall_precision_and_false_triggers() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("labelled.csv");
    std::fs::write(
        &csv,
        "text,trigger\nI want to talk to a human,human_request\ncan I speak with someone,human_request\nwhat are your hours,none\nI was charged twice,billing_refund_cancel\nthe weather is nice,\n",
    )
    .unwrap();
    let run = handrail(
        &[
            "score",
            csv.to_str().unwrap(),
            "--triggers",
            "policies/common/triggers.toml",
            "--label-column",
            "trigger",
            "--json",
        ],
        "",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let score: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(score["triggers"]["human_request"]["true_positives"], 2);
    assert_eq!(score["triggers"]["billing_refund_cancel"]["true_positives"], 1);
    assert_eq!(score["negatives"], 2);
    assert_eq!(score["negatives_fired"], 0);

    let run = handrail(
        &[
            "score",
            csv.to_str().unwrap(),
            "--triggers",
            "policies/common/triggers.toml",
            "--label-column",
            "nope",
        ],
        "",
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("has no column `nope`"), "{}", run.stderr);
}

/// Each exit code the README documents, from the binary (4, a bug, is held by a unit test of `run_guarded`).
#[test]
fn every_documented_exit_code() {
    let ok = "{\"text\":\"hello\",\"confidence\":0.9}\n";
    assert_eq!(handrail(&["eval"], ok).code, 0);
    assert_eq!(handrail(&["eval"], "{\"text\":\"hello\",\"confidence\":9}\n").code, 1, "a malformed event");
    assert_eq!(handrail(&["eval", "--no-such-flag"], ok).code, 2, "an unknown flag");
    let dir = tempfile::tempdir().unwrap();
    let bad_key = dir.path().join("bad.key");
    std::fs::write(&bad_key, "not a key").unwrap();
    let log = dir.path().join("log");
    let run =
        handrail(&["eval", "--audit", log.to_str().unwrap(), "--audit-key", bad_key.to_str().unwrap()], ok);
    assert_eq!(run.code, 2, "an unusable key is a usage error: {}", run.stderr);
    assert_eq!(handrail(&["eval", "no/such/events.jsonl"], "").code, 3, "an input that cannot be read");

    // A disk that is full is "a file could not be written".
    let full = std::fs::File::create("/dev/full").unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_handrail"))
        .args(["eval", "examples/quickstart/conversation.jsonl"])
        .current_dir(root())
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(3), "{}", String::from_utf8_lossy(&status.stderr));
    assert!(String::from_utf8_lossy(&status.stderr).contains("could not be written"));

    // An audit log that cannot be created is, too.
    let prefix = dir.path().join("k");
    handrail(&["audit", "keygen", "--name", "t.example/log", "--out", prefix.to_str().unwrap()], "");
    let key = format!("{}.key", prefix.display());
    let run = handrail(&["eval", "--audit", "/dev/null/log", "--audit-key", &key], ok);
    assert_eq!(run.code, 3, "{}", run.stderr);
}

/// `handrail effective` shows the merged policy: where each queue comes from (a pack's, or the local one that
/// replaces it), every rule in precedence order with its lock, and the locked floor.
#[test]
fn effective_shows_the_merged_policy_of_a_policy_that_extends_packs() {
    let run = handrail(&["effective", "--format", "json", "examples/clinic/clinic.policy"], "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let queue =
        |name: &str| v["queues"].as_array().unwrap().iter().find(|q| q["name"] == name).unwrap().clone();
    assert_eq!(queue("emergency_line")["channel"], "callback");
    assert!(
        queue("emergency_line")["defined_at"].as_str().unwrap().starts_with("<builtin>/policies/healthcare/")
    );
    assert!(
        queue("nurse_line")["defined_at"].as_str().unwrap().starts_with("examples/clinic/clinic.policy:")
    );
    let rules = v["rules"].as_array().unwrap();
    assert_eq!(rules[0]["id"], "EMER-SELF-HARM", "precedence order: the crisis line first");
    assert!(
        rules.iter().any(|r| r["id"] == "HR-SYMPTOMS" && r["locked"] == true && r["route"] == "nurse_line")
    );
    assert!(v["locked"].as_array().unwrap().contains(&serde_json::json!("EMER-CARDIAC")));
    let run = handrail(&["effective", "examples/clinic/clinic.policy"], "");
    assert!(run.stdout.contains("rules, in precedence order"), "{}", run.stdout);
    assert_eq!(handrail(&["effective", "tests/cases/compile/err/unknown_field.policy"], "").code, 1);
    assert_eq!(handrail(&["effective", "no/such.policy"], "").code, 3);
}

/// A policy that extends a pack and leaves one of its queues at live chat 24/7 is warned by `check`.
#[test]
fn check_warns_about_a_pack_queue_left_at_24_7_live_chat() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bank.policy");
    std::fs::write(&path, "policy b {\n  version \"1\"\n  extends finance\n}\n").unwrap();
    let run = handrail(&["check", "--error-format", "plain", path.to_str().unwrap()], "");
    assert_eq!(run.code, 0, "a warning, not an error");
    for queue in ["support", "fraud_line"] {
        assert!(
            run.stderr.contains(&format!(
                "3:11: warning[lint::pack-queue-default]: the queue `{queue}` comes from the pack"
            )),
            "{}",
            run.stderr
        );
    }
}
