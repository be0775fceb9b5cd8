//! `cargo xtask dist [--target T|all] [--builder-image IMAGE]`: the release, end to end, each
//! step checked before the next. The binary is built on the host, verified to be static, and
//! run alone in an empty root; the image is built from the Dockerfile with the network off, run
//! locked down, and the binary is copied back out of it and verified too. What passed goes to
//! target/dist/, and a summary to stdout.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Output};
use std::time::{Duration, Instant};
use std::{env, fs};

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use crate::args::Args;
use crate::docker::{BuildKit, Docker, ImageBuild};
use crate::target::Target;
use crate::verify::{self, thousands};
use crate::{PACKAGE, build, builder_image, project_root, scratch};

/// What `hello` prints; anything else, even one byte, fails the run.
const EXPECTED_OUTPUT: &[u8] = b"Hello, world!\n";

/// Ample for a program that prints one line, even emulated; a hang is caught rather than
/// waited on forever.
const RUN_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the crates are vendored for the offline image build. `.dockerignore` lets this one
/// folder of target/ into the build context.
pub(crate) const VENDOR_DIR: &str = "target/vendor";

/// How the image runs in the check: as in production at its strictest. No network, a
/// read-only root, no capabilities; the user is the image's own (uid 65532).
const LOCKED_DOWN: [&str; 3] = ["--network=none", "--read-only", "--cap-drop=ALL"];

pub(crate) fn run(mut args: Args) -> anyhow::Result<ExitCode> {
    let targets = match args.value("--target")? {
        Some(all) if all == "all" => Target::ALL.to_vec(),
        Some(name) => match Target::parse(&name) {
            Ok(target) => vec![target],
            Err(error) => bail!("{error}, or `all`"),
        },
        None => vec![Target::DEFAULT],
    };
    let builder_image = builder_image::from_option_or_env(&mut args)?;
    args.finish_empty()?;

    let sh = Shell::new()?;
    let root = project_root();
    sh.change_dir(&root);
    let mut steps = Steps::default();

    // Docker and BuildKit first: without them there is no point building anything.
    let docker =
        steps.run("check the Docker client and daemon", "docker", || Docker::connect(&sh))?;
    let buildkit =
        steps.run("check that it builds with BuildKit", "buildkit", || docker.buildkit(&sh))?;

    // The crates, once for all targets: the image build has no network to fetch them.
    steps.run(&format!("vendor the crates into {VENDOR_DIR}"), "vendor", || {
        cmd!(sh, "cargo vendor --locked --quiet {VENDOR_DIR}")
            .ignore_stdout()
            .run()
            .context("cannot vendor the crates; is crates.io (or a cargo mirror) reachable?")
    })?;

    let dist = Dist { sh: &sh, root: &root, docker: &docker, buildkit: &buildkit, builder_image };
    let mut releases = Vec::new();
    for target in targets {
        releases.push(dist.release(target, &mut steps)?);
    }

    print!("{}", summary(&releases, &steps));
    Ok(ExitCode::SUCCESS)
}

/// What the steps of one target share.
struct Dist<'a> {
    sh: &'a Shell,
    root: &'a Path,
    docker: &'a Docker,
    buildkit: &'a BuildKit<'a>,
    builder_image: Option<String>,
}

/// What one target's release produced and found, for the summary.
struct Release {
    target: Target,
    binary: PathBuf,
    binary_size: u64,
    kind: String,
    sha256: String,
    tags: Vec<String>,
    image_id: String,
    image_size: u64,
    /// What the image holds besides the binary: /etc/passwd, /etc/group, metadata.
    image_extra: u64,
    user: String,
    container: Ran,
    /// `None` when the image's binary is byte-identical to the host's, else the offset of the
    /// first difference.
    difference: Option<usize>,
}

/// Whether the image was run.
enum Ran {
    Passed,
    /// This Docker cannot run the target's images (no emulator registered), which only CI
    /// treats as a failure; the reason, for the summary.
    Skipped(String),
}

impl Dist<'_> {
    fn release(&self, target: Target, steps: &mut Steps) -> anyhow::Result<Release> {
        let sh = self.sh;
        let triple = target.triple();
        let arch = triple.split('-').next().unwrap_or(triple);

        // The binary, as `cargo xtask build` makes it (adding the target's std if missing).
        let binary = steps.run(
            &format!("build {PACKAGE} for {triple}"),
            &format!("{arch} build"),
            || build::build_release(sh, target),
        )?;

        // Static, for the right machine: what a scratch image needs.
        let report = steps.run(
            &format!("verify {}", binary.display()),
            &format!("{arch} verify"),
            || verify::verify_file(&binary, Some(target)),
        )?;

        // Alone in an empty root, the way the image will run it (emulated, if not native).
        steps.run("run it alone in an empty root", &format!("{arch} empty root"), || {
            let output = scratch::run_in_empty_root(sh, &binary, target, &[])?;
            check_output(&output)
                .with_context(|| format!("`{}` in an empty root", binary.display()))
        })?;

        // The image, from the Dockerfile, with the network off.
        let tags = image_tags(target);
        let log = self.root.join("target/docker").join(format!("build-{triple}.log"));
        let mut build_args = vec![("VENDOR_DIR", VENDOR_DIR.to_string())];
        if let Some(image) = &self.builder_image {
            build_args.push(("BUILDER_IMAGE", image.clone()));
        }
        let platform = target.docker_platform();
        let build = ImageBuild {
            context: self.root,
            platform: &platform,
            build_args,
            tags: tags.clone(),
            log: &log,
        };
        let image_id =
            steps.run(&format!("build the image {}", tags[0]), &format!("{arch} image"), || {
                self.buildkit.build_offline(sh, &build)
            })?;
        let image_size: u64 = self
            .docker
            .inspect(sh, &image_id, "{{.Size}}")?
            .parse()
            .context("`docker image inspect` gave no size")?;
        let user = self.docker.inspect(sh, &image_id, "{{.Config.User}}")?;
        check_user(&user).with_context(|| format!("the image {}", tags[0]))?;

        // The image, run locked down.
        let container =
            steps.run("run the image locked down", &format!("{arch} container"), || {
                self.run_image(target, &image_id, &tags[0])
            })?;

        // The binary that shipped in the image, checked like the host's and compared with it.
        let from_image =
            self.root.join("target/docker").join(format!("{PACKAGE}-from-image-{triple}"));
        let (difference, binary_in_image) = steps.run(
            "copy the binary out of the image and verify it",
            &format!("{arch} copy out"),
            || {
                self.docker.copy_from_image(sh, &image_id, &format!("/{PACKAGE}"), &from_image)?;
                verify::verify_file(&from_image, Some(target))
                    .context("the binary inside the image")?;
                let (host_build, image_build) = (read(&binary)?, read(&from_image)?);
                Ok((first_difference(&host_build, &image_build), image_build.len() as u64))
            },
        )?;
        let image_extra = image_size.saturating_sub(binary_in_image);
        check_image_extra(image_extra).with_context(|| format!("the image {}", tags[0]))?;

        // The artifacts, for a release page or a later `docker push`.
        let (shipped, sha256) = self.write_artifacts(target, &binary, &image_id)?;

        Ok(Release {
            target,
            binary_size: read(&shipped)?.len() as u64,
            binary: shipped.strip_prefix(self.root).unwrap_or(&shipped).to_path_buf(),
            kind: report_field(&report, "kind:").unwrap_or("static executable").to_string(),
            sha256,
            tags,
            image_id,
            image_extra,
            image_size,
            user,
            container,
            difference,
        })
    }

    /// Runs the image locked down and checks what it printed. An image this machine cannot
    /// execute (no emulator registered for its architecture) is skipped, except in CI.
    fn run_image(&self, target: Target, image_id: &str, tag: &str) -> anyhow::Result<Ran> {
        let platform = target.docker_platform();
        let mut flags = LOCKED_DOWN.to_vec();
        flags.extend(["--platform", &platform]);
        let client = self.docker.client();
        let Some(output) = self.docker.run(self.sh, &flags, image_id, &[], RUN_TIMEOUT)? else {
            bail!(
                "the image {tag}: did not exit within {} s, so its container was removed; run it \
                 by hand (`{client} run --rm {tag}`) to see where it hangs",
                RUN_TIMEOUT.as_secs()
            );
        };
        if !target.is_native() && cannot_emulate(&output) {
            let reason = format!(
                "this Docker cannot run {platform} images: no emulator for them is registered with \
                 binfmt_misc (on Debian: `apt-get install qemu-user-static`, or `docker run \
                 --privileged --rm tonistiigi/binfmt --install {}`)",
                target.docker_arch()
            );
            if env::var("CI").is_ok_and(|ci| ci == "true") {
                bail!("{reason}; CI must run every image");
            }
            eprintln!("xtask: dist: not run: {reason}");
            return Ok(Ran::Skipped(reason));
        }
        check_output(&output).with_context(|| format!("the image {tag}"))?;
        Ok(Ran::Passed)
    }

    /// Writes target/dist/hello-TRIPLE, its checksum in `sha256sum --check` format and the
    /// image id; returns the binary's path there and its SHA-256.
    fn write_artifacts(
        &self,
        target: Target,
        binary: &Path,
        image_id: &str,
    ) -> anyhow::Result<(PathBuf, String)> {
        let sh = self.sh;
        let dist_dir = self.root.join("target/dist");
        let name = format!("{PACKAGE}-{}", target.triple());
        let shipped = dist_dir.join(&name);
        sh.create_dir(&dist_dir)?;
        sh.copy_file(binary, &shipped)?;
        let line = {
            let _dir = sh.push_dir(&dist_dir);
            cmd!(sh, "sha256sum {name}").quiet().read().context("cannot run `sha256sum`")?
        };
        sh.write_file(dist_dir.join(format!("{name}.sha256")), format!("{line}\n"))?;
        sh.write_file(dist_dir.join(format!("{name}.image-id")), format!("{image_id}\n"))?;
        let sha256 = line.split_whitespace().next().unwrap_or_default().to_string();
        Ok((shipped, sha256))
    }
}

/// `hello:amd64` for every target, and `hello:latest` too for the one this machine runs.
fn image_tags(target: Target) -> Vec<String> {
    let mut tags = vec![format!("{PACKAGE}:{}", target.docker_arch())];
    if target.is_native() {
        tags.push(format!("{PACKAGE}:latest"));
    }
    tags
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))
}

/// The program exited 0 and printed exactly [`EXPECTED_OUTPUT`].
pub(crate) fn check_output(output: &Output) -> anyhow::Result<()> {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stderr = stderr.trim();
    if !output.status.success() {
        let said =
            if stderr.is_empty() { String::new() } else { format!("; its stderr: {stderr}") };
        let status = match output.status.code() {
            Some(code) => format!("exited with status {code}"),
            None => format!("was killed ({})", output.status),
        };
        bail!("{status}{said}");
    }
    if output.stdout != EXPECTED_OUTPUT {
        bail!(
            "printed the wrong output: expected {:?}, got {:?}",
            String::from_utf8_lossy(EXPECTED_OUTPUT),
            String::from_utf8_lossy(&output.stdout)
        );
    }
    Ok(())
}

/// Whether a run failed only because the machine cannot execute the image's architecture:
/// the kernel refused the binary ("exec format error").
fn cannot_emulate(output: &Output) -> bool {
    !output.status.success()
        && String::from_utf8_lossy(&output.stderr).contains("exec format error")
}

/// The image's `USER` is a non-root numeric uid (a name would need /etc/passwd to be read to
/// know whether it is root, and a runtime enforcing `runAsNonRoot` rejects it).
fn check_user(user: &str) -> anyhow::Result<()> {
    let uid = user.split(':').next().unwrap_or_default();
    match uid.parse::<u32>() {
        Ok(0) => bail!("runs as root (`USER {user}`); set `USER 65532:65532` in the Dockerfile"),
        Ok(_) => Ok(()),
        Err(_) if user.is_empty() => {
            bail!("runs as root (no `USER`); set `USER 65532:65532` in the Dockerfile")
        }
        Err(_) => bail!(
            "has a `USER {user}` that is not numeric; set `USER 65532:65532` in the Dockerfile"
        ),
    }
}

/// The most an image may hold besides the binary: room for /etc/passwd, /etc/group and the
/// image's metadata, and far too little for a shell (busybox alone is over 800 KiB) or a C
/// library. `dist` builds without the CA bundle, so that is not counted.
const IMAGE_EXTRA_LIMIT: u64 = 8 * 1024;

/// Fails when the image holds more than the binary and a few small files, as it would if its
/// final stage were no longer `FROM scratch`.
fn check_image_extra(extra: u64) -> anyhow::Result<()> {
    if extra > IMAGE_EXTRA_LIMIT {
        bail!(
            "holds {} bytes besides the binary, more than the {} a scratch image with only \
             /etc/passwd and /etc/group needs; is the Dockerfile's last stage still \
             `FROM scratch`?",
            thousands(extra),
            thousands(IMAGE_EXTRA_LIMIT)
        );
    }
    Ok(())
}

/// Where two files first differ, or `None` if they are the same bytes.
pub(crate) fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(offset) => Some(offset),
        None if a.len() == b.len() => None,
        None => Some(a.len().min(b.len())),
    }
}

/// The value of a `name:` line in verify's report ("kind:  static-pie executable").
fn report_field<'a>(report: &'a str, name: &str) -> Option<&'a str> {
    report.lines().find_map(|line| line.trim_start().strip_prefix(name)).map(str::trim)
}

/// The steps run so far and how long each took.
#[derive(Default)]
struct Steps {
    done: Vec<(String, Duration)>,
}

impl Steps {
    /// Runs one step: logs `what` on stderr, and records its time under `name`.
    fn run<T>(
        &mut self,
        what: &str,
        name: &str,
        step: impl FnOnce() -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        eprintln!("xtask: dist: {what}");
        let started = Instant::now();
        let result = step();
        self.done.push((name.to_string(), started.elapsed()));
        result
    }
}

fn summary(releases: &[Release], steps: &Steps) -> String {
    let mut text = String::new();
    for release in releases {
        let Release {
            target,
            binary,
            binary_size,
            kind,
            sha256,
            tags,
            image_id,
            image_size,
            image_extra,
            user,
            container,
            difference,
        } = release;
        let short_id =
            image_id.strip_prefix("sha256:").unwrap_or(image_id).get(..12).unwrap_or(image_id);
        let _ = writeln!(text, "{}", target.triple());
        let _ = writeln!(
            text,
            "  binary     {}: {} bytes, {kind}",
            binary.display(),
            thousands(*binary_size)
        );
        let _ = writeln!(text, "             sha256 {sha256}");
        let _ = writeln!(
            text,
            "  image      {} ({short_id}): {} bytes, the binary + {} bytes",
            tags.join(", "),
            thousands(*image_size),
            thousands(*image_extra)
        );
        let ran = match container {
            Ran::Passed => format!(
                "in an empty root, and in the image as user {user} with no network, a read-only \
                 root and no capabilities: {:?}",
                String::from_utf8_lossy(EXPECTED_OUTPUT)
            ),
            Ran::Skipped(reason) => format!("in an empty root; the image was not run: {reason}"),
        };
        let _ = writeln!(text, "  ran        {ran}");
        let same = match difference {
            None => "the image's binary is byte-identical to the host build: one compiler \
                     release, one set of flags, and cargo passes workspace paths relative"
                .to_string(),
            Some(offset) => format!(
                "the image's binary differs from the host build from byte {offset} (another \
                 compiler release or other flags in the builder image?); target/dist has the \
                 host build"
            ),
        };
        let _ = writeln!(text, "  rebuilt    {same}");
    }
    let total: Duration = steps.done.iter().map(|(_, time)| *time).sum();
    let _ = writeln!(text, "time");
    for (name, time) in &steps.done {
        let _ = writeln!(text, "  {name:<20} {:>6.2} s", time.as_secs_f64());
    }
    let _ = writeln!(text, "  {:<20} {:>6.2} s", "total", total.as_secs_f64());
    text
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt;
    use std::process::{ExitStatus, Output};

    use super::*;

    fn output(code: i32, stdout: &[u8], stderr: &[u8]) -> Output {
        Output {
            status: ExitStatus::from_raw(code << 8),
            stdout: stdout.to_vec(),
            stderr: stderr.to_vec(),
        }
    }

    #[test]
    fn only_the_exact_greeting_with_exit_0_passes() {
        assert!(check_output(&output(0, b"Hello, world!\n", b"")).is_ok());

        let error = check_output(&output(0, b"Hello, world!", b"")).unwrap_err().to_string();
        assert_eq!(
            error,
            r#"printed the wrong output: expected "Hello, world!\n", got "Hello, world!""#
        );

        let error = check_output(&output(3, b"Hello, world!\n", b"hello: disk full\n"))
            .unwrap_err()
            .to_string();
        assert_eq!(error, "exited with status 3; its stderr: hello: disk full");
    }

    #[test]
    fn exec_format_error_means_no_emulator() {
        assert!(cannot_emulate(&output(1, b"", b"exec /hello: exec format error\n")));
        assert!(!cannot_emulate(&output(1, b"", b"some other failure\n")));
        assert!(!cannot_emulate(&output(0, b"exec format error", b"")));
    }

    #[test]
    fn the_image_user_must_be_a_numeric_non_root_uid() {
        assert!(check_user("65532:65532").is_ok());
        assert!(check_user("65532").is_ok());
        assert!(check_user("").unwrap_err().to_string().contains("no `USER`"));
        assert!(check_user("0:0").unwrap_err().to_string().contains("runs as root"));
        assert!(check_user("nonroot").unwrap_err().to_string().contains("not numeric"));
    }

    #[test]
    fn finds_the_first_differing_byte() {
        assert_eq!(first_difference(b"abc", b"abc"), None);
        assert_eq!(first_difference(b"abc", b"abd"), Some(2));
        assert_eq!(first_difference(b"abc", b"abcd"), Some(3));
        assert_eq!(first_difference(b"", b""), None);
    }

    #[test]
    fn tags_name_the_architecture_and_latest_only_for_this_machine() {
        for target in Target::ALL {
            let tags = image_tags(target);
            assert_eq!(tags[0], format!("{PACKAGE}:{}", target.docker_arch()));
            assert_eq!(tags.contains(&format!("{PACKAGE}:latest")), target.is_native());
        }
    }

    #[test]
    fn reads_a_field_of_the_verify_report() {
        let report =
            "target/hello\n  kind:         static-pie executable\n  machine:      x86-64\n";
        assert_eq!(report_field(report, "kind:"), Some("static-pie executable"));
        assert_eq!(report_field(report, "RELRO:"), None);
    }

    #[test]
    fn an_image_with_more_than_the_binary_and_its_user_files_fails() {
        check_image_extra(74).unwrap();
        check_image_extra(IMAGE_EXTRA_LIMIT).unwrap();
        let error = check_image_extra(1_200_000).unwrap_err().to_string();
        assert!(error.contains("holds 1,200,000 bytes besides the binary"), "{error}");
    }

    /// The Dockerfile and `.dockerignore` agree with this file and rust-toolchain.toml.
    #[test]
    fn the_dockerfile_builds_what_dist_checks() {
        let root = project_root();
        let file = |name: &str| fs::read_to_string(root.join(name)).unwrap();
        let dockerfile = file("Dockerfile");

        // Both builds use one compiler release, which is what makes them byte-identical.
        let toolchain = file("rust-toolchain.toml");
        let channel = toolchain.lines().find_map(|line| line.strip_prefix("channel = ")).unwrap();
        let channel = channel.trim_matches('"');
        assert!(dockerfile.contains(&format!("ARG BUILDER_IMAGE=rust:{channel}-alpine\n")));

        // The binary is where dist copies it from, and runs as a numeric non-root user.
        assert!(dockerfile.contains(&format!("--package {PACKAGE} ")), "{dockerfile}");
        assert!(dockerfile.contains(&format!("ENTRYPOINT [\"/{PACKAGE}\"]\n")), "{dockerfile}");
        let user = dockerfile.lines().find_map(|line| line.strip_prefix("USER ")).unwrap();
        check_user(user).unwrap();

        // The vendored crates get into the build context, past the allowlist.
        let dockerignore = file(".dockerignore");
        assert!(dockerignore.lines().any(|line| line == format!("!{VENDOR_DIR}/")));
    }
}
