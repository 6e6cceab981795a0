//! The startup baseline: a Rust binary that does nothing but print one line.

fn main() {
    println!("hello 0.0.0");
}
