//! Any bytes at all must give the inspector an `Elf` or an error, never a panic, a hang or an
//! allocation the input's size does not justify; and every check must hold up on what it read.

#![no_main]

use libfuzzer_sys::fuzz_target;
use xtask::elf;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(elf) = elf::inspect(bytes) {
        let _ = (elf.kind().to_string(), elf.is_pie(), elf.nx_stack().to_string());
        let _ = (elf.relro().to_string(), elf.is_stripped(), elf.is_64_bit());
        let _ = (elf.is_little_endian(), elf::machine_name(elf.header.e_machine));
    }
});
