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
use crate::find_program;
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
    let status = Command::from(root.command(sh.cmd("unshare"), &program_args)).status()?;

    // Pass the program's exit status on; a death by signal becomes 128 + signal, as in a
    // shell.
    let code = status.code().or_else(|| {
        std::os::unix::process::ExitStatusExt::signal(&status).map(|signal| 128 + signal)
    });
    Ok(ExitCode::from(code.unwrap_or(1).clamp(0, 255) as u8))
}

/// How long [`run_in_empty_root`] lets a program run before killing it. Generous: an
/// emulated start on a loaded CI machine takes well under a second.
const TIMEOUT_SECONDS: u32 = 30;

/// Runs `binary` with `args` alone in an empty root and captures what it printed; a program
/// still running after [`TIMEOUT_SECONDS`] is killed and reported. For a target this machine
/// cannot run natively, the root also holds a static QEMU user-mode emulator that runs it.
pub(crate) fn run_in_empty_root(
    sh: &Shell,
    binary: &Path,
    target: Target,
    args: &[String],
) -> anyhow::Result<Output> {
    let root = EmptyRoot::with_binary(sh, binary, target)?;
    let timeout = TIMEOUT_SECONDS.to_string();
    let limited = cmd!(sh, "timeout --kill-after=5 {timeout} unshare");
    let output = root.command(limited, args).quiet().ignore_status().output()?;
    // `timeout` exits 124 when it had to stop the program (137 if it then had to kill it).
    if matches!(output.status.code(), Some(124 | 137)) {
        bail!(
            "`{}` was still running after {TIMEOUT_SECONDS} s in an empty root; killed",
            binary.display()
        );
    }
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

    /// `prefix` (`unshare`, or a command that runs it) with the arguments that run the
    /// program with the empty root as `/`. As root, `unshare --root` is a plain chroot;
    /// otherwise a user namespace in which we are root allows it.
    fn command<'a>(&self, prefix: xshell::Cmd<'a>, args: &[String]) -> xshell::Cmd<'a> {
        let map_root_user = (!running_as_root()).then_some("--map-root-user");
        let root = format!("--root={}", self.dir.path().display());
        let program = self.emulator.iter().chain([&self.program]);
        prefix.args(map_root_user).arg(root).args(program).args(args)
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
    if let Some(emulator) = names.iter().find_map(|name| find_program(name)) {
        return Ok(emulator);
    }
    bail!(
        "running {} binaries on this machine needs a static QEMU user-mode emulator \
         (`{}`); on Debian or Ubuntu: `apt-get install qemu-user-static`",
        target.triple(),
        names[0]
    )
}
