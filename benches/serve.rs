//! Load test of `handrail serve` (issue 9, point 7): the built server on a free loopback port, the clinic policy
//! (the healthcare pack), called by 1, 16 and 64 keep-alive connections, with the audit log on and off.
//!
//! Budgets (issue 9, on this 2-core machine): at least 20,000 durable decisions per second at 64 connections with
//! p99 under 10 ms; without the log at least 50,000 per second. The clients run on the same two cores as the
//! server, so the figures include their cost; each latency is one request timed from its first byte written to
//! its last byte read.
//!
//! Run with `cargo bench --bench serve` (a few seconds per level; `HANDRAIL_BENCH_SECONDS` changes it). It prints
//! the machine and, per level, throughput, p50/p99/p999 and the server's own CPU time per decision (user and
//! system, from `/proc`), which moves less than the throughput when other work shares the cores. Traffic goes to 127.0.0.1 only and every loop is
//! bounded in time.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Messages a clinic's bot sees, cycled through (with conversation ids spread over many conversations).
const MESSAGES: [&str; 8] = [
    "Hi, can I book a checkup for next week? I'm free on Tuesday or Wednesday afternoon.",
    "What are your opening hours on Saturday, and is there parking near the main entrance?",
    "I've had a fever and a rash since Friday, is it serious? My daughter is six.",
    "Can I change my appointment from Monday morning to Thursday afternoon please?",
    "How do I get my lab results? I had blood drawn last week and nobody called.",
    "Do you accept my insurance? It's through my employer and I just switched plans.",
    "I need a refill of my prescription, the pharmacy said to contact the clinic.",
    "Where do I send the forms for my son's school physical? The email bounced.",
];

fn main() {
    let seconds: f64 =
        std::env::var("HANDRAIL_BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(3.0);
    println!("machine: {}", common::machine());
    println!("policy: examples/clinic/clinic.policy (the healthcare pack); {seconds} s per level");
    for audit in [true, false] {
        let scratch = tempfile::tempdir().unwrap();
        let server = start(scratch.path(), audit);
        for connections in [1usize, 16, 64] {
            let cpu_before = cpu_seconds(server.child.id());
            let figures = run(server.addr, connections, Duration::from_secs_f64(seconds));
            // The server's own CPU per decision: steadier than the rate on a machine shared with other work.
            let cpu = match (cpu_before, cpu_seconds(server.child.id())) {
                (Some(before), Some(after)) if figures.decisions > 0 => {
                    format!(
                        "  server CPU {:4.0} µs/decision",
                        1e6 * (after - before) / figures.decisions as f64
                    )
                }
                _ => String::new(),
            };
            println!(
                "audit {:3}  {connections:2} connections: {:8.0} decisions/s  p50 {:6.2} ms  p99 {:6.2} ms  p999 {:6.2} ms  ({} errors){cpu}",
                if audit { "on" } else { "off" },
                figures.rate,
                figures.p50,
                figures.p99,
                figures.p999,
                figures.errors,
            );
        }
        if audit {
            let metrics = get(server.addr, "/metrics");
            let count = metric(&metrics, "handrail_audit_fsync_seconds_count");
            let sum = metric(&metrics, "handrail_audit_fsync_seconds_sum");
            let records = metric(&metrics, "handrail_audit_commit_records_sum");
            println!(
                "audit on: {count:.0} group commits, {:.1} decisions per commit, mean commit {:.2} ms",
                records / count.max(1.0),
                1000.0 * sum / count.max(1.0)
            );
        }
        drop(server);
    }
}

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

fn start(dir: &std::path::Path, audit: bool) -> Server {
    let bin = env!("CARGO_BIN_EXE_handrail");
    let root = env!("CARGO_MANIFEST_DIR");
    let mut command = Command::new(bin);
    command.current_dir(root).args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--policy",
        "examples/clinic/clinic.policy",
    ]);
    command.arg("--address-file").arg(dir.join("address"));
    command.args(["--max-in-flight", "4096"]);
    if audit {
        let key = dir.join("key");
        let out = Command::new(bin)
            .args(["audit", "keygen", "--name", "bench/serve", "--out"])
            .arg(&key)
            .output()
            .unwrap();
        assert!(out.status.success());
        command.arg("--audit").arg(dir.join("log")).arg("--audit-key").arg(dir.join("key.key"));
    }
    let child = command.stdout(Stdio::null()).stderr(Stdio::inherit()).spawn().unwrap();
    // Owned by `Server` from here, whose drop stops and waits for it.
    let mut server = Server { child, addr: "127.0.0.1:1".parse().unwrap() };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(addr) =
            std::fs::read_to_string(dir.join("address")).ok().and_then(|t| t.trim().parse().ok())
        {
            server.addr = addr;
            return server;
        }
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
}

struct Figures {
    decisions: usize,
    rate: f64,
    p50: f64,
    p99: f64,
    p999: f64,
    errors: usize,
}

fn run(addr: SocketAddr, connections: usize, length: Duration) -> Figures {
    let started = Instant::now();
    let deadline = started + length;
    let results: Vec<(Vec<u32>, usize)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..connections).map(|c| s.spawn(move || client(addr, c, deadline))).collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let elapsed = started.elapsed().as_secs_f64();
    let errors = results.iter().map(|(_, e)| e).sum();
    let mut latencies: Vec<u32> = results.into_iter().flat_map(|(l, _)| l).collect();
    latencies.sort_unstable();
    let at = |q: f64| {
        let i = ((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1));
        latencies.get(i).copied().unwrap_or(0) as f64 / 1000.0
    };
    Figures {
        decisions: latencies.len(),
        rate: latencies.len() as f64 / elapsed,
        p50: at(0.5),
        p99: at(0.99),
        p999: at(0.999),
        errors,
    }
}

/// One keep-alive connection sending decide requests until `deadline`; returns each latency in µs and the
/// number of answers that were not 200.
fn client(addr: SocketAddr, id: usize, deadline: Instant) -> (Vec<u32>, usize) {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_nodelay(true).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut n = 0usize;
    while Instant::now() < deadline {
        n += 1;
        let body = format!(
            r#"{{"conversation":"load-{id}-{}","text":"{}","confidence":0.8}}"#,
            n % 500,
            MESSAGES[n % MESSAGES.len()]
        );
        let request = format!(
            "POST /v1/decide HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let t = Instant::now();
        writer.write_all(request.as_bytes()).unwrap();
        let status = read_response(&mut reader);
        latencies.push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
        if status != 200 {
            errors += 1;
        }
    }
    (latencies, errors)
}

/// Reads one response (status line, headers, a `Content-Length` body); returns the status.
fn read_response(reader: &mut BufReader<TcpStream>) -> u16 {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let status = line.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut length = 0usize;
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    status
}

/// The CPU time (user and system, all threads) process `pid` has used, from `/proc/PID/stat`; `None` where there
/// is no `/proc`.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command name in parentheses (which may hold spaces): fields 3 onwards, utime and stime being
    // fields 14 and 15, in clock ticks of USER_HZ, which is 100 on Linux (proc(5)).
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    Some((user + system) / 100.0)
}

fn get(addr: SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n").unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name) && l.as_bytes().get(name.len()) == Some(&b' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}
