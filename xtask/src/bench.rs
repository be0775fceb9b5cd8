//! `cargo xtask bench [--builder-image IMAGE]`: the figures behind what this template claims (a
//! small binary and image, fast to start, fast to rebuild, reproducible), measured on this
//! machine, each next to its alternative in the same run. Absolute times move from one run or
//! machine to the next while ratios hold, so the targets for time are ratios wherever there is
//! an alternative to compare with. One table goes to stdout and to target/bench/bench.md, the
//! same figures to target/bench/bench.json; a missed target is shown as missed.
//!
//! Nothing of the user's is changed. The other builds get their own target directories under
//! target/bench/, the one-line change is made in copies of the project there, and the images
//! built from those copies are tagged `hello-bench:ours` and `hello-bench:naive`. The exception
//! is `cargo xtask dist`, timed as it is: it does what it always does.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};
use xshell::{Cmd, Shell, cmd};

use crate::args::Args;
use crate::dist::{self, VENDOR_DIR};
use crate::docker::{BuildKit, Docker, ImageBuild};
use crate::target::Target;
use crate::template::project_files;
use crate::verify::thousands;
use crate::{PACKAGE, build, builder_image, project_root};

/// Where everything the bench builds and writes goes.
const BENCH_DIR: &str = "target/bench";

/// The targets from the issue that set them; the table says whether each was met.
const SHIPPED_SIZE_LIMIT: u64 = 375_000;
const IMAGE_OVERHEAD_LIMIT: u64 = 8 * 1024;
const STARTUP_CPU_RATIO_LIMIT: f64 = 0.5;
const WARM_DIST_LIMIT: Duration = Duration::from_secs(3);
const REBUILD_RATIO_LIMIT: f64 = 0.5;

/// Cargo's own release profile, which the workspace's `[profile.release]` changes for size, set
/// back setting by setting with `--config`. Cargo strips debug info from a profile that asks
/// for none, hence `"debuginfo"` rather than `false`. A test checks that every setting of the
/// workspace's profile is set back here.
const CARGO_DEFAULT_RELEASE: [&str; 5] = [
    "profile.release.strip=\"debuginfo\"",
    "profile.release.lto=false",
    "profile.release.codegen-units=16",
    "profile.release.panic=\"unwind\"",
    "profile.release.opt-level=3",
];

/// Startup is timed in batches of runs, the two binaries taking turns, so that whatever else
/// the machine does slows both alike. A batch is long enough (a few hundred ms of CPU) for the
/// kernel's clock ticks to measure it to a few per cent; see [`children_cpu_ticks`].
const STARTUP_BATCHES: usize = 10;
const STARTUP_BATCH_RUNS: usize = 1000;

/// Far longer than one run of a program that only starts, prints and exits.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// The kernel reports the times in /proc in units of USER_HZ, which is 100 on every
/// architecture this project builds for (it is what `getconf CLK_TCK` prints).
const USER_HZ: f64 = 100.0;

/// How many times `dist` is timed after a first run; the median counts.
const WARM_DIST_RUNS: usize = 3;

/// How many times each image is rebuilt after a one-line change, the two Dockerfiles taking
/// turns; the median counts.
const REBUILD_ROUNDS: usize = 3;

pub(crate) fn run(mut args: Args) -> anyhow::Result<ExitCode> {
    let builder_image = builder_image::from_option_or_env(&mut args)?;
    args.finish_empty()?;

    let sh = Shell::new()?;
    let root = project_root();
    sh.change_dir(&root);
    let dir = root.join(BENCH_DIR);
    sh.create_dir(&dir)?;

    // The binaries are run here, so they are built for this machine.
    let Some(target) = Target::ALL.into_iter().find(|target| target.is_native()) else {
        bail!(
            "the bench runs the binaries it measures, so it needs a machine of one of the \
             targets ({}); run it on one",
            Target::ALL.map(Target::triple).join(", ")
        );
    };

    // Docker and the builder image first, so that a missing one fails now rather than after
    // minutes of measuring.
    let docker = Docker::connect(&sh)?;
    let buildkit = docker.buildkit(&sh)?;
    if let Some(image) = &builder_image
        && docker.inspect(&sh, image, "{{.Id}}").is_err()
    {
        bail!(
            "no builder image `{image}` here; make it with \
             `cargo xtask builder-image --tag {image}`"
        );
    }

    // The measurements. Startup runs right after the builds it needs, before anything starts
    // a container, so that none of the bench's own work competes with it.
    let bench =
        Bench { sh: &sh, root: &root, dir: &dir, target, docker: &docker, buildkit, builder_image };
    let machine = bench.machine();
    let mut rows = Vec::new();
    let binaries = bench.sizes(&mut rows)?;
    bench.startup(&binaries, &mut rows)?;
    bench.clean_builds(&mut rows)?;
    bench.xtask_compile(&mut rows)?;
    bench.warm_dist(&mut rows)?;
    bench.image_rebuild(&binaries.shipped, &mut rows)?;

    // The table in the order, whatever order the measurements ran in.
    rows.sort_by_key(|row| row.section);
    let markdown = markdown(&machine, &rows);
    print!("{markdown}");
    let (md_path, json_path) = (dir.join("bench.md"), dir.join("bench.json"));
    sh.write_file(&md_path, &markdown)?;
    sh.write_file(&json_path, json(&machine, &rows))?;
    eprintln!("xtask: bench: wrote {} and {}", md_path.display(), json_path.display());
    Ok(ExitCode::SUCCESS)
}

/// What the measurements share.
struct Bench<'a> {
    sh: &'a Shell,
    root: &'a Path,
    /// target/bench
    dir: &'a Path,
    /// This machine's target.
    target: Target,
    docker: &'a Docker,
    buildkit: BuildKit<'a>,
    builder_image: Option<String>,
}

/// What the figures came from.
struct Machine {
    cpu: String,
    cores: usize,
    rustc: String,
    docker: String,
    /// `2026-12-03`, in UTC.
    date: String,
}

impl Machine {
    /// `AMD EPYC, 2 cores, rustc 1.95.0 (…), Docker 20.10.24, 2026-12-03`.
    fn describe(&self) -> String {
        let cores = format!("{} cores", self.cores);
        let parts = [self.cpu.as_str(), &cores, &self.rustc, &self.docker, &self.date];
        parts.into_iter().filter(|part| !part.is_empty()).collect::<Vec<_>>().join(", ")
    }
}

/// The builds of `hello` that startup compares.
struct Binaries {
    shipped: PathBuf,
    glibc: PathBuf,
}

impl Bench<'_> {
    /// The machine the figures came from, for the table's heading.
    fn machine(&self) -> Machine {
        let sh = self.sh;
        let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let client = self.docker.client();
        let format = "{{.Server.Version}}";
        let docker = cmd!(sh, "{client} version --format {format}").quiet().read();
        Machine {
            cpu: cpu_model(&cpuinfo).unwrap_or("unknown CPU").to_string(),
            cores: thread::available_parallelism().map_or(0, |cores| cores.get()),
            rustc: cmd!(sh, "rustc --version").quiet().read().unwrap_or_default(),
            docker: docker.map(|version| format!("Docker {version}")).unwrap_or_default(),
            date: cmd!(sh, "date -u +%Y-%m-%d").quiet().read().unwrap_or_default(),
        }
    }

    /// Size: `hello` as shipped, with cargo's default release profile, and linked dynamically
    /// to glibc (with the shipped profile, so that startup compares the linking alone).
    fn sizes(&self, rows: &mut Vec<Row>) -> anyhow::Result<Binaries> {
        eprintln!(
            "xtask: bench: size: building {PACKAGE} as shipped, with cargo's default release \
             profile, and linked to glibc"
        );
        let triple = self.target.triple();
        let glibc_triple = glibc_triple(triple);
        let shipped_binary = build::build_release(self.sh, self.target)?;
        let default_binary = self.cargo_build("default-profile", triple, &CARGO_DEFAULT_RELEASE)?;
        let glibc_binary = self.cargo_build("glibc", &glibc_triple, &[]).with_context(|| {
            format!(
                "the glibc build needs the `{glibc_triple}` standard library (`rustup target add \
                 {glibc_triple}`) and a C linker (`cc`, from `apt-get install gcc`)"
            )
        })?;
        let shipped = file_size(&shipped_binary)?;
        let default_profile = file_size(&default_binary)?;
        let glibc = file_size(&glibc_binary)?;

        rows.push(Row {
            section: Section::Size,
            key: "size.shipped",
            what: format!("`{PACKAGE}` as shipped: static, musl, the workspace's release profile"),
            value: format!("{} bytes", thousands(shipped)),
            goal: Some(Goal::at_most(
                shipped as f64,
                SHIPPED_SIZE_LIMIT as f64,
                &format!("{} bytes", thousands(SHIPPED_SIZE_LIMIT)),
            )),
            figures: vec![("bytes", Figure::Integer(shipped))],
        });
        rows.push(Row {
            section: Section::Size,
            key: "size.default_profile",
            what: format!("`{PACKAGE}` with cargo's default release profile: static, musl"),
            value: format!(
                "{} bytes; shipped is {}",
                thousands(default_profile),
                ratio_text(ratio(shipped as f64, default_profile as f64))
            ),
            goal: None,
            figures: vec![
                ("bytes", Figure::Integer(default_profile)),
                ("shipped_ratio", Figure::Float(ratio(shipped as f64, default_profile as f64))),
            ],
        });
        rows.push(Row {
            section: Section::Size,
            key: "size.glibc",
            what: format!(
                "`{PACKAGE}` linked dynamically to glibc, the workspace's release profile"
            ),
            value: format!(
                "{} bytes, plus the system's libc.so.6 and ELF interpreter at run time",
                thousands(glibc)
            ),
            goal: None,
            figures: vec![("bytes", Figure::Integer(glibc))],
        });
        Ok(Binaries { shipped: shipped_binary, glibc: glibc_binary })
    }

    /// Startup: the static binary against the glibc one, wall time and CPU time per run.
    fn startup(&self, binaries: &Binaries, rows: &mut Vec<Row>) -> anyhow::Result<()> {
        let runs = STARTUP_BATCHES * STARTUP_BATCH_RUNS;
        eprintln!(
            "xtask: bench: startup: {} runs of each binary, taking turns in batches of {}",
            thousands(runs as u64),
            thousands(STARTUP_BATCH_RUNS as u64)
        );
        let programs = [binaries.shipped.as_path(), binaries.glibc.as_path()];
        let [static_runs, dynamic_runs] = time_startup(programs)?;

        let static_wall = median(&static_runs.wall).unwrap_or(f64::NAN);
        let dynamic_wall = median(&dynamic_runs.wall).unwrap_or(f64::NAN);
        let static_cpu = median(&static_runs.cpu).unwrap_or(f64::NAN);
        let dynamic_cpu = median(&dynamic_runs.cpu).unwrap_or(f64::NAN);
        let (wall_ratio, cpu_ratio) =
            (ratio(static_wall, dynamic_wall), ratio(static_cpu, dynamic_cpu));
        rows.push(Row {
            section: Section::Startup,
            key: "startup.wall",
            what: format!(
                "startup, wall time per run: static vs glibc (median of {} runs each)",
                thousands(runs as u64)
            ),
            value: format!(
                "{} vs {}: {}",
                duration(static_wall),
                duration(dynamic_wall),
                ratio_text(wall_ratio)
            ),
            goal: None,
            figures: vec![
                ("static_seconds", Figure::Float(static_wall)),
                ("glibc_seconds", Figure::Float(dynamic_wall)),
                ("ratio", Figure::Float(wall_ratio)),
            ],
        });
        rows.push(Row {
            section: Section::Startup,
            key: "startup.cpu",
            what: format!(
                "startup, CPU time per run: static vs glibc (median of {STARTUP_BATCHES} batches \
                 of {} runs)",
                thousands(STARTUP_BATCH_RUNS as u64)
            ),
            value: format!(
                "{} vs {}: {}",
                duration(static_cpu),
                duration(dynamic_cpu),
                ratio_text(cpu_ratio)
            ),
            goal: Some(Goal::at_most(
                cpu_ratio,
                STARTUP_CPU_RATIO_LIMIT,
                &ratio_text(STARTUP_CPU_RATIO_LIMIT),
            )),
            figures: vec![
                ("static_seconds", Figure::Float(static_cpu)),
                ("glibc_seconds", Figure::Float(dynamic_cpu)),
                ("ratio", Figure::Float(cpu_ratio)),
            ],
        });
        Ok(())
    }

    /// Reproducibility: two builds, each in a new target directory, give the same bytes.
    fn clean_builds(&self, rows: &mut Vec<Row>) -> anyhow::Result<()> {
        eprintln!("xtask: bench: reproducibility: two clean builds of {PACKAGE} as shipped");
        let triple = self.target.triple();
        let mut sums = Vec::new();
        for name in ["clean-1", "clean-2"] {
            remove_dir(&self.dir.join(name))?;
            let binary = self.cargo_build(name, triple, &[])?;
            sums.push(sha256(self.sh, &binary)?);
        }
        let same = sums[0] == sums[1];
        let value = if same {
            format!("identical: sha256 {}", &sums[0])
        } else {
            format!("different: sha256 {} and {}", sums[0], sums[1])
        };
        rows.push(Row {
            section: Section::Reproducibility,
            key: "reproducibility.clean_builds",
            what: "two clean builds, each in a new target directory".to_string(),
            value,
            goal: Some(Goal { text: "identical".to_string(), met: same }),
            figures: vec![
                ("first_sha256", Figure::Text(sums[0].clone())),
                ("second_sha256", Figure::Text(sums[1].clone())),
                ("identical", Figure::Bool(same)),
            ],
        });
        Ok(())
    }

    /// xtask compiled from nothing (the crates already downloaded), in the dev profile that
    /// `cargo xtask` uses: what a fresh clone or CI machine waits for before the first task.
    fn xtask_compile(&self, rows: &mut Vec<Row>) -> anyhow::Result<()> {
        eprintln!("xtask: bench: compile: xtask from a new target directory");
        let sh = self.sh;
        let target_dir = self.dir.join("xtask-cold");
        remove_dir(&target_dir)?;
        let log = self.dir.join("xtask-cold.log");
        let build = cmd!(
            sh,
            "cargo build --locked --package xtask --target host-tuple --target-dir {target_dir}"
        );
        let time = run_logged(build, &log)?;
        let compiled = fs::read_to_string(&log).unwrap_or_default();
        let crates =
            compiled.lines().filter(|line| line.trim_start().starts_with("Compiling ")).count();
        rows.push(Row {
            section: Section::Compile,
            key: "compile.xtask_cold",
            what: "xtask compiled from nothing, as `cargo xtask` does on a fresh clone".to_string(),
            value: format!(
                "{} for {crates} crates: xtask and {} dependencies",
                duration(time.as_secs_f64()),
                crates.saturating_sub(1)
            ),
            goal: None,
            figures: vec![
                ("seconds", Figure::Float(time.as_secs_f64())),
                ("crates", Figure::Integer(crates as u64)),
            ],
        });
        Ok(())
    }

    /// `cargo xtask dist` run once, then [`WARM_DIST_RUNS`] more times with nothing changed.
    fn warm_dist(&self, rows: &mut Vec<Row>) -> anyhow::Result<()> {
        eprintln!(
            "xtask: bench: rebuild: `cargo xtask dist` once, then {WARM_DIST_RUNS} times timed"
        );
        let sh = self.sh;
        let builder: Vec<&str> =
            self.builder_image.iter().flat_map(|image| ["--builder-image", image]).collect();
        let builder = builder.as_slice();
        let mut times = Vec::new();
        for run in 0..=WARM_DIST_RUNS {
            let log = self.dir.join(format!("dist-{run}.log"));
            times.push(run_logged(cmd!(sh, "cargo xtask dist {builder...}"), &log)?.as_secs_f64());
        }
        let first = times.remove(0);
        let warm = median(&times).unwrap_or(f64::NAN);
        rows.push(Row {
            section: Section::Rebuild,
            key: "rebuild.warm_dist",
            what: format!(
                "`cargo xtask dist` with nothing changed since the last one (median of \
                 {WARM_DIST_RUNS})"
            ),
            value: format!("{} (the first run: {})", duration(warm), duration(first)),
            goal: Some(Goal::at_most(
                warm,
                WARM_DIST_LIMIT.as_secs_f64(),
                &duration(WARM_DIST_LIMIT.as_secs_f64()),
            )),
            figures: vec![
                ("seconds", Figure::Float(warm)),
                ("first_seconds", Figure::Float(first)),
            ],
        });
        Ok(())
    }

    /// The image rebuilt after a one-line change to the program, with the project's Dockerfile
    /// and with the naive one, each in its own copy of the project; and, from the project's
    /// image, its size and whether its binary is the host's.
    fn image_rebuild(&self, shipped: &Path, rows: &mut Vec<Row>) -> anyhow::Result<()> {
        eprintln!(
            "xtask: bench: rebuild: the image after a one-line change, {REBUILD_ROUNDS} times \
             each with the project's Dockerfile and a naive one"
        );
        let sh = self.sh;
        let naive = self.root.join("xtask/bench/naive.Dockerfile");
        let variants = [
            Variant { name: "ours", dockerfile: self.root.join("Dockerfile") },
            Variant { name: "naive", dockerfile: naive },
        ];

        // The copies, one for each Dockerfile, since each build changes its copy's source.
        let files = project_files(sh, self.root)?;
        for variant in &variants {
            self.copy_project(&files, variant)?;
        }

        // Each built once as it is, so that what is timed next is a rebuild.
        let mut first_ids = Vec::new();
        for variant in &variants {
            first_ids.push(self.build_image(variant)?);
        }

        // The image's size, and its binary against the host's.
        self.image_rows(&first_ids[0], shipped, rows)?;

        // The one-line change, a new one each round so that no earlier build is in the cache.
        let main_rs = Path::new(PACKAGE).join("src/main.rs");
        let original = fs::read_to_string(self.root.join(&main_rs))
            .with_context(|| format!("cannot read `{}`", main_rs.display()))?;
        let nonce =
            SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_nanos();
        let mut rebuild_times = [Vec::new(), Vec::new()];
        for round in 0..REBUILD_ROUNDS {
            for (variant, variant_times) in variants.iter().zip(&mut rebuild_times) {
                let changed = one_line_change(&original, &format!("{nonce}-{round}"));
                let path = self.dir.join(variant.name).join(&main_rs);
                fs::write(&path, changed)
                    .with_context(|| format!("cannot write `{}`", path.display()))?;
                let started = Instant::now();
                self.build_image(variant)?;
                variant_times.push(started.elapsed().as_secs_f64());
            }
        }

        // With no dependencies there is nothing for the cache mounts to keep, which the table
        // says next to the figures.
        let ours = median(&rebuild_times[0]).unwrap_or(f64::NAN);
        let naive = median(&rebuild_times[1]).unwrap_or(f64::NAN);
        let rebuild_ratio = ratio(ours, naive);
        let mut value =
            format!("{} vs {}: {}", duration(ours), duration(naive), ratio_text(rebuild_ratio));
        if !self.has_dependencies()? {
            let _ = write!(
                value,
                "; `{PACKAGE}` has no dependencies, so the cache mounts have nothing to keep \
                 and both compile `{PACKAGE}` alone"
            );
        }
        rows.push(Row {
            section: Section::Rebuild,
            key: "rebuild.image",
            what: format!(
                "image rebuild after a one-line change to `{}`: ours (cache mounts) vs a naive \
                 single-`RUN` Dockerfile (median of {REBUILD_ROUNDS})",
                main_rs.display()
            ),
            value,
            goal: Some(Goal::at_most(
                rebuild_ratio,
                REBUILD_RATIO_LIMIT,
                &ratio_text(REBUILD_RATIO_LIMIT),
            )),
            figures: vec![
                ("ours_seconds", Figure::Float(ours)),
                ("naive_seconds", Figure::Float(naive)),
                ("ratio", Figure::Float(rebuild_ratio)),
            ],
        });
        Ok(())
    }

    /// A copy of the project's `files`, and of the crates `dist` vendored (the image builds have
    /// no network), with the variant's Dockerfile.
    fn copy_project(&self, files: &[PathBuf], variant: &Variant) -> anyhow::Result<()> {
        let sh = self.sh;
        let copy = self.dir.join(variant.name);
        remove_dir(&copy)?;
        for file in files {
            let destination = copy.join(file);
            if let Some(parent) = destination.parent() {
                sh.create_dir(parent)?;
            }
            fs::copy(self.root.join(file), &destination).with_context(|| {
                format!("cannot copy `{}` to `{}`", file.display(), copy.display())
            })?;
        }
        let vendor = self.root.join(VENDOR_DIR);
        let vendor_copy = copy.join(VENDOR_DIR);
        sh.create_dir(copy.join("target"))?;
        cmd!(sh, "cp -R {vendor} {vendor_copy}")
            .run()
            .with_context(|| format!("cannot copy the vendored crates to `{}`", copy.display()))?;
        sh.copy_file(&variant.dockerfile, copy.join("Dockerfile"))?;
        Ok(())
    }

    /// Whether the program depends on any crate, which is what the cache mounts keep compiled.
    fn has_dependencies(&self) -> anyhow::Result<bool> {
        let sh = self.sh;
        let triple = self.target.triple();
        let tree = cmd!(
            sh,
            "cargo tree --locked --package {PACKAGE} --target {triple} --edges normal,build
                --depth 1 --prefix none"
        )
        .quiet()
        .read()
        .with_context(|| format!("cannot list the dependencies of `{PACKAGE}`"))?;
        // The first line is the package itself.
        Ok(tree.lines().filter(|line| !line.trim().is_empty()).count() > 1)
    }

    fn build_image(&self, variant: &Variant) -> anyhow::Result<String> {
        let context = self.dir.join(variant.name);
        let platform = self.target.docker_platform();
        let mut build_args = vec![("VENDOR_DIR", VENDOR_DIR.to_string())];
        if let Some(image) = &self.builder_image {
            build_args.push(("BUILDER_IMAGE", image.clone()));
        }
        if variant.name == "naive" {
            build_args.push(("TARGET", self.target.triple().to_string()));
        }
        let log = self.dir.join(format!("image-{}.log", variant.name));
        let build = ImageBuild {
            context: &context,
            platform: &platform,
            build_args,
            tags: vec![format!("{PACKAGE}-bench:{}", variant.name)],
            log: &log,
        };
        self.buildkit.build_offline(self.sh, &build)
    }

    /// The image's size over its binary's, and its binary against the host build.
    fn image_rows(&self, image: &str, shipped: &Path, rows: &mut Vec<Row>) -> anyhow::Result<()> {
        let sh = self.sh;
        let image_size: u64 = self
            .docker
            .inspect(sh, image, "{{.Size}}")?
            .parse()
            .context("`docker image inspect` gave no size")?;
        let from_image = self.dir.join(format!("{PACKAGE}-from-image"));
        self.docker.copy_from_image(sh, image, &format!("/{PACKAGE}"), &from_image)?;
        let (host_build, image_build) = (read(shipped)?, read(&from_image)?);
        let binary = image_build.len() as u64;
        let overhead = image_size.saturating_sub(binary);
        rows.push(Row {
            section: Section::Size,
            key: "size.image",
            what: format!(
                "the image `{PACKAGE}-bench:ours` over the binary in it, without the CA bundle"
            ),
            value: format!(
                "{} bytes: the binary + {} bytes",
                thousands(image_size),
                thousands(overhead)
            ),
            goal: Some(Goal::at_most(
                overhead as f64,
                IMAGE_OVERHEAD_LIMIT as f64,
                &format!("binary + {} bytes", thousands(IMAGE_OVERHEAD_LIMIT)),
            )),
            figures: vec![
                ("image_bytes", Figure::Integer(image_size)),
                ("binary_bytes", Figure::Integer(binary)),
                ("overhead_bytes", Figure::Integer(overhead)),
            ],
        });

        let difference = dist::first_difference(&host_build, &image_build);
        let value = match difference {
            None => "identical: one compiler release and one set of flags, and cargo passes \
                     workspace paths relative, so building in /src leaves no trace"
                .to_string(),
            Some(offset) => format!(
                "different from byte {}: {}",
                thousands(offset as u64),
                why_different(&host_build, &image_build, self.root)
            ),
        };
        rows.push(Row {
            section: Section::Reproducibility,
            key: "reproducibility.image_vs_host",
            what: format!("`{PACKAGE}` in the image vs the host build"),
            value,
            goal: None,
            figures: vec![("identical", Figure::Bool(difference.is_none()))],
        });
        Ok(())
    }

    /// Builds `hello` in the release profile, changed by `config` settings, into its own target
    /// directory under target/bench/, and returns the binary's path.
    fn cargo_build(&self, name: &str, triple: &str, config: &[&str]) -> anyhow::Result<PathBuf> {
        let sh = self.sh;
        let target_dir = self.dir.join(name);
        let config = config.iter().flat_map(|setting| ["--config", setting]);
        cmd!(
            sh,
            "cargo build --release --locked --package {PACKAGE} --target {triple}
                --target-dir {target_dir} {config...}"
        )
        .run()
        .with_context(|| {
            format!("cannot build `{PACKAGE}` for `{triple}` in `{}`", target_dir.display())
        })?;
        Ok(target_dir.join(triple).join("release").join(PACKAGE))
    }
}

/// A Dockerfile the image is rebuilt with, and the name of its copy of the project.
struct Variant {
    name: &'static str,
    dockerfile: PathBuf,
}

/// The wall and CPU times of one program's runs, in seconds.
struct Runs {
    /// Each run's.
    wall: Vec<f64>,
    /// Each batch's, per run.
    cpu: Vec<f64>,
}

/// Runs each program many times, in alternating batches, and times every run.
///
/// Wall time is taken around each run, from the spawn to the end of the wait. CPU time needs
/// `getrusage` or `wait4`, which std does not offer and xtask takes no libc dependency for.
/// The kernel keeps the count anyway: when a parent waits for a child, the child's user and
/// system time are added to the parent's `cutime` and `cstime` in /proc/self/stat. Read before
/// and after a batch, they give the CPU time of the batch's runs (and of nothing else: no
/// other child is waited for meanwhile). They count in clock ticks of 10 ms, far coarser than
/// one run, hence batches of many runs, and the median per-run figure over the batches.
fn time_startup<const N: usize>(programs: [&Path; N]) -> anyhow::Result<[Runs; N]> {
    let run = |program: &Path| {
        Command::new(program)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .with_context(|| format!("cannot run `{}`", program.display()))
    };

    // Each program exits at once and works, before it is timed; then a few runs to warm the
    // page cache.
    for program in programs {
        exits_within(program, STARTUP_TIMEOUT)?;
        let output = Command::new(program)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("cannot run `{}`", program.display()))?;
        dist::check_output(&output).with_context(|| format!("`{}`", program.display()))?;
        for _ in 0..20 {
            run(program)?;
        }
    }

    let mut all = programs.map(|_| Runs { wall: Vec::new(), cpu: Vec::new() });
    for _ in 0..STARTUP_BATCHES {
        for (program, runs) in programs.iter().zip(&mut all) {
            let before = read_children_cpu_ticks()?;
            for _ in 0..STARTUP_BATCH_RUNS {
                let started = Instant::now();
                let status = run(program)?;
                runs.wall.push(started.elapsed().as_secs_f64());
                if !status.success() {
                    bail!("`{}` failed while being timed ({status})", program.display());
                }
            }
            let ticks = read_children_cpu_ticks()?.saturating_sub(before);
            runs.cpu.push(ticks as f64 / USER_HZ / STARTUP_BATCH_RUNS as f64);
        }
    }
    Ok(all)
}

/// Fails unless `program` exits within `timeout`: one that runs on (a server, say) would hang
/// the bench, which times thousands of runs.
fn exits_within(program: &Path, timeout: Duration) -> anyhow::Result<()> {
    let mut child = Command::new(program)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot run `{}`", program.display()))?;
    let deadline = Instant::now() + timeout;
    while child.try_wait()?.is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "`{}` did not exit within {} s; the startup bench times a program that exits \
                 as soon as it has started, as `{PACKAGE}` does",
                program.display(),
                timeout.as_secs()
            );
        }
        thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

fn read_children_cpu_ticks() -> anyhow::Result<u64> {
    let stat = fs::read_to_string("/proc/self/stat").context("cannot read /proc/self/stat")?;
    children_cpu_ticks(&stat).context("/proc/self/stat has no `cutime` and `cstime` fields")
}

/// The user and system time of the waited-for children, `cutime` + `cstime`: fields 16 and 17
/// of /proc/PID/stat. Field 2, the command name, is in parentheses and may hold spaces and
/// parentheses itself, so the fields are counted from after its last `)`, where field 3 is.
fn children_cpu_ticks(stat: &str) -> Option<u64> {
    let (_, after_name) = stat.rsplit_once(')')?;
    let mut fields = after_name.split_whitespace().skip(16 - 3);
    let cutime: u64 = fields.next()?.parse().ok()?;
    let cstime: u64 = fields.next()?.parse().ok()?;
    Some(cutime + cstime)
}

/// Runs `command` with its output in `log`, and returns how long it took. When it fails, the
/// end of the log is shown.
fn run_logged(command: Cmd, log: &Path) -> anyhow::Result<Duration> {
    let shown = command.to_string();
    eprintln!("$ {shown}");
    let file = File::create(log).with_context(|| format!("cannot create `{}`", log.display()))?;
    let mut command = Command::from(command);
    command.stdin(Stdio::null()).stdout(file.try_clone()?).stderr(file);
    let started = Instant::now();
    let status = command.status().with_context(|| format!("cannot run `{shown}`"))?;
    let time = started.elapsed();
    if !status.success() {
        let text = fs::read_to_string(log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        for line in &lines[lines.len().saturating_sub(15)..] {
            eprintln!("  | {line}");
        }
        bail!(
            "`{shown}` failed ({status}); the end of its output is above, all of it in `{}`",
            log.display()
        );
    }
    Ok(time)
}

fn sha256(sh: &Shell, path: &Path) -> anyhow::Result<String> {
    let line = cmd!(sh, "sha256sum {path}").quiet().read().context("cannot run `sha256sum`")?;
    let sum = line.split_whitespace().next().unwrap_or_default();
    Ok(sum.to_string())
}

fn file_size(path: &Path) -> anyhow::Result<u64> {
    let metadata =
        fs::metadata(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    Ok(metadata.len())
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))
}

/// Removes a directory the bench made earlier, if it is there.
fn remove_dir(path: &Path) -> anyhow::Result<()> {
    match fs::remove_dir_all(path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            Err(error).with_context(|| format!("cannot remove `{}`", path.display()))
        }
        _ => Ok(()),
    }
}

/// `x86_64-unknown-linux-gnu` for `x86_64-unknown-linux-musl`.
fn glibc_triple(musl_triple: &str) -> String {
    let arch = musl_triple.split('-').next().unwrap_or(musl_triple);
    format!("{arch}-unknown-linux-gnu")
}

/// The program's source with one line added at its end, a comment marked `mark`: it changes
/// nothing the compiler makes, but it is a new file to Docker and to cargo.
fn one_line_change(source: &str, mark: &str) -> String {
    let mut changed = source.to_string();
    if !changed.is_empty() && !changed.ends_with('\n') {
        changed.push('\n');
    }
    let _ = writeln!(changed, "// cargo xtask bench: a one-line change ({mark})");
    changed
}

/// Why the image's binary may differ from the host's: the one cause that leaves a trace in the
/// files is a build path written into them.
fn why_different(host: &[u8], image: &[u8], root: &Path) -> String {
    let root = root.to_string_lossy();
    let contains = |haystack: &[u8], needle: &[u8]| {
        !needle.is_empty() && haystack.windows(needle.len()).any(|window| window == needle)
    };
    if contains(host, root.as_bytes()) || contains(image, b"/src/") {
        return format!(
            "a build path is written into the binary (`{root}` on the host, /src in the image)"
        );
    }
    "another compiler release or other flags in the builder image?".to_string()
}

/// The model name in /proc/cpuinfo (x86 has one; arm64 does not).
fn cpu_model(cpuinfo: &str) -> Option<&str> {
    cpuinfo.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        (name.trim() == "model name").then(|| value.trim())
    })
}

/// The median, or `None` for no values. NaN values (failed ratios) sort last.
fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        len if len % 2 == 1 => Some(sorted[middle]),
        _ => Some((sorted[middle - 1] + sorted[middle]) / 2.0),
    }
}

/// `part / whole`, NaN when there is no whole to divide by.
fn ratio(part: f64, whole: f64) -> f64 {
    if whole > 0.0 { part / whole } else { f64::NAN }
}

/// `0.34×`; `n/a` for a ratio that could not be taken.
fn ratio_text(ratio: f64) -> String {
    if ratio.is_finite() { format!("{ratio:.2}×") } else { "n/a".to_string() }
}

/// A time in seconds, in the unit that reads best: `412 µs`, `1.23 ms`, `2.41 s`.
fn duration(seconds: f64) -> String {
    match seconds {
        s if !s.is_finite() => "n/a".to_string(),
        s if s < 1e-3 => format!("{:.0} µs", s * 1e6),
        s if s < 1.0 => format!("{:.2} ms", s * 1e3),
        s => format!("{s:.2} s"),
    }
}

/// The parts of the table, in the order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Section {
    Size,
    Startup,
    Rebuild,
    Reproducibility,
    Compile,
}

impl Section {
    fn title(self) -> &'static str {
        match self {
            Section::Size => "Size",
            Section::Startup => "Startup",
            Section::Rebuild => "Rebuild",
            Section::Reproducibility => "Reproducibility",
            Section::Compile => "Compile time",
        }
    }
}

/// One line of the table.
struct Row {
    section: Section,
    /// A name for scripts reading bench.json, such as `size.shipped`.
    key: &'static str,
    what: String,
    /// What was measured, for a person.
    value: String,
    goal: Option<Goal>,
    /// What was measured, for a script: seconds, bytes, ratios.
    figures: Vec<(&'static str, Figure)>,
}

/// A target from the issue, and whether the measured value met it.
struct Goal {
    text: String,
    met: bool,
}

impl Goal {
    /// `value ≤ limit`; a value that could not be measured (NaN) misses.
    fn at_most(value: f64, limit: f64, limit_text: &str) -> Goal {
        Goal { text: format!("≤ {limit_text}"), met: value <= limit }
    }
}

enum Figure {
    Integer(u64),
    Float(f64),
    Text(String),
    Bool(bool),
}

fn markdown(machine: &Machine, rows: &[Row]) -> String {
    let mut text = String::new();
    let _ = writeln!(text, "`cargo xtask bench` on {}.", machine.describe());
    let _ = writeln!(
        text,
        "Times are medians; they vary from run to run and machine to machine, the ratios \
         much less.\n"
    );
    let _ = writeln!(text, "| What | Measured | Target | |");
    let _ = writeln!(text, "|---|---|---|---|");
    let mut section = None;
    for row in rows {
        if section != Some(row.section) {
            section = Some(row.section);
            let _ = writeln!(text, "| **{}** | | | |", row.section.title());
        }
        let (target, verdict) = match &row.goal {
            Some(goal) => (goal.text.as_str(), if goal.met { "met" } else { "**missed**" }),
            None => ("—", ""),
        };
        let _ = writeln!(
            text,
            "| {} | {} | {} | {verdict} |",
            table_cell(&row.what),
            table_cell(&row.value),
            table_cell(target)
        );
    }
    text
}

/// A Markdown table cell: a `|` would end it.
fn table_cell(text: &str) -> String {
    text.replace('|', "\\|")
}

fn json(machine: &Machine, rows: &[Row]) -> String {
    let Machine { cpu, cores, rustc, docker, date } = machine;
    let mut text = String::from("{\n");
    let _ = writeln!(
        text,
        "  \"machine\": {{\"cpu\": {}, \"cores\": {cores}, \"rustc\": {}, \"docker\": {}, \
         \"date\": {}}},",
        json_string(cpu),
        json_string(rustc),
        json_string(docker),
        json_string(date)
    );
    text.push_str("  \"results\": [");
    for (index, row) in rows.iter().enumerate() {
        let (target, met) = match &row.goal {
            Some(goal) => (json_string(&goal.text), goal.met.to_string()),
            None => ("null".to_string(), "null".to_string()),
        };
        let figures: Vec<String> = row
            .figures
            .iter()
            .map(|(name, figure)| format!("{}: {}", json_string(name), json_figure(figure)))
            .collect();
        let comma = if index + 1 < rows.len() { "," } else { "" };
        let _ = write!(
            text,
            "\n    {{\"key\": {}, \"what\": {}, \"value\": {}, \"target\": {target}, \
             \"met\": {met}, \"figures\": {{{}}}}}{comma}",
            json_string(row.key),
            json_string(&row.what),
            json_string(&row.value),
            figures.join(", ")
        );
    }
    text.push_str("\n  ]\n}\n");
    text
}

fn json_figure(figure: &Figure) -> String {
    match figure {
        Figure::Integer(number) => number.to_string(),
        // Microseconds and thousandths are all the measurements can tell apart.
        Figure::Float(number) if number.is_finite() => ((number * 1e6).round() / 1e6).to_string(),
        Figure::Float(_) => "null".to_string(),
        Figure::Text(text) => json_string(text),
        Figure::Bool(value) => value.to_string(),
    }
}

/// `text` as a JSON string: quoted, with quotes, backslashes and control characters escaped.
fn json_string(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            c if c < ' ' => {
                let _ = write!(quoted, "\\u{:04x}", c as u32);
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    #[test]
    fn the_median_of_odd_and_even_counts() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0]), Some(3.0));
        assert_eq!(median(&[5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        // A failed figure sorts last instead of poisoning the order.
        assert_eq!(median(&[f64::NAN, 1.0, 2.0]), Some(2.0));
    }

    #[test]
    fn a_ratio_needs_something_to_divide_by() {
        assert_eq!(ratio(1.0, 4.0), 0.25);
        assert!(ratio(1.0, 0.0).is_nan());
        assert_eq!(ratio_text(0.1875), "0.19×");
        assert_eq!(ratio_text(f64::NAN), "n/a");
    }

    #[test]
    fn a_target_is_missed_when_over_or_unmeasured() {
        assert!(Goal::at_most(0.5, 0.5, "0.50×").met);
        assert!(!Goal::at_most(0.51, 0.5, "0.50×").met);
        assert!(!Goal::at_most(f64::NAN, 0.5, "0.50×").met);
        assert_eq!(Goal::at_most(1.0, 2.0, "2 s").text, "≤ 2 s");
    }

    #[test]
    fn durations_read_in_the_unit_that_fits() {
        assert_eq!(duration(0.000_294), "294 µs");
        assert_eq!(duration(0.001_312), "1.31 ms");
        assert_eq!(duration(4.558), "4.56 s");
        assert_eq!(duration(f64::NAN), "n/a");
    }

    #[test]
    fn reads_the_childrens_cpu_time_after_the_command_name() {
        // A line as /proc/self/stat has it, with a command name holding `) ` to mislead a
        // parser that splits on spaces; cutime is 12 and cstime 5.
        let stat = "4242 (a) b c) S 1 4242 4242 0 -1 4194560 2411 61 0 0 7 3 12 5 20 0 1 0 \
                    8561 12345678 1234 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 \
                    0 0";
        assert_eq!(children_cpu_ticks(stat), Some(17));
        assert_eq!(children_cpu_ticks("4242 (short) S 1 2 3"), None);
        assert_eq!(children_cpu_ticks("no name here"), None);
    }

    #[test]
    fn this_process_has_a_readable_stat() {
        assert!(read_children_cpu_ticks().is_ok());
    }

    #[test]
    fn a_program_that_runs_on_is_stopped_and_named() {
        assert!(exits_within(Path::new("true"), Duration::from_secs(10)).is_ok());
        let started = Instant::now();
        let error = exits_within(Path::new("yes"), Duration::from_millis(200)).unwrap_err();
        assert!(error.to_string().starts_with("`yes` did not exit within"), "{error}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn the_change_is_one_new_line() {
        let changed = one_line_change("fn main() {}\n", "7");
        assert_eq!(changed, "fn main() {}\n// cargo xtask bench: a one-line change (7)\n");
        let changed = one_line_change("fn main() {}", "7");
        assert_eq!(changed.lines().count(), 2);
        assert_ne!(one_line_change("x\n", "1"), one_line_change("x\n", "2"));
    }

    #[test]
    fn the_glibc_twin_of_a_musl_target() {
        assert_eq!(glibc_triple("x86_64-unknown-linux-musl"), "x86_64-unknown-linux-gnu");
        assert_eq!(glibc_triple("aarch64-unknown-linux-musl"), "aarch64-unknown-linux-gnu");
    }

    #[test]
    fn reads_the_cpu_model() {
        let cpuinfo = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n";
        assert_eq!(cpu_model(cpuinfo), Some("AMD EPYC 7B13"));
        assert_eq!(cpu_model("processor\t: 0\nBogoMIPS\t: 50.00\n"), None);
    }

    #[test]
    fn a_difference_is_put_down_to_a_build_path_only_when_one_is_there() {
        let root = Path::new("/home/me/project");
        let host = b"\x7fELF.../home/me/project/hello/src/main.rs...";
        assert!(why_different(host, b"\x7fELF...", root).contains("build path"));
        assert!(why_different(b"\x7fELF", b"\x7fELF/src/hello", root).contains("build path"));
        assert!(why_different(b"\x7fELF1", b"\x7fELF2", root).contains("compiler release"));
    }

    fn rows() -> Vec<Row> {
        vec![
            Row {
                section: Section::Size,
                key: "size.shipped",
                what: "`hello` as shipped".to_string(),
                value: "373,048 bytes".to_string(),
                goal: Some(Goal::at_most(373_048.0, 375_000.0, "375,000 bytes")),
                figures: vec![("bytes", Figure::Integer(373_048))],
            },
            Row {
                section: Section::Rebuild,
                key: "rebuild.image",
                what: "a | in a cell".to_string(),
                value: "7.37 s vs 7.27 s: 1.01×".to_string(),
                goal: Some(Goal::at_most(1.01, 0.5, "0.50×")),
                figures: vec![
                    ("ratio", Figure::Float(1.014_147_3)),
                    ("x", Figure::Float(f64::NAN)),
                ],
            },
            Row {
                section: Section::Reproducibility,
                key: "reproducibility.image_vs_host",
                what: "in the image vs the host".to_string(),
                value: "identical".to_string(),
                goal: None,
                figures: vec![
                    ("identical", Figure::Bool(true)),
                    ("sha", Figure::Text("ab".into())),
                ],
            },
        ]
    }

    fn machine() -> Machine {
        Machine {
            cpu: "AMD EPYC".to_string(),
            cores: 2,
            rustc: "rustc 1.95.0".to_string(),
            docker: String::new(),
            date: "2026-12-03".to_string(),
        }
    }

    #[test]
    fn the_table_has_a_heading_per_section_and_says_what_was_missed() {
        let table = markdown(&machine(), &rows());
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "`cargo xtask bench` on AMD EPYC, 2 cores, rustc 1.95.0, 2026-12-03.");
        let table_start = lines.iter().position(|line| line.starts_with("| What")).unwrap();
        assert_eq!(
            lines[table_start..],
            [
                "| What | Measured | Target | |",
                "|---|---|---|---|",
                "| **Size** | | | |",
                "| `hello` as shipped | 373,048 bytes | ≤ 375,000 bytes | met |",
                "| **Rebuild** | | | |",
                "| a \\| in a cell | 7.37 s vs 7.27 s: 1.01× | ≤ 0.50× | **missed** |",
                "| **Reproducibility** | | | |",
                "| in the image vs the host | identical | — |  |",
            ]
        );
    }

    #[test]
    fn the_json_has_every_figure_typed() {
        let json = json(&machine(), &rows());
        assert!(
            json.starts_with("{\n  \"machine\": {\"cpu\": \"AMD EPYC\", \"cores\": 2, "),
            "{json}"
        );
        assert!(json.contains(
            "{\"key\": \"size.shipped\", \"what\": \"`hello` as shipped\", \"value\": \"373,048 \
             bytes\", \"target\": \"≤ 375,000 bytes\", \"met\": true, \"figures\": {\"bytes\": \
             373048}},\n"
        ), "{json}");
        assert!(json.contains("\"met\": false, \"figures\": {\"ratio\": 1.014147, \"x\": null}}"));
        assert!(json.contains(
            "\"target\": null, \"met\": null, \"figures\": {\"identical\": true, \"sha\": \"ab\"}}\n  ]\n}\n"
        ), "{json}");
        // Brackets balance outside strings: a cheap check that it parses.
        let depth = json.chars().filter(|c| "{[".contains(*c)).count();
        assert_eq!(depth, json.chars().filter(|c| "}]".contains(*c)).count());
    }

    #[test]
    fn json_strings_escape_what_json_needs() {
        assert_eq!(json_string("plain ≤ text"), "\"plain ≤ text\"");
        assert_eq!(json_string("a \"b\" \\ c\nd\te"), "\"a \\\"b\\\" \\\\ c\\nd\\u0009e\"");
    }

    /// Every setting the workspace changes in `[profile.release]` is set back for the "cargo's
    /// default" build; a new one would otherwise leak into it unseen.
    #[test]
    fn the_default_profile_build_undoes_every_setting_of_the_workspace() {
        let manifest = fs::read_to_string(project_root().join("Cargo.toml")).unwrap();
        let section = manifest.split("[profile.release]\n").nth(1).unwrap();
        let keys: Vec<&str> = section
            .lines()
            .take_while(|line| !line.starts_with('['))
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| line.split_once('=').map(|(key, _)| key.trim()))
            .collect();
        assert!(!keys.is_empty());
        for key in keys {
            let prefix = format!("profile.release.{key}=");
            assert!(
                CARGO_DEFAULT_RELEASE.iter().any(|setting| setting.starts_with(&prefix)),
                "`{key}` is set in [profile.release] but not set back in CARGO_DEFAULT_RELEASE"
            );
        }
    }

    /// The naive Dockerfile builds what the project's does, so that only the caching differs.
    #[test]
    fn the_naive_dockerfile_builds_the_same_program() {
        let naive =
            fs::read_to_string(project_root().join("xtask/bench/naive.Dockerfile")).unwrap();
        let ours = fs::read_to_string(project_root().join("Dockerfile")).unwrap();
        let command = format!("cargo build --release --locked --package {PACKAGE} --target ");
        assert!(naive.contains(&command) && ours.contains(&command));
        assert!(!naive.contains("--mount"));
        for line in ["ARG VENDOR_DIR=\n", "FROM scratch\n", "USER 65532:65532\n"] {
            assert!(naive.contains(line) && ours.contains(line), "{line}");
        }
        let builder = ours.lines().find(|line| line.starts_with("ARG BUILDER_IMAGE=")).unwrap();
        assert!(naive.contains(builder), "{builder}");
    }
}
