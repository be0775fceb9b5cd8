//! What the integration tests share: the workspace, and hello built by the test run.

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask/ lies inside the workspace")
}

/// Where the tests put what they build and write, apart from the shipped build.
pub fn tests_dir() -> PathBuf {
    root().join("target/xtask-tests")
}

/// Runs a build step in the workspace, showing its output if it fails.
pub fn run(command: &mut Command) {
    let output = command.current_dir(root()).output().expect("cargo and rustc run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{command:?} failed:\n{stderr}");
}

/// hello, built with the release profile for `triple`: a musl build where `cargo build
/// --release` puts it, a glibc build in the tests' own directory, so that it cannot be taken
/// for the shipped one.
pub fn build_hello(triple: &str) -> PathBuf {
    let target_dir = if triple.ends_with("-gnu") { tests_dir() } else { root().join("target") };
    run(Command::new(env!("CARGO"))
        .args(["build", "--release", "--locked", "--package", "hello", "--target", triple])
        .arg("--target-dir")
        .arg(&target_dir));
    target_dir.join(triple).join("release/hello")
}
