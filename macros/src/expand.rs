//! The expansion of `#[aio::main]` and `#[aio::test]`: an `async fn NAME()
//! -> RET { BODY }` becomes a plain `fn NAME() -> RET` that builds an
//! `::aio::runtime::Builder` with the attribute's settings and hands
//! `async move { BODY }` to `Runtime::run`.
//!
//! Called by `lib.rs`; calls `args.rs` and `item.rs`. Works on
//! `proc_macro2` tokens only, so the unit tests below drive it directly.
//!
//! On error the output is the user's item plus one `compile_error!` per
//! mistake, spanned on the offending token, and never a reference to
//! `::aio::runtime` (a broken build then shows only our messages):
//!
//! - an item that is not an `async fn` (not a function, or a plain `fn`)
//!   is given back unchanged: it is valid Rust as it is;
//! - an `async fn` is given back as a *stand-in*: the same attributes and
//!   signature without `async`, whose body type-checks `async move { BODY }`
//!   against the return type exactly as the real expansion would, without a
//!   runtime. Giving back the `async fn` itself would add rustc's "`main`
//!   function is not allowed to be `async`" to our message; the stand-in
//!   keeps `main` defined, and errors in the body are still reported. If the
//!   function has parameters, the stand-in has none and its body is
//!   `unreachable!()` (the body needs the parameters; keeping them would
//!   add "`main` function has wrong type").

use proc_macro2::{Literal, Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned, ToTokens};
use syn::{Ident, LitBool};

use crate::args::{self, Config, Errors, Flavor, Kind, Setting};
use crate::item::AsyncFn;

/// Expands `#[aio::main(ARGS)]` (`kind == Kind::Main`) or
/// `#[aio::test(ARGS)]` on `item`. Never panics: every problem becomes a
/// `compile_error!` in the output.
pub(crate) fn expand(args: TokenStream, item: TokenStream, kind: Kind) -> TokenStream {
    let mut errors = Errors::default();
    let config = errors.keep(args::parse(kind, args));
    let func = match syn::parse2::<AsyncFn>(item.clone()) {
        Ok(func) => func,
        Err(e) => {
            errors.push(syn::Error::new(
                e.span(),
                format!("{} can only be applied to an `async fn`", kind.attr()),
            ));
            return with_errors(item, errors.finish());
        }
    };
    func.check(kind, &mut errors);
    match (config, errors.finish()) {
        (Some(config), Ok(())) => expansion(kind, &config, func),
        (_, result) if func.is_async() => with_errors(stand_in(kind, func), result),
        (_, result) => with_errors(item, result),
    }
}

/// `tokens` followed by a `compile_error!` for each recorded error.
fn with_errors(mut tokens: TokenStream, errors: syn::Result<()>) -> TokenStream {
    if let Err(e) = errors {
        tokens.extend(e.into_compile_error());
    }
    tokens
}

/// The successful expansion.
fn expansion(kind: Kind, config: &Config, func: AsyncFn) -> TokenStream {
    let AsyncFn {
        attrs,
        vis,
        mut sig,
        body,
    } = func;
    sig.asyncness = None;
    let test_attr = match kind {
        Kind::Main => None,
        Kind::Test => Some(quote!(#[::core::prelude::v1::test])),
    };
    // The runtime call carries the spans of the body's last statement, as
    // in tokio: rustc then reports a mismatch between what the body
    // evaluates to and the declared return type on that statement. This
    // only works if every token that begins or ends a sub-expression of the
    // call has such a span; one `quote!` (call-site) token among them and
    // rustc points at the attribute instead.
    let (first, last) = last_statement_spans(&body);
    let constructor = match config.flavor {
        Flavor::MultiThread => Ident::new("new_multi_thread", first),
        Flavor::CurrentThread => Ident::new("new_current_thread", first),
    };
    let mut settings = TokenStream::new();
    if let Some(w) = &config.worker_threads {
        let mut n = Literal::usize_unsuffixed(w.value);
        n.set_span(w.value_span);
        settings.extend(call(first, w, n));
    }
    for b in [&config.debug, &config.start_paused].into_iter().flatten() {
        settings.extend(call(first, b, LitBool::new(b.value, b.value_span)));
    }
    let future = Ident::new("body", Span::mixed_site());
    let run = quote_spanned! {last=>
        #[allow(clippy::expect_used, clippy::diverging_sub_expression, clippy::needless_return)]
        {
            return ::aio::runtime::Builder::#constructor()
                #settings
                .build()
                .expect("aio: failed to build the runtime")
                .run(#future);
        }
    };
    quote! {
        #test_attr
        #(#attrs)*
        #vis #sig {
            let #future = async move #body;
            #run
        }
    }
}

/// `.NAME(VALUE)`: the method name and the value keep the spans of the
/// user's argument (a builder without that method is reported there), the
/// punctuation gets `span` (see `expansion`).
fn call<T>(span: Span, setting: &Setting<T>, value: impl ToTokens) -> TokenStream {
    let method = &setting.name;
    quote_spanned!(span=> .#method(#value))
}

/// The spans of the first and last token of the body's last statement, or
/// of the closing brace if the body is empty.
fn last_statement_spans(body: &proc_macro2::Group) -> (Span, Span) {
    let tokens: Vec<TokenTree> = body.stream().into_iter().collect();
    match (last_statement_start(&tokens), tokens.last()) {
        (Some(start), Some(last)) => (tokens[start].span(), last.span()),
        _ => (body.span_close(), body.span_close()),
    }
}

/// The index of the first token of the last statement: the first top-level
/// token after the last `;` that is not the final token.
fn last_statement_start(tokens: &[TokenTree]) -> Option<usize> {
    let (_, before_last) = tokens.split_last()?;
    let is_semi = |t: &TokenTree| matches!(t, TokenTree::Punct(p) if p.as_char() == ';');
    Some(
        before_last
            .iter()
            .rposition(is_semi)
            .map_or(0, |semi| semi + 1),
    )
}

/// What an `async fn` with errors expands to: see the module doc.
fn stand_in(kind: Kind, func: AsyncFn) -> TokenStream {
    let test_attr =
        (kind == Kind::Test && !func.has_test_attr()).then(|| quote!(#[::core::prelude::v1::test]));
    let AsyncFn {
        attrs,
        vis,
        mut sig,
        body,
    } = func;
    sig.asyncness = None;
    if !sig.inputs.is_empty() || sig.variadic.is_some() {
        // The body needs the parameters, which the function must not have
        // (for `main`, rustc would add "`main` function has wrong type"):
        // leave the body out.
        sig.inputs.clear();
        sig.variadic = None;
        return quote! {
            #test_attr
            #(#attrs)*
            #vis #sig {
                ::core::unreachable!()
            }
        };
    }
    let output_of = Ident::new("__aio_output_of", Span::mixed_site());
    quote! {
        #test_attr
        #(#attrs)*
        #vis #sig {
            fn #output_of<F: ::core::future::Future>(_: F) -> F::Output {
                ::core::unreachable!()
            }
            #output_of(async move #body)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(args: TokenStream, item: TokenStream, kind: Kind) -> String {
        expand(args, item, kind).to_string()
    }

    /// The `compile_error!` messages in an expansion.
    fn errors(output: &str) -> Vec<String> {
        output
            .split("compile_error ! {")
            .skip(1)
            .map(|rest| {
                let msg = rest.trim_start().strip_prefix('"').unwrap();
                msg[..msg.find("\" }").unwrap()].replace("\\\"", "\"")
            })
            .collect()
    }

    #[test]
    fn main_default_expansion() {
        let out = expand_str(
            quote!(),
            quote!(
                #[allow(unused)]
                pub async fn main() -> Result<(), E> {
                    work().await?;
                    Ok(())
                }
            ),
            Kind::Main,
        );
        let expected = quote! {
            #[allow(unused)]
            pub fn main() -> Result<(), E> {
                let body = async move { work().await?; Ok(()) };
                #[allow(clippy::expect_used, clippy::diverging_sub_expression, clippy::needless_return)]
                {
                    return ::aio::runtime::Builder::new_multi_thread()
                        .build()
                        .expect("aio: failed to build the runtime")
                        .run(body);
                }
            }
        };
        assert_eq!(out, expected.to_string());
    }

    #[test]
    fn test_expansion_with_every_setting() {
        let out = expand_str(
            quote!(debug = true, start_paused = false),
            quote!(
                #[should_panic]
                async fn it_works() {}
            ),
            Kind::Test,
        );
        let expected = quote! {
            #[::core::prelude::v1::test]
            #[should_panic]
            fn it_works() {
                let body = async move { };
                #[allow(clippy::expect_used, clippy::diverging_sub_expression, clippy::needless_return)]
                {
                    return ::aio::runtime::Builder::new_current_thread()
                        .debug(true)
                        .start_paused(false)
                        .build()
                        .expect("aio: failed to build the runtime")
                        .run(body);
                }
            }
        };
        assert_eq!(out, expected.to_string());

        let out = expand_str(
            quote!(flavor = "multi_thread", worker_threads = 4, debug = false),
            quote!(
                async fn t() {}
            ),
            Kind::Test,
        );
        assert!(out.contains(
            &quote!(::aio::runtime::Builder::new_multi_thread()
                .worker_threads(4)
                .debug(false)
                .build())
            .to_string()
        ));
    }

    #[test]
    fn argument_error_gives_a_stand_in_without_the_runtime() {
        let out = expand_str(
            quote!(foo = 1),
            quote!(
                async fn main() {
                    1
                }
            ),
            Kind::Main,
        );
        assert!(!out.contains("aio :: runtime"), "{out}");
        assert!(out.starts_with("fn main ()"), "{out}");
        assert_eq!(
            errors(&out),
            [
                "unknown argument `foo` for #[aio::main]; the valid arguments are \
              `flavor`, `worker_threads`, `debug` and `start_paused`"
            ]
        );
    }

    #[test]
    fn non_async_fn_is_given_back_unchanged() {
        let item = quote!(
            fn main() {
                let x = 1;
            }
        );
        let out = expand_str(quote!(), item.clone(), Kind::Main);
        assert!(out.starts_with(&item.to_string()), "{out}");
        assert_eq!(
            errors(&out),
            ["#[aio::main] requires an `async fn`; add `async` before `fn`"]
        );
    }

    #[test]
    fn not_a_function_is_given_back_unchanged() {
        let out = expand_str(
            quote!(),
            quote!(
                struct S;
            ),
            Kind::Test,
        );
        assert!(out.starts_with("struct S ;"), "{out}");
        assert_eq!(
            errors(&out),
            ["#[aio::test] can only be applied to an `async fn`"]
        );
    }

    #[test]
    fn all_errors_are_reported_together() {
        let out = expand_str(
            quote!(worker_threads = 2),
            quote!(
                #[test]
                async fn t(x: u8) {}
            ),
            Kind::Test,
        );
        assert_eq!(
            errors(&out),
            [
                "`worker_threads` requires `flavor = \"multi_thread\"` \
                 (#[aio::test] defaults to current_thread)",
                "#[aio::test] functions cannot take parameters",
                "the #[test] attribute is added by #[aio::test]; remove it",
            ]
        );
        // The user's `#[test]` is kept, not doubled; the parameter and the
        // body that may use it are left out.
        assert!(
            out.starts_with(
                &quote!(
                    #[test]
                    fn t() {
                        ::core::unreachable!()
                    }
                )
                .to_string()
            ),
            "{out}"
        );
    }

    #[test]
    fn last_statement_is_after_the_last_inner_semicolon() {
        let start = |ts: TokenStream| {
            let tokens: Vec<TokenTree> = ts.into_iter().collect();
            last_statement_start(&tokens)
                .map(|i| TokenStream::from_iter(tokens[i..].to_vec()).to_string())
        };
        assert_eq!(start(quote!(a; b + c)).unwrap(), "b + c");
        assert_eq!(start(quote!(a; { x; y }; c;)).unwrap(), "c ;");
        assert_eq!(start(quote!(x)).unwrap(), "x");
        assert_eq!(start(quote!()), None);
    }
}
