//! What makes this repository a `cargo generate` template while it stays a working project.
//!
//! No file holds a placeholder: everything builds and ships here as it is. Instead
//! `cargo generate` runs the hook in `.cargo-generate/`, which calls `cargo xtask rename NAME`:
//! wherever a file names the program, it becomes NAME (`name_with_underscores` where Rust
//! needs an identifier), and the package's directory is renamed. A fork that does not use
//! cargo-generate runs the same task by hand.
//!
//! [`check`] generates a project from this checkout and runs that project's own checks, so a
//! change that would break generated projects fails here first.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use crate::args::Args;
use crate::target::Target;
use crate::{PACKAGE, project_root};

/// The name the check gives its project: two words, so that a hyphen goes through every file.
const GENERATED: &str = "acme-api";

/// cargo-generate leaves its configuration out of what it generates, so only the template
/// has it. That keeps a generated project from generating yet another one in its own tests.
const TEMPLATE_CONFIG: &str = "cargo-generate.toml";

/// `cargo xtask rename NAME`: renames the shipped program, its package and its directory.
pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut positional = args.finish()?.into_iter();
    let (Some(name), None) = (positional.next(), positional.next()) else {
        bail!("give the new name once; usage: cargo xtask rename NAME");
    };

    let sh = Shell::new()?;
    rename(&sh, &project_root(), PACKAGE, &name)?;
    Ok(ExitCode::SUCCESS)
}

/// Renames the package `old` to `new` in the project at `root`: every file that names it as a
/// word, its directory, and the lockfile. Prints the files it changed.
fn rename(sh: &Shell, root: &Path, old: &str, new: &str) -> anyhow::Result<()> {
    check_package_name(new)?;
    if new == old {
        eprintln!("rename: the program is already called `{new}`");
        return Ok(());
    }
    let (old_dir, new_dir) = (root.join(old), root.join(new));
    if !old_dir.join("Cargo.toml").is_file() {
        let old_dir = old_dir.display();
        bail!("`{old_dir}` is not a package directory; has the program been renamed already?");
    }
    if new_dir.exists() {
        bail!("cannot rename `{old}/` to `{new}/`: `{}` already exists", new_dir.display());
    }

    // Work out every change before making one, so that an unreadable file stops the rename
    // before it has half happened.
    let mut changes = Vec::new();
    for path in project_files(sh, root)? {
        let bytes = fs::read(root.join(&path))
            .with_context(|| format!("cannot read `{}`; nothing was renamed", path.display()))?;
        let Ok(text) = String::from_utf8(bytes) else {
            continue; // not UTF-8: a binary file, with no name to change
        };
        if let Some(renamed) = rename_text(&path, &text, old, new) {
            changes.push((path, renamed));
        }
    }

    for (path, renamed) in &changes {
        fs::write(root.join(path), renamed)
            .with_context(|| format!("cannot write `{}`", path.display()))?;
        println!("{}", path.display());
    }
    fs::rename(&old_dir, &new_dir)
        .with_context(|| format!("cannot rename `{old}/` to `{new}/`"))?;
    println!("{old}/ -> {new}/");

    // Cargo.lock lists packages sorted by name, so the new name may belong elsewhere, and the
    // first cargo command would move it, leaving a fresh project with a changed file. Let
    // cargo move it now; every other entry stays pinned as it was.
    let _dir = sh.push_dir(root);
    cmd!(sh, "cargo update --workspace --offline")
        .run()
        .context("cannot update Cargo.lock for the new name; run `cargo update --workspace`")?;

    // A longer or shorter name moves where rustfmt breaks lines.
    cmd!(sh, "cargo fmt --all").run().context("cannot format the renamed code; run `cargo fmt`")?;
    Ok(())
}

/// A name that works as a Cargo package, a binary and a container image name alike:
/// lowercase letters and digits, words joined by single `-` or `_`.
fn check_package_name(name: &str) -> anyhow::Result<()> {
    let words_ok = name.split(['-', '_']).all(|word| {
        !word.is_empty() && word.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    });
    if !words_ok || !name.starts_with(|c: char| c.is_ascii_lowercase()) || name.len() > 64 {
        bail!(
            "`{name}` cannot name the program; use lowercase letters and digits, words joined \
             by `-` or `_`, starting with a letter (at most 64 characters), like `acme-api`"
        );
    }
    if name == "xtask" {
        bail!("`xtask` is the automation's package; choose another name for the program");
    }
    Ok(())
}

/// The file at `path` (relative), `text`, with the program's name `old` changed to `new`
/// wherever [`rename_word`] finds it, and in the upper case of constants too (`GREETER_LOG`
/// becomes `ACME_API_LOG`); `None` if it names the program nowhere. In Rust source, the name
/// in code is an identifier and takes the snake_case form; in strings and comments it stays
/// as it is.
fn rename_text(path: &Path, text: &str, old: &str, new: &str) -> Option<String> {
    let rust = path.extension().is_some_and(|extension| extension == "rs");
    let code = rust.then(|| rust_code(text));
    let (old_upper, new_upper) = (old.to_uppercase(), new.to_uppercase().replace('-', "_"));
    // The upper-case name never holds a hyphen, so where the code is no longer matters.
    match rename_word(text, old, new, code.as_deref()) {
        Some(renamed) => {
            Some(rename_word(&renamed, &old_upper, &new_upper, None).unwrap_or(renamed))
        }
        None => rename_word(text, &old_upper, &new_upper, None),
    }
}

/// `text` with each `old` that stands as a name of its own replaced by `new`, or `None` if it
/// has none; `code`, for Rust source, tells byte by byte where `text` is code. With `greeter`
/// renamed to `acme-api`: `greeter/`, `"greeter"` and `greeter:latest` take the name as it
/// is. Where the name is (part of) an identifier it takes underscores: in code, next to an `_`
/// (`build_greeter` becomes `build_acme_api`), and as an inline format argument
/// (`"{greeter}"`); except right after `CARGO_BIN_EXE_`, where Cargo spells the binary's name
/// as it is. `greeters`, `regreeter` and `GREETER` stay.
fn rename_word(text: &str, old: &str, new: &str, code: Option<&[bool]>) -> Option<String> {
    let snake_case = new.replace('-', "_");
    let mut renamed = String::with_capacity(text.len());
    let mut rest = 0; // where the text not yet copied to `renamed` starts
    for (start, _) in text.match_indices(old) {
        let end = start + old.len();
        let (before, after) = (text[..start].bytes().next_back(), text[end..].bytes().next());
        if before.is_some_and(|b| b.is_ascii_alphanumeric())
            || after.is_some_and(|b| b.is_ascii_alphanumeric())
        {
            continue;
        }
        let in_code = code.is_some_and(|code| code[start]);
        let format_argument =
            code.is_some() && before == Some(b'{') && matches!(after, Some(b'}' | b':'));
        let identifier = in_code || format_argument || before == Some(b'_') || after == Some(b'_');
        let binary_variable = text[..start].ends_with("CARGO_BIN_EXE_");
        renamed.push_str(&text[rest..start]);
        renamed.push_str(if identifier && !binary_variable { &snake_case } else { new });
        rest = end;
    }
    if rest == 0 {
        return None;
    }
    renamed.push_str(&text[rest..]);
    Some(renamed)
}

/// For each byte of the Rust source `source`: whether it is code, rather than part of a
/// comment, a string literal (plain, byte, C, raw) or a character literal. Enough of Rust's
/// lexer to tell an identifier from the same word in prose; it never fails, so source that
/// does not compile just gets a rougher answer.
fn rust_code(source: &str) -> Vec<bool> {
    let bytes = source.as_bytes();
    let mut code = vec![true; bytes.len()];
    let mut index = 0;
    while index < bytes.len() {
        let literal_end = match (bytes[index], bytes.get(index + 1)) {
            (b'/', Some(b'/')) => {
                Some(source[index..].find('\n').map_or(bytes.len(), |n| index + n))
            }
            (b'/', Some(b'*')) => Some(block_comment_end(bytes, index)),
            (b'"', _) => Some(string_end(bytes, index + 1)),
            (b'r', Some(b'"' | b'#')) if raw_string_prefix(bytes, index) => {
                raw_string_end(bytes, index + 1)
            }
            (b'\'', _) => char_literal_end(source, index),
            _ => None,
        };
        match literal_end {
            Some(end) => {
                code[index..end].fill(false);
                index = end;
            }
            None => index += 1,
        }
    }
    code
}

/// Where the `/* … */` comment starting at `start` ends; they nest.
fn block_comment_end(bytes: &[u8], start: usize) -> usize {
    let (mut depth, mut index) = (0, start);
    while index < bytes.len() {
        match (bytes[index], bytes.get(index + 1)) {
            (b'/', Some(b'*')) => (depth, index) = (depth + 1, index + 2),
            (b'*', Some(b'/')) if depth == 1 => return index + 2,
            (b'*', Some(b'/')) => (depth, index) = (depth - 1, index + 2),
            _ => index += 1,
        }
    }
    bytes.len()
}

/// Where the string whose contents start at `start` ends, past its closing quote.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut index = start;
    while index < bytes.len() {
        match bytes[index] {
            b'\\' => index += 2,
            b'"' => return index + 1,
            _ => index += 1,
        }
    }
    bytes.len()
}

/// Whether the `r` at `index` starts a raw string (`r"`, `br#"`, `cr"`) rather than ending
/// an identifier or starting a raw identifier (`r#type`).
fn raw_string_prefix(bytes: &[u8], index: usize) -> bool {
    let is_identifier = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
    let word_start = bytes[..index].iter().rposition(|b| !is_identifier(b)).map_or(0, |n| n + 1);
    let hashes = bytes[index + 1..].iter().take_while(|&&b| b == b'#').count();
    matches!(&bytes[word_start..index], b"" | b"b" | b"c")
        && bytes.get(index + 1 + hashes) == Some(&b'"')
}

/// Where the raw string whose hashes (or quote) start at `start` ends, or `None` if it is not
/// one after all.
fn raw_string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let hashes = bytes[start..].iter().take_while(|&&b| b == b'#').count();
    let contents = start + hashes + 1;
    let closing: Vec<u8> = std::iter::once(b'"').chain(std::iter::repeat_n(b'#', hashes)).collect();
    let end = bytes[contents..].windows(closing.len()).position(|window| window == closing);
    Some(end.map_or(bytes.len(), |n| contents + n + closing.len()))
}

/// Where the character literal starting at the quote at `start` ends, or `None` if the quote
/// starts a lifetime or a label (`'a`, `'static`).
fn char_literal_end(source: &str, start: usize) -> Option<usize> {
    let bytes = source.as_bytes();
    if bytes.get(start + 1) == Some(&b'\\') {
        let closing = bytes[start + 2..].iter().skip(1).position(|&b| b == b'\'')?;
        return Some(start + 3 + closing + 1);
    }
    let character = source[start + 1..].chars().next()?;
    let closing = start + 1 + character.len_utf8();
    (bytes.get(closing) == Some(&b'\'')).then_some(closing + 1)
}

/// The project's own files, relative to `root` and sorted. In a Git work tree these are the
/// files Git tracks or would add (so nothing it ignores, such as build output or a fuzzing
/// corpus); elsewhere, as in the copy cargo-generate hooks run in, everything but `.git` and
/// `target` directories. Symbolic links are left out: cargo-generate does not copy them.
pub(crate) fn project_files(sh: &Shell, root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files =
        if root.join(".git").exists() { git_files(sh, root)? } else { walk_files(root)? };
    files.retain(|path| fs::symlink_metadata(root.join(path)).is_ok_and(|meta| meta.is_file()));
    files.sort();
    Ok(files)
}

/// Tracked files and untracked ones that no `.gitignore` excludes (deleted ones are dropped
/// by the caller, which keeps only regular files).
fn git_files(sh: &Shell, root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let _dir = sh.push_dir(root);
    let listing =
        cmd!(sh, "git ls-files -z --cached --others --exclude-standard")
            .quiet()
            .read()
            .with_context(|| format!("cannot list the files of `{}` with git", root.display()))?;
    Ok(listing.split('\0').filter(|path| !path.is_empty()).map(PathBuf::from).collect())
}

fn walk_files(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut dirs = vec![PathBuf::new()];
    while let Some(dir) = dirs.pop() {
        let listing = root.join(&dir);
        let cannot_list = || format!("cannot list `{}`", listing.display());
        for entry in fs::read_dir(&listing).with_context(cannot_list)? {
            let entry = entry.with_context(cannot_list)?;
            let path = dir.join(entry.file_name());
            if !entry.file_type().with_context(cannot_list)?.is_dir() {
                files.push(path);
            } else if entry.file_name() != ".git" && entry.file_name() != "target" {
                dirs.push(path);
            }
        }
    }
    Ok(files)
}

/// Generates a project named [`GENERATED`] from this checkout with cargo-generate, under
/// `target/template/`, and runs its checks there: a plain release build that `verify` passes,
/// then its own `cargo xtask test` (formatting, clippy, tests, linters, `dist` for both
/// targets), with the lockfile as shipped.
pub(crate) fn check(sh: &Shell) -> anyhow::Result<()> {
    let root = project_root();
    if !root.join(TEMPLATE_CONFIG).is_file() {
        eprintln!(
            "template: no {TEMPLATE_CONFIG}, so this is a generated project; nothing to check"
        );
        return Ok(());
    }
    if cmd!(sh, "cargo generate --version").quiet().ignore_stdout().run().is_err() {
        bail!(
            "cannot run `cargo generate`, which the template check needs; install it with \
             `cargo install --locked cargo-generate@0.23.5`"
        );
    }

    // cargo-generate copies a `--path` template whole before it drops what the template
    // ignores, `target/` with its gigabytes included. Give it a copy of the sources only.
    let work = root.join("target/template");
    let (source, project) = (work.join("source"), work.join(GENERATED));
    if work.exists() {
        fs::remove_dir_all(&work)
            .with_context(|| format!("cannot remove the last check's `{}`", work.display()))?;
    }
    for path in project_files(sh, &root)? {
        let copy = source.join(&path);
        // `path` names a file, so `copy` has a parent: `source` at least.
        fs::create_dir_all(copy.parent().unwrap_or(&source))?;
        fs::copy(root.join(&path), &copy)
            .with_context(|| format!("cannot copy `{}` to `{}`", path.display(), copy.display()))?;
    }

    // `--allow-commands` lets the hook run `cargo xtask rename` without asking.
    cmd!(
        sh,
        "cargo generate --path {source} --name {GENERATED} --destination {work}
            --vcs none --silent --allow-commands"
    )
    .run()
    .context("cargo generate failed on this checkout")?;

    // The program has its new name everywhere: a file still naming the old one means the
    // rename did not run.
    let mut leftovers = Vec::new();
    for path in project_files(sh, &project)? {
        let text = fs::read_to_string(project.join(&path)).unwrap_or_default();
        if rename_text(&path, &text, PACKAGE, GENERATED).is_some() {
            leftovers.push(path.display().to_string());
        }
    }
    if !leftovers.is_empty() {
        bail!(
            "the generated project still names `{PACKAGE}` in {}; see the hook in \
             `.cargo-generate/`",
            leftovers.join(", ")
        );
    }

    // The generated project's own checks, with its own target directory: its xtask finds
    // the binaries under the project root.
    let _dir = sh.push_dir(&project);
    let _target_dir = sh.push_env("CARGO_TARGET_DIR", project.join("target"));
    // The plain build must be static on its own, without xtask; then the project's own test
    // command, the one its README and CI run: format, clippy, tests, lint, and `dist` for
    // both targets (with the builder image that BUILDER_IMAGE names, as here).
    let binary = Target::DEFAULT.release_binary(&project, GENERATED);
    let checks = [
        cmd!(sh, "cargo build --release --locked"),
        cmd!(sh, "cargo xtask verify {binary}"),
        cmd!(sh, "cargo xtask test"),
    ];
    for check in checks {
        check.run().with_context(|| {
            format!(
                "`{GENERATED}`, generated from this checkout into `{}`, fails its own checks; \
                 the change breaks projects made from the template",
                project.display()
            )
        })?;
    }

    eprintln!("template: `{GENERATED}` generated from this checkout passes its checks");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `rename_text` for a file that is not Rust source.
    fn in_text(text: &str, old: &str, new: &str) -> Option<String> {
        rename_text(Path::new("notes.md"), text, old, new)
    }

    /// `rename_text` for a Rust source file.
    fn in_rust(text: &str, old: &str, new: &str) -> Option<String> {
        rename_text(Path::new("src/main.rs"), text, old, new)
    }

    #[test]
    fn names_of_their_own_take_the_new_name() {
        let manifest = "[package]\nname = \"greeter\"\n";
        assert_eq!(
            in_text(manifest, "greeter", "acme-api").unwrap(),
            "[package]\nname = \"acme-api\"\n"
        );
        let dockerfile = "COPY greeter /greeter\nENTRYPOINT [\"/greeter\"]";
        assert_eq!(in_text(dockerfile, "greeter", "x").unwrap(), "COPY x /x\nENTRYPOINT [\"/x\"]");
        let prose = "greeter/src, greeter:latest, greeter-x86_64, {greeter}.";
        assert_eq!(
            in_text(prose, "greeter", "acme-api").unwrap(),
            "acme-api/src, acme-api:latest, acme-api-x86_64, {acme-api}."
        );
        assert_eq!(in_text("greeters regreeter Greeter", "greeter", "x"), None);
        assert_eq!(in_text("", "greeter", "x"), None);
    }

    #[test]
    fn identifiers_take_the_name_in_snake_case_but_cargo_variables_do_not() {
        let test = "build_greeter(); greeter_dir; GREETER";
        assert_eq!(
            in_text(test, "greeter", "acme-api").unwrap(),
            "build_acme_api(); acme_api_dir; ACME_API"
        );
        assert_eq!(
            in_rust(
                "const GREETER: &str = env!(\"CARGO_BIN_EXE_greeter\");",
                "greeter",
                "acme-api"
            )
            .unwrap(),
            "const ACME_API: &str = env!(\"CARGO_BIN_EXE_acme-api\");"
        );
        assert_eq!(in_text("GREETER_LOG", "greeter", "web").unwrap(), "WEB_LOG");
    }

    #[test]
    fn in_rust_code_the_name_is_an_identifier_and_in_strings_and_comments_prose() {
        let source = "\
/// Runs `greeter`.
fn run(greeter: &Path) { // the greeter binary
    let name = \"greeter: \\\"greeter\\\"\";
    let quote = b'\"'; let lifetime: &'static str = greeter;
    println!(\"{greeter} {greeter:?}\", r#\"greeter\"#); /* greeter /* greeter */ */ greeter.x
}";
        let expected = "\
/// Runs `acme-api`.
fn run(acme_api: &Path) { // the acme-api binary
    let name = \"acme-api: \\\"acme-api\\\"\";
    let quote = b'\"'; let lifetime: &'static str = acme_api;
    println!(\"{acme_api} {acme_api:?}\", r#\"acme-api\"#); /* acme-api /* acme-api */ */ acme_api.x
}";
        assert_eq!(in_rust(source, "greeter", "acme-api").unwrap(), expected);
    }

    #[test]
    fn literals_and_comments_are_not_code() {
        let code = |source: &str| -> String {
            let mask = rust_code(source);
            source.char_indices().map(|(at, c)| if mask[at] { c } else { '.' }).collect()
        };
        assert_eq!(code("a \"b\\\"c\" d"), "a ...... d");
        assert_eq!(code("a br##\"b\"#c\"## d"), "a b........... d");
        assert_eq!(code("r#type r"), "r#type r");
        assert_eq!(code("a '\\'' 'b' '\\u{e9}' 'c: &'d e"), "a .... ... ........ 'c: &'d e");
        assert_eq!(code("a /* b /* c */ d */ e // f\ng"), "a ................. e ....\ng");
        assert_eq!(code("a \"unterminated"), "a .............");
    }

    #[test]
    fn names_that_work_for_cargo_and_docker_alike() {
        for name in ["acme-api", "acme_api", "a", "api2", "my-web-api"] {
            assert!(check_package_name(name).is_ok(), "{name}");
        }
        let long = "a".repeat(65);
        for name in ["", "Acme", "2api", "-api", "api-", "a--b", "a-_b", "a.b", "a b", &long] {
            let error = check_package_name(name).unwrap_err().to_string();
            assert!(error.contains("cannot name the program"), "{name}: {error}");
        }
        assert!(check_package_name("xtask").unwrap_err().to_string().contains("automation"));
    }

    #[test]
    fn project_files_leave_out_git_and_build_output() {
        let sh = Shell::new().unwrap();
        let dir = sh.create_temp_dir().unwrap();
        let root = dir.path();
        let all = [".git/HEAD", "target/debug/x", "Cargo.toml", "fuzz/target/y", ".ci/run"];
        for path in all {
            fs::create_dir_all(root.join(path).parent().unwrap()).unwrap();
            fs::write(root.join(path), "").unwrap();
        }
        std::os::unix::fs::symlink("Cargo.toml", root.join("link")).unwrap();

        // No Git work tree: `.git` here is only a directory, not a repository.
        fs::rename(root.join(".git"), root.join("git-data")).unwrap();
        let files = project_files(&sh, root).unwrap();
        assert_eq!(files, [".ci/run", "Cargo.toml", "git-data/HEAD"].map(PathBuf::from));

        // In a Git work tree, .gitignore decides, and a deleted file is gone.
        sh.change_dir(root);
        cmd!(sh, "git init --quiet").run().unwrap();
        fs::write(root.join(".gitignore"), "/git-data\n/target\n").unwrap();
        fs::write(root.join("gone"), "").unwrap();
        cmd!(sh, "git add gone").run().unwrap();
        fs::remove_file(root.join("gone")).unwrap();
        let files = project_files(&sh, root).unwrap();
        let expected = [".ci/run", ".gitignore", "Cargo.toml", "fuzz/target/y"];
        assert_eq!(files, expected.map(PathBuf::from));
    }

    #[test]
    fn rename_changes_files_and_the_directory_but_refuses_to_overwrite() {
        let sh = Shell::new().unwrap();
        let dir = sh.create_temp_dir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("greeter")).unwrap();
        fs::create_dir_all(root.join("other")).unwrap();
        fs::write(root.join("greeter/Cargo.toml"), "name = \"greeter\"\n").unwrap();

        let error = rename(&sh, root, "greeter", "other").unwrap_err().to_string();
        assert!(error.contains("already exists"), "{error}");
        let error = rename(&sh, root, "absent", "acme").unwrap_err().to_string();
        assert!(error.contains("not a package directory"), "{error}");
        let manifest = fs::read_to_string(root.join("greeter/Cargo.toml")).unwrap();
        assert_eq!(manifest, "name = \"greeter\"\n");
    }

    #[test]
    fn rename_a_workspace_member_keeps_the_lockfile_consistent() {
        let sh = Shell::new().unwrap();
        let dir = sh.create_temp_dir().unwrap();
        let root = dir.path();
        let files = [
            ("Cargo.toml", "[workspace]\nresolver = \"3\"\nmembers = [\"greeter\", \"zz-tool\"]\n"),
            ("greeter/Cargo.toml", "[package]\nname = \"greeter\"\nedition = \"2024\"\n"),
            ("greeter/src/main.rs", "fn main() {}\n"),
            ("zz-tool/Cargo.toml", "[package]\nname = \"zz-tool\"\nedition = \"2024\"\n"),
            ("zz-tool/src/main.rs", "fn main() {}\n"),
            ("README.md", "# greeter\n\nRun `greeter`; it greets.\n"),
        ];
        for (path, text) in files {
            fs::create_dir_all(root.join(path).parent().unwrap()).unwrap();
            fs::write(root.join(path), text).unwrap();
        }
        sh.change_dir(root);
        cmd!(sh, "cargo generate-lockfile --offline").quiet().run().unwrap();

        rename(&sh, root, "greeter", "zz-web").unwrap();
        assert!(!root.join("greeter").exists());
        let manifest = fs::read_to_string(root.join("zz-web/Cargo.toml")).unwrap();
        assert!(manifest.contains("name = \"zz-web\""), "{manifest}");
        let readme = fs::read_to_string(root.join("README.md")).unwrap();
        assert_eq!(readme, "# zz-web\n\nRun `zz-web`; it greets.\n");
        // The renamed package moved after `zz-tool`, where cargo would otherwise move it the
        // next time it runs.
        cmd!(sh, "cargo metadata --locked --offline --format-version 1").quiet().read().unwrap();
        let lock = fs::read_to_string(root.join("Cargo.lock")).unwrap();
        assert!(lock.find("\"zz-tool\"").unwrap() < lock.find("\"zz-web\"").unwrap(), "{lock}");
    }
}
