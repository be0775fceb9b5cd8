//! The story this repository exists to tell, as a test: a default (glibc, dynamically
//! linked) build of hello cannot start in an empty root, the static musl build can.

use std::path::Path;
use std::process::{Command, Output};

mod common;

const XTASK: &str = env!("CARGO_BIN_EXE_xtask");

fn scratch_run(binary: &Path, target: &[&str]) -> Output {
    Command::new(XTASK).arg("scratch-run").args(target).arg(binary).output().unwrap()
}

#[test]
fn glibc_build_has_no_interpreter_in_an_empty_root() {
    let binary = common::build_hello("x86_64-unknown-linux-gnu");

    let output = scratch_run(&binary, &[]);

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("No such file or directory"), "stderr: {stderr}");
    assert!(output.stdout.is_empty());
}

#[test]
fn static_musl_build_runs_in_an_empty_root() {
    let binary = common::build_hello("x86_64-unknown-linux-musl");

    let output = scratch_run(&binary, &[]);

    assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.stdout, b"Hello, world!\n");
}

#[test]
fn static_aarch64_build_runs_in_an_empty_root_under_qemu() {
    let binary = common::build_hello("aarch64-unknown-linux-musl");

    let output = scratch_run(&binary, &["--target", "aarch64-unknown-linux-musl"]);

    assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.stdout, b"Hello, world!\n");
}

#[test]
fn exit_status_of_the_program_is_passed_on() {
    // `hello` fails with 1 when stdout is a full device; scratch-run must not hide that.
    let binary = common::build_hello("x86_64-unknown-linux-musl");
    let full = std::fs::File::options().write(true).open("/dev/full").unwrap();

    let status = Command::new(XTASK).arg("scratch-run").arg(&binary).stdout(full).status().unwrap();

    assert_eq!(status.code(), Some(1));
}

#[test]
fn missing_binary_is_a_clear_error() {
    let output = scratch_run(Path::new("/nonexistent/hello"), &[]);

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr.contains("cannot read `/nonexistent/hello`"), "stderr: {stderr}");
}
