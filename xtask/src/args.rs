//! Command-line arguments for the tasks. A handful of flags each does not earn a parsing
//! framework; this keeps unknown flags an error rather than silently ignored.

use std::ffi::OsString;

use anyhow::{Context, bail};

pub(crate) struct Args {
    rest: Vec<String>,
}

impl Args {
    pub(crate) fn from_env() -> Args {
        // A non-UTF-8 argument is kept lossily here and then rejected by whichever task
        // cannot find the path it names, rather than panicking in `std::env::args`.
        let rest = std::env::args_os().skip(1).map(|arg: OsString| arg.to_string_lossy().into());
        Args { rest: rest.collect() }
    }

    #[cfg(test)]
    pub(crate) fn from_vec(rest: &[&str]) -> Args {
        Args { rest: rest.iter().map(|arg| arg.to_string()).collect() }
    }

    /// Takes the first argument, whatever it is (the task name).
    pub(crate) fn next_positional(&mut self) -> Option<String> {
        (!self.rest.is_empty()).then(|| self.rest.remove(0))
    }

    /// Takes every `--name VALUE` and `--name=VALUE`, before any `--`.
    pub(crate) fn values(&mut self, name: &str) -> anyhow::Result<Vec<String>> {
        let prefix = format!("{name}=");
        let mut found = Vec::new();
        let mut index = 0;
        while index < self.options_end() {
            if self.rest[index] == name {
                self.rest.remove(index);
                if index >= self.rest.len() || self.rest[index] == "--" {
                    bail!("`{name}` needs a value");
                }
                found.push(self.rest.remove(index));
            } else if let Some(value) = self.rest[index].strip_prefix(&prefix) {
                found.push(value.to_string());
                self.rest.remove(index);
            } else {
                index += 1;
            }
        }
        Ok(found)
    }

    /// Takes `--name VALUE` given at most once.
    pub(crate) fn value(&mut self, name: &str) -> anyhow::Result<Option<String>> {
        let mut found = self.values(name)?;
        if found.len() > 1 {
            bail!("`{name}` given {} times; give it once", found.len());
        }
        Ok(found.pop())
    }

    /// What is left: positional arguments. Any other `--flag` before `--` is an error, since
    /// a misspelt option should not turn into a file name.
    pub(crate) fn finish(self) -> anyhow::Result<Vec<String>> {
        let mut positional = Vec::new();
        let mut rest = self.rest.into_iter();
        while let Some(arg) = rest.next() {
            if arg == "--" {
                positional.extend(rest);
                break;
            }
            if arg.starts_with("--") {
                bail!("unknown option `{arg}`; run `cargo xtask help`");
            }
            positional.push(arg);
        }
        Ok(positional)
    }

    /// Like [`Args::finish`], for tasks that take no positional arguments.
    pub(crate) fn finish_empty(self) -> anyhow::Result<()> {
        let positional = self.finish()?;
        if let Some(extra) = positional.first() {
            return Err(anyhow::anyhow!("unexpected argument `{extra}`"))
                .context("this task takes only options; run `cargo xtask help`");
        }
        Ok(())
    }

    /// Options come before `--`; what follows it is passed on untouched.
    fn options_end(&self) -> usize {
        self.rest.iter().position(|arg| arg == "--").unwrap_or(self.rest.len())
    }
}

#[cfg(test)]
mod tests {
    use super::Args;

    #[test]
    fn values_in_both_spellings_and_positionals_keep_their_order() {
        let mut args = Args::from_vec(&["a", "--target", "x", "b", "--target=y", "c"]);
        assert_eq!(args.values("--target").unwrap(), ["x", "y"]);
        assert_eq!(args.finish().unwrap(), ["a", "b", "c"]);
    }

    #[test]
    fn missing_value_is_an_error() {
        let mut args = Args::from_vec(&["--target"]);
        assert_eq!(args.values("--target").unwrap_err().to_string(), "`--target` needs a value");
    }

    #[test]
    fn a_value_given_twice_is_an_error() {
        let mut args = Args::from_vec(&["--tag", "a", "--tag", "b"]);
        assert!(args.value("--tag").unwrap_err().to_string().contains("given 2 times"));
    }

    #[test]
    fn unknown_option_is_an_error_but_not_after_double_dash() {
        assert!(Args::from_vec(&["--frobnicate"]).finish().is_err());
        let args = Args::from_vec(&["prog", "--", "--frobnicate"]);
        assert_eq!(args.finish().unwrap(), ["prog", "--frobnicate"]);
    }

    #[test]
    fn flags_after_double_dash_belong_to_the_program() {
        let mut args = Args::from_vec(&["--", "--target", "x"]);
        assert!(args.values("--target").unwrap().is_empty());
        assert_eq!(args.finish().unwrap(), ["--target", "x"]);
    }
}
