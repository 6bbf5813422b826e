//! Benchmark `decide`: under construction.

fn main() {
    println!("decide: not built yet");
}
