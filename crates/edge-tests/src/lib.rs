//! Nothing to link: this crate holds the edge test suite in `tests/`. The
//! tests are `#[ignore]`d in plain `cargo test` (they need a running stack);
//! `tests/edge/run.sh` starts one behind nginx and runs them with `--ignored`.
