//! `stream!`: an async generator. The body becomes an `async move` block
//! handed to `::aio::__stream_gen::AsyncStream::new`; every `yield v` of
//! the generator itself becomes `yielder.send(v).await`. A `yield` inside a
//! nested closure, async block, item or macro call is left alone (it
//! belongs to that scope, or is opaque to us).

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::visit_mut::{self, VisitMut};
use syn::{parse_quote_spanned, Block, Expr};

/// Rewrites the generator's own `yield`s.
struct Yields {
    yielder: syn::Ident,
}

impl VisitMut for Yields {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        match e {
            // Not the generator's scope.
            Expr::Closure(_) | Expr::Async(_) | Expr::Macro(_) => {}
            Expr::Yield(y) => {
                if let Some(inner) = y.expr.as_deref_mut() {
                    self.visit_expr_mut(inner);
                }
                let value: Expr = match y.expr.take() {
                    Some(v) => *v,
                    None => parse_quote_spanned!(y.yield_token.span => ()),
                };
                let yielder = &self.yielder;
                let span = y.yield_token.span;
                *e = parse_quote_spanned!(span => #yielder.send(#value).await);
            }
            _ => visit_mut::visit_expr_mut(self, e),
        }
    }

    fn visit_item_mut(&mut self, _: &mut syn::Item) {}
}

/// Expands `stream! { body }`.
pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let stmts = match syn::parse::Parser::parse2(Block::parse_within, input) {
        Ok(s) => s,
        Err(e) => return e.to_compile_error(),
    };
    let mut block = Block {
        brace_token: Default::default(),
        stmts,
    };
    let yielder = syn::Ident::new("__aio_yielder", Span::mixed_site());
    Yields {
        yielder: yielder.clone(),
    }
    .visit_block_mut(&mut block);
    let stmts = &block.stmts;
    let path = quote_spanned!(Span::call_site() => ::aio::__stream_gen::AsyncStream);
    quote! {
        #path::new(move |#yielder| async move {
            #(#stmts)*
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_own_yields_only() {
        let out = expand(quote! {
            for i in 0..3 { yield i; }
            let c = || { yield 5; };
            let a = async { yield 6; };
        })
        .to_string();
        assert_eq!(out.matches("send").count(), 1, "{out}");
        assert!(out.contains("yield 5"), "{out}");
        assert!(out.contains("yield 6"), "{out}");
    }

    #[test]
    fn a_parse_error_becomes_compile_error() {
        let out = expand(quote!(let = ;)).to_string();
        assert!(out.contains("compile_error"), "{out}");
    }
}
