//! `cargo xtask builder-image [--tag IMAGE]`: a builder image for the Dockerfile, made with no
//! registry at all. A Debian root from `debootstrap` (Debian's package mirror is the only
//! network it needs) gets this machine's Rust toolchain, laid out like the official Rust
//! image (`CARGO_HOME=/usr/local/cargo`, the toolchain under `/usr/local/rustup`), so that the
//! same Dockerfile builds with either: `cargo xtask dist --builder-image IMAGE`.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use crate::args::Args;
use crate::docker::Docker;
use crate::target::{self, Target};
use crate::{PACKAGE, project_root};

/// The Debian release of the image's root.
const SUITE: &str = "bookworm";

/// Beyond debootstrap's minimal base: the CA bundle for the Dockerfile's `CA_CERTIFICATES`,
/// and a C compiler and libc headers, because build scripts and proc macros are linked for
/// the builder's own (glibc) platform with `cc`, as in the official image.
const PACKAGES: &str = "ca-certificates,gcc,libc6-dev";

pub(crate) fn run(mut args: Args) -> anyhow::Result<ExitCode> {
    let tag = args.value("--tag")?;
    args.finish_empty()?;

    let sh = Shell::new()?;
    sh.change_dir(project_root());
    let toolchain = Toolchain::local(&sh)?;
    let tag = tag.unwrap_or_else(|| default_tag(&toolchain.release));

    let docker = Docker::connect(&sh)?;

    // Both musl standard libraries go into the image, so that it builds either architecture.
    for target in Target::ALL {
        target::ensure_installed(&sh, target)?;
    }

    // An image made from the same inputs is left as it is: making it again takes a while and
    // would leave the old one behind, untagged, taking a gigabyte.
    let description = toolchain.image_description();
    let previous = docker.inspect(&sh, &tag, "{{.Id}} {{.Comment}}").ok();
    let previous = previous.as_deref().and_then(|text| text.split_once(' '));
    if previous.is_some_and(|(_, comment)| comment == description) {
        eprintln!("xtask: builder-image: `{tag}` is up to date ({description})");
    } else {
        // The Debian root, made once and kept under target/: debootstrap takes a minute.
        let rootfs = debian_root(&sh)?;

        // One tar stream of the root and the toolchain, imported as the image's single layer.
        eprintln!("xtask: builder-image: importing the Debian root and rustc as `{tag}`");
        import(&sh, &docker, &rootfs, &toolchain, &tag)?;

        // The image this one replaces, if nothing else uses it (the removal fails otherwise).
        if let Some((id, _)) = previous {
            let client = docker.client();
            let _ =
                cmd!(sh, "{client} image rm {id}").quiet().ignore_stdout().ignore_stderr().run();
        }
    }

    // Whether the compiler runs there: its shared libraries and glibc must all be found.
    for tool in ["rustc", "cargo"] {
        let timeout = Duration::from_secs(60);
        let output = docker.run(&sh, &["--network=none"], &tag, &[tool, "--version"], timeout)?;
        let Some(output) = output else {
            bail!("`{tool} --version` did not finish within a minute in `{tag}`");
        };
        if !output.status.success() {
            bail!(
                "`{tool}` does not run in `{tag}` ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        eprintln!("{}", String::from_utf8_lossy(&output.stdout).trim());
    }
    println!("{tag}");
    Ok(ExitCode::SUCCESS)
}

/// The tag `builder-image` gives by default, for the toolchain `release` ("1.95.0").
pub(crate) fn default_tag(release: &str) -> String {
    format!("{PACKAGE}-builder:{release}")
}

/// The builder image the tasks that build images use: `--builder-image IMAGE`, else the
/// `BUILDER_IMAGE` environment variable (which `.ci/setup` sets), else none, and the
/// Dockerfile's default applies.
pub(crate) fn from_option_or_env(args: &mut Args) -> anyhow::Result<Option<String>> {
    let from_env = || std::env::var("BUILDER_IMAGE").ok().filter(|image| !image.is_empty());
    Ok(args.value("--builder-image")?.or_else(from_env))
}

/// The toolchain that builds this project on the host (rust-toolchain.toml picks it).
struct Toolchain {
    /// Its root: `bin/`, `lib/`, `lib/rustlib/<target>/`.
    sysroot: PathBuf,
    /// "1.95.0".
    release: String,
    /// "rustc 1.95.0 (59807616e 2026-04-14)", which tells apart builds of one release.
    version: String,
    /// The platform its compiler runs on, such as `x86_64-unknown-linux-gnu`.
    host: String,
}

impl Toolchain {
    fn local(sh: &Shell) -> anyhow::Result<Toolchain> {
        let sysroot = cmd!(sh, "rustc --print sysroot").quiet().read();
        let sysroot =
            sysroot.context("cannot run `rustc`; is Rust installed (https://rustup.rs)?")?;
        let verbose_version = cmd!(sh, "rustc -vV").quiet().read()?;
        let (release, host) = release_and_host(&verbose_version)?;
        let version = verbose_version.lines().next().unwrap_or_default().to_string();
        if !host.ends_with("-linux-gnu") {
            bail!(
                "the builder image is a Debian root, so it needs a `*-linux-gnu` toolchain; \
                 this one runs on `{host}`"
            );
        }
        Ok(Toolchain { sysroot: sysroot.into(), release, version, host })
    }

    /// The parts of the toolchain a build needs, as paths relative to the sysroot: cargo,
    /// rustc and its shared libraries, the standard library of the host (for build scripts
    /// and proc macros, and rust-lld) and of both musl targets. No docs, no rustdoc, no
    /// rustfmt or clippy: about 0.9 GB instead of 1.4.
    fn members(&self) -> anyhow::Result<Vec<String>> {
        let mut members = vec!["bin/cargo".to_string(), "bin/rustc".to_string()];
        let lib = self.sysroot.join("lib");
        let entries =
            fs::read_dir(&lib).with_context(|| format!("cannot read `{}`", lib.display()))?;
        for entry in entries {
            let name = entry?.file_name().to_string_lossy().into_owned();
            if name.ends_with(".so") || name.contains(".so.") {
                members.push(format!("lib/{name}"));
            }
        }
        let triples = [self.host.as_str()].into_iter().chain(Target::ALL.map(Target::triple));
        members.extend(triples.map(|triple| format!("lib/rustlib/{triple}")));

        if let Some(missing) = members.iter().find(|member| !self.sysroot.join(member).exists()) {
            bail!("the toolchain in `{}` has no `{missing}`", self.sysroot.display());
        }
        Ok(members)
    }

    /// What an image made from it holds, recorded as the image's comment.
    fn image_description(&self) -> String {
        let targets = Target::ALL.map(Target::triple).join(", ");
        format!("Debian {SUITE} ({PACKAGES}) and {} for {}, {targets}", self.version, self.host)
    }

    /// The toolchain's folder name in the image, as rustup would name it there.
    fn image_name(&self) -> String {
        format!("{}-{}", self.release, self.host)
    }
}

/// The release and host in `rustc -vV`'s output.
fn release_and_host(version: &str) -> anyhow::Result<(String, String)> {
    let field = |name: &str| {
        let value = version.lines().find_map(|line| line.strip_prefix(name)).map(str::trim);
        value.map(str::to_string).with_context(|| format!("`rustc -vV` printed no `{name}` line"))
    };
    Ok((field("release:")?, field("host:")?))
}

/// The debootstrap root under target/, made now unless an earlier run left it complete. A
/// stamp file written after debootstrap succeeds, holding what it was asked for, tells a
/// complete root from an interrupted one.
fn debian_root(sh: &Shell) -> anyhow::Result<PathBuf> {
    let cache = project_root().join("target/builder-image");
    let rootfs = cache.join(format!("debian-{SUITE}"));
    let stamp = cache.join(format!("debian-{SUITE}.done"));
    let wanted = format!("{SUITE} --variant=minbase --include={PACKAGES}\n");
    if fs::read_to_string(&stamp).is_ok_and(|done| done == wanted) && rootfs.is_dir() {
        eprintln!("xtask: builder-image: reusing {}", rootfs.display());
        return Ok(rootfs);
    }
    if cmd!(sh, "debootstrap --version").quiet().ignore_stdout().output().is_err() {
        bail!("`debootstrap` is not installed; install it with `apt-get install debootstrap`");
    }

    // A root left by an interrupted run is ours to remove, unless something is still
    // mounted inside it: removing that would reach into the mounted filesystem.
    if fs::symlink_metadata(&rootfs).is_ok() {
        let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        if let Some(mount) = mounts_under(&mountinfo, &rootfs).first() {
            bail!(
                "`{}` is still mounted inside the unfinished Debian root; unmount it \
                 (`umount {0}`) and run again",
                mount.display()
            );
        }
        fs::remove_dir_all(&rootfs)
            .with_context(|| format!("cannot remove the unfinished `{}`", rootfs.display()))?;
    }
    match fs::remove_file(&stamp) {
        Err(error) if error.kind() != ErrorKind::NotFound => {
            return Err(error).with_context(|| format!("cannot remove `{}`", stamp.display()));
        }
        _ => {}
    }

    eprintln!(
        "xtask: builder-image: making a Debian {SUITE} root with debootstrap (about a minute)"
    );
    sh.create_dir(&cache)?;
    cmd!(sh, "debootstrap --variant=minbase --include={PACKAGES} {SUITE} {rootfs}").run().context(
        "debootstrap failed (it needs root, and the network to reach Debian's package mirror); \
         its log is in the root's debootstrap/debootstrap.log",
    )?;
    sh.write_file(&stamp, wanted)?;
    Ok(rootfs)
}

/// Mount points at or under `dir`, from the text of /proc/self/mountinfo, whose fifth field
/// is the mount point (with spaces written as `\040`).
fn mounts_under(mountinfo: &str, dir: &Path) -> Vec<PathBuf> {
    mountinfo
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|point| PathBuf::from(point.replace("\\040", " ")))
        .filter(|point| point.starts_with(dir))
        .collect()
}

/// Streams the root and the toolchain as one tar archive into `docker import`. GNU tar's
/// `--transform` renames the toolchain's folder to its place in the image as it is written,
/// so nothing is copied on disk; the root's members all start with `./`, which the rename
/// cannot match.
fn import(
    sh: &Shell,
    docker: &Docker,
    rootfs: &Path,
    toolchain: &Toolchain,
    tag: &str,
) -> anyhow::Result<()> {
    let sysroot_parent = toolchain.sysroot.parent().context("the sysroot has no parent")?;
    let Some(sysroot_name) = toolchain.sysroot.file_name().and_then(|name| name.to_str()) else {
        bail!("the sysroot `{}` has no usable name", toolchain.sysroot.display());
    };
    let image_dir = format!("usr/local/rustup/toolchains/{}", toolchain.image_name());
    let rename = tar_rename(sysroot_name, &image_dir);
    let members: Vec<String> =
        toolchain.members()?.into_iter().map(|member| format!("{sysroot_name}/{member}")).collect();
    let tar = cmd!(
        sh,
        "tar --create --file=- --numeric-owner --exclude=./var/cache/apt/archives/*.deb
            --directory={rootfs} .
            --directory={sysroot_parent} --transform={rename} {members...}"
    );

    let changes = image_config(&image_dir, &toolchain.release);
    let changes = changes.iter().flat_map(|change| ["--change", change]);
    let message = toolchain.image_description();
    let client = docker.client();
    let import = cmd!(sh, "{client} import {changes...} --message {message} - {tag}");
    eprintln!("$ {tar} | {import}");

    let mut tar = Command::from(tar).stdout(Stdio::piped()).spawn().context("cannot run `tar`")?;
    let archive = tar.stdout.take().context("`tar` has no stdout")?;
    let imported = Command::from(import).stdin(archive).stdout(Stdio::null()).status();
    let tar_status = tar.wait()?;
    let imported = imported.with_context(|| format!("cannot run `{client}`"))?;
    if !tar_status.success() {
        bail!(
            "`tar` failed ({tar_status}) while streaming the builder image; see its message above"
        );
    }
    if !imported.success() {
        bail!("`{client} import` failed ({imported}); see its message above");
    }
    Ok(())
}

/// A `--transform` expression that renames the leading folder `from/` to `to/`.
fn tar_rename(from: &str, to: &str) -> String {
    let escaped: String = from
        .chars()
        .flat_map(|c| ("\\^$.*[]".contains(c).then_some('\\')).into_iter().chain([c]))
        .collect();
    // `S`: symbolic link targets keep their text.
    format!("s,^{escaped}/,{to}/,S")
}

/// The image's settings, as `docker import --change` takes them: those of the official image,
/// with the toolchain's `bin/` on PATH since there is no rustup to put proxies in
/// `$CARGO_HOME/bin`.
fn image_config(image_dir: &str, release: &str) -> Vec<String> {
    vec![
        "ENV RUSTUP_HOME=/usr/local/rustup".to_string(),
        "ENV CARGO_HOME=/usr/local/cargo".to_string(),
        format!(
            "ENV PATH=/usr/local/cargo/bin:/{image_dir}/bin:/usr/local/sbin:/usr/local/bin:\
             /usr/sbin:/usr/bin:/sbin:/bin"
        ),
        format!("ENV RUST_VERSION={release}"),
        "CMD [\"bash\"]".to_string(),
    ]
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    #[test]
    fn reads_release_and_host_from_rustc() {
        let version = "rustc 1.95.0 (59807616e 2026-04-14)\nbinary: rustc\n\
                       host: x86_64-unknown-linux-gnu\nrelease: 1.95.0\nLLVM version: 22.1\n";
        let (release, host) = release_and_host(version).unwrap();
        assert_eq!((release.as_str(), host.as_str()), ("1.95.0", "x86_64-unknown-linux-gnu"));
        let error = release_and_host("rustc 1.95.0").unwrap_err().to_string();
        assert!(error.contains("release:"), "{error}");
    }

    #[test]
    fn the_rename_matches_only_the_toolchain_folder() {
        let rename = tar_rename("1.95.0-x86_64-unknown-linux-gnu", "usr/local/rustup/toolchains/t");
        assert_eq!(
            rename,
            r"s,^1\.95\.0-x86_64-unknown-linux-gnu/,usr/local/rustup/toolchains/t/,S"
        );
    }

    #[test]
    fn finds_mounts_left_inside_a_directory() {
        let mountinfo = "\
22 1 0:21 / / rw shared:1 - overlay overlay rw
35 22 0:5 / /work/target/builder-image/debian-bookworm/proc rw - proc proc rw
36 22 0:6 / /work/target/builder-image/debian-bookworm2 rw - tmpfs tmpfs rw
37 22 0:7 / /work/my\\040dir/x rw - tmpfs tmpfs rw";
        let dir = Path::new("/work/target/builder-image/debian-bookworm");
        assert_eq!(mounts_under(mountinfo, dir), [dir.join("proc")]);
        assert_eq!(
            mounts_under(mountinfo, Path::new("/work/my dir")),
            [PathBuf::from("/work/my dir/x")]
        );
    }

    #[test]
    fn the_image_puts_the_toolchain_on_path_like_the_official_one() {
        let config =
            image_config("usr/local/rustup/toolchains/1.95.0-x86_64-unknown-linux-gnu", "1.95.0");
        assert!(config.contains(&"ENV CARGO_HOME=/usr/local/cargo".to_string()));
        let path = config.iter().find(|line| line.starts_with("ENV PATH=")).unwrap();
        assert!(
            path.starts_with(
                "ENV PATH=/usr/local/cargo/bin:/usr/local/rustup/toolchains/1.95.0-x86_64-unknown-linux-gnu/bin:"
            ),
            "{path}"
        );
        assert!(path.ends_with(":/usr/bin:/sbin:/bin"), "{path}");
    }
}
