//! `#[derive(Record)]` and `#[derive(Command)]`.

use std::collections::HashMap;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, Ident, Path, Type};

use crate::attr::{self, Errors, Site};

/// Keys AMP itself uses in request, answer and error boxes.
pub(crate) const RESERVED_KEYS: &[&str] = &[
    "_command",
    "_ask",
    "_answer",
    "_error",
    "_error_code",
    "_error_description",
];

/// The longest key a box can carry.
const MAX_KEY_LENGTH: usize = 255;
/// The longest value a box can carry.
pub(crate) const MAX_VALUE_LENGTH: usize = 65535;

struct Field {
    ident: Ident,
    ty: Type,
    wire: String,
}

/// An `#[amp(flatten)]` field: a record whose fields go in the same box.
struct Flat {
    ident: Ident,
    ty: Type,
}

/// Reject generic parameters and where clauses.
pub(crate) fn no_generics(input: &DeriveInput, derive: &str, errors: &mut Errors) {
    let g = &input.generics;
    if !g.params.is_empty() {
        errors.spanned(
            &g.params,
            format_args!(
                "`#[derive({derive})]` does not support generic parameters or lifetimes; \
                 use a concrete type"
            ),
        );
    } else if let Some(w) = &g.where_clause {
        errors.spanned(
            w,
            format_args!("`#[derive({derive})]` does not support where clauses"),
        );
    }
}

pub(crate) fn default_crate() -> Path {
    syn::parse_quote!(::amp)
}

pub(crate) fn expand(input: DeriveInput, command: bool) -> syn::Result<TokenStream> {
    let derive = if command { "Command" } else { "Record" };
    let mut errors = Errors::default();
    let site = if command {
        Site::CommandStruct
    } else {
        Site::RecordStruct
    };
    let attrs = attr::parse(&input.attrs, site, &mut errors);
    no_generics(&input, derive, &mut errors);

    let named = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(f) => Some(f.named.iter().collect::<Vec<_>>()),
            Fields::Unit => Some(Vec::new()),
            Fields::Unnamed(f) => {
                errors.spanned(
                    f,
                    format_args!(
                        "`#[derive({derive})]` needs a struct with named fields (the field \
                         names are the wire names); tuple structs are not supported"
                    ),
                );
                None
            }
        },
        Data::Enum(e) => {
            errors.at(
                e.enum_token.span,
                format_args!(
                    "`#[derive({derive})]` only supports structs with named fields, not enums"
                ),
            );
            None
        }
        Data::Union(u) => {
            errors.at(
                u.union_token.span,
                format_args!(
                    "`#[derive({derive})]` only supports structs with named fields, not unions"
                ),
            );
            None
        }
    };

    let mut fields = Vec::new();
    let mut flats = Vec::new();
    // Every field in declaration order, for the description: (wire name
    // and type) or a flattened record's type.
    let mut described: Vec<(Option<String>, Type)> = Vec::new();
    let mut seen: HashMap<String, Ident> = HashMap::new();
    for f in named.unwrap_or_default() {
        let fa = attr::parse(&f.attrs, Site::Field, &mut errors);
        let ident = f.ident.clone().expect("named field");
        if let Some(span) = fa.flatten {
            check_flatten(&fa, span, &f.ty, &mut errors);
            described.push((None, f.ty.clone()));
            flats.push(Flat {
                ident,
                ty: f.ty.clone(),
            });
            continue;
        }
        let (wire, span) = match &fa.name {
            Some(lit) => (lit.value(), lit.span()),
            None => (ident.unraw().to_string(), ident.span()),
        };
        if wire.is_empty() {
            errors.at(
                span,
                "wire name must not be empty (an empty key ends an AMP box)",
            );
        } else if wire.len() > MAX_KEY_LENGTH {
            errors.at(
                span,
                format_args!(
                    "wire name is {} bytes long; AMP keys are at most {MAX_KEY_LENGTH} bytes",
                    wire.len()
                ),
            );
        } else if RESERVED_KEYS.contains(&wire.as_str()) {
            errors.at(
                span,
                format_args!(
                    "wire name `{wire}` is reserved by AMP (reserved keys: {})",
                    RESERVED_KEYS.join(", ")
                ),
            );
        } else if let Some(prev) = seen.get(&wire) {
            errors.at(
                span,
                format_args!("duplicate wire name `{wire}` (already used by field `{prev}`)"),
            );
        } else {
            seen.insert(wire.clone(), ident.clone());
        }
        described.push((Some(wire.clone()), f.ty.clone()));
        fields.push(Field {
            ident,
            ty: f.ty.clone(),
            wire,
        });
    }

    // Command-level attributes.
    let name_ident = &input.ident;
    let command_name = match &attrs.name {
        Some(lit) => {
            let v = lit.value();
            if v.is_empty() {
                errors.spanned(lit, "command name must not be empty");
            } else if v.len() > MAX_VALUE_LENGTH {
                errors.spanned(
                    lit,
                    format_args!(
                        "command name is {} bytes long; AMP values are at most \
                         {MAX_VALUE_LENGTH} bytes",
                        v.len()
                    ),
                );
            }
            v
        }
        None => name_ident.unraw().to_string(),
    };
    errors.finish()?;

    fields.sort_by(|a, b| a.wire.as_bytes().cmp(b.wire.as_bytes()));
    let krate = attrs.krate.clone().unwrap_or_else(default_crate);
    let ident = &input.ident;
    let wires: Vec<&str> = fields.iter().map(|f| f.wire.as_str()).collect();
    let field_list = flat_fields(&krate, &wires, &flats);
    let flat_checks = flat_checks(&krate, &fields, &flats);
    let empty = fields.is_empty() && flats.is_empty();

    // Locals use mixed-site hygiene: they cannot clash with the user's
    // names (for instance a constant called `amp_box`).
    let amp_box = Ident::new("__amp_box", Span::mixed_site());
    let amp_cx = Ident::new("__amp_cx", Span::mixed_site());
    let (b, cx) = if empty {
        (quote!(_), quote!(_))
    } else {
        (quote!(#amp_box), quote!(#amp_cx))
    };
    let amp_writer = Ident::new("__amp_writer", Span::mixed_site());
    let w = if empty {
        quote!(_)
    } else {
        quote!(#amp_writer)
    };
    // Sorted by wire name: the writer gets them in Twisted's order.
    let puts = fields.iter().map(|f| {
        let Field { ident, ty, wire } = f;
        quote_spanned! {ty.span()=>
            #amp_writer.put_field::<#ty>(#wire, &self.#ident, #amp_cx)?;
        }
    });
    let vars: Vec<Ident> = (0..fields.len())
        .map(|i| format_ident!("__amp_field_{}", i, span = Span::mixed_site()))
        .collect();
    let gets = fields.iter().zip(&vars).map(|(f, v)| {
        let Field { ty, wire, .. } = f;
        quote_spanned! {ty.span()=>
            let #v: #ty = #krate::__private::get_arg::<#ty>(#amp_box, #wire, #amp_cx)?;
        }
    });
    let inits = fields.iter().zip(&vars).map(|(f, v)| {
        let i = &f.ident;
        quote!(#i: #v)
    });
    // Flattened records write into / read from the same box (the writer
    // puts their entries in key order when the box is finished).
    let flat_puts = flats.iter().map(|Flat { ident, ty }| {
        quote_spanned! {ty.span()=>
            <#ty as #krate::Record>::write_fields(&self.#ident, #amp_writer, #amp_cx)?;
        }
    });
    let flat_vars: Vec<Ident> = (0..flats.len())
        .map(|i| format_ident!("__amp_flat_{}", i, span = Span::mixed_site()))
        .collect();
    let flat_gets = flats.iter().zip(&flat_vars).map(|(Flat { ty, .. }, v)| {
        quote_spanned! {ty.span()=>
            let #v: #ty = <#ty as #krate::Record>::read_fields(#amp_box, #amp_cx)?;
        }
    });
    let flat_inits = flats.iter().zip(&flat_vars).map(|(f, v)| {
        let i = &f.ident;
        quote!(#i: #v)
    });

    // The description: each field's AMP type from its Rust type, in
    // declaration order; a flattened record's fields where it stands.
    let amp_fields = Ident::new("__amp_fields", Span::mixed_site());
    let describe = described.iter().map(|(wire, ty)| match wire {
        Some(wire) => quote_spanned! {ty.span()=>
            ::std::vec::Vec::push(
                &mut #amp_fields,
                #krate::__private::describe_field::<#ty>(#wire),
            );
        },
        None => quote_spanned! {ty.span()=>
            ::std::iter::Extend::extend(
                &mut #amp_fields,
                <#ty as #krate::Record>::describe_fields(),
            );
        },
    });
    let mut out = quote! {
        #[automatically_derived]
        impl #krate::Record for #ident {
            const FIELDS: &'static [&'static str] = #field_list;

            fn describe_fields() -> ::std::vec::Vec<#krate::__private::DescribedField> {
                #[allow(unused_mut)]
                let mut #amp_fields = ::std::vec::Vec::new();
                #(#describe)*
                #amp_fields
            }

            fn write_fields(
                &self,
                #w: &mut #krate::FieldWriter<'_>,
                #cx: &mut #krate::Context<'_>,
            ) -> ::core::result::Result<(), #krate::EncodeError> {
                #(#puts)*
                #(#flat_puts)*
                ::core::result::Result::Ok(())
            }

            fn read_fields(
                #b: &#krate::AmpBox,
                #cx: &mut #krate::Context<'_>,
            ) -> ::core::result::Result<Self, #krate::DecodeError> {
                #(#gets)*
                #(#flat_gets)*
                ::core::result::Result::Ok(Self { #(#inits,)* #(#flat_inits),* })
            }
        }

        #flat_checks
    };

    if command {
        let response = attrs
            .response
            .clone()
            .unwrap_or_else(|| syn::parse_quote!(()));
        let error = attrs
            .error
            .clone()
            .unwrap_or_else(|| syn::parse_quote!(#krate::NoError));
        let requires_answer = !matches!(&attrs.requires_answer, Some(b) if !b.value);
        let doc = match doc_comment(&input.attrs) {
            Some(text) => quote!(::core::option::Option::Some(#text)),
            None => quote!(::core::option::Option::None),
        };
        out.extend(quote! {
            #[automatically_derived]
            impl #krate::Command for #ident {
                const NAME: &'static str = #command_name;
                const REQUIRES_ANSWER: bool = #requires_answer;
                const DOC: ::core::option::Option<&'static str> = #doc;
                type Response = #response;
                type Error = #error;
            }
        });
    } else {
        let amp_out = Ident::new("__amp_out", Span::mixed_site());
        let amp_raw = Ident::new("__amp_raw", Span::mixed_site());
        out.extend(quote! {
            #[automatically_derived]
            impl #krate::Argument for #ident {
                fn encode(
                    &self,
                    #amp_out: &mut #krate::__private::BytesMut,
                    #amp_cx: &mut #krate::Context<'_>,
                ) -> ::core::result::Result<(), #krate::EncodeError> {
                    #krate::__private::record_encode(self, #amp_out, #amp_cx)
                }

                fn decode(
                    #amp_raw: #krate::__private::Bytes,
                    #amp_cx: &mut #krate::Context<'_>,
                ) -> ::core::result::Result<Self, #krate::DecodeError> {
                    #krate::__private::record_decode(#amp_raw, #amp_cx)
                }

                fn encode_item(
                    &self,
                    #amp_out: &mut #krate::__private::BytesMut,
                    #amp_cx: &mut #krate::Context<'_>,
                ) -> ::core::result::Result<(), #krate::EncodeError> {
                    #krate::__private::record_encode(self, #amp_out, #amp_cx)
                }

                fn decode_items(
                    #amp_raw: #krate::__private::Bytes,
                    #amp_cx: &mut #krate::Context<'_>,
                ) -> ::core::result::Result<::std::vec::Vec<Self>, #krate::DecodeError> {
                    #krate::__private::record_decode_items(#amp_raw, #amp_cx)
                }

                fn list_type() -> #krate::__private::DescribedType {
                    #krate::__private::DescribedType::AmpList(
                        <Self as #krate::Record>::describe_fields(),
                    )
                }
            }
        });
    }
    Ok(out)
}

/// `#[amp(flatten)]` takes no other key and a record type, not an `Option`.
fn check_flatten(fa: &attr::AmpAttrs, span: Span, ty: &Type, errors: &mut Errors) {
    if let Some(name) = &fa.name {
        errors.spanned(
            name,
            "`name` cannot be combined with `flatten`: a flattened record's fields keep \
             their own wire names",
        );
    }
    if last_segment_is(ty, "Option") {
        errors.at(
            span,
            "`#[amp(flatten)]` does not support `Option<_>`: a flattened record is always \
             read from the box; make the inner record's fields `Option`s instead",
        );
    }
}

fn last_segment_is(ty: &Type, name: &str) -> bool {
    match ty {
        Type::Path(p) if p.qself.is_none() => {
            p.path.segments.last().is_some_and(|s| s.ident == name)
        }
        Type::Group(g) => last_segment_is(&g.elem, name),
        Type::Paren(p) => last_segment_is(&p.elem, name),
        _ => false,
    }
}

/// The `FIELDS` value: the own wire names (already sorted), or, with
/// flattened records, every name merged and sorted at compile time.
fn flat_fields(krate: &Path, wires: &[&str], flats: &[Flat]) -> TokenStream {
    if flats.is_empty() {
        return quote!(&[#(#wires),*]);
    }
    let n = wires.len();
    let tys: Vec<&Type> = flats.iter().map(|f| &f.ty).collect();
    quote! {
        &#krate::__private::merge_fields::<{
            #n #(+ <#tys as #krate::Record>::FIELDS.len())*
        }>(&[&[#(#wires),*], #(<#tys as #krate::Record>::FIELDS),*])
    }
}

/// Compile-time checks that no wire name appears twice across the record's
/// own fields and its flattened records (a constant that fails to evaluate).
fn flat_checks(krate: &Path, fields: &[Field], flats: &[Flat]) -> TokenStream {
    if flats.is_empty() {
        return quote!();
    }
    let mut checks = Vec::new();
    for (i, flat) in flats.iter().enumerate() {
        let Flat { ident: fi, ty } = flat;
        let ty_text = quote!(#ty).to_string();
        for f in fields {
            let (wire, ident) = (&f.wire, &f.ident);
            let msg = format!(
                "duplicate wire name `{wire}`: field `{ident}` and the flattened field \
                 `{fi}` (`{ty_text}`) both use it"
            );
            checks.push(quote_spanned! {ident.span()=>
                ::core::assert!(
                    !#krate::__private::has_field(<#ty as #krate::Record>::FIELDS, #wire),
                    #msg
                );
            });
        }
        for other in &flats[i + 1..] {
            let Flat { ident: oi, ty: oty } = other;
            let msg = format!(
                "duplicate wire name: the flattened fields `{fi}` and `{oi}` share a wire name"
            );
            checks.push(quote_spanned! {oi.span()=>
                ::core::assert!(
                    !#krate::__private::share_field(
                        <#ty as #krate::Record>::FIELDS,
                        <#oty as #krate::Record>::FIELDS,
                    ),
                    #msg
                );
            });
        }
    }
    if checks.is_empty() {
        return quote!();
    }
    quote! {
        const _: () = {
            #(#checks)*
        };
    }
}

/// The doc comment on `attrs` (`///` lines), joined, trimmed; `None` if
/// there is none.
fn doc_comment(attrs: &[syn::Attribute]) -> Option<String> {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value().trim().to_owned()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    let text = lines.join("\n").trim().to_owned();
    (!text.is_empty()).then_some(text)
}
