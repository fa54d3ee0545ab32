//! Golden tests: byte-exact output for the cases Kafka documents, plus round-trip properties.

use super::*;
use proptest::prelude::*;
use tributary_api::schema::logical;
use tributary_api::{Decimal, Schema, SchemaBuilder, SchemaType, Struct};

fn conv(schemas: bool, format: DecimalFormat) -> JsonConverter {
    JsonConverter::new(schemas, format)
}

fn ser(c: &JsonConverter, schema: Option<&SchemaRef>, value: &Value) -> String {
    String::from_utf8(c.serialize(schema, value).unwrap().unwrap()).unwrap()
}

fn order() -> (SchemaRef, Value) {
    let schema = SchemaBuilder::struct_()
        .name("com.example.Order")
        .field("id", Schema::int32())
        .field("name", Schema::optional_string())
        .field("price", logical::decimal(2).build_ref())
        .field("ts", logical::timestamp().build_ref())
        .build_ref();
    let s = Struct::new(schema.clone())
        .unwrap()
        .with("id", 1)
        .unwrap()
        .with("price", Value::Decimal(Decimal::new(300, 2)))
        .unwrap()
        .with("ts", Value::Int64(1_700_000_000_000))
        .unwrap();
    (schema, Value::Struct(s))
}

#[test]
fn kafkas_documented_order_example() {
    let (schema, value) = order();
    assert_eq!(
        ser(&conv(true, DecimalFormat::Base64), Some(&schema), &value),
        concat!(
            r#"{"schema":{"type":"struct","fields":["#,
            r#"{"type":"int32","optional":false,"field":"id"},"#,
            r#"{"type":"string","optional":true,"field":"name"},"#,
            r#"{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"},"field":"price"},"#,
            r#"{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"ts"}],"#,
            r#""optional":false,"name":"com.example.Order"},"#,
            r#""payload":{"id":1,"name":null,"price":"ASw=","ts":1700000000000}}"#
        )
    );
    assert_eq!(ser(&conv(false, DecimalFormat::Base64), Some(&schema), &value), r#"{"id":1,"name":null,"price":"ASw=","ts":1700000000000}"#);
    assert_eq!(ser(&conv(false, DecimalFormat::Numeric), Some(&schema), &value), r#"{"id":1,"name":null,"price":3.00,"ts":1700000000000}"#);
    let back = conv(true, DecimalFormat::Base64).deserialize(Some(ser(&conv(true, DecimalFormat::Base64), Some(&schema), &value).as_bytes())).unwrap();
    assert_eq!(back.schema.as_ref(), Some(&schema));
    assert_eq!(back.value, value);
}

#[test]
fn primitives_with_and_without_schema() {
    let c = conv(true, DecimalFormat::Base64);
    let cases: Vec<(SchemaRef, Value, &str)> = vec![
        (Schema::int8(), Value::Int8(-8), r#"{"schema":{"type":"int8","optional":false},"payload":-8}"#),
        (Schema::int16(), Value::Int16(300), r#"{"schema":{"type":"int16","optional":false},"payload":300}"#),
        (Schema::int32(), Value::Int32(-70000), r#"{"schema":{"type":"int32","optional":false},"payload":-70000}"#),
        (Schema::int64(), Value::Int64(i64::MAX), r#"{"schema":{"type":"int64","optional":false},"payload":9223372036854775807}"#),
        (Schema::float32(), Value::Float32(1.1), r#"{"schema":{"type":"float","optional":false},"payload":1.1}"#),
        (Schema::float64(), Value::Float64(1.0), r#"{"schema":{"type":"double","optional":false},"payload":1.0}"#),
        (Schema::float64(), Value::Float64(1e10), r#"{"schema":{"type":"double","optional":false},"payload":1.0E10}"#),
        (Schema::float64(), Value::Float64(1.5e-5), r#"{"schema":{"type":"double","optional":false},"payload":1.5E-5}"#),
        (Schema::optional_boolean(), Value::Boolean(true), r#"{"schema":{"type":"boolean","optional":true},"payload":true}"#),
        (Schema::string(), Value::String("a\"b\\c\n\u{1}é/".into()), r#"{"schema":{"type":"string","optional":false},"payload":"a\"b\\c\n\u0001é/"}"#),
        (Schema::bytes(), Value::Bytes(vec![0, 1, 255]), r#"{"schema":{"type":"bytes","optional":false},"payload":"AAH/"}"#),
        (
            logical::date().build_ref(),
            Value::Int32(19000),
            r#"{"schema":{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Date","version":1},"payload":19000}"#,
        ),
        (
            logical::time().build_ref(),
            Value::Int32(3_600_000),
            r#"{"schema":{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Time","version":1},"payload":3600000}"#,
        ),
    ];
    for (schema, value, expected) in cases {
        assert_eq!(ser(&c, Some(&schema), &value), expected);
        assert_eq!(c.deserialize(Some(expected.as_bytes())).unwrap(), SchemaAndValue { schema: Some(schema), value });
    }
    let schemaless = conv(false, DecimalFormat::Base64);
    assert_eq!(ser(&schemaless, None, &Value::Int32(5)), "5");
    assert_eq!(ser(&schemaless, None, &Value::String("x".into())), r#""x""#);
    assert_eq!(ser(&c, None, &Value::Boolean(false)), r#"{"schema":null,"payload":false}"#);
}

#[test]
fn schema_metadata_and_defaults() {
    let schema = SchemaBuilder::new(SchemaType::Int32)
        .optional()
        .name("n")
        .version(3)
        .doc("d")
        .parameter("p1", "v1")
        .parameter("a", "b")
        .default_value(Value::Int32(7))
        .build_ref();
    let c = conv(true, DecimalFormat::Base64);
    assert_eq!(
        ser(&c, Some(&schema), &Value::Null),
        r#"{"schema":{"type":"int32","optional":true,"name":"n","version":3,"doc":"d","parameters":{"p1":"v1","a":"b"},"default":7},"payload":7}"#
    );
    let mut keep_null = conv(true, DecimalFormat::Base64);
    keep_null.opts.replace_null_with_default = false;
    assert!(ser(&keep_null, Some(&schema), &Value::Null).ends_with(r#""payload":null}"#));
    let required = Schema::int32();
    assert_eq!(
        c.serialize(Some(&required), &Value::Null).unwrap_err().to_string(),
        "Conversion error: null value for field that is required and has no default value"
    );
}

#[test]
fn containers() {
    let c = conv(true, DecimalFormat::Base64);
    let arr = SchemaBuilder::array(Schema::string()).build_ref();
    assert_eq!(
        ser(&c, Some(&arr), &Value::Array(vec!["a".into(), "b".into()])),
        r#"{"schema":{"type":"array","items":{"type":"string","optional":false},"optional":false},"payload":["a","b"]}"#
    );
    let smap = SchemaBuilder::map(Schema::string(), Schema::int32()).build_ref();
    assert_eq!(
        ser(&c, Some(&smap), &Value::Map(vec![("k".into(), Value::Int32(1))])),
        r#"{"schema":{"type":"map","keys":{"type":"string","optional":false},"values":{"type":"int32","optional":false},"optional":false},"payload":{"k":1}}"#
    );
    let imap = SchemaBuilder::map(Schema::int32(), Schema::string()).build_ref();
    let v = Value::Map(vec![(Value::Int32(1), "a".into()), (Value::Int32(2), "b".into())]);
    let text = ser(&c, Some(&imap), &v);
    assert!(text.ends_with(r#""payload":[[1,"a"],[2,"b"]]}"#), "{text}");
    assert_eq!(c.deserialize(Some(text.as_bytes())).unwrap().value, v);
    let schemaless = conv(false, DecimalFormat::Base64);
    assert_eq!(ser(&schemaless, None, &Value::Map(vec![(Value::Int64(1), Value::Boolean(true))])), "[[1,true]]");
}

#[test]
fn tombstones_and_errors() {
    let c = conv(true, DecimalFormat::Base64);
    assert_eq!(c.serialize(None, &Value::Null).unwrap(), None);
    assert_eq!(c.deserialize(None).unwrap(), SchemaAndValue::NULL);
    assert_eq!(c.deserialize(Some(br#"{"a":1}"#)).unwrap_err().to_string(), ENVELOPE_ERROR);
    assert_eq!(c.deserialize(Some(br#"{"schema":null,"payload":1,"x":2}"#)).unwrap_err().to_string(), ENVELOPE_ERROR);
    assert!(c.deserialize(Some(b"{not json")).unwrap_err().to_string().contains("serialization error"));
    assert!(c.deserialize(Some(b"")).is_err());
    let err = c.deserialize(Some(br#"{"schema":{"type":"int32","optional":false},"payload":"x"}"#)).unwrap_err().to_string();
    assert!(err.contains("Invalid JSON for INT32 schema"), "{err}");
    let err = c.deserialize(Some(br#"{"schema":{"type":"int8","optional":false},"payload":300}"#)).unwrap_err().to_string();
    assert!(err.contains("INT8"), "{err}");
    let err = c.deserialize(Some(br#"{"schema":{"type":"nope"},"payload":1}"#)).unwrap_err().to_string();
    assert_eq!(err, "Unknown schema type: nope");
    assert!(c.serialize(Some(&Schema::float64()), &Value::Float64(f64::NAN)).is_err());
    let schemaless = conv(false, DecimalFormat::Base64);
    assert_eq!(
        schemaless.deserialize(Some(br#"{"a":1,"b":[1.5,"x",null,true]}"#)).unwrap().value,
        Value::Map(vec![("a".into(), Value::Int64(1)), ("b".into(), Value::Array(vec![Value::Float64(1.5), "x".into(), Value::Null, Value::Boolean(true)])),])
    );
}

#[test]
fn decimal_numeric_reads_numbers_and_base64() {
    let schema = logical::decimal(3).build_ref();
    let c = conv(true, DecimalFormat::Numeric);
    let text = ser(&c, Some(&schema), &Value::Decimal(Decimal::new(-12345, 3)));
    assert!(text.ends_with(r#""payload":-12.345}"#), "{text}");
    assert_eq!(c.deserialize(Some(text.as_bytes())).unwrap().value, Value::Decimal(Decimal::new(-12345, 3)));
    let b64 = text.replace("-12.345", "\"/8/H\"");
    assert_eq!(c.deserialize(Some(b64.as_bytes())).unwrap().value, Value::Decimal(Decimal::new(-12345, 3)));
}

/// Schemas with a value that conforms, up to three levels deep.
fn schema_and_value() -> impl Strategy<Value = (SchemaRef, Value)> {
    let leaf = prop_oneof![
        any::<i8>().prop_map(|v| (Schema::int8(), Value::Int8(v))),
        any::<i16>().prop_map(|v| (Schema::int16(), Value::Int16(v))),
        any::<i32>().prop_map(|v| (Schema::int32(), Value::Int32(v))),
        any::<i64>().prop_map(|v| (Schema::int64(), Value::Int64(v))),
        any::<f32>().prop_filter("finite", |f| f.is_finite()).prop_map(|v| (Schema::float32(), Value::Float32(v))),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|v| (Schema::float64(), Value::Float64(v))),
        any::<bool>().prop_map(|v| (Schema::boolean(), Value::Boolean(v))),
        ".*".prop_map(|v: String| (Schema::string(), Value::String(v))),
        proptest::collection::vec(any::<u8>(), 0..16).prop_map(|v| (Schema::bytes(), Value::Bytes(v))),
        (any::<i64>(), 0..10i32).prop_map(|(u, s)| (logical::decimal(s).build_ref(), Value::Decimal(Decimal::new(u, s)))),
        (0..86_400_000i32).prop_map(|v| (logical::time().build_ref(), Value::Int32(v))),
        any::<i32>().prop_map(|v| (logical::date().build_ref(), Value::Int32(v))),
        any::<i64>().prop_map(|v| (logical::timestamp().build_ref(), Value::Int64(v))),
        Just((Schema::optional_string(), Value::Null)),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_flat_map(|items| {
                // Array elements must share a schema: use the first element's, re-generate values by cloning.
                let (schema, value) = items.first().cloned().unwrap_or((Schema::int32(), Value::Int32(0)));
                let n = items.len();
                Just((SchemaBuilder::array(schema).build_ref(), Value::Array(vec![value; n])))
            }),
            (inner.clone(), proptest::collection::vec("[a-z]{0,5}", 0..4)).prop_map(|((schema, value), keys)| {
                let mut keys = keys;
                keys.sort();
                keys.dedup();
                let entries = keys.into_iter().map(|k| (Value::String(k), value.clone())).collect();
                (SchemaBuilder::map(Schema::string(), schema).build_ref(), Value::Map(entries))
            }),
            (inner.clone(), any::<i32>())
                .prop_map(|((schema, value), k)| { (SchemaBuilder::map(Schema::int32(), schema).build_ref(), Value::Map(vec![(Value::Int32(k), value)])) }),
            proptest::collection::vec(inner, 1..4).prop_map(|fields| {
                let mut b = SchemaBuilder::struct_().name("S");
                for (i, (schema, _)) in fields.iter().enumerate() {
                    b = b.field(format!("f{i}"), schema.clone());
                }
                let schema = b.build_ref();
                let mut s = Struct::new(schema.clone()).unwrap();
                for (i, (_, value)) in fields.into_iter().enumerate() {
                    s.put(&format!("f{i}"), value).unwrap();
                }
                (schema, Value::Struct(s))
            }),
        ]
    })
}

proptest! {
    #[test]
    fn every_schema_type_round_trips_with_schemas((schema, value) in schema_and_value(), numeric in any::<bool>()) {
        let c = conv(true, if numeric { DecimalFormat::Numeric } else { DecimalFormat::Base64 });
        let bytes = c.serialize(Some(&schema), &value).unwrap().unwrap();
        let back = c.deserialize(Some(&bytes)).unwrap();
        prop_assert_eq!(back.schema.as_deref(), Some(schema.as_ref()));
        prop_assert_eq!(back.value, value);
    }

    #[test]
    fn schemaless_json_round_trips(value in schemaless_value()) {
        let c = conv(false, DecimalFormat::Base64);
        let bytes = c.serialize(None, &value).unwrap();
        let back = c.deserialize(bytes.as_deref()).unwrap();
        prop_assert_eq!(back.value, value);
    }
}

fn schemaless_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(Value::Int64),
        any::<f64>().prop_filter("finite, not integral", |f| f.is_finite() && f.fract() != 0.0).prop_map(Value::Float64),
        ".*".prop_map(Value::String),
        any::<bool>().prop_map(Value::Boolean),
    ];
    leaf.prop_recursive(3, 20, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z]{0,4}", inner, 0..4).prop_map(|m| Value::Map(m.into_iter().map(|(k, v)| (Value::String(k), v)).collect())),
        ]
    })
}

#[test]
fn parsed_schemas_are_cached_by_their_text() {
    let c = conv(true, DecimalFormat::Base64);
    let (schema, value) = order();
    let bytes = c.serialize(Some(&schema), &value).unwrap().unwrap();
    let a = c.deserialize(Some(&bytes)).unwrap().schema.unwrap();
    let b = c.deserialize(Some(&bytes)).unwrap().schema.unwrap();
    assert!(std::sync::Arc::ptr_eq(&a, &b), "the second record reuses the parsed schema");
    let mut uncached = JsonConverter::default();
    let cfg: ConfigMap = [("schemas.cache.size".to_owned(), "0".to_owned())].into();
    Converter::configure(&mut uncached, &cfg, false).unwrap();
    let a = uncached.deserialize(Some(&bytes)).unwrap().schema.unwrap();
    let b = uncached.deserialize(Some(&bytes)).unwrap().schema.unwrap();
    assert!(!std::sync::Arc::ptr_eq(&a, &b));
    assert_eq!(a, b);
}
