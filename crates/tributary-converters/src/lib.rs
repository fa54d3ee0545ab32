//! Kafka Connect's converters: `JsonConverter`, `StringConverter`, `ByteArrayConverter` and
//! `SimpleHeaderConverter`, byte-compatible with Kafka's.

mod bytes;
mod header;
pub mod json;
mod string;

pub use bytes::ByteArrayConverter;
pub use header::SimpleHeaderConverter;
pub use json::JsonConverter;
pub use string::StringConverter;

use tributary_api::{Converter, ConverterPlugin, HeaderConverter, HeaderConverterPlugin, PluginSet};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// This crate's plugins: three converters, and four header converters (the three, and
/// `SimpleHeaderConverter`), as Kafka lists them.
pub fn plugins() -> PluginSet {
    PluginSet::new()
        .with_converter(ConverterPlugin::new(BYTE_ARRAY_CONVERTER_CLASS, VERSION, || Box::new(ByteArrayConverter)))
        .with_converter(ConverterPlugin::new(JSON_CONVERTER_CLASS, VERSION, || Box::<JsonConverter>::default()))
        .with_converter(ConverterPlugin::new(STRING_CONVERTER_CLASS, VERSION, || Box::new(StringConverter)))
        .with_header_converter(HeaderConverterPlugin::new(BYTE_ARRAY_CONVERTER_CLASS, VERSION, || Box::new(ByteArrayConverter)))
        .with_header_converter(HeaderConverterPlugin::new(JSON_CONVERTER_CLASS, VERSION, || Box::<JsonConverter>::default()))
        .with_header_converter(HeaderConverterPlugin::new(SIMPLE_HEADER_CONVERTER_CLASS, VERSION, || Box::new(SimpleHeaderConverter)))
        .with_header_converter(HeaderConverterPlugin::new(STRING_CONVERTER_CLASS, VERSION, || Box::new(StringConverter)))
}

pub const JSON_CONVERTER_CLASS: &str = "org.apache.kafka.connect.json.JsonConverter";
pub const STRING_CONVERTER_CLASS: &str = "org.apache.kafka.connect.storage.StringConverter";
pub const BYTE_ARRAY_CONVERTER_CLASS: &str = "org.apache.kafka.connect.converters.ByteArrayConverter";
pub const SIMPLE_HEADER_CONVERTER_CLASS: &str = "org.apache.kafka.connect.storage.SimpleHeaderConverter";

/// The converter classes, for plugin listings.
pub fn converter_classes() -> &'static [&'static str] {
    &[BYTE_ARRAY_CONVERTER_CLASS, JSON_CONVERTER_CLASS, SIMPLE_HEADER_CONVERTER_CLASS, STRING_CONVERTER_CLASS]
}

/// True when `name` is `class` or its simple name.
fn names(name: &str, class: &str) -> bool {
    name == class || class.rsplit('.').next() == Some(name)
}

/// A new, unconfigured key/value converter named by Java class name or simple name.
pub fn new_converter(name: &str) -> Option<Box<dyn Converter>> {
    let name = name.trim();
    if names(name, JSON_CONVERTER_CLASS) {
        Some(Box::<JsonConverter>::default())
    } else if names(name, STRING_CONVERTER_CLASS) {
        Some(Box::new(StringConverter))
    } else if names(name, BYTE_ARRAY_CONVERTER_CLASS) {
        Some(Box::new(ByteArrayConverter))
    } else {
        None
    }
}

/// A new, unconfigured header converter named by Java class name or simple name.
pub fn new_header_converter(name: &str) -> Option<Box<dyn HeaderConverter>> {
    let name = name.trim();
    if names(name, SIMPLE_HEADER_CONVERTER_CLASS) {
        Some(Box::new(SimpleHeaderConverter))
    } else if names(name, JSON_CONVERTER_CLASS) {
        Some(Box::<JsonConverter>::default())
    } else if names(name, STRING_CONVERTER_CLASS) {
        Some(Box::new(StringConverter))
    } else if names(name, BYTE_ARRAY_CONVERTER_CLASS) {
        Some(Box::new(ByteArrayConverter))
    } else {
        None
    }
}
