//! An axum `Router` served by `aio::hyper::serve`, answered by
//! hyper-util's pooled client on `aio::hyper::{Executor, Timer,
//! Connector}`, with no tokio runtime anywhere: GET, POST with a body,
//! 404, JSON, a path parameter, 100 concurrent requests, and the same over
//! HTTP/2 with prior knowledge (h2c), on current_thread, 1 and 4 workers.
//! Nothing is reported to the exception handler meanwhile.

mod common;

#[path = "../examples/common/axum_app.rs"]
mod app;

use common::{on_all_flavors_with, Reports};

use aio::hyper::{Connector, Executor, Timer};
use aio::net::TcpListener;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode, Version};
use hyper_util::client::legacy::Client;

type HttpClient = Client<Connector, Full<Bytes>>;

/// Requests made at once.
const CONCURRENT: usize = 100;

/// The pooled client of the issue, HTTP/1 or HTTP/2 only.
fn client(http2: bool) -> HttpClient {
    Client::builder(Executor::default())
        .timer(Timer::default())
        .http2_only(http2)
        .build(Connector::new())
}

/// Sends `method path` with `body`; returns the status, version and body.
async fn call(
    client: &HttpClient,
    base: &str,
    method: Method,
    path: &str,
    body: Bytes,
) -> (StatusCode, Version, Bytes) {
    let req = Request::builder()
        .method(method)
        .uri(format!("{base}{path}"))
        .body(Full::new(body))
        .unwrap();
    let res = client.request(req).await.expect("a response");
    let (status, version) = (res.status(), res.version());
    let body = res
        .into_body()
        .collect()
        .await
        .expect("the body")
        .to_bytes();
    (status, version, body)
}

async fn get(client: &HttpClient, base: &str, path: &str) -> (StatusCode, Version, Bytes) {
    call(client, base, Method::GET, path, Bytes::new()).await
}

/// Every kind of request, then `CONCURRENT` at once, over one client.
async fn exercise(client: HttpClient, base: String, version: Version) {
    let (status, v, body) = get(&client, &base, "/").await;
    assert_eq!((status, v), (StatusCode::OK, version));
    assert_eq!(body, app::HELLO);

    let (status, _, body) = get(&client, &base, "/json").await;
    assert_eq!(status, StatusCode::OK);
    let json: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(json["message"], app::HELLO);

    let (status, _, body) = get(&client, &base, "/hello/aio").await;
    assert_eq!((status, &body[..]), (StatusCode::OK, &b"Hello, aio!"[..]));

    let (status, _, body) = get(&client, &base, "/no/such/page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, "no route for /no/such/page");

    // A body larger than the adapters' buffers (16 KiB reads, 64 KiB
    // writes), so that it crosses many reads and writes each way.
    let posted: String = (0..40_000).map(|i| format!("{i},")).collect();
    let (status, _, body) =
        call(&client, &base, Method::POST, "/echo", posted.clone().into()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.len(), posted.len());
    assert_eq!(body, posted);

    let tasks: Vec<_> = (0..CONCURRENT)
        .map(|i| {
            let (client, base) = (client.clone(), base.clone());
            aio::spawn(async move { get(&client, &base, &format!("/hello/{i}")).await })
        })
        .collect();
    for (i, t) in tasks.into_iter().enumerate() {
        let (status, v, body) = t.await.expect("request task");
        assert_eq!((status, v), (StatusCode::OK, version));
        assert_eq!(body, format!("Hello, {i}!"));
    }
}

fn on_all_flavors_reporting<F, Fut>(reports: &Reports, body: F)
where
    F: Fn(common::Flavor) -> Fut,
    Fut: std::future::Future<Output = ()> + 'static,
{
    on_all_flavors_with(
        |_, b| {
            b.exception_handler(reports.handler());
        },
        body,
    );
}

#[test]
fn an_axum_router_on_aio_answers_the_pooled_client_over_http1() {
    let reports = Reports::new();
    on_all_flavors_reporting(&reports, |_| async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = aio::hyper::serve(listener, app::router());
        let base = format!("http://{}", server.local_addr());
        let server = aio::spawn(server);
        exercise(client(false), base, Version::HTTP_11).await;
        assert!(!server.is_done(), "the server ended: {:?}", server);
        server.cancel();
    });
    assert_eq!(reports.messages(), Vec::<String>::new());
}

#[test]
fn an_axum_router_on_aio_answers_the_pooled_client_over_h2c_prior_knowledge() {
    let reports = Reports::new();
    on_all_flavors_reporting(&reports, |_| async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = aio::hyper::serve(listener, app::router());
        let base = format!("http://{}", server.local_addr());
        let server = aio::spawn(server);
        exercise(client(true), base, Version::HTTP_2).await;
        server.cancel();
    });
    assert_eq!(reports.messages(), Vec::<String>::new());
}

#[test]
fn localhost_resolves_through_lookup_host_and_a_closed_port_is_an_error() {
    on_all_flavors_with(
        |_, _| {},
        |_| async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let server = aio::hyper::serve(listener, app::router());
            let port = server.local_addr().port();
            let server = aio::spawn(server);
            let c = client(false);
            let (status, _, body) = get(&c, &format!("http://localhost:{port}"), "/").await;
            assert_eq!((status, &body[..]), (StatusCode::OK, app::HELLO.as_bytes()));
            server.cancel();
            // A port nothing listens on: the client reports the connect error.
            let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = closed.local_addr().unwrap();
            drop(closed);
            let err = c
                .get(format!("http://{addr}/").parse().unwrap())
                .await
                .unwrap_err();
            assert!(err.is_connect(), "{err:?}");
        },
    );
}
