//! `cargo xtask scratch-run [--target T] PATH [-- ARGS…]`: runs a binary alone in an empty
//! root directory, the way a `FROM scratch` image would, without needing Docker. A binary
//! that needs an ELF interpreter or shared libraries fails here exactly as it would there:
//! "No such file or directory".

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Output};

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use crate::args::Args;
use crate::target::{self, Target};

pub(crate) fn run(mut args: Args) -> anyhow::Result<ExitCode> {
    let target = target::from_option(args.value("--target")?)?;
    let mut positional = args.finish()?.into_iter();
    let Some(binary) = positional.next() else {
        bail!("no binary given; usage: cargo xtask scratch-run [--target T] PATH [-- ARGS…]");
    };
    let program_args: Vec<String> = positional.collect();

    let sh = Shell::new()?;
    let root = EmptyRoot::with_binary(&sh, Path::new(&binary), target)?;
    let status = Command::from(root.command(&sh, &program_args)).status()?;

    // Pass the program's exit status on; a death by signal becomes 128 + signal, as in a
    // shell.
    let code = status.code().or_else(|| {
        std::os::unix::process::ExitStatusExt::signal(&status).map(|signal| 128 + signal)
    });
    Ok(ExitCode::from(code.unwrap_or(1).clamp(0, 255) as u8))
}

/// Runs `binary` with `args` alone in an empty root and captures what it printed. For a
/// target this machine cannot run natively, the root also holds a static QEMU user-mode
/// emulator that runs it.
pub(crate) fn run_in_empty_root(
    sh: &Shell,
    binary: &Path,
    target: Target,
    args: &[String],
) -> anyhow::Result<Output> {
    let root = EmptyRoot::with_binary(sh, binary, target)?;
    let output = root.command(sh, args).quiet().ignore_status().output()?;
    Ok(output)
}

/// A temporary directory holding only the binary (and its emulator, if it needs one); it is
/// removed when dropped.
struct EmptyRoot {
    dir: xshell::TempDir,
    program: String,
    emulator: Option<String>,
}

impl EmptyRoot {
    fn with_binary(sh: &Shell, binary: &Path, target: Target) -> anyhow::Result<EmptyRoot> {
        let metadata =
            fs::metadata(binary).with_context(|| format!("cannot read `{}`", binary.display()))?;
        if !metadata.is_file() {
            bail!("`{}` is not a file", binary.display());
        }
        let Some(name) = binary.file_name().and_then(|name| name.to_str()) else {
            bail!("`{}` has no usable file name", binary.display());
        };

        // Copy rather than bind-mount: the root must hold nothing but what we put there.
        let dir = sh.create_temp_dir()?;
        sh.copy_file(binary, dir.path().join(name))?;

        let emulator = if target.is_native() {
            None
        } else {
            let emulator = find_emulator(target)?;
            sh.copy_file(&emulator, dir.path().join("emulator"))?;
            Some("/emulator".to_string())
        };
        Ok(EmptyRoot { dir, program: format!("/{name}"), emulator })
    }

    /// The command that runs the program with the empty root as `/`. As root, `unshare
    /// --root` is a plain chroot; otherwise a user namespace in which we are root allows it.
    fn command<'a>(&self, sh: &'a Shell, args: &[String]) -> xshell::Cmd<'a> {
        let root = self.dir.path();
        let map_root_user = (!running_as_root()).then_some("--map-root-user");
        let program = self.emulator.iter().chain([&self.program]);
        cmd!(sh, "unshare {map_root_user...} --root={root} {program...} {args...}")
    }
}

fn running_as_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|proc| proc.uid() == 0)
}

/// Finds a statically linked QEMU user-mode emulator for `target`: it has to run inside the
/// empty root, where a dynamically linked one would fail just like a glibc program.
fn find_emulator(target: Target) -> anyhow::Result<PathBuf> {
    let arch = target.triple().split('-').next().unwrap_or_default();
    let names = [format!("qemu-{arch}-static"), format!("qemu-{arch}")];
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in &names {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    bail!(
        "running {} binaries on this machine needs a static QEMU user-mode emulator \
         (`{}`); on Debian or Ubuntu: `apt-get install qemu-user-static`",
        target.triple(),
        names[0]
    )
}
