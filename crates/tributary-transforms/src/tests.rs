//! Each transform on schema'd and schemaless records, with exact expected records.

use super::*;
use std::collections::BTreeMap;
use tributary_api::{
    ConfigMap, OffsetMap, Schema, SchemaAndValue, SchemaBuilder, SchemaRef, SinkMeta, SinkRecord, SourceMeta, SourceRecord, Struct, Transformation, Value,
};

fn cfg(pairs: &[(&str, &str)]) -> ConfigMap {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<BTreeMap<_, _>>()
}

fn sink_transform(class: &str, config: &[(&str, &str)]) -> Box<dyn Transformation<SinkMeta>> {
    let mut t = (transformation(class).unwrap_or_else(|| panic!("{class} missing")).sink)();
    t.configure(&cfg(config)).unwrap();
    t
}

fn source_transform(class: &str, config: &[(&str, &str)]) -> Box<dyn Transformation<SourceMeta>> {
    let mut t = (transformation(class).unwrap_or_else(|| panic!("{class} missing")).source)();
    t.configure(&cfg(config)).unwrap();
    t
}

fn person_schema() -> SchemaRef {
    SchemaBuilder::struct_().name("Person").field("id", Schema::int32()).field("name", Schema::optional_string()).field("ssn", Schema::string()).build_ref()
}

fn person() -> Value {
    Value::Struct(Struct::new(person_schema()).unwrap().with("id", 7).unwrap().with("name", "Ann").unwrap().with("ssn", "123-45").unwrap())
}

fn sink_record(schema: Option<SchemaRef>, value: Value) -> SinkRecord {
    SinkRecord::new("orders", 2, SchemaAndValue { schema: None, value: Value::Null }, SchemaAndValue { schema, value }, 42)
        .with_timestamp(Some(1_700_000_000_000))
}

fn map(pairs: &[(&str, Value)]) -> Value {
    Value::Map(pairs.iter().map(|(k, v)| (Value::String((*k).into()), v.clone())).collect())
}

fn field_names(schema: &SchemaRef) -> Vec<&str> {
    schema.fields().iter().map(|f| f.name()).collect()
}

#[test]
fn regex_router_rewrites_whole_matches_only() {
    let t = sink_transform("RegexRouter", &[("regex", "(.*)ers"), ("replacement", "$1-v2")]);
    assert_eq!(&*t.apply(sink_record(None, Value::Null)).unwrap().unwrap().topic, "ord-v2");
    let t = sink_transform("org.apache.kafka.connect.transforms.RegexRouter", &[("regex", "ord"), ("replacement", "x")]);
    assert_eq!(&*t.apply(sink_record(None, Value::Null)).unwrap().unwrap().topic, "orders", "a partial match does not route");
}

#[test]
fn timestamp_router_formats_utc_dates() {
    let t = sink_transform("TimestampRouter", &[]);
    assert_eq!(&*t.apply(sink_record(None, Value::Null)).unwrap().unwrap().topic, "orders-20231114");
    let t = sink_transform("TimestampRouter", &[("topic.format", "${timestamp}_${topic}"), ("timestamp.format", "yyyy-MM-dd'T'HH:mm:ss.SSS")]);
    assert_eq!(&*t.apply(sink_record(None, Value::Null)).unwrap().unwrap().topic, "2023-11-14T22:13:20.000_orders");
    let mut no_ts = sink_record(None, Value::Null);
    no_ts.timestamp = None;
    assert!(t.apply(no_ts).unwrap_err().to_string().contains("Timestamp missing"));
}

#[test]
fn insert_field_on_structs_and_maps() {
    let t = sink_transform(
        "InsertField$Value",
        &[
            ("topic.field", "topic!"),
            ("partition.field", "p"),
            ("offset.field", "off"),
            ("timestamp.field", "ts"),
            ("static.field", "src"),
            ("static.value", "crm"),
        ],
    );
    let out = t.apply(sink_record(Some(person_schema()), person())).unwrap().unwrap();
    let schema = out.value_schema.clone().unwrap();
    assert_eq!(field_names(&schema), vec!["id", "name", "ssn", "topic", "p", "off", "ts", "src"]);
    assert_eq!(schema.name(), Some("Person"));
    assert!(!schema.field("topic").unwrap().schema().is_optional(), "topic! is required");
    assert!(schema.field("p").unwrap().schema().is_optional());
    assert_eq!(schema.field("ts").unwrap().schema().name(), Some("org.apache.kafka.connect.data.Timestamp"));
    let Value::Struct(s) = &out.value else { panic!("not a struct") };
    assert_eq!(s.get("topic"), Some(&Value::String("orders".into())));
    assert_eq!(s.get("p"), Some(&Value::Int32(2)));
    assert_eq!(s.get("off"), Some(&Value::Int64(42)));
    assert_eq!(s.get("ts"), Some(&Value::Int64(1_700_000_000_000)));
    assert_eq!(s.get("src"), Some(&Value::String("crm".into())));
    assert_eq!(s.get("ssn"), Some(&Value::String("123-45".into())));

    let out = t.apply(sink_record(None, map(&[("a", Value::Int64(1))]))).unwrap().unwrap();
    assert_eq!(
        out.value,
        map(&[
            ("a", Value::Int64(1)),
            ("topic", "orders".into()),
            ("p", Value::Int32(2)),
            ("off", Value::Int64(42)),
            ("ts", Value::Int64(1_700_000_000_000)),
            ("src", "crm".into())
        ])
    );
    let tomb = t.apply(sink_record(None, Value::Null)).unwrap().unwrap();
    assert_eq!(tomb.value, Value::Null, "tombstones pass through");
    let err = t.apply(sink_record(None, Value::String("x".into()))).unwrap_err().to_string();
    assert_eq!(err, "Only Map objects supported in absence of schema for [field insertion], found: String");
    // Sources have no Kafka offset.
    let src = source_transform("InsertField$Value", &[("offset.field", "off")]);
    let rec = SourceRecord::new(OffsetMap::new(), None, "t", None, map(&[]));
    assert!(src.apply(rec).unwrap_err().to_string().contains("Only SinkRecord supported"));
}

#[test]
fn replace_field_excludes_includes_and_renames() {
    let t = sink_transform("ReplaceField$Value", &[("exclude", "ssn"), ("renames", "name:full_name")]);
    let out = t.apply(sink_record(Some(person_schema()), person())).unwrap().unwrap();
    assert_eq!(field_names(out.value_schema.as_ref().unwrap()), vec!["id", "full_name"]);
    let Value::Struct(s) = &out.value else { panic!() };
    assert_eq!(s.get("full_name"), Some(&Value::String("Ann".into())));
    let t = sink_transform("ReplaceField$Value", &[("include", "id,name")]);
    let out = t.apply(sink_record(None, map(&[("id", Value::Int64(1)), ("ssn", "x".into()), ("name", "n".into())]))).unwrap().unwrap();
    assert_eq!(out.value, map(&[("id", Value::Int64(1)), ("name", "n".into())]));
    let mut bad = (transformation("ReplaceField$Value").unwrap().sink)();
    assert!(bad.configure(&cfg(&[("renames", "a")])).unwrap_err().to_string().contains("Invalid rename mapping"));
}

#[test]
fn mask_field_uses_empty_values_or_the_replacement() {
    let t = sink_transform("MaskField$Value", &[("fields", "ssn,id")]);
    let Value::Struct(s) = t.apply(sink_record(Some(person_schema()), person())).unwrap().unwrap().value else { panic!() };
    assert_eq!((s.get("ssn"), s.get("id"), s.get("name")), (Some(&Value::String(String::new())), Some(&Value::Int32(0)), Some(&Value::String("Ann".into()))));
    let t = sink_transform("MaskField$Value", &[("fields", "ssn"), ("replacement", "***")]);
    let out = t.apply(sink_record(None, map(&[("ssn", "123".into()), ("n", Value::Int64(5))]))).unwrap().unwrap();
    assert_eq!(out.value, map(&[("ssn", "***".into()), ("n", Value::Int64(5))]));
    let t = sink_transform("MaskField$Value", &[("fields", "n"), ("replacement", "abc")]);
    assert!(t.apply(sink_record(None, map(&[("n", Value::Int64(5))]))).unwrap_err().to_string().contains("Unable to mask"));
}

#[test]
fn value_to_key_extract_and_hoist() {
    let t = sink_transform("ValueToKey", &[("fields", "id")]);
    let out = t.apply(sink_record(Some(person_schema()), person())).unwrap().unwrap();
    assert_eq!(field_names(out.key_schema.as_ref().unwrap()), vec!["id"]);
    let Value::Struct(k) = &out.key else { panic!() };
    assert_eq!(k.get("id"), Some(&Value::Int32(7)));
    let t2 = sink_transform("ExtractField$Key", &[("field", "id")]);
    let out = t2.apply(out).unwrap().unwrap();
    assert_eq!((out.key_schema.as_deref().map(|s| s.type_()), &out.key), (Some(tributary_api::SchemaType::Int32), &Value::Int32(7)));

    let t = sink_transform("ValueToKey", &[("fields", "id,missing")]);
    let out = t.apply(sink_record(None, map(&[("id", Value::Int64(3)), ("x", Value::Boolean(true))]))).unwrap().unwrap();
    assert_eq!((out.key_schema, out.key), (None, map(&[("id", Value::Int64(3)), ("missing", Value::Null)])));
    let t = sink_transform("ExtractField$Value", &[("field", "name")]);
    assert_eq!(t.apply(sink_record(None, map(&[("name", "n".into())]))).unwrap().unwrap().value, Value::String("n".into()));
    let t = sink_transform("HoistField$Value", &[("field", "line")]);
    let out = t.apply(sink_record(Some(Schema::string()), "hello".into())).unwrap().unwrap();
    assert_eq!(field_names(out.value_schema.as_ref().unwrap()), vec!["line"]);
    let out = t.apply(sink_record(None, "hello".into())).unwrap().unwrap();
    assert_eq!(out.value, map(&[("line", "hello".into())]));
}

#[test]
fn filter_headers_and_schema_metadata() {
    assert!(sink_transform("Filter", &[]).apply(sink_record(None, Value::Null)).unwrap().is_none());
    let t = sink_transform("InsertHeader", &[("header", "source"), ("value.literal", "42")]);
    let out = t.apply(sink_record(None, Value::Null)).unwrap().unwrap();
    let h = out.headers.last_with_name("source").unwrap();
    assert_eq!(h.value, Value::Int8(42));
    let t = sink_transform("DropHeaders", &[("headers", "source")]);
    assert!(t.apply(out).unwrap().unwrap().headers.is_empty());
    let t = sink_transform("SetSchemaMetadata$Value", &[("schema.name", "com.example.Person"), ("schema.version", "3")]);
    let out = t.apply(sink_record(Some(person_schema()), person())).unwrap().unwrap();
    let schema = out.value_schema.clone().unwrap();
    assert_eq!((schema.name(), schema.version()), (Some("com.example.Person"), Some(3)));
    let Value::Struct(s) = &out.value else { panic!() };
    assert_eq!(s.schema(), &schema, "the struct carries the renamed schema");
    assert!(t.apply(sink_record(None, map(&[]))).unwrap_err().to_string().contains("Schema required"));
}

#[test]
fn predicates_match_topics_headers_and_tombstones() {
    let mut p = (predicate("TopicNameMatches").unwrap().sink)();
    p.configure(&cfg(&[("pattern", "ord.*")])).unwrap();
    assert!(p.test(&sink_record(None, Value::Null)));
    p.configure(&cfg(&[("pattern", "ord")])).unwrap();
    assert!(!p.test(&sink_record(None, Value::Null)));
    let mut h = (predicate("org.apache.kafka.connect.transforms.predicates.HasHeaderKey").unwrap().sink)();
    h.configure(&cfg(&[("name", "x")])).unwrap();
    let mut rec = sink_record(None, Value::Null);
    assert!(!h.test(&rec));
    rec.headers.add("x", None, Value::Null);
    assert!(h.test(&rec));
    let t = (predicate("RecordIsTombstone").unwrap().sink)();
    assert!(t.test(&rec));
    assert!(!t.test(&sink_record(None, Value::Int32(1))));
}

#[test]
fn unknown_and_missing_config_is_refused() {
    assert!(transformation("Nope$Value").is_none());
    let mut t = (transformation("RegexRouter").unwrap().sink)();
    let err = t.configure(&cfg(&[("regex", "(")])).unwrap_err().to_string();
    assert!(err.contains("Missing required configuration \"replacement\""), "{err}");
}

#[test]
fn cast_whole_values_and_fields() {
    let t = sink_transform("Cast$Value", &[("spec", "string")]);
    let out = t.apply(sink_record(Some(Schema::int32()), Value::Int32(42))).unwrap().unwrap();
    assert_eq!((out.value_schema.as_deref().map(|s| s.type_()), out.value), (Some(tributary_api::SchemaType::String), Value::String("42".into())));
    let t = sink_transform("Cast$Value", &[("spec", "id:string,name:int64")]);
    let schema = SchemaBuilder::struct_().field("id", Schema::int32()).field("name", Schema::optional_string()).build_ref();
    let v = Value::Struct(Struct::new(schema.clone()).unwrap().with("id", 7).unwrap().with("name", "12").unwrap());
    let out = t.apply(sink_record(Some(schema), v)).unwrap().unwrap();
    let Value::Struct(s) = &out.value else { panic!() };
    assert_eq!((s.get("id"), s.get("name")), (Some(&Value::String("7".into())), Some(&Value::Int64(12))));
    assert!(out.value_schema.unwrap().field("name").unwrap().schema().is_optional(), "optionality is kept");
    let t = sink_transform("Cast$Value", &[("spec", "f:boolean,n:int8")]);
    let out = t.apply(sink_record(None, map(&[("f", Value::Int64(0)), ("n", Value::Float64(3.9))]))).unwrap().unwrap();
    assert_eq!(out.value, map(&[("f", Value::Boolean(false)), ("n", Value::Int8(3))]));
    let err = t.apply(sink_record(None, map(&[("n", Value::Int64(300))]))).unwrap_err().to_string();
    assert!(err.contains("out of range"), "{err}");
    let mut bad = (transformation("Cast$Value").unwrap().sink)();
    assert!(bad.configure(&cfg(&[("spec", "a:uuid")])).unwrap_err().to_string().contains("Invalid type found in casting spec: uuid"));
}

#[test]
fn flatten_structs_and_maps() {
    let inner = SchemaBuilder::struct_().field("city", Schema::string()).field("zip", Schema::int32()).optional().build_ref();
    let schema = SchemaBuilder::struct_().name("P").field("id", Schema::int32()).field("addr", inner.clone()).build_ref();
    let addr = Struct::new(inner).unwrap().with("city", "Oslo").unwrap().with("zip", 150).unwrap();
    let v = Value::Struct(Struct::new(schema.clone()).unwrap().with("id", 1).unwrap().with("addr", Value::Struct(addr)).unwrap());
    let t = sink_transform("Flatten$Value", &[("delimiter", "_")]);
    let out = t.apply(sink_record(Some(schema), v)).unwrap().unwrap();
    let out_schema = out.value_schema.clone().unwrap();
    assert_eq!(field_names(&out_schema), vec!["id", "addr_city", "addr_zip"]);
    assert!(out_schema.field("addr_city").unwrap().schema().is_optional(), "fields of an optional struct become optional");
    let Value::Struct(s) = &out.value else { panic!() };
    assert_eq!((s.get("addr_city"), s.get("addr_zip")), (Some(&Value::String("Oslo".into())), Some(&Value::Int32(150))));
    let t = sink_transform("Flatten$Value", &[]);
    let out = t.apply(sink_record(None, map(&[("a", map(&[("b", Value::Int64(1)), ("c", map(&[("d", Value::Boolean(true))]))]))]))).unwrap().unwrap();
    assert_eq!(out.value, map(&[("a.b", Value::Int64(1)), ("a.c.d", Value::Boolean(true))]));
}

#[test]
fn header_from_copies_or_moves() {
    let t = sink_transform("HeaderFrom$Value", &[("fields", "id,ssn"), ("headers", "h_id,h_ssn"), ("operation", "move")]);
    let out = t.apply(sink_record(Some(person_schema()), person())).unwrap().unwrap();
    assert_eq!(field_names(out.value_schema.as_ref().unwrap()), vec!["name"]);
    let h = out.headers.last_with_name("h_id").unwrap();
    assert_eq!((h.value.clone(), h.schema.as_deref().map(|s| s.type_())), (Value::Int32(7), Some(tributary_api::SchemaType::Int32)));
    let t = sink_transform("HeaderFrom$Value", &[("fields", "a"), ("headers", "ha"), ("operation", "copy")]);
    let out = t.apply(sink_record(None, map(&[("a", Value::Int64(5))]))).unwrap().unwrap();
    assert_eq!(out.value, map(&[("a", Value::Int64(5))]));
    assert_eq!(out.headers.last_with_name("ha").unwrap().value, Value::Int64(5));
    let mut bad = (transformation("HeaderFrom$Value").unwrap().sink)();
    assert!(bad.configure(&cfg(&[("fields", "a,b"), ("headers", "x"), ("operation", "copy")])).unwrap_err().to_string().contains("same number of elements"));
}

#[test]
fn timestamp_converter_between_representations() {
    let t = sink_transform("TimestampConverter$Value", &[("target.type", "string"), ("format", "yyyy-MM-dd")]);
    let ts = tributary_api::schema::logical::timestamp().build_ref();
    let out = t.apply(sink_record(Some(ts.clone()), Value::Int64(1_700_000_000_000))).unwrap().unwrap();
    assert_eq!(out.value, Value::String("2023-11-14".into()));
    let t = sink_transform("TimestampConverter$Value", &[("target.type", "Timestamp"), ("format", "yyyy-MM-dd"), ("field", "when")]);
    let out = t.apply(sink_record(None, map(&[("when", "2023-11-14".into())]))).unwrap().unwrap();
    assert_eq!(out.value, map(&[("when", Value::Int64(1_699_920_000_000))]));
    let t = sink_transform("TimestampConverter$Value", &[("target.type", "unix"), ("unix.precision", "seconds")]);
    let out = t.apply(sink_record(Some(ts.clone()), Value::Int64(1_700_000_000_999))).unwrap().unwrap();
    assert_eq!(out.value, Value::Int64(1_700_000_000));
    let t = sink_transform("TimestampConverter$Value", &[("target.type", "Date")]);
    let out = t.apply(sink_record(Some(ts), Value::Int64(1_700_000_000_000))).unwrap().unwrap();
    assert_eq!((out.value, out.value_schema.unwrap().name()), (Value::Int32(19_675), Some("org.apache.kafka.connect.data.Date")));
    let t = sink_transform("TimestampConverter$Value", &[("target.type", "Timestamp"), ("format", "yyyy-MM-dd")]);
    assert!(t.apply(sink_record(None, Value::String("14/11/2023".into()))).unwrap_err().to_string().contains("Could not parse timestamp"));
    let mut bad = (transformation("TimestampConverter$Value").unwrap().sink)();
    assert!(bad.configure(&cfg(&[("target.type", "string")])).unwrap_err().to_string().contains("requires format"));
}

#[test]
fn replace_null_with_default_is_honoured() {
    let schema = SchemaBuilder::struct_()
        .field("n", SchemaBuilder::new(tributary_api::SchemaType::Int32).optional().default_value(Value::Int32(5)).build_ref())
        .build_ref();
    let v = Value::Struct(Struct::new(schema.clone()).unwrap());
    let with = sink_transform("ExtractField$Value", &[("field", "n")]);
    assert_eq!(with.apply(sink_record(Some(schema.clone()), v.clone())).unwrap().unwrap().value, Value::Int32(5));
    let without = sink_transform("ExtractField$Value", &[("field", "n"), ("replace.null.with.default", "false")]);
    assert_eq!(without.apply(sink_record(Some(schema.clone()), v.clone())).unwrap().unwrap().value, Value::Null);
    let key = sink_transform("ValueToKey", &[("fields", "n"), ("replace.null.with.default", "false")]);
    let Value::Struct(k) = key.apply(sink_record(Some(schema), v)).unwrap().unwrap().key else { panic!() };
    assert_eq!(k.get_without_default("n"), Some(&Value::Null));
}
