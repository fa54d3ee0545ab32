//! `transform-bench [RECORDS]`: single-core throughput, without a broker, of
//! JsonConverter (schemas on and off) and of a five-transform chain, on about 1 KB JSON records.
//! The baseline, run in the same invocation on the same bytes, is a plain serde_json parse and
//! re-serialize: what JSON handling costs before Connect's data model is involved.
//! Prints a markdown table.

use std::hint::black_box;
use std::time::Instant;
use tributary_api::{ConfigMap, Converter, Headers, SchemaAndValue, SinkMeta, SinkRecord, Value};
use tributary_converters::JsonConverter;
use tributary_runtime::transformation_chain::TransformationChain;

fn record_json(i: usize, schemas: bool) -> Vec<u8> {
    // Ten fields, about 1 KB in the envelope form.
    let payload = serde_json::json!({
        "id": i, "customer": format!("customer-{i:06}"), "email": format!("user{i}@example.com"),
        "street": "221B Baker Street, Marylebone", "city": "London", "country": "United Kingdom",
        "notes": "x".repeat(300), "amount": 1234.5 + i as f64, "active": i % 2 == 0, "ssn": "123-45-6789"
    });
    let field = |name: &str, t: &str| serde_json::json!({"type": t, "optional": false, "field": name});
    let schema = serde_json::json!({"type": "struct", "name": "com.example.Customer", "optional": false, "fields": [
        field("id", "int64"), field("customer", "string"), field("email", "string"), field("street", "string"),
        field("city", "string"), field("country", "string"), field("notes", "string"), field("amount", "double"),
        field("active", "boolean"), field("ssn", "string")]});
    let doc = if schemas { serde_json::json!({"schema": schema, "payload": payload}) } else { payload };
    serde_json::to_vec(&doc).unwrap_or_default()
}

fn converter(schemas: bool) -> JsonConverter {
    let mut c = JsonConverter::default();
    let config: ConfigMap = [("schemas.enable".to_owned(), schemas.to_string())].into();
    let _ = Converter::configure(&mut c, &config, false);
    c
}

fn chain() -> TransformationChain<SinkMeta> {
    let pairs = [
        ("transforms", "mask,rename,drop,insert,route"),
        ("transforms.mask.type", "MaskField$Value"),
        ("transforms.mask.fields", "ssn"),
        ("transforms.rename.type", "ReplaceField$Value"),
        ("transforms.rename.renames", "customer:name"),
        ("transforms.drop.type", "ReplaceField$Value"),
        ("transforms.drop.exclude", "notes"),
        ("transforms.insert.type", "InsertField$Value"),
        ("transforms.insert.topic.field", "source_topic"),
        ("transforms.route.type", "RegexRouter"),
        ("transforms.route.regex", "(.*)"),
        ("transforms.route.replacement", "$1-clean"),
    ];
    let config: ConfigMap = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let plugins = tributary_runtime::plugins::Plugins::new(tributary_plugins::builtin());
    match TransformationChain::from_config(&plugins, &config) {
        Ok(c) => c,
        Err(e) => panic!("bench chain config: {e:?}"),
    }
}

fn sink_record(value_schema: Option<tributary_api::SchemaRef>, value: Value) -> SinkRecord {
    SinkRecord::new("customers", 0, SchemaAndValue { schema: None, value: Value::Null }, SchemaAndValue { schema: value_schema, value }, 0)
        .with_timestamp(Some(0))
}

/// Runs `f` over every input and returns records per second.
fn measure(inputs: &[Vec<u8>], mut f: impl FnMut(&[u8]) -> usize) -> f64 {
    let start = Instant::now();
    let mut bytes = 0;
    for input in inputs {
        bytes += f(input);
    }
    black_box(bytes);
    inputs.len() as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let with = (0..n).map(|i| record_json(i, true)).collect::<Vec<_>>();
    let without = (0..n).map(|i| record_json(i, false)).collect::<Vec<_>>();
    let avg = with.iter().map(Vec::len).sum::<usize>() / n.max(1);
    let (on, off, chain) = (converter(true), converter(false), chain());
    let mut headers = Headers::new();

    let baseline = measure(&with, |b| serde_json::to_vec(&serde_json::from_slice::<serde_json::Value>(b).unwrap_or_default()).map(|v| v.len()).unwrap_or(0));
    let json_on = measure(&with, |b| {
        let sv = on.to_connect_data("t", &headers, Some(b)).unwrap_or(tributary_api::SchemaAndValue::NULL);
        on.from_connect_data("t", &mut headers, sv.schema.as_ref(), &sv.value).ok().flatten().map(|v| v.len()).unwrap_or(0)
    });
    let json_off = measure(&without, |b| {
        let sv = off.to_connect_data("t", &headers, Some(b)).unwrap_or(tributary_api::SchemaAndValue::NULL);
        off.from_connect_data("t", &mut headers, sv.schema.as_ref(), &sv.value).ok().flatten().map(|v| v.len()).unwrap_or(0)
    });
    let chained = measure(&with, |b| {
        let sv = on.to_connect_data("t", &headers, Some(b)).unwrap_or(tributary_api::SchemaAndValue::NULL);
        match chain.apply(sink_record(sv.schema, sv.value)) {
            Ok(Some(r)) => on.from_connect_data(&r.topic, &mut headers, r.value_schema.as_ref(), &r.value).ok().flatten().map(|v| v.len()).unwrap_or(0),
            _ => 0,
        }
    });
    println!("{n} records of {avg} bytes (schemas.enable=true form), one core, no broker.\n");
    println!("| Path | records/s | ratio to baseline |");
    println!("|---|---|---|");
    println!("| baseline: serde_json parse + serialize (schemas form) | {baseline:.0} | 1.00 |");
    println!("| JsonConverter schemas.enable=true: bytes → Connect data → bytes | {json_on:.0} | {:.2} |", json_on / baseline);
    println!("| JsonConverter schemas.enable=false: bytes → Connect data → bytes | {json_off:.0} | {:.2} |", json_off / baseline);
    println!("| JsonConverter (schemas) + 5 transforms (MaskField, ReplaceField ×2, InsertField, RegexRouter) | {chained:.0} | {:.2} |", chained / baseline);
}
