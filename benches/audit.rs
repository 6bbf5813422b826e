//! Benchmark `audit`: under construction.

fn main() {
    println!("audit: not built yet");
}
