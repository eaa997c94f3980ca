//! Parsing of `#[amp(...)]` attributes and error accumulation.

use std::fmt::Display;

use proc_macro2::{Span, TokenTree};
use quote::ToTokens;
use syn::meta::ParseNestedMeta;
use syn::parse::ParseStream;
use syn::{Attribute, LitBool, LitStr, Path, Token, Type};

/// Collects several `syn::Error`s so that one expansion reports them all.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }

    pub(crate) fn spanned(&mut self, tokens: impl ToTokens, msg: impl Display) {
        self.push(syn::Error::new_spanned(tokens, msg));
    }

    pub(crate) fn at(&mut self, span: Span, msg: impl Display) {
        self.push(syn::Error::new(span, msg));
    }

    pub(crate) fn finish(self) -> syn::Result<()> {
        match self.0 {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// A flag attribute (`fatal`, `extends`, `display`, `flatten`) and where it was written.
pub(crate) type Flag = Option<Span>;

/// Every key an `#[amp(...)]` attribute may carry; which ones are allowed
/// depends on where the attribute is.
#[derive(Default)]
pub(crate) struct AmpAttrs {
    pub(crate) krate: Option<Path>,
    pub(crate) name: Option<LitStr>,
    pub(crate) response: Option<Type>,
    pub(crate) error: Option<Type>,
    pub(crate) requires_answer: Option<LitBool>,
    pub(crate) display: Flag,
    pub(crate) code: Option<LitStr>,
    pub(crate) description: Option<LitStr>,
    pub(crate) fatal: Flag,
    pub(crate) extends: Flag,
    pub(crate) flatten: Flag,
}

/// Where an attribute is written, for the allowed keys and the messages.
#[derive(Clone, Copy)]
pub(crate) enum Site {
    RecordStruct,
    CommandStruct,
    ErrorEnum,
    Field,
    Variant,
    VariantField,
}

impl Site {
    fn allowed(self) -> &'static [&'static str] {
        match self {
            Site::RecordStruct => &["crate"],
            Site::CommandStruct => &["crate", "name", "response", "error", "requires_answer"],
            Site::ErrorEnum => &["crate", "display"],
            Site::Field => &["name", "flatten"],
            Site::Variant => &["code", "fatal", "extends", "description"],
            Site::VariantField => &[],
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Site::RecordStruct => "on a `#[derive(Record)]` struct",
            Site::CommandStruct => "on a `#[derive(Command)]` struct",
            Site::ErrorEnum => "on a `#[derive(AmpError)]` enum",
            Site::Field => "on a field",
            Site::Variant => "on an `AmpError` variant",
            Site::VariantField => "on an `AmpError` variant's field",
        }
    }
}

/// Parse every `#[amp(...)]` attribute in `attrs` as written at `site`.
/// Problems go to `errors`; whatever parsed is returned.
pub(crate) fn parse(attrs: &[Attribute], site: Site, errors: &mut Errors) -> AmpAttrs {
    let mut out = AmpAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("amp")) {
        if site.allowed().is_empty() {
            errors.spanned(
                attr,
                format_args!("`#[amp(...)]` is not supported {}", site.describe()),
            );
            continue;
        }
        let r = attr.parse_nested_meta(|meta| {
            let key = match meta.path.get_ident() {
                Some(i) => i.to_string(),
                None => meta.path.to_token_stream().to_string().replace(' ', ""),
            };
            if !site.allowed().contains(&key.as_str()) {
                let list = site
                    .allowed()
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                errors.spanned(
                    &meta.path,
                    format_args!(
                        "unknown attribute `{key}` {}; expected one of: {list}",
                        site.describe()
                    ),
                );
                return skip_value(&meta);
            }
            let span = meta.path.clone();
            let dup = |errors: &mut Errors| {
                errors.spanned(&span, format_args!("duplicate `{key}` attribute"));
            };
            match key.as_str() {
                "crate" => {
                    let p = path_value(&meta)?;
                    set(&mut out.krate, p, dup, errors);
                }
                "name" => {
                    let s: LitStr = meta.value()?.parse()?;
                    set(&mut out.name, s, dup, errors);
                }
                "code" => {
                    let s: LitStr = meta.value()?.parse()?;
                    set(&mut out.code, s, dup, errors);
                }
                "description" => {
                    let s: LitStr = meta.value()?.parse()?;
                    set(&mut out.description, s, dup, errors);
                }
                "response" => {
                    let t = type_value(&meta)?;
                    set(&mut out.response, t, dup, errors);
                }
                "error" => {
                    let t = type_value(&meta)?;
                    set(&mut out.error, t, dup, errors);
                }
                "requires_answer" => {
                    let b: LitBool = meta.value()?.parse()?;
                    set(&mut out.requires_answer, b, dup, errors);
                }
                "display" => flag(&meta, &key, &mut out.display, errors)?,
                "fatal" => flag(&meta, &key, &mut out.fatal, errors)?,
                "extends" => flag(&meta, &key, &mut out.extends, errors)?,
                "flatten" => flag(&meta, &key, &mut out.flatten, errors)?,
                _ => unreachable!("key listed as allowed but not handled"),
            }
            Ok(())
        });
        if let Err(e) = r {
            errors.push(e);
        }
    }
    out
}

fn set<T>(slot: &mut Option<T>, v: T, dup: impl FnOnce(&mut Errors), errors: &mut Errors) {
    if slot.is_some() {
        dup(errors);
    } else {
        *slot = Some(v);
    }
}

fn flag(
    meta: &ParseNestedMeta<'_>,
    key: &str,
    slot: &mut Flag,
    errors: &mut Errors,
) -> syn::Result<()> {
    if !meta.input.is_empty() && !meta.input.peek(Token![,]) {
        errors.spanned(
            &meta.path,
            format_args!("`{key}` is a flag and takes no value: write `#[amp({key})]`"),
        );
        return skip_value(meta);
    }
    if slot.is_some() {
        errors.spanned(&meta.path, format_args!("duplicate `{key}` attribute"));
    } else {
        *slot = Some(
            meta.path
                .get_ident()
                .map_or_else(Span::call_site, |i| i.span()),
        );
    }
    Ok(())
}

/// `key = Type` or `key = "Type"`.
fn type_value(meta: &ParseNestedMeta<'_>) -> syn::Result<Type> {
    let input = meta.value()?;
    if input.peek(LitStr) {
        let s: LitStr = input.parse()?;
        s.parse()
    } else {
        input.parse()
    }
}

/// `key = path` or `key = "path"`.
fn path_value(meta: &ParseNestedMeta<'_>) -> syn::Result<Path> {
    let input = meta.value()?;
    if input.peek(LitStr) {
        let s: LitStr = input.parse()?;
        s.parse_with(Path::parse_mod_style)
    } else {
        input.call(Path::parse_mod_style)
    }
}

/// Skip the value of a rejected key, so later keys are still checked.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    skip_to_comma(meta.input)
}

fn skip_to_comma(input: ParseStream<'_>) -> syn::Result<()> {
    let mut depth = 0usize;
    while !input.is_empty() {
        if depth == 0 && input.peek(Token![,]) {
            break;
        }
        match input.parse::<TokenTree>()? {
            TokenTree::Punct(p) if p.as_char() == '<' => depth += 1,
            TokenTree::Punct(p) if p.as_char() == '>' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}
