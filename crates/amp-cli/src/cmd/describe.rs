//! `amp list` and `amp describe`: what the schema says (offline), or what
//! a server says of itself (given its address).

use crate::cli::Global;
use crate::exit::{CliError, CliResult};
use crate::schema::remote::{self, Remote};
use crate::schema::{self, display::declaration, Schema};

/// `amp list`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  amp list 127.0.0.1:1234         # ask the server (it must describe itself)
  amp list --schema service.json
  amp schema import ampoule.commands -o .amp.json && amp list
  amp list --json | jq -r '.[]'

Prints the wire names of the commands, one per line: the schema's in the
file's order, or, given an address, the server's (commands it answers
without describing their arguments too). Exit 2 if there is no schema; with
an address, exit 1 if the server does not describe itself, 3 if it cannot
be reached.")]
pub struct ListArgs {
    /// Ask the server at ADDR (host:port or unix:/path) for its commands
    /// instead of reading a schema file.
    #[arg(value_name = "ADDR")]
    pub addr: Option<String>,
    /// Print a JSON array of the names instead.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub remote: Remote,
}

/// `amp describe`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  amp describe 127.0.0.1:1234 Sum     # ask the server
  amp describe Sum --schema service.json
  amp describe hello            # wire name, or the Python class name
  amp describe hello --json     # the command as the schema file has it

Exit 2 if there is no schema or no such command (close names are
suggested); with an address, exit 1 if the server does not describe
itself, 3 if it cannot be reached.")]
pub struct DescribeArgs {
    /// The server to ask (host:port or unix:/path), then the command; the
    /// command alone reads the schema file.
    #[arg(value_name = "[ADDR] COMMAND", num_args = 1..=2, required = true)]
    pub words: Vec<String>,
    /// Print the command's schema object (JSON) instead.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub remote: Remote,
}

/// Runs `amp list`.
pub async fn list(args: ListArgs, global: &Global) -> CliResult {
    let schema = match &args.addr {
        Some(addr) => remote::fetch(addr, &args.remote).await?,
        None => schema::require(global)?.1,
    };
    let names: Vec<&str> = schema
        .commands
        .iter()
        .map(|c| c.name.as_str())
        .chain(schema.untyped.iter().map(String::as_str))
        .collect();
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
pub async fn describe(args: DescribeArgs, global: &Global) -> CliResult {
    let (schema, origin, wanted): (Schema, String, &str) = match args.words.as_slice() {
        [addr, command] => (
            remote::fetch(addr, &args.remote).await?,
            addr.clone(),
            command,
        ),
        [command] => {
            let (path, schema) = schema::require(global)?;
            (schema, path.display().to_string(), command)
        }
        _ => return Err(CliError::usage("amp describe [ADDR] COMMAND")),
    };
    let Some(command) = schema.find(wanted) else {
        if schema.untyped.iter().any(|n| n == wanted) {
            return untyped(wanted, &origin, args.json);
        }
        return Err(CliError::usage(schema::not_found(&schema, wanted, &origin)));
    };
    if args.json {
        let text = serde_json::to_string_pretty(command).map_err(CliError::usage)?;
        println!("{text}");
    } else {
        print!("{}", declaration(command));
    }
    Ok(())
}

/// A command the server answers without describing it.
fn untyped(name: &str, origin: &str, json: bool) -> CliResult {
    if json {
        println!("{}", serde_json::json!({"name": name, "untyped": true}));
    } else {
        println!("{name}: answered by {origin}, arguments not described (call it untyped)");
    }
    Ok(())
}
