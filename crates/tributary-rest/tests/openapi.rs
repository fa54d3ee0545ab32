//! The OpenAPI document stays true: it documents exactly the routes the router serves, with
//! their methods, and every documented route is actually routed.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

#[allow(dead_code)]
#[path = "support/map_herder.rs"]
mod common_herder;

fn documented() -> Vec<(String, Vec<String>)> {
    let doc: serde_json::Value = serde_json::from_str(tributary_rest::OPENAPI).expect("openapi.json is JSON");
    assert_eq!(doc["openapi"], "3.0.3");
    let mut out: Vec<(String, Vec<String>)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(p, ops)| {
            let mut methods: Vec<String> = ops.as_object().unwrap().keys().filter(|k| *k != "parameters").cloned().collect();
            methods.sort();
            (p.clone(), methods)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn document_lists_exactly_the_served_routes() {
    let mut served: Vec<(String, Vec<String>)> = tributary_rest::ROUTES
        .iter()
        .map(|(p, m)| {
            let mut m: Vec<String> = m.iter().map(|s| (*s).to_owned()).collect();
            m.sort();
            ((*p).to_owned(), m)
        })
        .collect();
    served.sort();
    assert_eq!(documented(), served);
}

#[tokio::test]
async fn every_listed_route_is_routed() {
    let app = tributary_rest::router(std::sync::Arc::new(common_herder::MapHerder::default()));
    for (path, methods) in tributary_rest::ROUTES {
        let concrete = path.replace("{name}", "c").replace("{task}", "0").replace("{plugin}", "FileStreamSink").replace("{logger}", "root");
        for m in *methods {
            let req =
                Request::builder().method(m.to_uppercase().as_str()).uri(&concrete).header("content-type", "application/json").body(Body::from("{}")).unwrap();
            let resp = app.clone().oneshot(req).await.unwrap();
            let status = resp.status();
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            let text = String::from_utf8_lossy(&body);
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{m} {concrete} is not routed");
            assert!(!text.contains("HTTP 404 Not Found"), "{m} {concrete} fell through to the fallback");
        }
    }
    let req = Request::builder().uri("/openapi.json").body(Body::empty()).unwrap();
    let resp = app.oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}
