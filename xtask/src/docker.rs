//! The container engine behind `dist` and `builder-image`: which client to call, whether it
//! can build with BuildKit, and running containers so that none outlives the task that
//! started it, however that task ends (an error, a timeout, Ctrl-C, a kill).

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use std::{env, thread};

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use crate::{PACKAGE, find_program};

/// A Docker client that reaches its daemon.
pub(crate) struct Docker {
    /// `docker`, or the program `DOCKER` names (a path, or another compatible client).
    client: String,
}

impl Docker {
    /// The client `DOCKER` names, or `docker`; fails unless it runs and reaches its daemon.
    pub(crate) fn connect(sh: &Shell) -> anyhow::Result<Docker> {
        let client = env::var("DOCKER").ok().filter(|name| !name.is_empty());
        let client = client.unwrap_or_else(|| "docker".to_string());

        // Whether the client runs at all: the usual problem on a fresh machine.
        if cmd!(sh, "{client} --version").quiet().ignore_status().output().is_err() {
            bail!(
                "cannot run the Docker client `{client}`: it is not installed or not on PATH; \
                 install Docker (https://docs.docker.com/engine/install/) or name a client in \
                 DOCKER"
            );
        }

        // Whether it reaches a daemon, which is a separate program and may not be running.
        let format = "{{.Server.Version}}";
        let server = cmd!(sh, "{client} version --format {format}").quiet().ignore_status();
        let server = server.output()?;
        if !server.status.success() {
            let stderr = String::from_utf8_lossy(&server.stderr);
            let reason = stderr.lines().map(str::trim).find(|line| !line.is_empty());
            bail!(
                "`{client}` cannot reach the Docker daemon ({}); start it (`systemctl start \
                 docker`, or `dockerd &`), or point DOCKER_HOST at a running one",
                reason.unwrap_or("no reason given").trim_end_matches('.')
            );
        }
        Ok(Docker { client })
    }

    /// The client, as given (for messages and for `docker` commands a task runs itself).
    pub(crate) fn client(&self) -> &str {
        &self.client
    }

    /// Checks that this client builds with BuildKit, which the Dockerfile's cache mounts and
    /// `--platform` cross-builds need: through the buildx plugin, or through the builder
    /// built into clients up to 20.10 when `DOCKER_BUILDKIT=1` is set.
    pub(crate) fn buildkit(&self, sh: &Shell) -> anyhow::Result<BuildKit<'_>> {
        let client = &self.client;
        let buildx = cmd!(sh, "{client} buildx version").quiet().ignore_status().output()?;
        let version = cmd!(sh, "{client} --version").quiet().read()?;
        match buildkit_route(buildx.status.success(), client_major(&version)) {
            Some(route) => Ok(BuildKit { docker: self, route }),
            None => bail!("{}", no_buildkit_error(client, &version, &builtin_clients(sh, client))),
        }
    }

    /// Runs `image` (with `args`) in a new container with `flags`, and captures what it
    /// printed; `None` if it did not exit within `timeout`. The container is removed either
    /// way.
    pub(crate) fn run(
        &self,
        sh: &Shell,
        flags: &[&str],
        image: &str,
        args: &[&str],
        timeout: Duration,
    ) -> anyhow::Result<Option<Output>> {
        let client = &self.client;
        let container = Container::reserve(self, sh)?;
        let name = &container.name;
        let run = cmd!(sh, "{client} run --rm --name {name} {flags...} {image} {args...}");
        eprintln!("$ {run}");
        let mut command = Command::from(run);
        command.stdin(Stdio::null());
        wait_with_timeout(command, timeout).with_context(|| format!("cannot run `{client}`"))
    }

    /// Copies the file at `path` inside `image` to `destination`, without running the image:
    /// it may have no shell, and may not be for this machine's architecture.
    pub(crate) fn copy_from_image(
        &self,
        sh: &Shell,
        image: &str,
        path: &str,
        destination: &Path,
    ) -> anyhow::Result<()> {
        let client = &self.client;
        let container = Container::reserve(self, sh)?;
        let name = &container.name;
        cmd!(sh, "{client} create --name {name} {image}").quiet().ignore_stdout().run()?;
        let source = format!("{name}:{path}");
        cmd!(sh, "{client} cp {source} {destination}").run().with_context(|| {
            format!("cannot copy `{path}` out of `{image}` to `{}`", destination.display())
        })?;
        Ok(())
    }

    /// A field of the image's metadata, in `docker image inspect --format` syntax.
    pub(crate) fn inspect(&self, sh: &Shell, image: &str, format: &str) -> anyhow::Result<String> {
        let client = &self.client;
        let value = cmd!(sh, "{client} image inspect --format {format} {image}")
            .quiet()
            .ignore_stderr()
            .read();
        value.with_context(|| format!("cannot inspect the image `{image}`"))
    }
}

/// A client that builds with BuildKit.
pub(crate) struct BuildKit<'a> {
    docker: &'a Docker,
    route: Route,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    /// The buildx plugin, which `docker build` calls from 23.0 on.
    Buildx,
    /// The BuildKit client inside `docker` 18.09 to 20.10, on with `DOCKER_BUILDKIT=1`.
    BuiltIn,
}

/// One `docker build` of the project's Dockerfile.
pub(crate) struct ImageBuild<'a> {
    /// The build context, which holds the Dockerfile and the `.dockerignore` allowlist.
    pub(crate) context: &'a Path,
    /// `linux/amd64` or `linux/arm64`.
    pub(crate) platform: &'a str,
    pub(crate) build_args: Vec<(&'static str, String)>,
    pub(crate) tags: Vec<String>,
    /// Where the build's output goes; on failure its end is shown.
    pub(crate) log: &'a Path,
}

impl BuildKit<'_> {
    /// Builds the image with no network in its `RUN` steps and returns the image id. The
    /// build log goes to `build.log`; when the build fails its last lines are shown on
    /// stderr.
    pub(crate) fn build_offline(&self, sh: &Shell, build: &ImageBuild) -> anyhow::Result<String> {
        let client = &self.docker.client;
        let ImageBuild { context, platform, log, .. } = *build;
        let id_file = log.with_extension("image-id");
        let build_args = build
            .build_args
            .iter()
            .flat_map(|(name, value)| ["--build-arg".to_string(), format!("{name}={value}")]);
        let tags = build.tags.iter().flat_map(|tag| ["--tag", tag]);
        // buildx leaves the image in its own cache unless told to load it into the daemon's
        // store, where `docker run` finds it; the built-in client always does.
        let load = (self.route == Route::Buildx).then_some("--load");
        let build_cmd = cmd!(
            sh,
            "{client} build --progress=plain --network=none --platform {platform}
                {build_args...} {tags...} {load...} --iidfile {id_file} {context}"
        )
        .env("DOCKER_BUILDKIT", "1");
        eprintln!("$ {build_cmd}");

        if let Some(dir) = log.parent() {
            fs::create_dir_all(dir)
                .with_context(|| format!("cannot create `{}`", dir.display()))?;
        }
        let log_file =
            File::create(log).with_context(|| format!("cannot create `{}`", log.display()))?;
        let mut command = Command::from(build_cmd);
        command.stdin(Stdio::null()).stdout(log_file.try_clone()?).stderr(log_file);
        let status = command.status().with_context(|| format!("cannot run `{client}`"))?;
        if !status.success() {
            let text = fs::read_to_string(log).unwrap_or_default();
            for line in log_tail(&text, 20) {
                eprintln!("  | {}", shorten(line, 240));
            }
            bail!(
                "cannot build the image for {platform}; the end of its log is above, all of it \
                 in `{}`{}",
                log.display(),
                build_failure_hint(&text)
            );
        }
        let id = fs::read_to_string(&id_file).with_context(|| {
            format!("`{client} build` wrote no image id to `{}`", id_file.display())
        })?;
        Ok(id.trim().to_string())
    }
}

/// A container name reserved for one `docker run` or `docker create`, and the promise that
/// the container of that name is removed. Dropping it removes the container; so does a
/// watcher process if this one dies first.
///
/// The watcher is needed because Ctrl-C sends SIGINT to the terminal's whole foreground
/// process group: xtask and the `docker` client die at once, no destructor runs, and the
/// container, which is the daemon's child and not ours, would live on. The watcher is a
/// shell in its own process group, so the signal does not reach it; it waits for a line on a
/// pipe from us and, if the pipe closes without one, because we died, removes the container.
pub(crate) struct Container<'a> {
    docker: &'a Docker,
    pub(crate) name: String,
    watcher: Option<(Child, ChildStdin)>,
}

impl<'a> Container<'a> {
    pub(crate) fn reserve(docker: &'a Docker, sh: &Shell) -> anyhow::Result<Container<'a>> {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let number = COUNT.fetch_add(1, Ordering::Relaxed);
        let name = format!("{PACKAGE}-xtask-{}-{number}", std::process::id());

        let client = &docker.client;
        let script = r#"read -r _ || exec "$0" rm --force "$1""#;
        let mut watcher = Command::from(cmd!(sh, "sh -c {script} {client} {name}"));
        std::os::unix::process::CommandExt::process_group(&mut watcher, 0);
        watcher.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::null());
        let mut watcher = watcher.spawn().context("cannot start `sh` to watch a container")?;
        let pipe = watcher.stdin.take().context("the watcher has no stdin")?;
        Ok(Container { docker, name, watcher: Some((watcher, pipe)) })
    }
}

impl Drop for Container<'_> {
    fn drop(&mut self) {
        // Usually already gone (`--rm`), in which case this only says "no such container".
        let _ = Command::new(&self.docker.client)
            .args(["rm", "--force", &self.name])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();

        // Tell the watcher we are alive and done, so that it exits without removing anything.
        if let Some((mut watcher, mut pipe)) = self.watcher.take() {
            let _ = pipe.write_all(b"done\n");
            drop(pipe);
            let _ = watcher.wait();
        }
    }
}

/// Runs `command` with its output captured; `None` if it has not exited within `timeout`,
/// in which case it is killed.
fn wait_with_timeout(mut command: Command, timeout: Duration) -> std::io::Result<Option<Output>> {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;

    // Read both pipes as the child writes, so that a full pipe cannot stall it.
    let stdout = child.stdout.take().map(read_in_background);
    let stderr = child.stderr.take().map(read_in_background);
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            child.wait()?;
            return Ok(None);
        }
        thread::sleep(Duration::from_millis(20));
    };
    let collect = |reader: Option<thread::JoinHandle<Vec<u8>>>| {
        reader.map(|reader| reader.join().unwrap_or_default()).unwrap_or_default()
    };
    Ok(Some(Output { status, stdout: collect(stdout), stderr: collect(stderr) }))
}

fn read_in_background(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

/// How the client builds with BuildKit, if it can: the buildx plugin when `docker buildx`
/// works, else the built-in builder of a client older than 23.0 (the release that made buildx
/// the only BuildKit client).
fn buildkit_route(buildx_works: bool, client_major: Option<u32>) -> Option<Route> {
    if buildx_works {
        return Some(Route::Buildx);
    }
    client_major.filter(|major| *major < 23).map(|_| Route::BuiltIn)
}

/// The major version in `docker --version` ("Docker version 20.10.24+dfsg1, build 297e128").
fn client_major(version: &str) -> Option<u32> {
    let (_, number) = version.split_once("version ")?;
    let digits: String = number.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Other `docker` programs on PATH old enough to have BuildKit built in, to suggest one.
fn builtin_clients(sh: &Shell, current: &str) -> Vec<PathBuf> {
    let mut seen: Vec<PathBuf> =
        which(current).and_then(|path| path.canonicalize().ok()).into_iter().collect();
    let mut found = Vec::new();
    let path = env::var_os("PATH").unwrap_or_default();
    for candidate in env::split_paths(&path).map(|dir| dir.join("docker")) {
        let Ok(real) = candidate.canonicalize() else { continue };
        if seen.contains(&real) {
            continue;
        }
        seen.push(real);
        let version = cmd!(sh, "{candidate} --version").quiet().ignore_status().read();
        if version.ok().as_deref().and_then(client_major).is_some_and(|major| major < 23) {
            found.push(candidate);
        }
    }
    found
}

/// Where PATH finds `program` (or `program` itself when it is a path).
fn which(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(PathBuf::from(program));
    }
    find_program(program)
}

fn no_buildkit_error(client: &str, version: &str, builtin_clients: &[PathBuf]) -> String {
    let example = match builtin_clients.first() {
        Some(path) => format!("this machine has one: `DOCKER={}`", path.display()),
        None => "for example `DOCKER=/usr/bin/docker`".to_string(),
    };
    format!(
        "`{client}` ({}) cannot build with BuildKit, which the Dockerfile needs: its buildx \
         plugin is missing; install the plugin (package `docker-buildx-plugin` or \
         `docker-buildx`), or point DOCKER at a client of 20.10 or older, whose built-in \
         BuildKit xtask turns on with DOCKER_BUILDKIT=1 ({example})",
        version.trim()
    )
}

/// The last `count` lines of a build log that say something.
fn log_tail(log: &str, count: usize) -> Vec<&str> {
    let lines: Vec<&str> = log.lines().filter(|line| !line.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(count)..].to_vec()
}

/// `line`, with its middle cut out if it is longer than `limit` characters: BuildKit echoes
/// each `RUN` command whole, which would fill the screen.
fn shorten(line: &str, limit: usize) -> String {
    let chars: Vec<char> = line.chars().collect();
    if chars.len() <= limit {
        return line.to_string();
    }
    let head: String = chars[..limit / 2].iter().collect();
    let tail: String = chars[chars.len() - limit / 2..].iter().collect();
    format!("{head} … {tail}")
}

/// A hint for the failures with a known cause, to follow the error message.
fn build_failure_hint(log: &str) -> &'static str {
    let unreachable_base = [
        "failed to resolve source metadata",
        "pull access denied",
        "failed to do request",
        "no such host",
    ];
    if unreachable_base.iter().any(|sign| log.contains(sign)) {
        return "; the builder image could not be fetched: with no registry, make one with \
                `cargo xtask builder-image` and pass it with `--builder-image`";
    }
    if log.contains("Unknown flag: mount") || log.contains("the --mount option requires BuildKit") {
        return "; this build ran without BuildKit: set DOCKER_BUILDKIT=1 or install buildx";
    }
    ""
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn reads_the_major_version_of_docker_and_compatible_clients() {
        assert_eq!(client_major("Docker version 20.10.24+dfsg1, build 297e128"), Some(20));
        assert_eq!(client_major("Docker version 28.2.2, build e6534b4\n"), Some(28));
        assert_eq!(client_major("podman version 4.3.1"), Some(4));
        assert_eq!(client_major("something else"), None);
    }

    #[test]
    fn buildkit_needs_buildx_from_23_on() {
        assert_eq!(buildkit_route(true, Some(28)), Some(Route::Buildx));
        assert_eq!(buildkit_route(true, Some(20)), Some(Route::Buildx));
        assert_eq!(buildkit_route(false, Some(20)), Some(Route::BuiltIn));
        assert_eq!(buildkit_route(false, Some(28)), None);
        assert_eq!(buildkit_route(false, None), None);
    }

    #[test]
    fn no_buildkit_error_names_the_fix_and_a_client_found_here() {
        let version = "Docker version 28.2.2, build e6534b4";
        let found = [PathBuf::from("/usr/bin/docker")];
        let message = no_buildkit_error("docker", version, &found);
        assert!(message.contains("28.2.2"), "{message}");
        assert!(message.contains("buildx plugin"), "{message}");
        assert!(message.contains("this machine has one: `DOCKER=/usr/bin/docker`"), "{message}");
        assert!(!message.contains('\n'), "{message}");
        let message = no_buildkit_error("docker", version, &[]);
        assert!(message.contains("for example `DOCKER=/usr/bin/docker`"), "{message}");
    }

    #[test]
    fn log_tail_keeps_the_last_lines_that_say_something() {
        let log = "one\n\ntwo\nthree\n   \nfour\n";
        assert_eq!(log_tail(log, 2), ["three", "four"]);
        assert_eq!(log_tail(log, 10), ["one", "two", "three", "four"]);
    }

    #[test]
    fn long_lines_lose_their_middle() {
        assert_eq!(shorten("short", 10), "short");
        assert_eq!(shorten("0123456789abcdef", 8), "0123 … cdef");
    }

    #[test]
    fn an_unreachable_registry_suggests_the_builder_image() {
        let log = "#3 ERROR: failed to do request: Head \"https://registry-1.docker.io/v2/\"";
        assert!(build_failure_hint(log).contains("cargo xtask builder-image"));
        assert_eq!(build_failure_hint("error[E0425]: cannot find value `x`"), "");
    }
}
