//! `cargo xtask verify [--target T] PATH...`: whether each file would run alone in a
//! `FROM scratch` image, which holds nothing but the file: no ELF interpreter, no shared
//! libraries. That takes a static executable (for `T`'s machine, when given). A report per file
//! goes to stdout; each file that would not run gets one line on stderr saying why.

use std::fs::File;
use std::io::ErrorKind;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use xtask::elf::{self, Elf, Kind};

use crate::args::Args;
use crate::target::Target;

pub(crate) fn run(mut args: Args) -> anyhow::Result<ExitCode> {
    let expected = args.value("--target")?.as_deref().map(Target::parse).transpose()?;
    let paths = args.finish()?;
    if paths.is_empty() {
        bail!(
            "`verify` needs the files to check, for example `cargo xtask verify {}`",
            Target::DEFAULT.release_binary(Path::new(""), crate::PACKAGE).display()
        );
    }

    // Every file is checked, so that one run names all the files that would fail.
    let mut failed = 0;
    let mut reports = 0;
    for path in paths.iter().map(Path::new) {
        let elf = match inspect_file(path) {
            Ok(elf) => elf,
            Err(error) => {
                eprintln!("error: {error:#}");
                failed += 1;
                continue;
            }
        };
        if reports > 0 {
            println!();
        }
        print!("{}", report(path, &elf));
        reports += 1;
        let problems = problems(&elf, expected);
        if !problems.is_empty() {
            eprintln!("error: {}", failure(path, &problems, expected));
            failed += 1;
        }
    }
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Inspects `path` and returns its report (several lines, for a person) when it is a static
/// executable (of `expected`'s machine, when given); otherwise an error that says why it
/// would not run in a scratch image.
pub(crate) fn verify_file(path: &Path, expected: Option<Target>) -> anyhow::Result<String> {
    let elf = inspect_file(path)?;
    let problems = problems(&elf, expected);
    if !problems.is_empty() {
        bail!("{}", failure(path, &problems, expected));
    }
    Ok(report(path, &elf))
}

/// Opens `path` and inspects it, with errors that start with the path.
fn inspect_file(path: &Path) -> anyhow::Result<Elf> {
    let shown = path.display();

    // Only a regular file is opened: opening a pipe would wait for a writer.
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == ErrorKind::NotFound => bail!(
            "`{shown}`: no such file; check the path (`cargo xtask build` prints the binary's)"
        ),
        Err(error) => bail!("`{shown}`: cannot read it ({error})"),
    };
    if metadata.is_dir() {
        bail!("`{shown}`: is a directory, not an ELF executable; name the binary in it");
    }
    if !metadata.is_file() {
        bail!("`{shown}`: is not a regular file (but a device, pipe or socket)");
    }

    let file = File::open(path).with_context(|| format!("`{shown}`: cannot open it"))?;
    elf::inspect(&file).with_context(|| format!("`{shown}`"))
}

/// Why `elf` would not run alone in a scratch image on `expected`'s machine, or on any
/// supported target's when `expected` is `None`; empty when it would.
fn problems(elf: &Elf, expected: Option<Target>) -> Vec<String> {
    let mut problems = Vec::new();

    // A kernel runs only binaries of its own machine (or with an emulator, of its class and
    // byte order); the supported targets are all 64-bit little-endian.
    if !elf.is_64_bit() {
        problems
            .push("is a 32-bit ELF file (ELFCLASS32), but the supported targets are 64-bit".into());
    }
    if !elf.is_little_endian() {
        problems.push(
            "is big-endian (ELFDATA2MSB), but the supported targets are little-endian".into(),
        );
    }
    let machine = elf.header.e_machine;
    match expected {
        Some(target) if machine != target.elf_machine() => problems.push(format!(
            "is for {}, not {} (`--target {}`)",
            elf::machine_name(machine),
            elf::machine_name(target.elf_machine()),
            target.triple()
        )),
        None if !Target::ALL.iter().any(|target| target.elf_machine() == machine) => {
            problems.push(format!(
                "is for {}, which is none of the supported targets' machines ({})",
                elf::machine_name(machine),
                Target::ALL.map(|target| elf::machine_name(target.elf_machine())).join(", ")
            ));
        }
        _ => {}
    }

    // Only an executable can be a container's program.
    match elf.kind() {
        Kind::StaticPieExecutable | Kind::StaticExecutable | Kind::DynamicExecutable => {}
        Kind::SharedLibrary => problems.push("is a shared library, not an executable".into()),
        Kind::RelocatableObject => problems
            .push("is a relocatable object, not an executable (it is yet to be linked)".into()),
        Kind::CoreDump => problems.push("is a core dump, not an executable".into()),
        Kind::Other(e_type) => problems
            .push(format!("has an unknown ELF type (`e_type` {e_type}), not an executable's")),
    }

    // Whatever the file needs at run time has to be in the image, and a scratch image is empty.
    let libraries = elf.needed_libraries.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>();
    if let Some(interpreter) = &elf.interpreter {
        let and = if libraries.is_empty() {
            String::new()
        } else {
            format!(" (and {})", libraries.join(", "))
        };
        problems.push(format!(
            "needs the ELF interpreter `{interpreter}`{and}, which a scratch image does not have"
        ));
    } else if !libraries.is_empty() {
        problems.push(format!(
            "needs the shared {} {}, which a scratch image does not have",
            if libraries.len() == 1 { "library" } else { "libraries" },
            libraries.join(", ")
        ));
    }
    problems
}

/// The one line that says why `path` would not run and how to get a file that would.
fn failure(path: &Path, problems: &[String], expected: Option<Target>) -> String {
    let target =
        expected.map(|target| format!(" --target {}", target.triple())).unwrap_or_default();
    format!(
        "`{}`: {}; `cargo xtask build{target}` builds a static executable and prints its path",
        path.display(),
        problems.join("; ")
    )
}

/// What `elf` is and how it is hardened, one property a line, for a person to read.
fn report(path: &Path, elf: &Elf) -> String {
    let yes_no = |yes: bool| if yes { "yes" } else { "no" };
    let needed = if elf.needed_libraries.is_empty() {
        "none".to_string()
    } else {
        elf.needed_libraries.join(", ")
    };
    let stripped = if elf.is_stripped() { "yes" } else { "no (it has a symbol table)" };
    format!(
        "{}\n  \
           kind:         {}\n  \
           class:        {}\n  \
           endianness:   {}\n  \
           machine:      {}\n  \
           interpreter:  {}\n  \
           needed:       {needed}\n  \
           PIE:          {}\n  \
           NX stack:     {}\n  \
           RELRO:        {}\n  \
           stripped:     {stripped}\n  \
           size:         {} bytes\n",
        path.display(),
        elf.kind(),
        if elf.is_64_bit() { "ELF64" } else { "ELF32" },
        if elf.is_little_endian() { "little-endian" } else { "big-endian" },
        elf::machine_name(elf.header.e_machine),
        elf.interpreter.as_deref().unwrap_or("none"),
        yes_no(elf.is_pie()),
        elf.nx_stack(),
        elf.relro(),
        thousands(elf.size),
    )
}

/// `373048` as `373,048`, for sizes in reports.
pub(crate) fn thousands(number: u64) -> String {
    let digits = number.to_string();
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use goblin::container::{Container, Ctx, Endian};
    use goblin::elf::Dyn;
    use goblin::elf::dynamic::{DF_1_PIE, DT_FLAGS_1};
    use goblin::elf::header::{EM_386, EM_AARCH64, EM_X86_64, ET_DYN, ET_EXEC, ET_REL, Header};
    use goblin::elf::program_header::{PT_GNU_STACK, ProgramHeader};
    use xtask::elf::Elf;

    use super::{failure, problems, report, thousands};
    use crate::target::Target;

    fn elf(container: Container, e_type: u16, e_machine: u16) -> Elf {
        let mut header = Header::new(Ctx::new(container, Endian::Little));
        header.e_type = e_type;
        header.e_machine = e_machine;
        let stack = ProgramHeader { p_type: PT_GNU_STACK, ..ProgramHeader::default() };
        Elf {
            header,
            program_headers: vec![stack],
            section_headers: Vec::new(),
            interpreter: None,
            dynamic: Vec::new(),
            needed_libraries: Vec::new(),
            size: 373_048,
        }
    }

    fn static_pie() -> Elf {
        let mut elf = elf(Container::Big, ET_DYN, EM_X86_64);
        elf.dynamic = vec![Dyn { d_tag: DT_FLAGS_1, d_val: DF_1_PIE }];
        elf
    }

    #[test]
    fn static_executables_pass_on_their_own_machine_only() {
        assert!(problems(&static_pie(), None).is_empty());
        assert!(problems(&static_pie(), Some(Target::X86_64Musl)).is_empty());
        let aarch64 = elf(Container::Big, ET_EXEC, EM_AARCH64);
        assert!(problems(&aarch64, Some(Target::Aarch64Musl)).is_empty());
        assert_eq!(
            problems(&aarch64, Some(Target::X86_64Musl)),
            ["is for aarch64, not x86_64 (`--target x86_64-unknown-linux-musl`)"]
        );
    }

    #[test]
    fn a_glibc_build_fails_naming_its_interpreter_and_libraries() {
        let mut glibc = elf(Container::Big, ET_DYN, EM_X86_64);
        glibc.interpreter = Some("/lib64/ld-linux-x86-64.so.2".into());
        glibc.needed_libraries = vec!["libc.so.6".into()];
        let path = Path::new("target/x86_64-unknown-linux-gnu/release/hello");
        assert_eq!(
            failure(path, &problems(&glibc, None), None),
            "`target/x86_64-unknown-linux-gnu/release/hello`: needs the ELF interpreter \
             `/lib64/ld-linux-x86-64.so.2` (and `libc.so.6`), which a scratch image does not \
             have; `cargo xtask build` builds a static executable and prints its path"
        );
    }

    #[test]
    fn every_problem_with_a_file_is_listed() {
        let mut library = elf(Container::Big, ET_DYN, EM_X86_64);
        library.needed_libraries = vec!["libc.so.6".into(), "libm.so.6".into()];
        assert_eq!(
            problems(&library, None),
            [
                "is a shared library, not an executable",
                "needs the shared libraries `libc.so.6`, `libm.so.6`, which a scratch image \
                 does not have",
            ]
        );

        let object = elf(Container::Big, ET_REL, EM_AARCH64);
        let line = failure(
            Path::new("a.o"),
            &problems(&object, Some(Target::X86_64Musl)),
            Some(Target::X86_64Musl),
        );
        assert_eq!(
            line,
            "`a.o`: is for aarch64, not x86_64 (`--target x86_64-unknown-linux-musl`); is a \
             relocatable object, not an executable (it is yet to be linked); `cargo xtask build \
             --target x86_64-unknown-linux-musl` builds a static executable and prints its path"
        );

        let mut i386 = elf(Container::Little, ET_EXEC, EM_386);
        i386.header.e_ident[goblin::elf::header::EI_DATA] = goblin::elf::header::ELFDATA2MSB;
        assert_eq!(
            problems(&i386, None),
            [
                "is a 32-bit ELF file (ELFCLASS32), but the supported targets are 64-bit",
                "is big-endian (ELFDATA2MSB), but the supported targets are little-endian",
                "is for 386 (`e_machine` 3), which is none of the supported targets' machines \
                 (x86_64, aarch64)",
            ]
        );
    }

    #[test]
    fn the_report_names_every_property() {
        let expected = "\
target/x86_64-unknown-linux-musl/release/hello
  kind:         static-pie executable
  class:        ELF64
  endianness:   little-endian
  machine:      x86_64
  interpreter:  none
  needed:       none
  PIE:          yes
  NX stack:     yes
  RELRO:        none
  stripped:     yes
  size:         373,048 bytes
";
        let path = Path::new("target/x86_64-unknown-linux-musl/release/hello");
        assert_eq!(report(path, &static_pie()), expected);
    }

    #[test]
    fn sizes_are_grouped_in_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(373_048), "373,048");
        assert_eq!(thousands(u64::MAX), "18,446,744,073,709,551,615");
    }
}
