//! Reads the parts of an ELF file that decide whether it runs with nothing else installed: the
//! file header, the program and section header tables, the interpreter (`PT_INTERP`), and the
//! dynamic segment with the names of the libraries it needs. Every read is bounded and made at
//! an offset, so a file of many gigabytes costs what a small one does, and any input, however
//! malformed, gives an error rather than a panic (`fuzz/` checks that).
//!
//! goblin's `Elf::parse` wants the whole file in memory; this module uses goblin's header,
//! program header, section header and dynamic entry types on just the bytes it needs.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

use anyhow::{Context, bail, ensure};
use goblin::container::{Container, Ctx, Endian};
use goblin::elf::dynamic::{
    DF_1_NOW, DF_1_PIE, DF_BIND_NOW, DT_BIND_NOW, DT_FLAGS, DT_FLAGS_1, DT_NEEDED, DT_STRSZ,
    DT_STRTAB, Dyn, Dynamic,
};
use goblin::elf::header::{
    EI_CLASS, EI_DATA, ELFCLASS32, ELFCLASS64, ELFDATA2LSB, ELFDATA2MSB, ELFMAG, EM_AARCH64,
    EM_X86_64, ET_CORE, ET_DYN, ET_EXEC, ET_REL, Header, machine_to_str,
};
use goblin::elf::program_header::{
    PF_X, PT_DYNAMIC, PT_GNU_RELRO, PT_GNU_STACK, PT_INTERP, PT_LOAD, ProgramHeader, pt_to_str,
};
use goblin::elf::section_header::{SHT_SYMTAB, SectionHeader};

/// The longest interpreter path read; Linux's `PATH_MAX`.
const MAX_INTERPRETER: u64 = 4096;
/// The largest dynamic segment read: 65,536 entries of 16 bytes, far more than any linker
/// writes.
const MAX_DYNAMIC: u64 = 1 << 20;
/// The longest library name read from the dynamic string table.
const MAX_LIBRARY_NAME: u64 = 4096;
/// The most section headers read. `e_shnum` holds at most 65,535; a larger count is stored in
/// section 0, and this bound keeps a hostile value there from making us read gigabytes.
const MAX_SECTION_HEADERS: u64 = 1 << 20;

/// Something an ELF file can be read from at offsets: a [`File`] when checking a build, a byte
/// slice in tests and in the fuzzer.
pub trait ReadAt {
    /// The length of the whole input in bytes.
    fn size(&self) -> io::Result<u64>;

    /// Fills `buf` with the bytes at `offset`; an error if the input ends first.
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()>;
}

impl ReadAt for File {
    fn size(&self) -> io::Result<u64> {
        Ok(self.metadata()?.len())
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        // `&File` reads and seeks too, so a shared reference is enough.
        let mut file = self;
        file.seek(SeekFrom::Start(offset))?;
        file.read_exact(buf)
    }
}

impl ReadAt for [u8] {
    fn size(&self) -> io::Result<u64> {
        Ok(self.len() as u64)
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let bytes = usize::try_from(offset)
            .ok()
            .and_then(|start| self.get(start..start.checked_add(buf.len())?))
            .ok_or(io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(bytes);
        Ok(())
    }
}

/// What [`inspect`] read from an ELF file: goblin's parsed headers plus the few strings the
/// checks need. The checks are methods that only look at these fields.
#[derive(Clone, Debug)]
pub struct Elf {
    pub header: Header,
    pub program_headers: Vec<ProgramHeader>,
    pub section_headers: Vec<SectionHeader>,
    /// The path in `PT_INTERP`, up to its terminating NUL.
    pub interpreter: Option<String>,
    /// The entries of `PT_DYNAMIC`, up to `DT_NULL`.
    pub dynamic: Vec<Dyn>,
    /// The `DT_NEEDED` names, in file order.
    pub needed_libraries: Vec<String>,
    /// The file's length in bytes.
    pub size: u64,
}

/// What an ELF file is, as far as running it goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Position-independent, relocates itself, needs no interpreter: x86_64 musl builds.
    StaticPieExecutable,
    /// Loaded at fixed addresses, needs no interpreter: aarch64 musl builds.
    StaticExecutable,
    /// Needs an ELF interpreter (the dynamic loader) to start: default glibc builds.
    DynamicExecutable,
    SharedLibrary,
    RelocatableObject,
    CoreDump,
    /// An `e_type` that is none of the above.
    Other(u16),
}

impl Kind {
    /// Whether the kernel can start this file with nothing else present.
    pub fn is_static_executable(self) -> bool {
        matches!(self, Kind::StaticPieExecutable | Kind::StaticExecutable)
    }

    pub fn is_executable(self) -> bool {
        self.is_static_executable() || self == Kind::DynamicExecutable
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::StaticPieExecutable => f.write_str("static-pie executable"),
            Kind::StaticExecutable => f.write_str("static executable"),
            Kind::DynamicExecutable => f.write_str("dynamic executable"),
            Kind::SharedLibrary => f.write_str("shared library"),
            Kind::RelocatableObject => f.write_str("relocatable object"),
            Kind::CoreDump => f.write_str("core dump"),
            Kind::Other(e_type) => write!(f, "ELF file of unknown type (`e_type` {e_type})"),
        }
    }
}

/// Whether the stack may hold executable code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NxStack {
    Yes,
    /// `PT_GNU_STACK` asks for an executable stack.
    No,
    /// There is no `PT_GNU_STACK`, so the kernel's per-architecture default applies.
    Unmarked,
}

impl fmt::Display for NxStack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NxStack::Yes => "yes",
            NxStack::No => "no (PT_GNU_STACK asks for an executable stack)",
            NxStack::Unmarked => "unmarked (no PT_GNU_STACK; the kernel's default applies)",
        })
    }
}

/// How much of the data the loader writes at startup is made read-only afterwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relro {
    None,
    /// A RELRO segment, but symbols may still be bound lazily into a writable table.
    Partial,
    /// A RELRO segment and every symbol bound at startup.
    Full,
}

impl fmt::Display for Relro {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Relro::None => "none",
            Relro::Partial => "partial",
            Relro::Full => "full",
        })
    }
}

impl Elf {
    /// Whether the file is 64-bit, from `e_ident[EI_CLASS]`.
    pub fn is_64_bit(&self) -> bool {
        self.header.e_ident[EI_CLASS] == ELFCLASS64
    }

    /// Whether the file is little-endian, from `e_ident[EI_DATA]`.
    pub fn is_little_endian(&self) -> bool {
        self.header.e_ident[EI_DATA] == ELFDATA2LSB
    }

    /// What the file is, from `e_type`, the `PT_INTERP` segment and, for a position-independent
    /// file without an interpreter, the `DF_1_PIE` bit of `DT_FLAGS_1`: linkers set it on
    /// executables, which is what tells a static-pie executable from a shared library.
    pub fn kind(&self) -> Kind {
        match self.header.e_type {
            ET_REL => Kind::RelocatableObject,
            ET_CORE => Kind::CoreDump,
            ET_EXEC | ET_DYN if self.interpreter.is_some() => Kind::DynamicExecutable,
            ET_EXEC => Kind::StaticExecutable,
            ET_DYN if self.dynamic_value(DT_FLAGS_1).is_some_and(|flags| flags & DF_1_PIE != 0) => {
                Kind::StaticPieExecutable
            }
            ET_DYN => Kind::SharedLibrary,
            other => Kind::Other(other),
        }
    }

    /// Whether this is a position-independent executable: an executable whose `e_type` is
    /// `ET_DYN`, so the loader or the program itself picks its address.
    pub fn is_pie(&self) -> bool {
        self.header.e_type == ET_DYN && self.kind().is_executable()
    }

    /// Whether the stack is non-executable, from the `PF_X` bit of the `PT_GNU_STACK` segment.
    pub fn nx_stack(&self) -> NxStack {
        match self.program_headers.iter().find(|segment| segment.p_type == PT_GNU_STACK) {
            Some(stack) if stack.p_flags & PF_X != 0 => NxStack::No,
            Some(_) => NxStack::Yes,
            None => NxStack::Unmarked,
        }
    }

    /// RELRO as the headers ask for it: a `PT_GNU_RELRO` segment makes it partial, and binding
    /// every symbol at startup (`DT_BIND_NOW`, `DF_BIND_NOW` in `DT_FLAGS` or `DF_1_NOW` in
    /// `DT_FLAGS_1`) makes it full. Whether the loader or libc enforces it is not in the file.
    pub fn relro(&self) -> Relro {
        if !self.program_headers.iter().any(|segment| segment.p_type == PT_GNU_RELRO) {
            return Relro::None;
        }
        let has_flag = |tag, bit| self.dynamic_value(tag).is_some_and(|flags| flags & bit != 0);
        let bind_now = self.dynamic_value(DT_BIND_NOW).is_some()
            || has_flag(DT_FLAGS, DF_BIND_NOW)
            || has_flag(DT_FLAGS_1, DF_1_NOW);
        if bind_now { Relro::Full } else { Relro::Partial }
    }

    /// Whether the symbol table is gone: no section header has `sh_type` `SHT_SYMTAB`. (The
    /// dynamic symbols a shared library exports are in `SHT_DYNSYM` and always stay.)
    pub fn is_stripped(&self) -> bool {
        !self.section_headers.iter().any(|section| section.sh_type == SHT_SYMTAB)
    }

    /// The value of the first dynamic entry with `tag`.
    fn dynamic_value(&self, tag: u64) -> Option<u64> {
        self.dynamic.iter().find(|entry| entry.d_tag == tag).map(|entry| entry.d_val)
    }
}

/// Reads what the checks need from an ELF file. The error says what is wrong with the input in
/// one lowercase line meant to follow the file's name ("is empty, not an ELF executable").
pub fn inspect<R: ReadAt + ?Sized>(input: &R) -> anyhow::Result<Elf> {
    // The size bounds every read, so that a corrupt offset is reported rather than followed.
    let size = input.size().context("cannot read its size")?;
    let file = Bounded { input, size };

    // The file header says how to read the rest (class, byte order) and where it is.
    let header = read_header(&file)?;
    let ctx = Ctx::new(
        if header.e_ident[EI_CLASS] == ELFCLASS64 { Container::Big } else { Container::Little },
        if header.e_ident[EI_DATA] == ELFDATA2LSB { Endian::Little } else { Endian::Big },
    );

    // What the kernel maps and what it is told to run first; the rest hangs off these.
    let program_headers = read_program_headers(&file, &header, ctx)?;
    let section_headers = read_section_headers(&file, &header, ctx)?;
    let interpreter = read_interpreter(&file, &program_headers)?;
    let dynamic = read_dynamic(&file, &program_headers, ctx)?;
    let needed_libraries = read_needed_libraries(&file, &program_headers, &dynamic)?;

    Ok(Elf {
        header,
        program_headers,
        section_headers,
        interpreter,
        dynamic,
        needed_libraries,
        size,
    })
}

/// An input with its size, which every read is checked against before it is made.
struct Bounded<'a, R: ReadAt + ?Sized> {
    input: &'a R,
    size: u64,
}

impl<R: ReadAt + ?Sized> Bounded<'_, R> {
    /// Reads `len` bytes at `offset`, or says that `what` runs past the end of the file.
    fn read(&self, offset: u64, len: u64, what: &str) -> anyhow::Result<Vec<u8>> {
        let size = self.size;
        let Some(end) = offset.checked_add(len).filter(|&end| end <= size) else {
            bail!(
                "is truncated: {what} (bytes {offset}..{}) runs past the end of the file ({size} \
                 bytes)",
                u128::from(offset) + u128::from(len)
            );
        };
        let mut bytes = vec![0; (end - offset) as usize];
        self.input
            .read_exact_at(offset, &mut bytes)
            .with_context(|| format!("cannot read {what}"))?;
        Ok(bytes)
    }
}

/// The file header, after the identification bytes (`e_ident`) have shown the file to be ELF
/// of a known class (`EI_CLASS`) and byte order (`EI_DATA`); a file of another kind is named.
fn read_header<R: ReadAt + ?Sized>(file: &Bounded<R>) -> anyhow::Result<Header> {
    ensure!(file.size > 0, "is empty, not an ELF executable");
    let start = file.read(0, file.size.min(64), "the ELF header")?;
    if start.len() < ELFMAG.len() && ELFMAG.starts_with(&start) {
        bail!("is truncated: it ends inside the ELF magic number");
    }
    if !start.starts_with(ELFMAG) {
        bail!("{}", describe_non_elf(&start));
    }
    let header_size = match start.get(EI_CLASS) {
        Some(&ELFCLASS64) => Header::size(Ctx::new(Container::Big, Endian::Little)),
        Some(&ELFCLASS32) => Header::size(Ctx::new(Container::Little, Endian::Little)),
        Some(other) => bail!("has an invalid ELF class {other} in `e_ident[EI_CLASS]`"),
        None => bail!("is truncated: it ends inside the ELF identification bytes"),
    };
    match start.get(EI_DATA) {
        Some(&ELFDATA2LSB | &ELFDATA2MSB) => {}
        Some(other) => bail!("has an invalid byte order {other} in `e_ident[EI_DATA]`"),
        None => bail!("is truncated: it ends inside the ELF identification bytes"),
    }
    ensure!(
        start.len() >= header_size,
        "is truncated: the ELF header needs {header_size} bytes but the file has {}",
        file.size
    );
    goblin::elf::Elf::parse_header(&start)
        .map_err(|error| anyhow::anyhow!("has a malformed ELF header ({error})"))
}

/// The program header table, at `e_phoff`, `e_phnum` entries of `e_phentsize` bytes. Each
/// segment's bytes (`p_offset`, `p_filesz`) must be in the file, or the kernel cannot map it.
///
/// FIXME: take the count from section 0's `sh_info` when `e_phnum` is `PN_XNUM` (0xffff), if a
/// file with that many segments ever needs checking.
fn read_program_headers<R: ReadAt + ?Sized>(
    file: &Bounded<R>,
    header: &Header,
    ctx: Ctx,
) -> anyhow::Result<Vec<ProgramHeader>> {
    if header.e_phnum == 0 {
        return Ok(Vec::new());
    }
    let entry_size = ProgramHeader::size(ctx);
    ensure!(
        usize::from(header.e_phentsize) == entry_size,
        "has program header entries of {} bytes (`e_phentsize`) where {entry_size} are expected",
        header.e_phentsize
    );
    let count = usize::from(header.e_phnum);
    let len = (count * entry_size) as u64;
    let table = file.read(header.e_phoff, len, "the program header table")?;
    let program_headers = ProgramHeader::parse(&table, 0, count, ctx)
        .map_err(|error| anyhow::anyhow!("has a malformed program header table ({error})"))?;

    for segment in &program_headers {
        let end = segment.p_offset.checked_add(segment.p_filesz);
        ensure!(
            segment.p_filesz == 0 || end.is_some_and(|end| end <= file.size),
            "is truncated: its {} segment (bytes {}..{}) runs past the end of the file ({} bytes)",
            pt_to_str(segment.p_type),
            segment.p_offset,
            u128::from(segment.p_offset) + u128::from(segment.p_filesz),
            file.size
        );
    }
    Ok(program_headers)
}

/// The section header table, at `e_shoff`, `e_shnum` entries of `e_shentsize` bytes (or, when
/// `e_shnum` is 0, as many as section 0's `sh_size` says). Stripped files may have none.
fn read_section_headers<R: ReadAt + ?Sized>(
    file: &Bounded<R>,
    header: &Header,
    ctx: Ctx,
) -> anyhow::Result<Vec<SectionHeader>> {
    if header.e_shoff == 0 {
        return Ok(Vec::new());
    }
    let entry_size = SectionHeader::size(ctx) as u64;
    ensure!(
        u64::from(header.e_shentsize) == entry_size,
        "has section header entries of {} bytes (`e_shentsize`) where {entry_size} are expected",
        header.e_shentsize
    );
    let malformed = |error| anyhow::anyhow!("has a malformed section header table ({error})");

    let count = match header.e_shnum {
        0 => {
            let first = file.read(header.e_shoff, entry_size, "the section header table")?;
            SectionHeader::parse_from(&first, 0, 1, ctx).map_err(malformed)?[0].sh_size
        }
        count => u64::from(count),
    };
    ensure!(
        (1..=MAX_SECTION_HEADERS).contains(&count),
        "claims {count} section headers; this inspector reads between 1 and {MAX_SECTION_HEADERS}"
    );
    let table = file.read(header.e_shoff, count * entry_size, "the section header table")?;
    SectionHeader::parse_from(&table, 0, count as usize, ctx).map_err(malformed)
}

/// The path in the `PT_INTERP` segment: the interpreter the kernel starts instead of the
/// program, to load it and its libraries.
fn read_interpreter<R: ReadAt + ?Sized>(
    file: &Bounded<R>,
    program_headers: &[ProgramHeader],
) -> anyhow::Result<Option<String>> {
    let Some(segment) = program_headers.iter().find(|segment| segment.p_type == PT_INTERP) else {
        return Ok(None);
    };
    ensure!(
        segment.p_filesz <= MAX_INTERPRETER,
        "has a PT_INTERP segment of {} bytes, longer than any path",
        segment.p_filesz
    );
    let path = file.read(segment.p_offset, segment.p_filesz, "the PT_INTERP segment")?;
    Ok(Some(until_nul(&path).unwrap_or_else(|| String::from_utf8_lossy(&path).into_owned())))
}

/// The entries of the `PT_DYNAMIC` segment, the loader's instructions, up to `DT_NULL`.
fn read_dynamic<R: ReadAt + ?Sized>(
    file: &Bounded<R>,
    program_headers: &[ProgramHeader],
    ctx: Ctx,
) -> anyhow::Result<Vec<Dyn>> {
    let Some(segment) = program_headers.iter().find(|segment| segment.p_type == PT_DYNAMIC) else {
        return Ok(Vec::new());
    };
    ensure!(
        segment.p_filesz <= MAX_DYNAMIC,
        "has a PT_DYNAMIC segment of {} bytes, more than {MAX_DYNAMIC}",
        segment.p_filesz
    );
    let bytes = file.read(segment.p_offset, segment.p_filesz, "the PT_DYNAMIC segment")?;

    // goblin's parser finds the segment through a program header, so it gets one that
    // describes `bytes` alone.
    let alone = ProgramHeader {
        p_type: PT_DYNAMIC,
        p_filesz: segment.p_filesz,
        ..ProgramHeader::default()
    };
    let dynamic = Dynamic::parse(&bytes, &[alone], ctx)
        .map_err(|error| anyhow::anyhow!("has a malformed PT_DYNAMIC segment ({error})"))?;
    Ok(dynamic.map_or_else(Vec::new, |dynamic| dynamic.dyns))
}

/// The names in the `DT_NEEDED` entries: offsets into the string table that `DT_STRTAB` (an
/// address, which the `PT_LOAD` segments map to the file) and `DT_STRSZ` locate.
fn read_needed_libraries<R: ReadAt + ?Sized>(
    file: &Bounded<R>,
    program_headers: &[ProgramHeader],
    dynamic: &[Dyn],
) -> anyhow::Result<Vec<String>> {
    let value = |tag| dynamic.iter().find(|entry| entry.d_tag == tag).map(|entry| entry.d_val);
    let mut needed_libraries = Vec::new();
    for entry in dynamic.iter().filter(|entry| entry.d_tag == DT_NEEDED) {
        let (Some(strtab), Some(strsz)) = (value(DT_STRTAB), value(DT_STRSZ)) else {
            bail!("has DT_NEEDED entries but no DT_STRTAB and DT_STRSZ to name them");
        };
        let Some(strtab_offset) = file_offset(program_headers, strtab) else {
            bail!("has a DT_STRTAB address {strtab:#x} that no PT_LOAD segment maps from the file");
        };
        ensure!(
            entry.d_val < strsz,
            "has a DT_NEEDED name at {} past the end of its string table ({strsz} bytes)",
            entry.d_val
        );
        let offset = strtab_offset.saturating_add(entry.d_val);
        let len = (strsz - entry.d_val).min(file.size.saturating_sub(offset)).min(MAX_LIBRARY_NAME);
        let bytes = file.read(offset, len, "a DT_NEEDED name")?;
        let Some(name) = until_nul(&bytes) else {
            bail!("has a DT_NEEDED name at offset {offset} with no terminating NUL");
        };
        needed_libraries.push(name);
    }
    Ok(needed_libraries)
}

/// A name for an `e_machine` value: the Rust architecture name for the machines this project
/// builds for, goblin's name and the number for any other.
pub fn machine_name(e_machine: u16) -> String {
    match e_machine {
        EM_X86_64 => "x86_64".to_string(),
        EM_AARCH64 => "aarch64".to_string(),
        other => format!("{} (`e_machine` {other})", machine_to_str(other)),
    }
}

/// The file offset of the byte that `PT_LOAD` segments map at `address`, if any maps it from
/// the file (rather than zero-filling it).
fn file_offset(program_headers: &[ProgramHeader], address: u64) -> Option<u64> {
    program_headers.iter().filter(|segment| segment.p_type == PT_LOAD).find_map(|segment| {
        let within = address.checked_sub(segment.p_vaddr)?;
        (within < segment.p_filesz).then(|| segment.p_offset.checked_add(within)).flatten()
    })
}

/// The text before the first NUL, with any invalid UTF-8 replaced; `None` when there is no NUL.
fn until_nul(bytes: &[u8]) -> Option<String> {
    let end = bytes.iter().position(|&byte| byte == 0)?;
    Some(String::from_utf8_lossy(&bytes[..end]).into_owned())
}

/// Names what a file that does not start with the ELF magic number is, from its first bytes.
fn describe_non_elf(start: &[u8]) -> String {
    const FIX_PLATFORM: &str =
        "not a Linux ELF executable; build for a `*-unknown-linux-musl` target";
    match start {
        [0xfe, 0xed, 0xfa, 0xce | 0xcf, ..] | [0xce | 0xcf, 0xfa, 0xed, 0xfe, ..] => {
            format!("is a Mach-O (macOS) file, {FIX_PLATFORM}")
        }
        [0xca, 0xfe, 0xba, 0xbe, ..] => {
            format!("is a Mach-O universal (macOS) file or a Java class file, {FIX_PLATFORM}")
        }
        [b'M', b'Z', ..] => format!("is a Windows (PE) file, {FIX_PLATFORM}"),
        [b'#', b'!', rest @ ..] => {
            let line = rest.split(|&byte| byte == b'\n').next().unwrap_or_default();
            let interpreter = String::from_utf8_lossy(line);
            format!(
                "is a script (`#!{}`), not an ELF executable; a scratch image has no \
                 interpreter to run it",
                interpreter.trim().escape_debug()
            )
        }
        _ if is_text(start) => "is a text file, not an ELF executable".to_string(),
        _ => {
            let magic: Vec<String> =
                start.iter().take(4).map(|byte| format!("{byte:02x}")).collect();
            format!(
                "is not an ELF executable: it starts with bytes {} where `7f 45 4c 46` (\\x7fELF) \
                 is expected",
                magic.join(" ")
            )
        }
    }
}

/// Whether `bytes` look like text: no control characters but tabs and line ends.
fn is_text(bytes: &[u8]) -> bool {
    bytes.iter().all(|&byte| (byte >= 0x20 && byte != 0x7f) || b"\t\n\r".contains(&byte))
}

#[cfg(test)]
mod tests {
    use goblin::elf::header::{EM_386, EM_PPC64, ET_NONE};
    use goblin::elf::program_header::PF_W;

    use super::*;

    // The sample files are ELF64 little-endian, laid out at these offsets, with one `PT_LOAD`
    // that maps the whole file at `LOAD_ADDRESS`.
    const PROGRAM_HEADERS: usize = 64;
    const INTERPRETER: usize = 0x200;
    const STRINGS: usize = 0x300;
    const DYNAMIC: usize = 0x400;
    const SECTION_HEADERS: usize = 0x600;
    const FILE_SIZE: usize = 0x700;
    const LOAD_ADDRESS: u64 = 0x20_0000;
    /// The dynamic string table: `libc.so.6` at 1, `libgcc_s.so.1` at 11.
    const STRING_TABLE: &[u8] = b"\0libc.so.6\0libgcc_s.so.1\0";
    const LIBC: u64 = 1;
    const LIBGCC: u64 = 11;
    /// `DT_STRTAB` and `DT_STRSZ` pointing at `STRING_TABLE`.
    const STRTAB: [(u64, u64); 2] =
        [(DT_STRTAB, LOAD_ADDRESS + STRINGS as u64), (DT_STRSZ, STRING_TABLE.len() as u64)];

    struct Sample {
        e_type: u16,
        interpreter: Option<&'static str>,
        /// Entries before the `DT_NULL` that ends them; none means no `PT_DYNAMIC`.
        dynamic: Vec<(u64, u64)>,
        /// `p_type` and `p_flags` of segments with no content (`PT_GNU_STACK`, `PT_GNU_RELRO`).
        markers: Vec<(u32, u32)>,
        symbol_table: bool,
    }

    impl Sample {
        fn new(e_type: u16) -> Sample {
            Sample {
                e_type,
                interpreter: None,
                dynamic: Vec::new(),
                markers: vec![(PT_GNU_STACK, PF_W)],
                symbol_table: false,
            }
        }

        fn build(&self) -> Vec<u8> {
            let mut file = vec![0; FILE_SIZE];
            let mut put = |offset: usize, bytes: &[u8]| {
                file[offset..offset + bytes.len()].copy_from_slice(bytes);
            };

            let mut segments = vec![(PT_LOAD, 5, 0, FILE_SIZE as u64)];
            if let Some(path) = self.interpreter {
                put(INTERPRETER, path.as_bytes());
                segments.push((PT_INTERP, 4, INTERPRETER as u64, path.len() as u64 + 1));
            }
            if !self.dynamic.is_empty() {
                for (index, (tag, value)) in self.dynamic.iter().enumerate() {
                    put(DYNAMIC + 16 * index, &tag.to_le_bytes());
                    put(DYNAMIC + 16 * index + 8, &value.to_le_bytes());
                }
                let size = 16 * (self.dynamic.len() as u64 + 1);
                segments.push((PT_DYNAMIC, 6, DYNAMIC as u64, size));
            }
            segments.extend(self.markers.iter().map(|&(p_type, p_flags)| (p_type, p_flags, 0, 0)));
            put(STRINGS, STRING_TABLE);

            put(0, b"\x7fELF\x02\x01\x01");
            put(16, &self.e_type.to_le_bytes());
            put(18, &EM_X86_64.to_le_bytes());
            put(20, &1u32.to_le_bytes());
            put(32, &(PROGRAM_HEADERS as u64).to_le_bytes());
            put(52, &64u16.to_le_bytes());
            put(54, &56u16.to_le_bytes());
            put(56, &(segments.len() as u16).to_le_bytes());
            put(58, &64u16.to_le_bytes());
            for (index, &(p_type, p_flags, offset, size)) in segments.iter().enumerate() {
                let at = PROGRAM_HEADERS + 56 * index;
                put(at, &p_type.to_le_bytes());
                put(at + 4, &p_flags.to_le_bytes());
                put(at + 8, &offset.to_le_bytes());
                put(at + 16, &(LOAD_ADDRESS + offset).to_le_bytes());
                put(at + 32, &size.to_le_bytes());
                put(at + 40, &size.to_le_bytes());
            }
            if self.symbol_table {
                // A null section and the symbol table.
                put(40, &(SECTION_HEADERS as u64).to_le_bytes());
                put(60, &2u16.to_le_bytes());
                put(SECTION_HEADERS + 64 + 4, &SHT_SYMTAB.to_le_bytes());
            }
            file
        }
    }

    fn inspect_error(bytes: &[u8]) -> String {
        format!("{:#}", inspect(bytes).expect_err("the input is not a valid ELF file"))
    }

    #[test]
    fn a_musl_x86_64_build_is_a_static_pie_executable() {
        let mut sample = Sample::new(ET_DYN);
        sample.dynamic = vec![(DT_FLAGS, DF_BIND_NOW), (DT_FLAGS_1, DF_1_NOW | DF_1_PIE)];
        sample.markers.push((PT_GNU_RELRO, 4));
        let elf = inspect(sample.build().as_slice()).unwrap();

        assert_eq!(elf.kind(), Kind::StaticPieExecutable);
        assert!(elf.kind().is_static_executable());
        assert!(elf.is_pie() && elf.is_64_bit() && elf.is_little_endian());
        assert_eq!((elf.interpreter.as_deref(), elf.needed_libraries.len()), (None, 0));
        assert_eq!(elf.nx_stack(), NxStack::Yes);
        assert_eq!(elf.relro(), Relro::Full);
        assert!(elf.is_stripped());
        assert_eq!((elf.header.e_machine, elf.size), (EM_X86_64, FILE_SIZE as u64));
    }

    #[test]
    fn a_musl_aarch64_style_build_is_a_static_executable_without_pie() {
        let mut sample = Sample::new(ET_EXEC);
        sample.markers.push((PT_GNU_RELRO, 4));
        let elf = inspect(sample.build().as_slice()).unwrap();

        assert_eq!(elf.kind(), Kind::StaticExecutable);
        assert!(elf.kind().is_static_executable() && !elf.is_pie());
        // Without a dynamic section nothing says to bind at startup.
        assert_eq!(elf.relro(), Relro::Partial);
    }

    #[test]
    fn a_glibc_build_needs_its_interpreter_and_libraries() {
        let mut sample = Sample::new(ET_DYN);
        sample.interpreter = Some("/lib64/ld-linux-x86-64.so.2");
        sample.dynamic = [(DT_NEEDED, LIBGCC), (DT_NEEDED, LIBC), (DT_FLAGS_1, DF_1_PIE)].into();
        sample.dynamic.extend(STRTAB);
        sample.markers.push((PT_GNU_RELRO, 4));
        let elf = inspect(sample.build().as_slice()).unwrap();

        assert_eq!(elf.kind(), Kind::DynamicExecutable);
        assert!(elf.kind().is_executable() && !elf.kind().is_static_executable());
        assert_eq!(elf.interpreter.as_deref(), Some("/lib64/ld-linux-x86-64.so.2"));
        assert_eq!(elf.needed_libraries, ["libgcc_s.so.1", "libc.so.6"]);
        assert!(elf.is_pie());
        assert_eq!(elf.relro(), Relro::Partial);
    }

    #[test]
    fn a_non_pie_dynamic_executable_is_dynamic_and_not_pie() {
        let mut sample = Sample::new(ET_EXEC);
        sample.interpreter = Some("/lib/ld-linux-aarch64.so.1");
        let elf = inspect(sample.build().as_slice()).unwrap();
        assert_eq!(elf.kind(), Kind::DynamicExecutable);
        assert!(!elf.is_pie());
    }

    #[test]
    fn position_independent_without_pie_flag_or_interpreter_is_a_shared_library() {
        let mut sample = Sample::new(ET_DYN);
        sample.dynamic = [(DT_NEEDED, LIBC), (DT_BIND_NOW, 0)].into();
        sample.dynamic.extend(STRTAB);
        sample.symbol_table = true;
        sample.markers = vec![(PT_GNU_STACK, PF_W | PF_X), (PT_GNU_RELRO, 4)];
        let elf = inspect(sample.build().as_slice()).unwrap();

        assert_eq!(elf.kind(), Kind::SharedLibrary);
        assert!(!elf.kind().is_executable() && !elf.is_pie());
        assert_eq!(elf.needed_libraries, ["libc.so.6"]);
        assert_eq!(elf.nx_stack(), NxStack::No);
        assert_eq!(elf.relro(), Relro::Full);
        assert!(!elf.is_stripped());
    }

    #[test]
    fn other_types_are_named_and_missing_markers_reported() {
        let mut object = Sample::new(ET_REL);
        object.markers.clear();
        let elf = inspect(object.build().as_slice()).unwrap();
        assert_eq!(elf.kind(), Kind::RelocatableObject);
        assert_eq!((elf.nx_stack(), elf.relro()), (NxStack::Unmarked, Relro::None));

        let kind = |e_type| inspect(Sample::new(e_type).build().as_slice()).unwrap().kind();
        assert_eq!(kind(ET_CORE), Kind::CoreDump);
        assert_eq!(kind(ET_NONE), Kind::Other(ET_NONE));
        assert_eq!(Kind::Other(0xfe00).to_string(), "ELF file of unknown type (`e_type` 65024)");
    }

    #[test]
    fn every_truncation_of_a_valid_file_is_an_error_not_a_panic() {
        let mut sample = Sample::new(ET_DYN);
        sample.interpreter = Some("/lib64/ld-linux-x86-64.so.2");
        sample.dynamic = [(DT_NEEDED, LIBC)].into();
        sample.dynamic.extend(STRTAB);
        sample.symbol_table = true;
        let file = sample.build();
        assert!(inspect(file.as_slice()).is_ok());
        for len in 1..file.len() {
            let error = inspect_error(&file[..len]);
            assert!(error.starts_with("is truncated"), "{len} bytes: {error}");
        }
    }

    #[test]
    fn other_formats_are_named() {
        assert_eq!(inspect_error(b""), "is empty, not an ELF executable");
        assert_eq!(inspect_error(b"hello\n"), "is a text file, not an ELF executable");
        assert!(inspect_error(b"#!/bin/sh\necho hi\n").starts_with("is a script (`#!/bin/sh`)"));
        assert!(inspect_error(b"\xcf\xfa\xed\xfe\x07\0\0\x01").starts_with("is a Mach-O"));
        assert!(inspect_error(b"\xca\xfe\xba\xbe").starts_with("is a Mach-O universal"));
        assert!(inspect_error(b"MZ\x90\0\x03\0").starts_with("is a Windows (PE) file"));
        assert!(inspect_error(b"\x7fEL").contains("ends inside the ELF magic number"));
        assert!(inspect_error(b"\x7fELX").contains("starts with bytes 7f 45 4c 58 where"));
        assert!(inspect_error(b"\0\x01\x02\x03\x04").contains("starts with bytes 00 01 02 03 "));
    }

    #[test]
    fn broken_identification_bytes_are_errors() {
        assert!(inspect_error(b"\x7fELF").contains("ends inside the ELF identification"));
        assert!(inspect_error(b"\x7fELF\x03\x01").contains("invalid ELF class 3"));
        assert!(inspect_error(b"\x7fELF\x02\x00").contains("invalid byte order 0"));
        let error = inspect_error(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0");
        assert_eq!(error, "is truncated: the ELF header needs 64 bytes but the file has 18");
    }

    #[test]
    fn thirty_two_bit_and_big_endian_headers_are_read_as_such() {
        let mut elf32 = vec![0; 52];
        elf32[..7].copy_from_slice(b"\x7fELF\x01\x01\x01");
        elf32[16..20].copy_from_slice(&[2, 0, EM_386 as u8, 0]);
        let elf = inspect(elf32.as_slice()).unwrap();
        assert!(!elf.is_64_bit() && elf.is_little_endian());
        assert_eq!((elf.header.e_machine, elf.kind()), (EM_386, Kind::StaticExecutable));

        let mut big_endian = vec![0; 64];
        big_endian[..7].copy_from_slice(b"\x7fELF\x02\x02\x01");
        big_endian[16..20].copy_from_slice(&[0, 2, 0, EM_PPC64 as u8]);
        let elf = inspect(big_endian.as_slice()).unwrap();
        assert!(elf.is_64_bit() && !elf.is_little_endian());
        assert_eq!(elf.header.e_machine, EM_PPC64);
    }

    #[test]
    fn header_tables_that_do_not_fit_are_errors() {
        let valid = Sample::new(ET_EXEC).build();
        let with = |offset: usize, bytes: &[u8]| {
            let mut file = valid.clone();
            file[offset..offset + bytes.len()].copy_from_slice(bytes);
            inspect_error(&file)
        };

        // `e_phoff` so large that offset plus length overflows.
        assert!(with(32, &u64::MAX.to_le_bytes()).starts_with("is truncated: the program header"));
        // `e_phentsize` that is not ELF64's.
        assert!(with(54, &32u16.to_le_bytes()).contains("entries of 32 bytes (`e_phentsize`)"));
        // Section headers whose count, stored in section 0 since `e_shnum` is 0, is absurd.
        let mut file = valid.clone();
        file[40..48].copy_from_slice(&(SECTION_HEADERS as u64).to_le_bytes());
        file[SECTION_HEADERS + 32..SECTION_HEADERS + 40].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(inspect_error(&file).starts_with("claims 18446744073709551615 section headers"));
        // Segments that run past the end of the file, and an interpreter path that would fit
        // but is longer than any path.
        let mut sample = Sample::new(ET_DYN);
        sample.interpreter = Some("/lib/ld.so");
        let mut file = sample.build();
        let interp_filesz = PROGRAM_HEADERS + 56 + 32;
        file[interp_filesz..interp_filesz + 8].copy_from_slice(&(1u64 << 40).to_le_bytes());
        let error = inspect_error(&file);
        assert!(error.starts_with("is truncated: its PT_INTERP segment (bytes 512.."), "{error}");
        file[interp_filesz..interp_filesz + 8].copy_from_slice(&5000u64.to_le_bytes());
        file.resize(0x2000, 0);
        assert!(inspect_error(&file).contains("PT_INTERP segment of 5000 bytes, longer than any"));
    }

    #[test]
    fn library_names_must_be_where_the_dynamic_section_says() {
        let error = |dynamic: &[(u64, u64)]| {
            let mut sample = Sample::new(ET_DYN);
            sample.dynamic = dynamic.to_vec();
            inspect_error(&sample.build())
        };
        assert!(error(&[(DT_NEEDED, LIBC)]).contains("no DT_STRTAB and DT_STRSZ"));
        let unmapped = [(DT_NEEDED, LIBC), (DT_STRTAB, 0x10), (DT_STRSZ, 26)];
        assert!(error(&unmapped).contains("DT_STRTAB address 0x10 that no PT_LOAD"));
        let past_end = [(DT_NEEDED, 40), STRTAB[0], STRTAB[1]];
        assert!(
            error(&past_end).contains("name at 40 past the end of its string table (25 bytes)")
        );
        // A string table that ends before the name's NUL.
        let unterminated = [(DT_NEEDED, LIBC), STRTAB[0], (DT_STRSZ, 5)];
        assert!(error(&unterminated).contains("with no terminating NUL"));
    }

    #[test]
    fn addresses_map_to_file_offsets_only_within_file_backed_bytes() {
        let load = |p_offset, p_vaddr, p_filesz, p_memsz| ProgramHeader {
            p_type: PT_LOAD,
            p_offset,
            p_vaddr,
            p_filesz,
            p_memsz,
            ..ProgramHeader::default()
        };
        let segments = [load(0, 0x1000, 0x100, 0x100), load(0x100, 0x3000, 0x10, 0x1000)];
        assert_eq!(file_offset(&segments, 0x1000), Some(0));
        assert_eq!(file_offset(&segments, 0x10ff), Some(0xff));
        assert_eq!(file_offset(&segments, 0x1100), None);
        assert_eq!(file_offset(&segments, 0x3008), Some(0x108));
        // Zero-filled memory (`.bss`) is not in the file.
        assert_eq!(file_offset(&segments, 0x3010), None);
        assert_eq!(file_offset(&[load(u64::MAX, 0, 0x10, 0x10)], 1), None);
    }

    #[test]
    fn byte_slices_read_only_what_they_hold() {
        let bytes: &[u8] = b"0123";
        let mut buf = [0; 2];
        bytes.read_exact_at(2, &mut buf).unwrap();
        assert_eq!(&buf, b"23");
        assert!(bytes.read_exact_at(3, &mut buf).is_err());
        assert!(bytes.read_exact_at(u64::MAX, &mut buf).is_err());
    }

    #[test]
    fn machines_are_named() {
        assert_eq!(machine_name(EM_X86_64), "x86_64");
        assert_eq!(machine_name(EM_AARCH64), "aarch64");
        assert_eq!(machine_name(EM_386), "386 (`e_machine` 3)");
    }
}
