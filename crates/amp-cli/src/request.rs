//! Building a request box from command-line items (`ARG=TEXT`,
//! `ARG:=JSON`, `ARG=@FILE`) or a JSON object, typed by the schema when
//! there is one. (First cut: `ARG=TEXT` only; typed values being written.)

use amp::AmpBox;

use crate::exit::{CliError, CliResult};
use crate::schema::Schema;

/// The arguments of a call to `command`, from `items` and the JSON object
/// `data` (`-d`), typed by `schema`'s declaration of `command` if any.
pub fn request_box(
    schema: Option<&Schema>,
    command: &str,
    items: &[String],
    data: Option<&serde_json::Value>,
) -> CliResult<AmpBox> {
    let _ = (schema, command, data);
    let mut b = AmpBox::new();
    for item in items {
        let (k, v) = item.split_once('=').ok_or_else(|| {
            CliError::usage(format!("`{item}` is not an argument: use NAME=VALUE"))
        })?;
        b.insert(k.to_owned(), v.to_owned());
    }
    Ok(b)
}
