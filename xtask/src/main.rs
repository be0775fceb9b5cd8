//! The project's automation, run as `cargo xtask <task>` (the alias is in
//! `.cargo/config.toml`). Each task lives in the file of its name; this file dispatches, and
//! finds what several tasks look for: the project root, and programs on PATH.
//! It is plain Rust rather than shell so that it runs the same on every machine and says
//! clearly what is missing when it cannot.

mod args;
mod bench;
mod build;
mod builder_image;
mod dist;
mod docker;
mod lint;
mod scratch;
mod target;
mod template;
mod test;
mod verify;

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use args::Args;

/// The package that ships. A project generated from this template renames it here too.
const PACKAGE: &str = "hello";

const USAGE: &str = "\
usage: cargo xtask <task> [options]

tasks:
  build [--target T]                    build the release binary, print its path and size
  verify [--target T] PATH...           check that each file is a static executable
  scratch-run [--target T] PATH [ARGS]  run a binary alone in an empty root, as FROM scratch would
  dist [--target T|all] [--builder-image IMAGE]
                                        build, verify, build the image, run it, check it
  builder-image [--tag IMAGE]           make a builder image without any registry
  bench [--builder-image IMAGE]         measure size, startup, rebuild time, reproducibility
  rename NAME                           rename the program everywhere: package, directory,
                                        binary, image, docs (cargo generate runs this)
  lint                                  run actionlint, zizmor, hadolint and shellcheck
  test                                  everything CI runs: fmt, clippy, tests, dist, lint

targets: x86_64-unknown-linux-musl (default), aarch64-unknown-linux-musl";

fn main() -> ExitCode {
    let mut args = Args::from_env();
    let Some(task) = args.next_positional() else {
        eprintln!("{USAGE}");
        return ExitCode::FAILURE;
    };
    let result = match task.as_str() {
        "build" => build::run(args),
        "verify" => verify::run(args),
        "scratch-run" => scratch::run(args),
        "dist" => dist::run(args),
        "builder-image" => builder_image::run(args),
        "bench" => bench::run(args),
        "rename" => template::run(args),
        "lint" => lint::run(args),
        "test" => test::run(args),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        other => Err(anyhow::anyhow!("unknown task `{other}`; run `cargo xtask help`")),
    };
    result.unwrap_or_else(|error| {
        eprintln!("error: {error:#}");
        ExitCode::FAILURE
    })
}

/// The workspace root, whatever directory `cargo xtask` was started from.
fn project_root() -> PathBuf {
    let xtask_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    xtask_dir.parent().expect("xtask/ lies inside the workspace").to_path_buf()
}

/// The executable file called `program` in a directory of PATH, as a shell finds it.
fn find_program(program: &str) -> Option<PathBuf> {
    find_program_in(program, &std::env::var_os("PATH").unwrap_or_default())
}

fn find_program_in(program: &str, path: &OsStr) -> Option<PathBuf> {
    std::env::split_paths(path).map(|dir| dir.join(program)).find(|candidate| {
        std::fs::metadata(candidate)
            .is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
    })
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;
    use std::fs::{self, Permissions};
    use std::os::unix::fs::PermissionsExt;

    use xshell::Shell;

    use super::find_program_in;

    #[test]
    fn programs_are_found_only_when_executable() {
        let sh = Shell::new().unwrap();
        let dir = sh.create_temp_dir().unwrap();
        let bin = dir.path().join("bin");
        fs::create_dir(&bin).unwrap();
        fs::write(bin.join("tool"), "#!/bin/sh\n").unwrap();
        fs::write(bin.join("notes"), "").unwrap();
        fs::set_permissions(bin.join("tool"), Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(bin.join("notes"), Permissions::from_mode(0o644)).unwrap();

        let path =
            std::env::join_paths([dir.path().join("missing"), bin.clone(), dir.path().into()]);
        let path = path.unwrap();
        assert_eq!(find_program_in("tool", &path), Some(bin.join("tool")));
        assert_eq!(find_program_in("notes", &path), None);
        // A directory has its execute bits set too, but runs nothing.
        assert_eq!(find_program_in("bin", &path), None);
        assert_eq!(find_program_in("tool", OsStr::new("")), None);
    }
}
