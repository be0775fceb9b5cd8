//! `cargo xtask test`: everything CI checks, in the order a failure is cheapest to find.
//! Each step runs even when an earlier one failed, so one run shows every problem; the
//! closing lines say which steps passed, failed or were skipped, and why.

use std::process::ExitCode;
use std::time::Instant;

use xshell::{Shell, cmd};

use crate::args::Args;
use crate::{project_root, template};

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    args.finish_empty()?;
    let sh = Shell::new()?;
    sh.change_dir(project_root());
    let in_ci = sh.var("CI").is_ok_and(|value| value == "true");
    let mut report = Report::default();

    // Formatting and lints first: they take seconds and fail most often.
    report.step("format", || cmd!(sh, "cargo fmt --all --check").run().map_err(Into::into));
    report.step("clippy", || {
        let targets = ["--target", "x86_64-unknown-linux-musl"];
        cmd!(sh, "cargo clippy --workspace --all-targets --locked {targets...} -- -D warnings")
            .run()
            .map_err(Into::into)
    });

    // Unit and integration tests: hello's behaviour on every kind of stdout, the ELF checks
    // on real and malformed files, the empty-root runs.
    report.step("tests", || cmd!(sh, "cargo test --workspace --locked").run().map_err(Into::into));

    // The fuzz target still compiles against the inspector (running it needs nightly; see
    // the README). It has a workspace of its own, built for the host like xtask.
    report.step("fuzz target", || {
        cmd!(sh, "cargo check --manifest-path fuzz/Cargo.toml --locked --target host-tuple")
            .run()
            .map_err(Into::into)
    });

    // Shell scripts, Dockerfiles and workflows; a missing linter fails the step, with the
    // command that installs it.
    report.step("lint", || cmd!(sh, "cargo xtask lint").run().map_err(Into::into));

    // The image, end to end, for both architectures. Docker is needed; in CI its absence is
    // a failure, never a silent skip.
    let skip_docker = if in_ci { None } else { docker_unreachable(&sh) };
    match &skip_docker {
        Some(reason) => report.skip("dist", reason),
        None => report
            .step("dist", || cmd!(sh, "cargo xtask dist --target all").run().map_err(Into::into)),
    }

    // A project generated from this checkout must pass its own checks, `dist` included. In
    // a generated project there is no template to check, and `check` says so.
    match &skip_docker {
        Some(reason) => report.skip("template", reason),
        None => report.step("template", || template::check(&sh)),
    }

    Ok(report.finish())
}

/// Why Docker cannot be used here, if it cannot.
fn docker_unreachable(sh: &Shell) -> Option<String> {
    let docker = sh.var("DOCKER").unwrap_or_else(|_| "docker".into());
    let reachable = cmd!(sh, "{docker} info").quiet().ignore_stdout().ignore_stderr().run();
    reachable.is_err().then(|| {
        format!("`{docker} info` failed: no Docker daemon here (`bash .ci/setup` starts one)")
    })
}

#[derive(Default)]
struct Report {
    lines: Vec<String>,
    passed: usize,
    failed: usize,
    skipped: usize,
}

impl Report {
    fn step(&mut self, name: &str, step: impl FnOnce() -> anyhow::Result<()>) {
        eprintln!("xtask test: {name}");
        let started = Instant::now();
        let result = step();
        let seconds = started.elapsed().as_secs_f64();
        match result {
            Ok(()) => {
                self.passed += 1;
                self.lines.push(format!("  passed   {name} ({seconds:.1} s)"));
            }
            Err(error) => {
                self.failed += 1;
                self.lines.push(format!("  FAILED   {name} ({seconds:.1} s): {error:#}"));
            }
        }
    }

    fn skip(&mut self, name: &str, reason: &str) {
        self.skipped += 1;
        self.lines.push(format!("  skipped  {name}: {reason}"));
    }

    fn finish(self) -> ExitCode {
        eprintln!("\nxtask test:");
        for line in &self.lines {
            eprintln!("{line}");
        }
        // The plain closing line that CI reads, counting steps.
        println!("{} passed, {} failed, {} skipped", self.passed, self.failed, self.skipped);
        if self.failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
    }
}
