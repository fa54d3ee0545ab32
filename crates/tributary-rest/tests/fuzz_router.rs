//! Thousands of malformed paths, query strings and bodies thrown at the router: every answer is
//! a 2xx or a 4xx, and every 4xx carries Kafka Connect's error body.

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use proptest::prelude::*;
use std::sync::Arc;
use tower::ServiceExt;

#[allow(dead_code)]
#[path = "support/map_herder.rs"]
mod common_herder;

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("connectors".to_owned()),
        Just("c".to_owned()),
        Just("config".to_owned()),
        Just("status".to_owned()),
        Just("tasks".to_owned()),
        Just("0".to_owned()),
        Just("restart".to_owned()),
        Just("offsets".to_owned()),
        Just("topics".to_owned()),
        Just("connector-plugins".to_owned()),
        Just("FileStreamSink".to_owned()),
        Just("validate".to_owned()),
        Just("admin".to_owned()),
        Just("loggers".to_owned()),
        "[a-zA-Z0-9%._~-]{0,12}",
        "-?[0-9]{1,20}",
        "%[0-9A-F]{2}",
        // Percent-escapes of bytes that are not valid UTF-8 on their own.
        "%[89A-F][0-9A-F](%[0-9A-F]{2})?",
    ]
}

fn body() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("{}".to_owned()),
        Just("null".to_owned()),
        Just("[]".to_owned()),
        Just(r#"{"name":"c","config":{"connector.class":"FileStreamSink","topics":"t"}}"#.to_owned()),
        Just(r#"{"offsets":[{"partition":{},"offset":null}]}"#.to_owned()),
        Just(r#"{"level":"DEBUG"}"#.to_owned()),
        "\\PC{0,64}",
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        "\\{\"[a-z.]{1,8}\":(\"[a-z]{0,4}\"|[0-9]{1,3}|null|true|\\[\\]|\\{\\})\\}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]
    #[test]
    fn only_2xx_or_4xx_with_the_error_shape(
        segments in proptest::collection::vec(segment(), 0..6),
        method in prop_oneof![Just("GET"), Just("POST"), Just("PUT"), Just("PATCH"), Just("DELETE")],
        query in "[a-zA-Z=&%0-9]{0,24}",
        body in body(),
    ) {
        let uri = format!("/{}?{query}", segments.join("/"));
        let Ok(req) = Request::builder().method(method).uri(&uri).header("content-type", "application/json").body(Body::from(body.clone())) else {
            return Ok(()); // not a request hyper would hand us
        };
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let (status, bytes) = rt.block_on(async {
            let herder = common_herder::MapHerder::default();
            let cfg = [("connector.class".to_owned(), "FileStreamSink".to_owned()), ("topics".to_owned(), "t".to_owned())].into();
            use tributary_runtime::herder::Herder;
            herder.put_connector_config("c", cfg, false, None).await.unwrap();
            let resp = tributary_rest::router(Arc::new(herder)).oneshot(req).await.unwrap();
            let status = resp.status();
            (status, resp.into_body().collect().await.unwrap().to_bytes())
        });
        prop_assert!(status.is_success() || status.is_client_error(), "{method} {uri} {body:?} -> {status}: {}", String::from_utf8_lossy(&bytes));
        if status.is_client_error() {
            let json: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| TestCaseError::fail(format!("{method} {uri}: error body is not JSON ({e})")))?;
            prop_assert_eq!(json["error_code"].as_u64(), Some(u64::from(status.as_u16())));
            prop_assert!(json["message"].is_string());
        }
    }
}

#[tokio::test]
async fn undecodable_path_segments_get_the_error_shape() {
    let app = tributary_rest::router(Arc::new(common_herder::MapHerder::default()));
    for uri in ["/connectors/%FF", "/connectors/%FF/tasks/%FE/status", "/connectors/c/tasks/99999999999999999999/status", "/admin/loggers/%C3%28"] {
        let resp = app.clone().oneshot(Request::builder().uri(uri).body(Body::empty()).unwrap()).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        assert!(status.is_client_error(), "{uri}: {status}");
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_else(|_| panic!("{uri}: not JSON: {}", String::from_utf8_lossy(&bytes)));
        assert_eq!(json["error_code"].as_u64(), Some(u64::from(status.as_u16())), "{uri}");
    }
}
