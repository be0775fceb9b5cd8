//! Runs the built `hello` against each kind of stdout it can meet: a terminal-like pipe, a
//! full device, a pipe nobody reads, and no stdout at all.

use std::fs::File;
use std::io;
use std::process::{Command, Output, Stdio};

const HELLO: &str = env!("CARGO_BIN_EXE_hello");

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn prints_the_greeting_and_exits_zero() {
    let output = Command::new(HELLO).output().unwrap();

    assert!(output.status.success(), "status {:?}, stderr {}", output.status, stderr_of(&output));
    assert_eq!(output.stdout, b"Hello, world!\n");
    assert!(output.stderr.is_empty(), "unexpected stderr: {}", stderr_of(&output));
}

#[test]
fn full_device_is_one_line_on_stderr_and_a_failure() {
    let output = Command::new(HELLO)
        .stdout(File::options().write(true).open("/dev/full").unwrap())
        .stderr(Stdio::piped())
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr_of(&output);
    assert_eq!(stderr.lines().count(), 1, "expected one line, got: {stderr}");
    assert!(stderr.starts_with("hello: "), "got: {stderr}");
    assert!(stderr.contains("No space left on device"), "got: {stderr}");
}

#[test]
fn pipe_closed_by_the_reader_is_quiet_and_no_panic() {
    // The read end is closed before the child starts, so its write always gets EPIPE.
    let (reader, writer) = io::pipe().unwrap();
    drop(reader);

    let output = Command::new(HELLO).stdout(writer).stderr(Stdio::piped()).output().unwrap();

    assert!(output.stderr.is_empty(), "unexpected stderr: {}", stderr_of(&output));
    assert!(output.status.success(), "status {:?}", output.status);
}

#[test]
fn closed_stdout_is_quiet_and_no_panic() {
    // `>&-` closes file descriptor 1 in the child; std cannot express that directly. std's
    // stdout treats a closed descriptor as a sink that accepts everything, so this succeeds.
    let output = Command::new("/bin/sh").args(["-c", "exec \"$0\" >&-", HELLO]).output().unwrap();

    assert!(output.stderr.is_empty(), "unexpected stderr: {}", stderr_of(&output));
    assert!(output.status.success(), "status {:?}", output.status);
}
