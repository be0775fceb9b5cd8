//! The project's automation, run as `cargo xtask <task>` (the alias is in
//! `.cargo/config.toml`). Each task lives in the file of its name; this file only dispatches.
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
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}
