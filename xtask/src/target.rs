//! The targets this project ships for, and making sure their standard library is installed.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use goblin::elf::header::{EM_AARCH64, EM_X86_64};
use xshell::{Shell, cmd};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    X86_64Musl,
    Aarch64Musl,
}

impl Target {
    pub(crate) const ALL: [Target; 2] = [Target::X86_64Musl, Target::Aarch64Musl];

    /// The one `build.target` in `.cargo/config.toml` pins.
    pub(crate) const DEFAULT: Target = Target::X86_64Musl;

    pub(crate) fn parse(name: &str) -> anyhow::Result<Target> {
        match Target::ALL.into_iter().find(|target| target.triple() == name) {
            Some(target) => Ok(target),
            None => bail!(
                "unsupported target `{name}`; use one of: {}",
                Target::ALL.map(Target::triple).join(", ")
            ),
        }
    }

    pub(crate) fn triple(self) -> &'static str {
        match self {
            Target::X86_64Musl => "x86_64-unknown-linux-musl",
            Target::Aarch64Musl => "aarch64-unknown-linux-musl",
        }
    }

    /// The `e_machine` value of an ELF file built for this target.
    pub(crate) fn elf_machine(self) -> u16 {
        match self {
            Target::X86_64Musl => EM_X86_64,
            Target::Aarch64Musl => EM_AARCH64,
        }
    }

    /// The name Docker gives this architecture (`TARGETARCH` in a Dockerfile).
    pub(crate) fn docker_arch(self) -> &'static str {
        match self {
            Target::X86_64Musl => "amd64",
            Target::Aarch64Musl => "arm64",
        }
    }

    pub(crate) fn docker_platform(self) -> String {
        format!("linux/{}", self.docker_arch())
    }

    /// Whether this machine runs the target's binaries natively, without an emulator.
    pub(crate) fn is_native(self) -> bool {
        match self {
            Target::X86_64Musl => cfg!(target_arch = "x86_64"),
            Target::Aarch64Musl => cfg!(target_arch = "aarch64"),
        }
    }

    /// Where `cargo build --release --target` leaves the binary of `package`.
    pub(crate) fn release_binary(self, root: &Path, package: &str) -> PathBuf {
        root.join("target").join(self.triple()).join("release").join(package)
    }
}

/// `--target T` (at most once), or the default target.
pub(crate) fn from_option(value: Option<String>) -> anyhow::Result<Target> {
    value.as_deref().map_or(Ok(Target::DEFAULT), Target::parse)
}

/// Makes sure the standard library for `target` is installed, adding it with rustup when
/// rustup is there. `rust-toolchain.toml` lists the targets, but rustup installs them only
/// when it installs the toolchain itself, and not at all with `RUSTUP_AUTO_INSTALL=0`.
pub(crate) fn ensure_installed(sh: &Shell, target: Target) -> anyhow::Result<()> {
    let triple = target.triple();
    let sysroot = cmd!(sh, "rustc --print sysroot")
        .quiet()
        .read()
        .context("cannot run `rustc`; is Rust installed (https://rustup.rs)?")?;
    if Path::new(&sysroot).join("lib/rustlib").join(triple).join("lib").is_dir() {
        return Ok(());
    }

    if cmd!(sh, "rustup --version").quiet().ignore_stderr().read().is_err() {
        bail!(
            "the standard library for `{triple}` is not installed in `{sysroot}` and rustup is \
             not there to add it; install it with your toolchain's installer, or with \
             `rustup target add {triple}`"
        );
    }
    eprintln!("xtask: adding the `{triple}` standard library");
    cmd!(sh, "rustup target add {triple}")
        .run()
        .with_context(|| format!("cannot add `{triple}`; run `rustup target add {triple}`"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Target;

    #[test]
    fn parses_every_supported_triple_and_names_them_when_wrong() {
        for target in Target::ALL {
            assert_eq!(Target::parse(target.triple()).unwrap(), target);
        }
        let error = Target::parse("x86_64-unknown-linux-gnu").unwrap_err().to_string();
        assert!(error.contains("x86_64-unknown-linux-musl, aarch64-unknown-linux-musl"), "{error}");
    }
}
