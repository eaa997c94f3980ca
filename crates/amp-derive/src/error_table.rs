//! `#[derive(AmpError)]`.

use std::collections::HashMap;

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{Data, DeriveInput, Fields, Ident, LitStr, Type};

use crate::attr::{self, Errors, Site};
use crate::record::{default_crate, no_generics, MAX_VALUE_LENGTH};

/// Codes a declared error cannot use. `UNKNOWN` is allowed (Twisted's own
/// tests declare it): a received `UNKNOWN` is looked up in the declared
/// errors first and is the generic unknown error only when undeclared.
/// `UNHANDLED` is not: a received `UNHANDLED` always means "no responder"
/// (Twisted maps it before looking at the declared errors), so a variant
/// declared with it could be sent but never received as itself.
const RESERVED_CODES: &[&str] = &["UNHANDLED"];

enum Kind {
    /// `#[amp(code = "..")] Unit`: fixed description.
    Unit { description: String },
    /// `#[amp(code = "..")] V(String)` or `V { field: String }`.
    Message { field: Option<Ident> },
    /// `#[amp(extends)] V(Other)`.
    Extends { ty: Type },
}

struct Variant {
    ident: Ident,
    code: String,
    fatal: bool,
    kind: Kind,
}

pub(crate) fn expand(input: DeriveInput) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let attrs = attr::parse(&input.attrs, Site::ErrorEnum, &mut errors);
    no_generics(&input, "AmpError", &mut errors);

    let data = match &input.data {
        Data::Enum(e) => Some(e),
        Data::Struct(s) => {
            errors.at(
                s.struct_token.span,
                "`#[derive(AmpError)]` only supports enums (one variant per error code)",
            );
            None
        }
        Data::Union(u) => {
            errors.at(
                u.union_token.span,
                "`#[derive(AmpError)]` only supports enums (one variant per error code)",
            );
            None
        }
    };

    let mut variants = Vec::new();
    let mut seen: HashMap<String, Ident> = HashMap::new();
    for v in data.iter().flat_map(|e| &e.variants) {
        let va = attr::parse(&v.attrs, Site::Variant, &mut errors);
        for f in &v.fields {
            attr::parse(&f.attrs, Site::VariantField, &mut errors);
        }
        let ident = v.ident.clone();

        if let Some(ext) = va.extends {
            let mut ok = true;
            if let Some(code) = &va.code {
                errors.spanned(
                    code,
                    "`code` cannot be combined with `extends`: an `extends` variant takes \
                     its codes from the error table it wraps",
                );
                ok = false;
            }
            if let Some(fatal) = va.fatal {
                errors.at(
                    fatal,
                    "`fatal` cannot be combined with `extends`: whether an error is fatal \
                     comes from the error table it wraps",
                );
                ok = false;
            }
            if let Some(d) = &va.description {
                errors.spanned(
                    d,
                    "`description` cannot be combined with `extends`: descriptions come \
                     from the error table it wraps",
                );
                ok = false;
            }
            let ty = match &v.fields {
                Fields::Unnamed(f) if f.unnamed.len() == 1 => Some(f.unnamed[0].ty.clone()),
                _ => {
                    let msg = "an `extends` variant must have exactly one unnamed field: \
                               the error table it includes, e.g. `Base(OtherErrors)`";
                    match &v.fields {
                        Fields::Unit => errors.at(ext, msg),
                        fields => errors.spanned(fields, msg),
                    }
                    None
                }
            };
            if let (true, Some(ty)) = (ok, ty) {
                variants.push(Variant {
                    ident,
                    code: String::new(),
                    fatal: false,
                    kind: Kind::Extends { ty },
                });
            }
            continue;
        }

        let Some(code_lit) = &va.code else {
            errors.spanned(
                &v.ident,
                format_args!(
                    "variant `{ident}` needs `#[amp(code = \"...\")]` (its wire error code) \
                     or `#[amp(extends)]` (to include another error table)"
                ),
            );
            continue;
        };
        let code = code_lit.value();
        check_code(&code, code_lit, &ident, &mut seen, &mut errors);

        let kind = match &v.fields {
            Fields::Unit => Some(Kind::Unit {
                description: va
                    .description
                    .as_ref()
                    .map(LitStr::value)
                    .unwrap_or_default(),
            }),
            fields => {
                if let Some(d) = &va.description {
                    errors.spanned(
                        d,
                        "`description` is only allowed on unit variants; this variant's \
                         `String` field carries the description",
                    );
                }
                let list: Vec<_> = fields.iter().collect();
                if list.len() != 1 {
                    errors.spanned(
                        fields,
                        "an error variant may carry at most one field: the `String` \
                         description (`Variant(String)` or `Variant { message: String }`)",
                    );
                    None
                } else if !is_string(&list[0].ty) {
                    errors.spanned(
                        &list[0].ty,
                        "the field of an error variant must be a `String` (the error \
                         description); to include another error table use \
                         `#[amp(extends)]` instead of `code`",
                    );
                    None
                } else {
                    Some(Kind::Message {
                        field: list[0].ident.clone(),
                    })
                }
            }
        };
        if let Some(kind) = kind {
            variants.push(Variant {
                ident,
                code,
                fatal: va.fatal.is_some(),
                kind,
            });
        }
    }
    errors.finish()?;

    let krate = attrs.krate.clone().unwrap_or_else(default_crate);
    let ident = &input.ident;
    let inner = Ident::new("__amp_inner", Span::mixed_site());
    let code_arg = Ident::new("__amp_code", Span::mixed_site());
    let desc_arg = Ident::new("__amp_description", Span::mixed_site());

    let own: Vec<&Variant> = variants
        .iter()
        .filter(|v| !matches!(v.kind, Kind::Extends { .. }))
        .collect();
    let extends: Vec<(&Ident, &Type)> = variants
        .iter()
        .filter_map(|v| match &v.kind {
            Kind::Extends { ty } => Some((&v.ident, ty)),
            _ => None,
        })
        .collect();

    // codes()
    let own_codes = own.iter().map(|v| {
        let (c, f) = (&v.code, v.fatal);
        quote!((#c, #f))
    });
    let ext_tys = extends.iter().map(|(_, t)| t);
    let amp_codes = Ident::new("__amp_codes", Span::mixed_site());
    let codes = if extends.is_empty() && own.is_empty() {
        quote!(::std::vec::Vec::new())
    } else if extends.is_empty() {
        quote!(::std::vec![#(#own_codes),*])
    } else {
        quote! {
            let mut #amp_codes: ::std::vec::Vec<(&'static str, bool)> =
                ::std::vec![#(#own_codes),*];
            #(::core::iter::Extend::extend(&mut #amp_codes, <#ext_tys as #krate::ErrorTable>::codes());)*
            #amp_codes
        }
    };

    // code(), is_fatal(), description()
    let arms = |own_arm: &dyn Fn(&Variant) -> TokenStream, ext: &TokenStream| {
        variants
            .iter()
            .map(|v| {
                let vi = &v.ident;
                match &v.kind {
                    Kind::Extends { .. } => quote!(Self::#vi(#inner) => #ext,),
                    _ => {
                        let body = own_arm(v);
                        quote!(Self::#vi { .. } => #body,)
                    }
                }
            })
            .collect::<Vec<_>>()
    };
    let code_arms = arms(
        &|v| {
            let c = &v.code;
            quote!(#c)
        },
        &quote!(#krate::ErrorTable::code(#inner)),
    );
    let fatal_arms = arms(
        &|v| {
            let f = v.fatal;
            quote!(#f)
        },
        &quote!(#krate::ErrorTable::is_fatal(#inner)),
    );
    let desc_arms: Vec<TokenStream> = variants
        .iter()
        .map(|v| {
            let vi = &v.ident;
            match &v.kind {
                Kind::Extends { .. } => {
                    quote!(Self::#vi(#inner) => #krate::ErrorTable::description(#inner),)
                }
                Kind::Unit { description } if description.is_empty() => {
                    quote!(Self::#vi => ::std::string::String::new(),)
                }
                Kind::Unit { description } => {
                    quote!(Self::#vi => ::std::string::String::from(#description),)
                }
                Kind::Message { field: None } => {
                    quote!(Self::#vi(#inner) => ::std::string::ToString::to_string(#inner),)
                }
                Kind::Message { field: Some(f) } => {
                    quote!(Self::#vi { #f: #inner } => ::std::string::ToString::to_string(#inner),)
                }
            }
        })
        .collect();
    let self_match = |arms: &[TokenStream]| {
        if arms.is_empty() {
            quote!(match *self {})
        } else {
            quote!(match self { #(#arms)* })
        }
    };
    let code_body = self_match(&code_arms);
    let fatal_body = self_match(&fatal_arms);
    let desc_body = self_match(&desc_arms);

    // from_wire()
    let uses_description = variants
        .iter()
        .any(|v| !matches!(v.kind, Kind::Unit { .. }));
    let code_param = if variants.is_empty() {
        quote!(_)
    } else {
        quote!(#code_arg)
    };
    let desc_param = if uses_description {
        quote!(#desc_arg)
    } else {
        quote!(_)
    };
    let wire_arms = own.iter().map(|v| {
        let vi = &v.ident;
        let lit = syn::LitByteStr::new(v.code.as_bytes(), Span::call_site());
        let value = match &v.kind {
            Kind::Message { field: None } => {
                quote!(Self::#vi(::core::convert::From::from(#desc_arg)))
            }
            Kind::Message { field: Some(f) } => {
                quote!(Self::#vi { #f: ::core::convert::From::from(#desc_arg) })
            }
            _ => quote!(Self::#vi),
        };
        quote!(#lit => return ::core::option::Option::Some(#value),)
    });
    let own_match = if own.is_empty() {
        quote!()
    } else {
        quote! {
            match #code_arg {
                #(#wire_arms)*
                _ => {}
            }
        }
    };
    let ext_tries = extends.iter().map(|(vi, ty)| {
        quote! {
            if let ::core::option::Option::Some(#inner) =
                <#ty as #krate::ErrorTable>::from_wire(#code_arg, #desc_arg)
            {
                return ::core::option::Option::Some(Self::#vi(#inner));
            }
        }
    });

    let mut out = quote! {
        #[automatically_derived]
        impl #krate::ErrorTable for #ident {
            fn codes() -> ::std::vec::Vec<(&'static str, bool)> {
                #codes
            }

            fn code(&self) -> &'static str {
                #code_body
            }

            fn is_fatal(&self) -> bool {
                #fatal_body
            }

            fn description(&self) -> ::std::string::String {
                #desc_body
            }

            fn from_wire(
                #code_param: &[u8],
                #desc_param: &str,
            ) -> ::core::option::Option<Self> {
                #own_match
                #(#ext_tries)*
                ::core::option::Option::None
            }
        }
    };
    if attrs.display.is_some() {
        let f = Ident::new("__amp_f", Span::mixed_site());
        let d = Ident::new("__amp_d", Span::mixed_site());
        out.extend(quote! {
            #[automatically_derived]
            impl ::core::fmt::Display for #ident {
                fn fmt(&self, #f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    let #d = #krate::ErrorTable::description(self);
                    if #d.is_empty() {
                        #f.write_str(#krate::ErrorTable::code(self))
                    } else {
                        #f.write_str(&#d)
                    }
                }
            }
        });
    }
    Ok(out)
}

fn check_code(
    code: &str,
    lit: &LitStr,
    ident: &Ident,
    seen: &mut HashMap<String, Ident>,
    errors: &mut Errors,
) {
    if code.is_empty() {
        errors.spanned(lit, "error code must not be empty");
    } else if code.len() > MAX_VALUE_LENGTH {
        errors.spanned(
            lit,
            format_args!(
                "error code is {} bytes long; AMP values are at most {MAX_VALUE_LENGTH} bytes",
                code.len()
            ),
        );
    } else if RESERVED_CODES.contains(&code) {
        errors.spanned(
            lit,
            format_args!(
                "error code `{code}` is reserved by AMP: a received `{code}` always means \
                 the peer has no responder for the command, so this variant could never be \
                 received; choose another code"
            ),
        );
    } else if let Some(prev) = seen.get(code) {
        errors.spanned(
            lit,
            format_args!("duplicate error code `{code}` (already used by variant `{prev}`)"),
        );
    } else {
        seen.insert(code.to_owned(), ident.clone());
    }
}

/// Whether `ty` is syntactically a path ending in `String`.
fn is_string(ty: &Type) -> bool {
    match ty {
        Type::Path(p) if p.qself.is_none() => p
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "String" && s.arguments.is_none()),
        Type::Group(g) => is_string(&g.elem),
        Type::Paren(p) => is_string(&p.elem),
        _ => false,
    }
}
