//! `cargo xtask verify` on real binaries built by this test run (the shipped static musl hello,
//! a glibc build of it, a shared library, an object file) and on files it must refuse clearly.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

mod common;

use common::{build_hello, run};

/// What one `cargo xtask verify` printed, and how it exited.
struct Verify {
    code: i32,
    stdout: String,
    stderr: String,
}

fn verify<S: AsRef<OsStr>>(args: &[S]) -> Verify {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("verify")
        .args(args)
        .output()
        .expect("the xtask binary runs");
    let verify = Verify {
        code: output.status.code().expect("xtask exits rather than being killed"),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    };
    assert!(!verify.stderr.contains("panicked"), "xtask panicked:\n{}", verify.stderr);
    verify
}

/// Checks that `path` alone is refused with one line on stderr that names it and contains
/// `reason`.
fn assert_refused(path: &Path, reason: &str) {
    let result = verify(&[path]);
    assert_eq!(result.code, 1, "{}", result.stderr);
    let prefix = format!("error: `{}`: ", path.display());
    assert!(result.stderr.starts_with(&prefix), "{}", result.stderr);
    assert!(result.stderr.contains(reason), "expected {reason:?} in {}", result.stderr);
    assert_eq!(result.stderr.lines().count(), 1, "{}", result.stderr);
}

/// A directory of files one test writes, removed when the test ends, pass or fail.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Scratch {
        let dir = common::tests_dir().join(format!("{test}-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    /// Writes `bytes` to a file named `name` in it.
    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        fs::write(&path, bytes).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The glibc target of this machine, where there is one.
fn host_gnu_target() -> Option<String> {
    let target = format!("{}-unknown-linux-gnu", std::env::consts::ARCH);
    if cfg!(target_os = "linux") {
        Some(target)
    } else {
        eprintln!("skipped: `{target}` builds only on Linux");
        None
    }
}

fn x86_64_hello() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| build_hello("x86_64-unknown-linux-musl"))
}

fn aarch64_hello() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| build_hello("aarch64-unknown-linux-musl"))
}

/// hello built the default way, for glibc.
fn glibc_hello(triple: &str) -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| build_hello(triple))
}

/// Compiles a one-function library with `rustc` into `output` in `scratch`, with `args`
/// choosing the kind.
fn compile_library(scratch: &Scratch, triple: &str, output: &str, args: &[&str]) -> PathBuf {
    let source = scratch
        .write("library.rs", b"#[unsafe(no_mangle)]\npub extern \"C\" fn answer() -> i32 { 42 }\n");
    let output = scratch.0.join(output);
    run(Command::new("rustc")
        .args(["--edition", "2024", "--target", triple])
        .args(args)
        .arg("-o")
        .arg(&output)
        .arg(&source));
    output
}

/// An ELF header alone, of the given class (1 = 32-bit, 2 = 64-bit) and byte order (1 = little,
/// 2 = big), for an executable of `machine`.
fn elf_header(class: u8, data: u8, machine: u16) -> Vec<u8> {
    let mut header = vec![0; if class == 1 { 52 } else { 64 }];
    header[..7].copy_from_slice(&[0x7f, b'E', b'L', b'F', class, data, 1]);
    let (e_type, e_machine) = match data {
        1 => (2u16.to_le_bytes(), machine.to_le_bytes()),
        _ => (2u16.to_be_bytes(), machine.to_be_bytes()),
    };
    header[16..18].copy_from_slice(&e_type);
    header[18..20].copy_from_slice(&e_machine);
    header
}

#[test]
fn the_shipped_musl_build_is_a_static_pie_executable() {
    let hello = x86_64_hello();
    let result = verify(&[hello]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert!(result.stdout.starts_with(&format!("{}\n", hello.display())), "{}", result.stdout);
    for line in [
        "kind:         static-pie executable",
        "class:        ELF64",
        "endianness:   little-endian",
        "machine:      x86_64",
        "interpreter:  none",
        "needed:       none",
        "PIE:          yes",
        "stripped:     yes",
    ] {
        assert!(result.stdout.contains(line), "no {line:?} in\n{}", result.stdout);
    }
    assert_eq!(result.stderr, "");

    let result = verify(&["--target", "x86_64-unknown-linux-musl"].map(OsStr::new));
    assert_eq!(result.code, 1, "no file is an error");

    let result = verify(&[OsStr::new("--target=x86_64-unknown-linux-musl"), hello.as_os_str()]);
    assert_eq!(result.code, 0, "{}", result.stderr);
}

#[test]
fn the_aarch64_musl_build_is_static_but_not_pie_and_only_for_aarch64() {
    let hello = aarch64_hello();
    let result =
        verify(&[OsStr::new("--target"), "aarch64-unknown-linux-musl".as_ref(), hello.as_ref()]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert!(result.stdout.contains("kind:         static executable"), "{}", result.stdout);
    assert!(result.stdout.contains("machine:      aarch64"), "{}", result.stdout);
    assert!(result.stdout.contains("PIE:          no"), "{}", result.stdout);

    let result =
        verify(&[OsStr::new("--target"), "x86_64-unknown-linux-musl".as_ref(), hello.as_ref()]);
    assert_eq!(result.code, 1);
    assert!(
        result.stderr.contains("is for aarch64, not x86_64 (`--target x86_64-unknown-linux-musl`)"),
        "{}",
        result.stderr
    );
}

#[test]
fn a_glibc_build_fails_naming_its_interpreter_and_libc() {
    let Some(triple) = host_gnu_target() else { return };
    let hello = glibc_hello(&triple);
    let result = verify(&[hello]);
    assert_eq!(result.code, 1);
    assert!(result.stdout.contains("kind:         dynamic executable"), "{}", result.stdout);
    let interpreter = result.stdout.lines().find_map(|line| line.strip_prefix("  interpreter:  "));
    let interpreter = interpreter.expect("an interpreter line");
    assert!(interpreter.starts_with("/lib") && interpreter.contains("/ld-linux"), "{interpreter}");
    let expected =
        format!("error: `{}`: needs the ELF interpreter `{interpreter}` (and ", hello.display());
    assert!(result.stderr.starts_with(&expected), "{}", result.stderr);
    assert!(result.stderr.contains("`libc.so.6`"), "{}", result.stderr);
    assert!(result.stderr.contains("which a scratch image does not have"), "{}", result.stderr);
}

#[test]
fn every_file_is_checked_and_each_failure_gets_its_line() {
    let Some(triple) = host_gnu_target() else { return };
    let scratch = Scratch::new("every-file");
    let missing = scratch.0.join("missing");
    let files = [x86_64_hello(), &missing, glibc_hello(&triple)];
    let result = verify(&files);
    assert_eq!(result.code, 1);
    assert_eq!(result.stdout.matches("kind:").count(), 2, "{}", result.stdout);
    let errors: Vec<&str> = result.stderr.lines().collect();
    assert_eq!(errors.len(), 2, "{}", result.stderr);
    assert!(errors[0].contains("missing`: no such file"), "{}", errors[0]);
    assert!(errors[1].contains("needs the ELF interpreter"), "{}", errors[1]);
}

#[test]
fn a_shared_library_and_an_object_file_are_not_executables() {
    let Some(triple) = host_gnu_target() else { return };
    let scratch = Scratch::new("libraries");
    let library = compile_library(&scratch, &triple, "libanswer.so", &["--crate-type", "cdylib"]);
    let result = verify(&[&library]);
    assert_eq!(result.code, 1);
    assert!(result.stdout.contains("kind:         shared library"), "{}", result.stdout);
    assert!(result.stderr.contains("is a shared library, not an executable"), "{}", result.stderr);

    let object =
        compile_library(&scratch, &triple, "answer.o", &["--crate-type", "lib", "--emit=obj"]);
    let result = verify(&[&object]);
    assert_eq!(result.code, 1);
    assert!(result.stdout.contains("kind:         relocatable object"), "{}", result.stdout);
    assert!(result.stderr.contains("is a relocatable object, not an executable"));
}

#[test]
fn files_that_are_not_elf_executables_get_one_clear_line() {
    let scratch = Scratch::new("not-elf");
    assert_refused(&scratch.write("notes.txt", b"just some text\n"), "is a text file");
    assert_refused(&scratch.write("empty", b""), "is empty, not an ELF executable");
    assert_refused(
        &scratch.write("run.sh", b"#!/bin/sh\nexec ./hello\n"),
        "is a script (`#!/bin/sh`)",
    );
    assert_refused(
        &scratch.write("hello-macos", b"\xcf\xfa\xed\xfe\x0c\0\0\x01"),
        "is a Mach-O (macOS)",
    );
    assert_refused(&scratch.write("hello.exe", b"MZ\x90\0\x03\0\0\0"), "is a Windows (PE) file");
    assert_refused(&scratch.0.join("does-not-exist"), "no such file; check the path");
    assert_refused(&scratch.0, "is a directory");

    let shipped = fs::read(x86_64_hello()).unwrap();
    assert_refused(&scratch.write("truncated", &shipped[..200]), "is truncated: ");
}

#[test]
fn thirty_two_bit_and_big_endian_files_are_refused() {
    let scratch = Scratch::new("other-elf");
    let i386 = scratch.write("i386", &elf_header(1, 1, 3));
    let result = verify(&[&i386]);
    assert_eq!(result.code, 1);
    assert!(result.stdout.contains("class:        ELF32"), "{}", result.stdout);
    assert!(result.stderr.contains("is a 32-bit ELF file"), "{}", result.stderr);
    assert_eq!(result.stderr.lines().count(), 1, "{}", result.stderr);

    // An x86_64 machine number, but big-endian: no supported target is.
    let big_endian = scratch.write("big-endian", &elf_header(2, 2, 62));
    let result = verify(&[&big_endian]);
    assert_eq!(result.code, 1);
    assert!(result.stdout.contains("endianness:   big-endian"), "{}", result.stdout);
    assert!(result.stderr.contains("is big-endian (ELFDATA2MSB)"), "{}", result.stderr);
    assert_eq!(result.stderr.lines().count(), 1, "{}", result.stderr);
}

#[test]
fn a_file_of_many_gigabytes_is_checked_from_its_headers_alone() {
    // The shipped binary followed by a 32 GiB hole: nothing past the headers is read, so this
    // takes as long as the binary alone would.
    let scratch = Scratch::new("huge");
    let huge = scratch.0.join("huge");
    fs::copy(x86_64_hello(), &huge).unwrap();
    File::options().write(true).open(&huge).unwrap().set_len(32 << 30).unwrap();

    let started = Instant::now();
    let result = verify(&[&huge]);
    let elapsed = started.elapsed();
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert!(result.stdout.contains("size:         34,359,738,368 bytes"), "{}", result.stdout);
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
}

#[test]
fn unknown_options_and_targets_are_errors() {
    let result = verify(&["--frobnicate", "hello"]);
    assert_eq!(
        (result.code, result.stderr.trim()),
        (1, "error: unknown option `--frobnicate`; run `cargo xtask help`")
    );
    let result = verify(&["--target", "x86_64-unknown-linux-gnu", "hello"]);
    assert_eq!(result.code, 1);
    assert!(result.stderr.contains("unsupported target `x86_64-unknown-linux-gnu`"));
}
