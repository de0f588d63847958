//! `select!`: wait for the first of several futures, drop the others.
//!
//! ```text
//! aio::select! {
//!     biased;                      // optional: poll in order, not at random
//!     v = fut_a => body_a,
//!     Some(x) = fut_b => body_b,   // a refutable pattern disables its branch on mismatch
//!     else => body_else,           // optional: runs when every branch is disabled
//! }
//! ```
//!
//! The expansion pins every future in an inner block, polls them in a
//! random (or, with `biased;`, written) order, and leaves the block as soon
//! as one is ready and matches its pattern, so the losers are dropped
//! before that branch's body runs. Bodies run outside the polling closure,
//! so they may `.await`, `return`, `break` and use `?`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::parse::{Parse, ParseStream};
use syn::{Expr, Pat, Token};

struct Branch {
    pat: Pat,
    fut: Expr,
    body: Expr,
}

/// The parsed invocation.
pub(crate) struct Select {
    biased: bool,
    branches: Vec<Branch>,
    else_body: Option<Expr>,
}

impl Parse for Select {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut biased = false;
        if input.peek(syn::Ident) && input.peek2(Token![;]) {
            let id: syn::Ident = input.parse()?;
            if id != "biased" {
                return Err(syn::Error::new(
                    id.span(),
                    "expected `biased;` or a branch `pattern = future => body`",
                ));
            }
            input.parse::<Token![;]>()?;
            biased = true;
        }
        let mut branches = Vec::new();
        let mut else_body = None;
        while !input.is_empty() {
            if input.peek(Token![else]) {
                let kw: Token![else] = input.parse()?;
                input.parse::<Token![=>]>()?;
                let body = Expr::parse_with_earlier_boundary_rule(input)?;
                if else_body.replace(body).is_some() {
                    return Err(syn::Error::new(
                        kw.span,
                        "select! takes at most one `else` branch",
                    ));
                }
            } else {
                let pat = Pat::parse_single(input)?;
                input.parse::<Token![=]>()?;
                let fut = Expr::parse_without_eager_brace(input)?;
                input.parse::<Token![=>]>()?;
                // As a `match` arm's body: a block ends it, so the next
                // branch's `(a, b) = ..` is not read as a call of it.
                let body = Expr::parse_with_earlier_boundary_rule(input)?;
                let block_like = ends_with_block(&body);
                branches.push(Branch { pat, fut, body });
                if block_like && !input.is_empty() && !input.peek(Token![,]) {
                    // As in `match`: no comma needed after a block body.
                    continue;
                }
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        if branches.is_empty() {
            return Err(syn::Error::new(
                Span::call_site(),
                "select! needs at least one branch `pattern = future => body`",
            ));
        }
        if branches.len() > 64 {
            return Err(syn::Error::new(
                Span::call_site(),
                "select! supports at most 64 branches",
            ));
        }
        Ok(Select {
            biased,
            branches,
            else_body,
        })
    }
}

/// Whether a branch body may be followed by the next branch without a
/// comma (a block-like expression, as in `match` arms).
fn ends_with_block(e: &Expr) -> bool {
    matches!(
        e,
        Expr::Block(_)
            | Expr::If(_)
            | Expr::Match(_)
            | Expr::Loop(_)
            | Expr::While(_)
            | Expr::ForLoop(_)
            | Expr::Unsafe(_)
            | Expr::Async(_)
            | Expr::TryBlock(_)
    )
}

/// The pattern that checks, by reference, whether a branch's output
/// matches (the branch's own pattern binds it afterwards, by value): its
/// `mut` and `ref` bindings become plain ones, which under a reference
/// bind by reference (`Some(mut v)` would move out of the reference).
fn probe(pat: &Pat) -> Pat {
    struct Plain;
    impl syn::visit_mut::VisitMut for Plain {
        fn visit_pat_ident_mut(&mut self, i: &mut syn::PatIdent) {
            i.by_ref = None;
            i.mutability = None;
            syn::visit_mut::visit_pat_ident_mut(self, i);
        }
    }
    let mut p = pat.clone();
    syn::visit_mut::VisitMut::visit_pat_mut(&mut Plain, &mut p);
    p
}

/// The expansion (or the parse error as `compile_error!`).
pub(crate) fn expand(input: TokenStream) -> TokenStream {
    match syn::parse2::<Select>(input) {
        Ok(s) => expansion(s),
        Err(e) => e.to_compile_error(),
    }
}

fn expansion(s: Select) -> TokenStream {
    let n = s.branches.len();
    let idx: Vec<usize> = (0..n).collect();
    let futs: Vec<_> = (0..n).map(|i| format_ident!("__aio_fut{}", i)).collect();
    let tys: Vec<_> = (0..n).map(|i| format_ident!("__AioT{}", i)).collect();
    let vars: Vec<_> = (0..n).map(|i| format_ident!("__B{}", i)).collect();
    let fut_exprs = s.branches.iter().map(|b| &b.fut);
    let pats: Vec<_> = s.branches.iter().map(|b| &b.pat).collect();
    let probes: Vec<_> = s.branches.iter().map(|b| probe(&b.pat)).collect();
    let bodies = s.branches.iter().map(|b| &b.body);
    let start = if s.biased {
        quote!(0usize)
    } else {
        quote!(::aio::future::__private::rand_below(#n))
    };
    let else_body = match &s.else_body {
        Some(e) => quote!(#e),
        None => quote!(::core::panic!(
            "aio::select!: every branch was disabled (its pattern did not match) and there is no `else` branch"
        )),
    };
    quote! {{
        #[allow(non_camel_case_types, clippy::enum_variant_names)]
        enum __AioSelectOut<#(#tys),*> { #(#vars(#tys),)* __Disabled }
        // `mut`: a branch's pattern may bind `ref mut`.
        #[allow(unused_mut)]
        let mut __aio_out = {
            #(
                let mut #futs = ::core::pin::pin!(::core::future::IntoFuture::into_future(#fut_exprs));
            )*
            let mut __aio_disabled = [false; #n];
            ::core::future::poll_fn(|__aio_cx| {
                let __aio_start: usize = #start;
                let mut __aio_pending = false;
                for __aio_k in 0..#n {
                    #[allow(clippy::modulo_one)]
                    let __aio_i = (__aio_start + __aio_k) % #n;
                    match __aio_i {
                        #(
                            #idx => {
                                if !__aio_disabled[#idx] {
                                    match ::core::future::Future::poll(#futs.as_mut(), __aio_cx) {
                                        ::core::task::Poll::Ready(__aio_v) => {
                                            #[allow(unreachable_patterns, unused_variables)]
                                            match &__aio_v {
                                                #probes => {
                                                    return ::core::task::Poll::Ready(__AioSelectOut::#vars(__aio_v));
                                                }
                                                _ => __aio_disabled[#idx] = true,
                                            }
                                        }
                                        ::core::task::Poll::Pending => __aio_pending = true,
                                    }
                                }
                            }
                        )*
                        _ => ::core::unreachable!(),
                    }
                }
                if __aio_pending {
                    ::core::task::Poll::Pending
                } else {
                    ::core::task::Poll::Ready(__AioSelectOut::__Disabled)
                }
            })
            .await
            // The futures are dropped here, before any body runs.
        };
        #[allow(unreachable_patterns)]
        match __aio_out {
            #( __AioSelectOut::#vars(#pats) => #bodies, )*
            __AioSelectOut::__Disabled => #else_body,
            _ => ::core::unreachable!("the pattern matched when the branch was chosen"),
        }
    }}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_biased_branches_and_else() {
        let s: Select = syn::parse2(quote! {
            biased;
            v = async { 1 } => v + 1,
            Some(x) = async { Some(2) } => { x }
            else => 0,
        })
        .unwrap();
        assert!(s.biased);
        assert_eq!(s.branches.len(), 2);
        assert!(s.else_body.is_some());
    }

    #[test]
    fn empty_and_bad_inputs_are_errors() {
        assert!(syn::parse2::<Select>(quote! {}).is_err());
        assert!(syn::parse2::<Select>(quote! { unbiased; v = f => v }).is_err());
        assert!(syn::parse2::<Select>(quote! { else => 1, else => 2 }).is_err());
        let out = expand(quote! { v = }).to_string();
        assert!(out.contains("compile_error"), "{out}");
    }

    #[test]
    fn random_order_unless_biased() {
        let biased = expansion(syn::parse2(quote! { biased; a = f => 1 }).unwrap()).to_string();
        assert!(!biased.contains("rand_below"));
        let fair = expansion(syn::parse2(quote! { a = f => 1 }).unwrap()).to_string();
        assert!(fair.contains("rand_below"));
    }
}
