//! Derive macros (being written).
use proc_macro::TokenStream;

/// Placeholder.
#[proc_macro_derive(Command, attributes(amp))]
pub fn derive_command(_input: TokenStream) -> TokenStream {
    TokenStream::new()
}
/// Placeholder.
#[proc_macro_derive(Record, attributes(amp))]
pub fn derive_record(_input: TokenStream) -> TokenStream {
    TokenStream::new()
}
/// Placeholder.
#[proc_macro_derive(AmpError, attributes(amp))]
pub fn derive_error(_input: TokenStream) -> TokenStream {
    TokenStream::new()
}
