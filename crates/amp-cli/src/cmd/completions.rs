//! `amp completions SHELL` and `amp man`: generated from the command line
//! definition itself, so they never go stale.

use clap::CommandFactory;
use std::io::Write;

use super::Cli;
use crate::exit::{CliError, CliResult};

/// `amp completions`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Example:
  amp completions bash > ~/.local/share/bash-completion/completions/amp
  amp completions zsh > ~/.zfunc/_amp")]
pub struct CompletionsArgs {
    /// The shell.
    pub shell: clap_complete::Shell,
}

/// `amp man`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  amp man > amp.1 && man ./amp.1
  amp man call | man -l -
  amp man --dir /usr/local/share/man/man1     # amp.1 and amp-SUBCOMMAND.1 for each")]
pub struct ManArgs {
    /// Only this subcommand's page (amp-SUBCOMMAND.1).
    pub subcommand: Option<String>,
    /// Write every page into this directory instead of printing one.
    #[arg(long, value_name = "DIR", conflicts_with = "subcommand")]
    pub dir: Option<std::path::PathBuf>,
}

/// Prints the completion script for the shell.
pub fn completions(args: CompletionsArgs) -> CliResult {
    let mut cmd = Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "amp", &mut std::io::stdout());
    Ok(())
}

/// The page of `amp` (`None`) or of one subcommand, in roff.
fn page(subcommand: Option<&str>) -> CliResult<(String, Vec<u8>)> {
    let mut cmd = Cli::command();
    cmd.build();
    let (name, cmd) = match subcommand {
        None => ("amp".to_owned(), cmd),
        Some(s) => {
            let sub = cmd
                .find_subcommand(s)
                .cloned()
                .ok_or_else(|| CliError::usage(format!("no subcommand `{s}` (see amp --help)")))?;
            let name = format!("amp-{s}");
            (name.clone(), sub.name(name))
        }
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut out)
        .map_err(CliError::usage)?;
    Ok((name, out))
}

/// Prints the man page, or writes them all with `--dir`.
pub fn man(args: ManArgs) -> CliResult {
    let Some(dir) = args.dir else {
        let (_, page) = page(args.subcommand.as_deref())?;
        return std::io::stdout().write_all(&page).map_err(CliError::usage);
    };
    std::fs::create_dir_all(&dir).map_err(CliError::usage)?;
    let names: Vec<String> = Cli::command()
        .get_subcommands()
        .map(|s| s.get_name().to_owned())
        .collect();
    for sub in std::iter::once(None).chain(names.iter().map(|n| Some(n.as_str()))) {
        let (name, page) = page(sub)?;
        let path = dir.join(format!("{name}.1"));
        std::fs::write(&path, page)
            .map_err(|e| CliError::usage(format!("cannot write {}: {e}", path.display())))?;
        println!("{}", path.display());
    }
    Ok(())
}
