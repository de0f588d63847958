//! The annotated function: parsed into attributes, visibility, signature and
//! an untouched body, then checked against what the attributes accept (an
//! `async fn` without parameters or generics; for `#[aio::test]`, no
//! `#[test]` of its own).
//!
//! Called by `expand.rs` only; calls nothing but `syn`. The body is kept as
//! the original brace group instead of being parsed into statements: it is
//! faster, and a syntax error inside the body is then reported by rustc on
//! the user's code instead of by this crate.

use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};
use syn::parse::{Parse, ParseStream};
use syn::{AttrStyle, Attribute, Signature, Visibility};

use crate::args::{Errors, Kind};

/// `ATTRS VIS SIG { BODY }`.
pub(crate) struct AsyncFn {
    /// The outer attributes, followed by the body's inner attributes
    /// (`#![allow(..)]`) turned into outer ones: both apply to the function.
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Signature,
    /// The body's `{ .. }`, with the user's spans.
    pub(crate) body: Group,
}

impl Parse for AsyncFn {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        let sig = input.parse()?;
        let body = input.step(|cursor| match cursor.token_tree() {
            Some((TokenTree::Group(g), rest)) if g.delimiter() == Delimiter::Brace => Ok((g, rest)),
            _ => Err(cursor.error("expected the function body `{ .. }`")),
        })?;
        let (inner, stmts) = syn::parse2::<InnerAttrs>(body.stream())
            .map(|InnerAttrs(inner, stmts)| (inner, stmts))?;
        let body = if inner.is_empty() {
            body
        } else {
            attrs.extend(inner.into_iter().map(|mut attr| {
                attr.style = AttrStyle::Outer;
                attr
            }));
            let mut rebuilt = Group::new(Delimiter::Brace, stmts);
            rebuilt.set_span(body.span());
            rebuilt
        };
        Ok(AsyncFn {
            attrs,
            vis,
            sig,
            body,
        })
    }
}

/// A body split into its leading `#![..]` attributes and the rest.
struct InnerAttrs(Vec<Attribute>, TokenStream);

impl Parse for InnerAttrs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        Ok(InnerAttrs(
            input.call(Attribute::parse_inner)?,
            input.parse()?,
        ))
    }
}

impl AsyncFn {
    /// Whether the function is an `async fn`; if not, the expansion gives
    /// the item back unchanged (it is valid as it is) with the error.
    pub(crate) fn is_async(&self) -> bool {
        self.sig.asyncness.is_some()
    }

    /// Everything wrong with the function for `kind`, each spanned on the
    /// offending tokens.
    pub(crate) fn check(&self, kind: Kind, errors: &mut Errors) {
        let attr = kind.attr();
        let sig = &self.sig;
        if sig.asyncness.is_none() {
            errors.push(syn::Error::new(
                sig.fn_token.span,
                format!("{attr} requires an `async fn`; add `async` before `fn`"),
            ));
        }
        if !sig.generics.params.is_empty() {
            errors.push(syn::Error::new_spanned(
                &sig.generics,
                format!("{attr} functions cannot be generic"),
            ));
        } else if let Some(clause) = &sig.generics.where_clause {
            errors.push(syn::Error::new_spanned(
                clause,
                format!("{attr} functions cannot have a `where` clause"),
            ));
        }
        for param in &sig.inputs {
            errors.push(syn::Error::new_spanned(
                param,
                format!("{attr} functions cannot take parameters"),
            ));
        }
        if let Some(variadic) = &sig.variadic {
            errors.push(syn::Error::new_spanned(
                variadic,
                format!("{attr} functions cannot take parameters"),
            ));
        }
        if kind == Kind::Test {
            for attr in self.attrs.iter().filter(|a| is_test_attr(a)) {
                errors.push(syn::Error::new_spanned(
                    attr,
                    "the #[test] attribute is added by #[aio::test]; remove it",
                ));
            }
        }
    }

    /// Whether the user wrote a `#[test]` of their own.
    pub(crate) fn has_test_attr(&self) -> bool {
        self.attrs.iter().any(is_test_attr)
    }
}

/// `#[test]`, or the prelude's path to it (`#[core::prelude::v1::test]`,
/// `#[::std::prelude::rust_2021::test]`, ...).
fn is_test_attr(attr: &Attribute) -> bool {
    let segments: Vec<String> = attr
        .path()
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    match segments.as_slice() {
        [test] => test == "test",
        [root, prelude, _, test] => {
            (root == "core" || root == "std") && prelude == "prelude" && test == "test"
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn errors_of(kind: Kind, item: TokenStream) -> Vec<String> {
        let f: AsyncFn = syn::parse2(item).unwrap();
        let mut errors = Errors::default();
        f.check(kind, &mut errors);
        match errors.finish() {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn accepts_a_plain_async_fn() {
        let item = quote!(
            #[inline]
            pub async fn main() -> Result<(), E> {
                Ok(())
            }
        );
        assert!(errors_of(Kind::Main, item).is_empty());
    }

    #[test]
    fn inner_attributes_move_to_the_function() {
        let f: AsyncFn = syn::parse2(quote!(
            async fn main() {
                #![allow(unused)]
                let x = 1;
            }
        ))
        .unwrap();
        assert_eq!(f.attrs.len(), 1);
        assert!(matches!(f.attrs[0].style, AttrStyle::Outer));
        assert_eq!(f.body.stream().to_string(), quote!(let x = 1;).to_string());
    }

    #[test]
    fn rejects_what_cannot_be_expanded() {
        assert_eq!(
            errors_of(
                Kind::Main,
                quote!(
                    fn main() {}
                )
            ),
            ["#[aio::main] requires an `async fn`; add `async` before `fn`"]
        );
        assert_eq!(
            errors_of(
                Kind::Test,
                quote!(
                    async fn t(a: u8, b: u8) {}
                )
            ),
            [
                "#[aio::test] functions cannot take parameters",
                "#[aio::test] functions cannot take parameters"
            ]
        );
        assert_eq!(
            errors_of(
                Kind::Main,
                quote!(
                    async fn main<T>() {}
                )
            ),
            ["#[aio::main] functions cannot be generic"]
        );
        assert_eq!(
            errors_of(
                Kind::Main,
                quote!(
                    async fn main()
                    where
                        u8: Copy,
                    {
                    }
                )
            ),
            ["#[aio::main] functions cannot have a `where` clause"]
        );
    }

    #[test]
    fn test_attribute_is_added_not_accepted() {
        let msg = ["the #[test] attribute is added by #[aio::test]; remove it"];
        assert_eq!(
            errors_of(
                Kind::Test,
                quote!(
                    #[test]
                    async fn t() {}
                )
            ),
            msg
        );
        assert_eq!(
            errors_of(
                Kind::Test,
                quote!(
                    #[::core::prelude::v1::test]
                    async fn t() {}
                )
            ),
            msg
        );
        // `#[aio::main]` has no opinion about `#[test]`; `#[should_panic]`
        // and other test attributes are kept.
        assert!(errors_of(
            Kind::Main,
            quote!(
                #[test]
                async fn t() {}
            )
        )
        .is_empty());
        assert!(errors_of(
            Kind::Test,
            quote!(
                #[should_panic]
                async fn t() {}
            )
        )
        .is_empty());
    }

    #[test]
    fn body_is_not_parsed() {
        // A body rustc will reject is still accepted here; rustc reports it.
        let f: AsyncFn = syn::parse2(quote!(async fn main() { let = ; })).unwrap();
        assert!(f.is_async());
    }

    #[test]
    fn not_a_function() {
        assert!(syn::parse2::<AsyncFn>(quote!(
            struct S;
        ))
        .is_err());
        assert!(syn::parse2::<AsyncFn>(quote!(
            async fn f();
        ))
        .is_err());
    }
}
