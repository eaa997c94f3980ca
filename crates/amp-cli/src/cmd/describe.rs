//! `amp list` and `amp describe`: what the schema says, offline.

use crate::cli::Global;
use crate::exit::{CliError, CliResult};
use crate::schema::{self, display::declaration};

/// `amp list`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  amp list --schema service.json
  amp schema import ampoule.commands -o .amp.json && amp list
  amp list --json | jq -r '.[]'

Prints the wire names of the schema's commands, one per line, in the file's
order. Exit 2 if there is no schema.")]
pub struct ListArgs {
    /// Print a JSON array of the names instead.
    #[arg(long)]
    pub json: bool,
}

/// `amp describe`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  amp describe Sum --schema service.json
  amp describe hello            # wire name, or the Python class name
  amp describe hello --json     # the command as the schema file has it

Exit 2 if there is no schema or no such command (close names are suggested).")]
pub struct DescribeArgs {
    /// The command: its wire name, or its Python class name.
    pub command: String,
    /// Print the command's schema object (JSON) instead.
    #[arg(long)]
    pub json: bool,
}

/// Runs `amp list`.
pub fn list(args: ListArgs, global: &Global) -> CliResult {
    let (_, schema) = schema::require(global)?;
    let names: Vec<&str> = schema.commands.iter().map(|c| c.name.as_str()).collect();
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&names).map_err(CliError::usage)?
        );
    } else {
        for name in names {
            println!("{name}");
        }
    }
    Ok(())
}

/// Runs `amp describe`.
pub fn describe(args: DescribeArgs, global: &Global) -> CliResult {
    let (path, schema) = schema::require(global)?;
    let Some(command) = schema.find(&args.command) else {
        return Err(CliError::usage(schema::not_found(
            &schema,
            &args.command,
            &path.display().to_string(),
        )));
    };
    if args.json {
        let text = serde_json::to_string_pretty(command).map_err(CliError::usage)?;
        println!("{text}");
    } else {
        print!("{}", declaration(command));
    }
    Ok(())
}
