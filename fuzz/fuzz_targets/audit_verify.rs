//! The audit verifier over arbitrary directory contents, through its public API (`handrail::audit::verify`):
//! whatever the files hold, it reports problems and never panics.
//!
//! The input is cut at each `\xffFILE\xff` marker into, in order: `log.jsonl`, `payloads.bin`, `checkpoint`, and
//! any number of `checkpoints/<n>.note` files; a part that is absent leaves its file absent. The seed corpus is
//! the sample logs under `audit/samples` in this form.
#![no_main]

use std::sync::OnceLock;

use handrail::audit::{Verifier, VerifyOptions, files, verify};
use libfuzzer_sys::fuzz_target;

const MARKER: &[u8] = b"\xffFILE\xff";

fn scratch() -> &'static tempfile::TempDir {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        // Memory-backed where it can be: the target writes a directory per input.
        let shm = std::path::Path::new("/dev/shm");
        if shm.is_dir() { tempfile::tempdir_in(shm) } else { tempfile::tempdir() }.unwrap()
    })
}

fn key() -> Option<Verifier> {
    let text = include_str!("../../audit/samples/sample.pub");
    Verifier::parse(text.trim()).ok()
}

fn split(data: &[u8]) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let mut rest = data;
    while let Some(at) = rest.windows(MARKER.len()).position(|w| w == MARKER) {
        parts.push(&rest[..at]);
        rest = &rest[at + MARKER.len()..];
    }
    parts.push(rest);
    parts
}

fuzz_target!(|data: &[u8]| {
    let dir = scratch().path();
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir.join(files::CHECKPOINTS)).unwrap();
    let parts = split(data);
    let names = [files::LOG, files::PAYLOADS, files::CHECKPOINT];
    for (name, part) in names.iter().zip(&parts) {
        std::fs::write(dir.join(name), part).unwrap();
    }
    for (i, part) in parts.iter().skip(names.len()).take(8).enumerate() {
        let name = files::checkpoint_name(u64::try_from(i).unwrap_or(0) * 4 + 4);
        std::fs::write(dir.join(files::CHECKPOINTS).join(name), part).unwrap();
    }
    let keys: Vec<Verifier> = key().into_iter().collect();
    let trusted = parts.get(3).map(|p| p.to_vec());
    let _ = verify(dir, &VerifyOptions { keys: keys.clone(), trusted: None });
    let _ = verify(dir, &VerifyOptions { keys, trusted });
});
