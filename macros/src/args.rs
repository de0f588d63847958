//! The attribute arguments: `flavor`, `worker_threads`, `debug` and
//! `start_paused`, parsed from the tokens between the parentheses of
//! `#[aio::main(...)]` / `#[aio::test(...)]` into a validated [`Config`].
//!
//! Called by `expand.rs` only; calls nothing but `syn`. Every mistake becomes
//! a `syn::Error` spanned on the user's token (the argument name for unknown,
//! duplicate or flavor-incompatible arguments, the value for a bad value), and
//! independent mistakes are combined so that one build reports all of them.
//! Syntax the parser cannot follow at all (`#[aio::main(4)]`) stops at the
//! first error.

use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Ident, Lit, Token};

/// Which attribute is being expanded; decides the default flavor, the
/// `#[test]` handling and the name used in messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `#[aio::main]`: default flavor multi_thread.
    Main,
    /// `#[aio::test]`: default flavor current_thread, adds `#[test]`.
    Test,
}

impl Kind {
    /// The attribute as the user writes it, for messages.
    pub(crate) fn attr(self) -> &'static str {
        match self {
            Kind::Main => "#[aio::main]",
            Kind::Test => "#[aio::test]",
        }
    }

    fn default_flavor(self) -> Flavor {
        match self {
            Kind::Main => Flavor::MultiThread,
            Kind::Test => Flavor::CurrentThread,
        }
    }
}

/// The runtime flavor, i.e. which `Builder` constructor the expansion calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// `Builder::new_multi_thread()`.
    MultiThread,
    /// `Builder::new_current_thread()`.
    CurrentThread,
}

impl Flavor {
    fn name(self) -> &'static str {
        match self {
            Flavor::MultiThread => "multi_thread",
            Flavor::CurrentThread => "current_thread",
        }
    }
}

/// One optional `Builder` setting given by the user: the argument's name
/// (its span becomes the span of the generated method call) and its value.
#[derive(Clone, Debug)]
pub(crate) struct Setting<T> {
    pub(crate) name: Ident,
    pub(crate) value: T,
    pub(crate) value_span: Span,
}

/// The validated arguments.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) flavor: Flavor,
    pub(crate) worker_threads: Option<Setting<usize>>,
    pub(crate) debug: Option<Setting<bool>>,
    pub(crate) start_paused: Option<Setting<bool>>,
}

/// The arguments in the order the messages list them.
const VALID: &str = "`flavor`, `worker_threads`, `debug` and `start_paused`";

/// One `name` or `name = value` as written, before validation.
struct RawArg {
    name: Ident,
    value: Option<Expr>,
}

/// Parses and validates the attribute arguments of `kind`.
///
/// # Errors
///
/// All the mistakes found, combined into one `syn::Error`.
pub(crate) fn parse(kind: Kind, args: TokenStream) -> syn::Result<Config> {
    let raw = parse_raw.parse2(args)?;
    let mut errors = Errors::default();
    let mut flavor: Option<Setting<Option<Flavor>>> = None;
    let mut worker_threads: Option<Setting<Option<usize>>> = None;
    let mut debug: Option<Setting<Option<bool>>> = None;
    let mut start_paused: Option<Setting<Option<bool>>> = None;

    for RawArg { name, value } in raw {
        let key = name.to_string();
        let slot_taken = match key.as_str() {
            "flavor" => flavor.is_some(),
            "worker_threads" => worker_threads.is_some(),
            "debug" => debug.is_some(),
            "start_paused" => start_paused.is_some(),
            _ => {
                errors.push(syn::Error::new(
                    name.span(),
                    format!(
                        "unknown argument `{key}` for {}; the valid arguments are {VALID}",
                        kind.attr()
                    ),
                ));
                continue;
            }
        };
        if slot_taken {
            errors.push(syn::Error::new(
                name.span(),
                format!("duplicate argument `{key}`"),
            ));
            continue;
        }
        let span = value.as_ref().map_or(name.span(), Spanned::span);
        if value.is_none() {
            let example = match key.as_str() {
                "flavor" => "flavor = \"current_thread\"",
                "worker_threads" => "worker_threads = 4",
                "debug" => "debug = true",
                _ => "start_paused = true",
            };
            errors.push(syn::Error::new(
                name.span(),
                format!("`{key}` needs a value, e.g. `{example}`"),
            ));
        }
        // An argument with a bad or missing value is still recorded (as
        // `None`), so that a second occurrence is still a duplicate.
        let value = value.as_ref();
        match key.as_str() {
            "flavor" => {
                let parsed = value.and_then(|v| errors.keep(parse_flavor(v)));
                flavor = Some(setting(name, parsed, span));
            }
            "worker_threads" => {
                let parsed = value.and_then(|v| errors.keep(parse_worker_threads(v)));
                worker_threads = Some(setting(name, parsed, span));
            }
            "debug" => {
                let parsed = value.and_then(|v| errors.keep(parse_bool(&key, v)));
                debug = Some(setting(name, parsed, span));
            }
            _ => {
                let parsed = value.and_then(|v| errors.keep(parse_bool(&key, v)));
                start_paused = Some(setting(name, parsed, span));
            }
        }
    }

    // Cross-argument rules, checked only when the flavor is known: a bad
    // flavor string is reported once, not once more per dependent argument.
    let explicit = flavor.as_ref().map(|f| f.value);
    if let Some(resolved) = explicit.unwrap_or(Some(kind.default_flavor())) {
        let why = if explicit.is_none() {
            format!(" ({} defaults to {})", kind.attr(), resolved.name())
        } else {
            String::new()
        };
        if let (Flavor::CurrentThread, Some(w)) = (resolved, &worker_threads) {
            errors.push(syn::Error::new(
                w.name.span(),
                format!("`worker_threads` requires `flavor = \"multi_thread\"`{why}"),
            ));
        }
        if let (Flavor::MultiThread, Some(s)) = (resolved, &start_paused) {
            errors.push(syn::Error::new(
                s.name.span(),
                format!("`start_paused` requires `flavor = \"current_thread\"`{why}"),
            ));
        }
    }

    errors.finish()?;
    Ok(Config {
        flavor: explicit.flatten().unwrap_or(kind.default_flavor()),
        worker_threads: worker_threads.and_then(Setting::known),
        debug: debug.and_then(Setting::known),
        start_paused: start_paused.and_then(Setting::known),
    })
}

impl<T> Setting<Option<T>> {
    /// The setting with its value, if the value was valid.
    fn known(self) -> Option<Setting<T>> {
        let Setting {
            name,
            value,
            value_span,
        } = self;
        value.map(|value| Setting {
            name,
            value,
            value_span,
        })
    }
}

fn setting<T>(name: Ident, value: T, value_span: Span) -> Setting<T> {
    Setting {
        name,
        value,
        value_span,
    }
}

/// `name [= value] (, name [= value])* ,?`: any identifier (keywords too, so
/// that `crate = ".."` gets the "unknown argument" message) and any
/// expression; what they mean is checked afterwards.
fn parse_raw(input: ParseStream<'_>) -> syn::Result<Vec<RawArg>> {
    let mut args = Vec::new();
    while !input.is_empty() {
        let name = input.call(Ident::parse_any).map_err(|e| {
            syn::Error::new(
                e.span(),
                format!("expected an argument such as `flavor = \"current_thread\"`; the valid arguments are {VALID}"),
            )
        })?;
        let value = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            Some(input.parse::<Expr>()?)
        } else {
            None
        };
        args.push(RawArg { name, value });
        if input.is_empty() {
            break;
        }
        input.parse::<Token![,]>()?;
    }
    Ok(args)
}

fn parse_flavor(value: &Expr) -> syn::Result<Flavor> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => match s.value().as_str() {
            "multi_thread" => Ok(Flavor::MultiThread),
            "current_thread" => Ok(Flavor::CurrentThread),
            other => Err(syn::Error::new(
                s.span(),
                format!(
                    "unknown flavor \"{other}\"; expected \"multi_thread\" or \"current_thread\""
                ),
            )),
        },
        other => Err(syn::Error::new_spanned(
            other,
            "`flavor` expects a string: \"multi_thread\" or \"current_thread\"",
        )),
    }
}

fn parse_worker_threads(value: &Expr) -> syn::Result<usize> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(int), ..
        }) => match int.base10_parse::<usize>() {
            Ok(0) => Err(syn::Error::new(
                int.span(),
                "`worker_threads` must be at least 1",
            )),
            Ok(n) => Ok(n),
            Err(e) => Err(syn::Error::new(
                int.span(),
                format!("`worker_threads`: {e}"),
            )),
        },
        other => Err(syn::Error::new_spanned(
            other,
            "`worker_threads` expects an integer literal, e.g. `worker_threads = 4`",
        )),
    }
}

fn parse_bool(key: &str, value: &Expr) -> syn::Result<bool> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Bool(b), ..
        }) => Ok(b.value),
        other => Err(syn::Error::new_spanned(
            other,
            format!("`{key}` expects `true` or `false`"),
        )),
    }
}

/// Accumulates independent errors into one `syn::Error`.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    /// Adds `error` after the ones already recorded.
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// Records the error of `result`, if any, and returns its value.
    pub(crate) fn keep<T>(&mut self, result: syn::Result<T>) -> Option<T> {
        result.map_err(|e| self.push(e)).ok()
    }

    /// `Err` with every recorded error, or `Ok` if there was none.
    pub(crate) fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn messages(result: syn::Result<Config>) -> Vec<String> {
        match result {
            Ok(config) => panic!("expected an error, got {config:?}"),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn defaults_depend_on_the_attribute() {
        let main = parse(Kind::Main, quote!()).unwrap();
        assert_eq!(main.flavor, Flavor::MultiThread);
        assert!(main.worker_threads.is_none() && main.debug.is_none());
        let test = parse(Kind::Test, quote!()).unwrap();
        assert_eq!(test.flavor, Flavor::CurrentThread);
        assert!(test.start_paused.is_none());
    }

    #[test]
    fn all_arguments_of_each_flavor() {
        let multi = parse(
            Kind::Test,
            quote!(flavor = "multi_thread", worker_threads = 4, debug = true,),
        )
        .unwrap();
        assert_eq!(multi.flavor, Flavor::MultiThread);
        assert_eq!(multi.worker_threads.unwrap().value, 4);
        assert!(multi.debug.unwrap().value);

        let current = parse(
            Kind::Main,
            quote!(
                flavor = "current_thread",
                start_paused = true,
                debug = false
            ),
        )
        .unwrap();
        assert_eq!(current.flavor, Flavor::CurrentThread);
        assert!(current.start_paused.unwrap().value);
        assert!(!current.debug.unwrap().value);
    }

    #[test]
    fn unknown_argument_lists_the_valid_ones() {
        let m = messages(parse(Kind::Main, quote!(threads = 4)));
        assert_eq!(
            m,
            [
                "unknown argument `threads` for #[aio::main]; the valid arguments are \
              `flavor`, `worker_threads`, `debug` and `start_paused`"
            ]
        );
        // Keywords are argument names too, not a syntax error.
        let m = messages(parse(Kind::Test, quote!(crate = "aio")));
        assert!(m[0].starts_with("unknown argument `crate` for #[aio::test]"));
    }

    #[test]
    fn duplicate_argument() {
        let m = messages(parse(Kind::Main, quote!(debug = true, debug = false)));
        assert_eq!(m, ["duplicate argument `debug`"]);
        let m = messages(parse(Kind::Main, quote!(debug, debug = false)));
        assert_eq!(
            m,
            [
                "`debug` needs a value, e.g. `debug = true`",
                "duplicate argument `debug`"
            ]
        );
    }

    #[test]
    fn bad_values() {
        assert_eq!(
            messages(parse(Kind::Main, quote!(flavor = "threaded"))),
            ["unknown flavor \"threaded\"; expected \"multi_thread\" or \"current_thread\""]
        );
        assert_eq!(
            messages(parse(Kind::Main, quote!(flavor = multi_thread))),
            ["`flavor` expects a string: \"multi_thread\" or \"current_thread\""]
        );
        assert_eq!(
            messages(parse(Kind::Main, quote!(worker_threads = 0))),
            ["`worker_threads` must be at least 1"]
        );
        assert_eq!(
            messages(parse(Kind::Main, quote!(worker_threads = -1))),
            ["`worker_threads` expects an integer literal, e.g. `worker_threads = 4`"]
        );
        assert_eq!(
            messages(parse(Kind::Main, quote!(debug = 1))),
            ["`debug` expects `true` or `false`"]
        );
    }

    #[test]
    fn flavor_rules() {
        assert_eq!(
            messages(parse(Kind::Test, quote!(worker_threads = 2))),
            ["`worker_threads` requires `flavor = \"multi_thread\"` \
              (#[aio::test] defaults to current_thread)"]
        );
        assert_eq!(
            messages(parse(
                Kind::Main,
                quote!(flavor = "current_thread", worker_threads = 2)
            )),
            ["`worker_threads` requires `flavor = \"multi_thread\"`"]
        );
        assert_eq!(
            messages(parse(Kind::Main, quote!(start_paused = true))),
            ["`start_paused` requires `flavor = \"current_thread\"` \
              (#[aio::main] defaults to multi_thread)"]
        );
        // A bad flavor is reported once, without follow-up errors.
        assert_eq!(
            messages(parse(
                Kind::Main,
                quote!(flavor = "x", worker_threads = 2, start_paused = true)
            ))
            .len(),
            1
        );
    }

    #[test]
    fn independent_errors_are_all_reported() {
        let m = messages(parse(
            Kind::Main,
            quote!(foo = 1, worker_threads = 0, debug = "yes"),
        ));
        assert_eq!(m.len(), 3, "{m:?}");
    }

    #[test]
    fn syntax_errors() {
        let m = messages(parse(Kind::Main, quote!(4)));
        assert!(m[0].starts_with("expected an argument such as"), "{m:?}");
        assert!(parse(Kind::Main, quote!(debug(true))).is_err());
    }
}
