//! Generates the fixture's modules from schemas/ with the build-script API.

use amp_schema::codegen::rust::{Builder, IntegerType};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for schema in [
        "schemas/test_amp.json",
        "schemas/every_type.json",
        "schemas/names.json",
    ] {
        Builder::new().compile(schema)?;
    }
    // The same schema with Integer as BigInt, beside the others.
    let bigint = std::path::Path::new(&std::env::var("OUT_DIR")?).join("bigint");
    std::fs::create_dir_all(&bigint)?;
    Builder::new()
        .integer(IntegerType::BigInt)
        .out_dir(bigint)
        .compile("schemas/every_type.json")?;
    Ok(())
}
