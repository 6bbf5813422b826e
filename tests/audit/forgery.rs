//! The tamper suite, measured: every class of forgery issue 8 names, tried many ways on a real log, each judged
//! twice. The verifier must not say "verified" (outcome failed or unsigned), and the writer, opening the forged log,
//! must refuse it or not adopt the forgery: after it opens and closes the log, either the log still fails to verify,
//! or every forged line is gone and a `recovery` record says what was cut. Prints a table (run with
//! `--nocapture` to see it) and fails on any miss, except the classes FORMAT.md §11 names as out of reach, which
//! must be missed without the auditor's kept checkpoint (or the claim in §11 would be wrong) and caught with it.

use std::path::Path;

use handrail::audit::{self, AuditLog, Outcome, Signer, VerifyOptions, files, seal};

use crate::forge::{self, lines, rechain, write_lines};
use crate::{copy_dir, signer};

/// Records in the base log: three group commits (5, 5 and 4 records), checkpoints at 0, 10 and 14.
const RECORDS: usize = 14;
/// The size the last-but-one commit sealed: records from here on are the last commit.
const LAST_COMMIT: u64 = 10;

/// The honest log every scenario starts from, built once.
fn base() -> &'static Path {
    static BASE: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    BASE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        crate::write_log(dir.path(), RECORDS as u64);
        dir
    })
    .path()
}

fn attacker() -> Signer {
    Signer::from_seed("test.example/log", [66; 32]).unwrap()
}

/// One class of the table.
#[derive(Default)]
struct Class {
    name: &'static str,
    tried: u32,
    verify_caught: u32,
    writer_caught: u32,
    missed: Vec<String>,
}

/// A forgery: what it does to a copy of the base log, and whether the auditor brings their kept checkpoint.
struct Forgery {
    what: String,
    tamper: Box<dyn Fn(&Path)>,
    kept: bool,
}

fn forgery(what: impl Into<String>, tamper: impl Fn(&Path) + 'static) -> Forgery {
    Forgery { what: what.into(), tamper: Box::new(tamper), kept: false }
}

fn verify(dir: &Path, kept: bool) -> audit::Report {
    let trusted = kept.then(|| std::fs::read(base().join(files::CHECKPOINT)).unwrap());
    audit::verify(
        dir,
        &VerifyOptions { keys: vec![signer(1).verifier()], trusted, ..VerifyOptions::default() },
    )
    .unwrap()
}

/// Whether the writer kept the forgery out: it refused to open, or after it opened and closed the log, the log
/// does not verify, or it verifies and holds only the original lines (a prefix of them if a `recovery` record
/// says what was cut) and the writer's own recovery records.
fn writer_kept_it_out(dir: &Path, kept: bool) -> bool {
    let Ok(log) = AuditLog::open(dir, signer(1), crate::options()) else { return true };
    if log.close().is_err() {
        return true;
    }
    if !verify(dir, kept).ok() {
        return true;
    }
    let original = lines(base());
    let now = lines(dir);
    let recovery = |l: &Vec<u8>| String::from_utf8_lossy(l).contains("\"kind\":\"recovery\"");
    let foreign = now.iter().any(|l| !original.contains(l) && !recovery(l));
    let kept_lines: Vec<&Vec<u8>> = now.iter().filter(|l| !recovery(l)).collect();
    let lost = kept_lines.len() < original.len();
    !foreign && (!lost || now.iter().any(recovery))
}

fn run(class: &mut Class, forgery: &Forgery) {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(base(), dir.path());
    (forgery.tamper)(dir.path());
    class.tried += 1;
    let verified = verify(dir.path(), forgery.kept).outcome == Outcome::Verified;
    let writer = writer_kept_it_out(dir.path(), forgery.kept);
    class.verify_caught += u32::from(!verified);
    class.writer_caught += u32::from(writer);
    if verified || !writer {
        class.missed.push(format!(
            "{}: {}{}",
            forgery.what,
            if verified { "verified" } else { "" },
            if writer { "" } else { " adopted by the writer" }
        ));
    }
}

/// Zeroes the payloads (salt and text) of records `seqs`, as an erasure would.
fn zero_payloads(dir: &Path, seqs: &[u64]) {
    let records = audit::read_records(&dir.join(files::LOG)).unwrap();
    let path = dir.join(files::PAYLOADS);
    let mut payloads = std::fs::read(&path).unwrap();
    for r in records.iter().filter(|r| seqs.contains(&r.seq)) {
        let p = r.body.payload().unwrap();
        payloads[p.offset as usize..(p.offset + 32 + p.length) as usize].fill(0);
    }
    std::fs::write(&path, payloads).unwrap();
}

fn edit(line: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(line).replacen("\"answer\"", "\"handoff\"", 1).into_bytes()
}

/// The lines of the base log changed by `f`, written back (with the chain recomputed if `rechain_all`).
fn with_lines(f: impl Fn(&mut Vec<Vec<u8>>) + 'static, rechain_all: bool) -> impl Fn(&Path) + 'static {
    move |dir: &Path| {
        let mut all = lines(dir);
        f(&mut all);
        write_lines(dir, &if rechain_all { rechain(&all) } else { all });
    }
}

/// Before `f`, the forger takes the last commit's records out of the signed range: the seal rolled back to the
/// commit before, the checkpoints to that size.
fn after_signed_range(f: impl Fn(&Path) + 'static) -> impl Fn(&Path) + 'static {
    move |dir: &Path| {
        forge::roll_back_seal(dir, LAST_COMMIT);
        forge::roll_back_checkpoints(dir, LAST_COMMIT);
        f(dir);
    }
}

/// The record operations of one class, at every position inside the signed range and in the last commit once
/// it is out of it.
fn record_ops(name: &str, op: fn(&mut Vec<Vec<u8>>, usize), rechain_all: bool) -> Vec<Forgery> {
    let mut out = Vec::new();
    for i in 0..RECORDS - 1 {
        out.push(forgery(format!("{name} at {i}"), with_lines(move |l| op(l, i), rechain_all)));
    }
    for i in LAST_COMMIT as usize..RECORDS - 1 {
        out.push(forgery(
            format!("{name} at {i}, after the signed range"),
            after_signed_range(with_lines(move |l| op(l, i), rechain_all)),
        ));
    }
    out
}

fn flip_each(dir_file: &'static str, stride: usize, from: usize, out: &mut Vec<Forgery>) {
    let len = std::fs::read(base().join(dir_file)).unwrap().len();
    for at in (from..len).step_by(stride) {
        out.push(forgery(format!("byte {at} of {dir_file}"), move |dir: &Path| {
            let path = dir.join(dir_file);
            let mut bytes = std::fs::read(&path).unwrap();
            bytes[at] ^= 0x01;
            std::fs::write(&path, bytes).unwrap();
        }));
    }
}

fn classes() -> Vec<(&'static str, Vec<Forgery>)> {
    let mut flips = Vec::new();
    flip_each(files::LOG, 23, 0, &mut flips);
    flip_each(files::PAYLOADS, 7, seal::HEADER_LEN as usize, &mut flips);
    flip_each(files::CHECKPOINT, 5, 0, &mut flips);
    for size in forge::checkpoint_sizes(base()) {
        let name: &'static str =
            Box::leak(format!("{}/{}", files::CHECKPOINTS, files::checkpoint_name(size)).into());
        flip_each(name, 11, 0, &mut flips);
    }
    // The seals in the header of payloads.bin: every 5th byte of each note and a sample of the padding.
    for at in (0..seal::HEADER_LEN as usize).filter(|at| at % 4096 < 240 && at % 5 == 0 || at % 997 == 0) {
        flips.push(forgery(format!("byte {at} of the seal header"), move |dir: &Path| {
            let mut bytes = forge::seals(dir);
            bytes[at] ^= 0x01;
            forge::write_seals(dir, &bytes);
        }));
    }

    let appended = |what: &'static str, f: fn(&Path)| forgery(format!("{what}, appended after the end"), f);
    let mut deleted = record_ops("delete", |l, i| drop(l.remove(i)), false);
    deleted.push(forgery("delete the last record, and its seal's slot", |dir: &Path| {
        let mut all = lines(dir);
        all.pop();
        write_lines(dir, &all);
        forge::roll_back_seal(dir, LAST_COMMIT);
    }));
    let mut inserted = record_ops(
        "insert a forged record",
        |l, i| {
            let line = forge::next_line(
                &l[..i],
                "policy_deployed",
                ",\"policy\":{\"id\":\"p\",\"version\":\"2\",\"hash\":\"x\"}",
            );
            l.insert(i, line);
        },
        false,
    );
    inserted.push(appended("a forged decision", |dir| forge::append_decision(dir, "{\"text\":\"forged\"}")));
    let swapped = record_ops("swap with the next", |l, i| l.swap(i, i + 1), false);
    let mut duplicated = record_ops("duplicate", |l, i| l.insert(i, l[i].clone()), false);
    duplicated.push(appended("the last record again", |dir| {
        let mut all = lines(dir);
        all.push(all.last().unwrap().clone());
        write_lines(dir, &all);
    }));

    let mut rechained = record_ops("edit and recompute every prev", |l, i| l[i] = edit(&l[i]), true);
    rechained.extend(record_ops("delete and recompute every prev", |l, i| drop(l.remove(i)), true));
    rechained.extend(record_ops("swap and recompute every prev", |l, i| l.swap(i, i + 1), true));
    rechained.push(forgery(
        "edit record 3, recompute every prev and re-sign with another key",
        |dir: &Path| {
            with_lines(|l| l[3] = edit(&l[3]), true)(dir);
            forge::sign_checkpoint(dir, &[&attacker()]);
            forge::sign_seal(dir, &[&attacker()]);
        },
    ));

    let mut truncation = Vec::new();
    for keep in 0..RECORDS {
        truncation
            .push(forgery(format!("cut to {keep} records"), move |dir: &Path| forge::cut_to(dir, keep)));
        truncation.push(forgery(
            format!("cut to {keep} records, checkpoints rolled back"),
            move |dir: &Path| {
                forge::cut_to(dir, keep);
                let older =
                    forge::checkpoint_sizes(dir).into_iter().filter(|s| *s <= keep as u64).max().unwrap();
                forge::roll_back_checkpoints(dir, older);
            },
        ));
    }
    truncation.push(forgery("the last commit's records removed, seal left", |dir: &Path| {
        forge::cut_to(dir, LAST_COMMIT as usize)
    }));

    let rollback = vec![
        forgery("`checkpoint` replaced by an older one", |dir: &Path| {
            std::fs::copy(
                dir.join(files::CHECKPOINTS).join(files::checkpoint_name(LAST_COMMIT)),
                dir.join(files::CHECKPOINT),
            )
            .unwrap();
        }),
        forgery("checkpoints rolled back, last record edited", |dir: &Path| {
            forge::roll_back_checkpoints(dir, LAST_COMMIT);
            with_lines(|l| *l.last_mut().unwrap() = edit(l.last().unwrap()), false)(dir);
        }),
        forgery("seal rolled back, last record edited", |dir: &Path| {
            forge::roll_back_seal(dir, LAST_COMMIT);
            with_lines(|l| *l.last_mut().unwrap() = edit(l.last().unwrap()), false)(dir);
        }),
        forgery(
            "seal and checkpoints rolled back, last commit rewritten",
            after_signed_range(|dir: &Path| with_lines(|l| l[11] = edit(&l[11]), true)(dir)),
        ),
        forgery("seals deleted, records appended", |dir: &Path| {
            forge::delete_seals(dir);
            forge::append_decision(dir, "{\"text\":\"forged\"}");
        }),
        forgery("seals and every checkpoint deleted", |dir: &Path| {
            forge::delete_seals(dir);
            std::fs::remove_dir_all(dir.join(files::CHECKPOINTS)).unwrap();
            std::fs::remove_file(dir.join(files::CHECKPOINT)).unwrap();
        }),
    ];

    let another_key = vec![
        forgery("`checkpoint` and its file re-signed by another key", |dir: &Path| {
            forge::sign_checkpoint(dir, &[&attacker()]);
        }),
        forgery("seal re-signed by another key", |dir: &Path| forge::sign_seal(dir, &[&attacker()])),
        forgery("a record appended, sealed and checkpointed by another key", |dir: &Path| {
            forge::append_decision(dir, "{\"text\":\"forged\"}");
            forge::sign_checkpoint(dir, &[&attacker()]);
            forge::sign_seal(dir, &[&attacker()]);
        }),
    ];

    let rotation = |signature: fn() -> String| {
        move |dir: &Path| {
            forge::append(
                dir,
                "key_rotated",
                &format!(
                    ",\"old_key\":\"{}\",\"new_key\":\"{}\",\"signature\":\"{}\"",
                    signer(1).verifier().label(),
                    attacker().verifier().to_vkey(),
                    signature()
                ),
            );
            forge::sign_checkpoint(dir, &[&attacker()]);
            forge::append_decision(dir, "{\"text\":\"forged under the new key\"}");
            forge::sign_checkpoint(dir, &[&attacker()]);
            forge::sign_seal(dir, &[&attacker()]);
        }
    };
    let forged_rotation = vec![
        forgery("rotation with no authorisation", rotation(String::new)),
        forgery(
            "rotation authorised by the new key itself",
            rotation(|| attacker().sign_detached(b"anything")),
        ),
        forgery(
            "rotation with a signature by the real key over another message",
            rotation(|| signer(1).sign_detached(b"handrail/key-rotation/v1\n3\n")),
        ),
    ];

    let erase = |seqs: &'static [u64], sign: bool| {
        move |dir: &Path| {
            zero_payloads(dir, seqs);
            let list: Vec<String> = seqs.iter().map(u64::to_string).collect();
            forge::append(
                dir,
                "erasure",
                &format!(",\"conversation\":\"c1\",\"seqs\":[{}],\"reason\":\"forged\"", list.join(",")),
            );
            if sign {
                forge::sign_checkpoint(dir, &[&attacker()]);
                forge::sign_seal(dir, &[&attacker()]);
            }
        }
    };
    let forged_erasure = vec![
        forgery("erasure appended, payloads zeroed", erase(&[1, 4, 7], false)),
        forgery("erasure appended, payloads zeroed, signed by another key", erase(&[1, 4, 7], true)),
        forgery("erasure of every payload", erase(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13], false)),
        forgery("erasure record only, payloads left", |dir: &Path| {
            forge::append(dir, "erasure", ",\"conversation\":\"c1\",\"seqs\":[1],\"reason\":\"forged\"");
        }),
        forgery("retention purge appended, payloads zeroed", |dir: &Path| {
            zero_payloads(dir, &[2, 7]);
            forge::append(dir, "retention_purge", ",\"at\":\"2030-01-01T00:00:00Z\",\"seqs\":[2,7]");
        }),
    ];

    let mut payload = Vec::new();
    let records = audit::read_records(&base().join(files::LOG)).unwrap();
    for r in &records {
        let p = r.body.payload().unwrap().clone();
        let (start, end) = (p.offset as usize, (p.offset + 32 + p.length) as usize);
        payload.push(forgery(format!("payload of {} edited", r.seq), move |dir: &Path| {
            let path = dir.join(files::PAYLOADS);
            let mut bytes = std::fs::read(&path).unwrap();
            bytes[end - 3] ^= 0x20;
            std::fs::write(&path, bytes).unwrap();
        }));
        payload.push(forgery(format!("payload of {} zeroed", r.seq), move |dir: &Path| {
            let path = dir.join(files::PAYLOADS);
            let mut bytes = std::fs::read(&path).unwrap();
            bytes[start..end].fill(0);
            std::fs::write(&path, bytes).unwrap();
        }));
        payload.push(forgery(format!("payloads cut at {}'s", r.seq), move |dir: &Path| {
            let path = dir.join(files::PAYLOADS);
            let bytes = std::fs::read(&path).unwrap();
            std::fs::write(&path, &bytes[..start]).unwrap();
        }));
    }
    payload.push(forgery("payloads.bin deleted", |dir: &Path| {
        std::fs::remove_file(dir.join(files::PAYLOADS)).unwrap();
    }));
    payload.push(forgery("bytes appended to payloads.bin", |dir: &Path| {
        let path = dir.join(files::PAYLOADS);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(b"{\"text\":\"slipped in\"}");
        std::fs::write(&path, bytes).unwrap();
    }));
    payload.push(forgery("two payloads swapped with their commitments' records", |dir: &Path| {
        with_lines(|l| l.swap(2, 3), true)(dir);
    }));

    // The two careful truncations of FORMAT.md §11: to every checkpoint size, with the seal deleted, or with an
    // old copy of it put back (here the slot that sealed the size cut to).
    let careful = |kept: bool| {
        let mut out = Vec::new();
        for size in forge::checkpoint_sizes(base()).into_iter().filter(|s| (*s as usize) < RECORDS) {
            out.push(Forgery {
                what: format!("careful truncation to {size}, seals deleted"),
                tamper: Box::new(move |dir: &Path| forge::truncate_carefully(dir, size)),
                kept,
            });
        }
        out.push(Forgery {
            what: format!("careful truncation to {LAST_COMMIT}, an old seal put back"),
            tamper: Box::new(|dir: &Path| {
                forge::roll_back_seal(dir, LAST_COMMIT);
                let seals = forge::seals(dir);
                forge::truncate_carefully(dir, LAST_COMMIT);
                forge::write_seals(dir, &seals);
            }),
            kept,
        });
        out
    };

    vec![
        ("byte flips", flips),
        ("deleted records", deleted),
        ("inserted records", inserted),
        ("swapped records", swapped),
        ("duplicated records", duplicated),
        ("chain-recomputing forgeries", rechained),
        ("truncation", truncation),
        ("checkpoint and seal rollback", rollback),
        ("another key", another_key),
        ("forged rotation", forged_rotation),
        ("forged erasure", forged_erasure),
        ("payload edits and deletions", payload),
        ("careful truncation, auditor's checkpoint kept", careful(true)),
        (OUT_OF_REACH, careful(false)),
    ]
}

/// The class FORMAT.md §11 names: caught only with a checkpoint the auditor kept.
const OUT_OF_REACH: &str = "careful truncation, no kept checkpoint (FORMAT.md §11)";

#[test]
fn tamper_table() {
    let mut table: Vec<Class> = Vec::new();
    for (name, forgeries) in classes() {
        let mut class = Class { name, ..Class::default() };
        for f in &forgeries {
            run(&mut class, f);
        }
        table.push(class);
    }
    println!("{:<58} {:>6} {:>7} {:>7} {:>7}", "class", "tried", "verify", "writer", "missed");
    for c in &table {
        println!(
            "{:<58} {:>6} {:>7} {:>7} {:>7}",
            c.name,
            c.tried,
            c.verify_caught,
            c.writer_caught,
            c.missed.len()
        );
    }
    let (tried, missed): (u32, usize) = table
        .iter()
        .filter(|c| c.name != OUT_OF_REACH)
        .fold((0, 0), |(t, m), c| (t + c.tried, m + c.missed.len()));
    println!("{tried} forgeries within reach, {missed} missed");
    for c in &table {
        assert!(c.tried > 0, "{}: nothing tried", c.name);
        if c.name == OUT_OF_REACH {
            // If one of these were caught, FORMAT.md §11 would claim a limit that is not there.
            assert_eq!(c.missed.len() as u32, c.tried, "{}: caught some: update FORMAT.md §11", c.name);
        } else {
            assert!(c.missed.is_empty(), "{}: missed {:#?}", c.name, c.missed);
        }
    }
}
