//! Prints a greeting. Small on purpose: the point of this repository is how it is built and
//! shipped, and the one thing it does, it does without panicking whatever stdout is.

use std::io::{self, ErrorKind, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    match greet(&mut io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`hello | head -c0`): it did not want the rest, which is
        // not our failure. `println!` would panic here, since Rust ignores SIGPIPE.
        Err(error) if error.kind() == ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(error) => {
            // If stderr is gone too there is nobody left to tell; the exit code still does.
            let _ = writeln!(io::stderr(), "hello: cannot write to stdout: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Writes the greeting and flushes, so that a full disk is reported here, not lost when
/// the buffer is dropped at exit.
fn greet(out: &mut impl Write) -> io::Result<()> {
    out.write_all(b"Hello, world!\n")?;
    out.flush()
}
