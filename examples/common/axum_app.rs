//! The axum application of `axum_hello` (on aio) and `axum_hello_tokio`
//! (on tokio), so that both serve exactly the same routes. Included with
//! `#[path = "common/axum_app.rs"] mod app;`; the hyper tests use it too.
#![allow(dead_code)] // each includer uses a part

use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

/// The body of `GET /`.
pub(crate) const HELLO: &str = "Hello, world!";

/// The routes:
///
/// - `GET /`: `Hello, world!` as text;
/// - `GET /json`: `{"message":"Hello, world!"}` (serde_json);
/// - `GET /hello/{name}`: `Hello, {name}!` (a path parameter);
/// - `POST /echo`: the request body back;
/// - anything else: `404` with `no route for <path>`.
pub(crate) fn router() -> Router {
    Router::new()
        .route("/", get(|| async { HELLO }))
        .route("/json", get(json_hello))
        .route("/hello/{name}", get(hello_name))
        .route("/echo", post(|body: String| async move { body }))
        .fallback(not_found)
}

async fn json_hello() -> Json<Value> {
    Json(json!({ "message": HELLO }))
}

async fn hello_name(Path(name): Path<String>) -> String {
    format!("Hello, {name}!")
}

async fn not_found(uri: axum::http::Uri) -> (StatusCode, String) {
    (
        StatusCode::NOT_FOUND,
        format!("no route for {}", uri.path()),
    )
}
