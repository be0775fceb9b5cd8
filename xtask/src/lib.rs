//! The parts of the automation that are worth linking from elsewhere: the ELF inspector, which
//! `fuzz/` feeds arbitrary bytes. The tasks themselves live in the `xtask` binary (`main.rs`).

pub mod elf;
