//! `embed_migrations!` reads `migrations/` at compile time; tell cargo to
//! rebuild this crate when a migration is added or changed.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
