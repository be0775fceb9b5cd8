//! `cargo xtask build [--target T]`: the release binary that ships, and where it is.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use xshell::{Shell, cmd};

use crate::args::Args;
use crate::target::{self, Target};
use crate::{PACKAGE, project_root};

pub(crate) fn run(mut args: Args) -> anyhow::Result<ExitCode> {
    let target = target::from_option(args.value("--target")?)?;
    args.finish_empty()?;

    let sh = Shell::new()?;
    let binary = build_release(&sh, target)?;
    let size = binary.metadata().with_context(|| format!("cannot read `{}`", binary.display()))?;
    println!("{}\t{} bytes", binary.display(), size.len());
    Ok(ExitCode::SUCCESS)
}

/// Builds the shipped package for `target` with the release profile and returns its path.
pub(crate) fn build_release(sh: &Shell, target: Target) -> anyhow::Result<PathBuf> {
    target::ensure_installed(sh, target)?;

    // The target directory is named so that a CARGO_TARGET_DIR set elsewhere cannot move the
    // binary away from where every task looks for it.
    let root = project_root();
    sh.change_dir(&root);
    let triple = target.triple();
    let target_dir = root.join("target");
    cmd!(
        sh,
        "cargo build --release --locked --package {PACKAGE} --target {triple}
            --target-dir {target_dir}"
    )
    .run()
    .with_context(|| format!("cannot build `{PACKAGE}` for `{triple}`"))?;
    Ok(target.release_binary(&root, PACKAGE))
}
