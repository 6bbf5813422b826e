//! `handrail serve`'s tests: the built binary started as a child process on a free loopback port, called over
//! HTTP/1.1 by the tiny client below (one request per connection, no dependency), stopped by a signal.
//!
//! - `api`: every route, the event types through `/v1/decide`, the OpenAPI document against the routes.
//! - `audit`: every decision answered is in the log first; a log that cannot be written gives 503 and the
//!   fail-safe, and `readyz` turns false.
//! - `restart`: a server killed mid-conversation and restarted decides as one that ran through; idle expiry and
//!   the memory bound.
//! - `reload`: SIGHUP and `POST /v1/policy/reload`; a bad policy never replaces a good one.
//! - `hardening`: body limit, auth, 429 under overload, the time bound, graceful shutdown, access logs.
//! - `clients`: the Python client of `examples/serve/` against a started server.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod api;
mod audit;
mod clients;
mod faults;
mod hardening;
mod reload;
mod restart;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The repository root.
pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The built `handrail`.
pub(crate) fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_handrail"))
}

/// A scratch folder with a signing key for an audit log (`key.key`, `key.pub`).
pub(crate) struct Scratch {
    pub(crate) dir: tempfile::TempDir,
}

impl Scratch {
    #[allow(clippy::new_without_default, reason = "a scratch folder is made, not defaulted")]
    pub(crate) fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(bin())
            .args(["audit", "keygen", "--name", "test.example/serve", "--out"])
            .arg(dir.path().join("key"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        Scratch { dir }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `--audit LOG --audit-key KEY` for the log `log` of this folder.
    pub(crate) fn audit_args(&self) -> Vec<String> {
        vec![
            "--audit".into(),
            self.path("log").display().to_string(),
            "--audit-key".into(),
            self.path("key.key").display().to_string(),
        ]
    }

    /// `handrail audit verify` of the log: whether it verified, and its output.
    pub(crate) fn verify(&self) -> (bool, String) {
        let (code, text) = self.verify_code();
        (code == 0, text)
    }

    /// `handrail audit verify` of the log: its exit code and output.
    pub(crate) fn verify_code(&self) -> (i32, String) {
        let out = Command::new(bin())
            .args(["audit", "verify"])
            .arg(self.path("log"))
            .arg("--key")
            .arg(std::fs::read_to_string(self.path("key.pub")).unwrap().trim())
            .output()
            .unwrap();
        let text =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.code().unwrap_or(-1), text)
    }

    /// The log's records that parse (a torn last line, left by a kill, does not).
    pub(crate) fn records_lenient(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.path("log").join("log.jsonl"))
            .unwrap()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The log's records, parsed.
    pub(crate) fn records(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.path("log").join("log.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// A running `handrail serve`.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
    pub(crate) stderr: PathBuf,
    _files: tempfile::TempDir,
}

impl Server {
    /// Starts `handrail serve ARGS --listen 127.0.0.1:0` and waits until it listens.
    pub(crate) fn start(args: &[String]) -> Server {
        Server::start_with_env(args, &[])
    }

    pub(crate) fn start_with_env(args: &[String], env: &[(&str, &str)]) -> Server {
        Server::start_in(&root(), args, env)
    }

    /// [`Server::start_with_env`] with `dir` as the working directory.
    pub(crate) fn start_in(dir: &Path, args: &[String], env: &[(&str, &str)]) -> Server {
        let files = tempfile::tempdir().unwrap();
        let address = files.path().join("address");
        let stderr = files.path().join("stderr");
        let child = Command::new(bin())
            .arg("serve")
            .args(args)
            .args(["--listen", "127.0.0.1:0", "--address-file"])
            .arg(&address)
            .envs(env.iter().copied())
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let mut server = Server { child, addr: "127.0.0.1:1".parse().unwrap(), stderr, _files: files };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(text) = std::fs::read_to_string(&address)
                && let Ok(addr) = text.trim().parse()
            {
                server.addr = addr;
                return server;
            }
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("handrail serve exited with {status} before listening:\n{}", server.stderr_text());
            }
            assert!(Instant::now() < deadline, "handrail serve did not listen within 30 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub(crate) fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    pub(crate) fn get(&self, path: &str) -> Reply {
        request(self.addr, "GET", path, &[], b"")
    }

    pub(crate) fn post(&self, path: &str, body: &str) -> Reply {
        request(self.addr, "POST", path, &[], body.as_bytes())
    }

    /// Decides one event, which must be answered 200; returns the decision.
    pub(crate) fn decide(&self, event: &serde_json::Value) -> serde_json::Value {
        let reply = self.post("/v1/decide", &event.to_string());
        assert_eq!(reply.status, 200, "{}", reply.text());
        reply.json()
    }

    /// Sends `signal` (by the child's own pid) and waits for the exit, at most 30 s.
    pub(crate) fn signal(&mut self, signal: &str) {
        let ok = Command::new("kill").args(["-s", signal, &self.child.id().to_string()]).status().unwrap();
        assert!(ok.success());
    }

    pub(crate) fn wait(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "handrail serve did not exit within 30 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, and the exit status.
    pub(crate) fn stop(mut self) -> std::process::ExitStatus {
        self.signal("TERM");
        self.wait()
    }

    /// SIGKILL: no drain, no close.
    pub(crate) fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP response.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`), read to the end.
pub(crate) fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    try_request(addr, method, path, headers, body).unwrap()
}

/// [`request`], with a connection that fails (a server killed under it) as an error.
pub(crate) fn try_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Reply> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    stream.write_all(&head(method, path, headers, body.len()))?;
    stream.write_all(body)?;
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes)?;
    parse_reply(bytes).ok_or_else(|| std::io::Error::other("not a whole HTTP response"))
}

/// The head of a request with a body of `length` bytes.
pub(crate) fn head(method: &str, path: &str, headers: &[(&str, &str)], length: usize) -> Vec<u8> {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n"
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// Reads a whole response from a `Connection: close` stream.
pub(crate) fn read_reply(stream: &mut TcpStream) -> Reply {
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).unwrap();
    parse_reply(bytes).expect("a whole HTTP response")
}

/// A response's status, headers and body; `None` when the bytes are not a whole response.
fn parse_reply(bytes: Vec<u8>) -> Option<Reply> {
    let split = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let mut body = bytes[split + 4..].to_vec();
    let mut lines = head.lines();
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    if headers.iter().any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked")) {
        body = unchunk(&body);
    }
    Some(Reply { status, headers, body })
}

fn unchunk(mut bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = bytes.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&bytes[..line_end]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&bytes[line_end + 2..line_end + 2 + size]);
        bytes = &bytes[line_end + 2 + size + 2..];
    }
}

/// A time `minutes` after a base near now (so conversations are within the idle bound), RFC 3339.
pub(crate) fn at(base: chrono::DateTime<chrono::Utc>, seconds: i64) -> String {
    (base + chrono::Duration::seconds(seconds)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Writes `text` to `path`.
pub(crate) fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}
