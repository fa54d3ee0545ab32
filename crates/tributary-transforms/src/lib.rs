//! Kafka Connect's single message transforms and predicates, under Kafka's class names and
//! config keys, for schema'd (struct) and schemaless (map) records alike.
//!
//! Each transformation is written once over `ConnectRecord<M>`; the registry hands out instances
//! for sources (`M = SourceMeta`) and sinks (`M = SinkMeta`).

mod cast;
mod fields;
mod flatten;
mod header_from;
mod insert_field;
mod misc;
mod predicates;
mod router;
mod timestamp_converter;
mod util;

pub use cast::Cast;
pub use fields::{ExtractField, HoistField, MaskField, ReplaceField, ValueToKey};
pub use flatten::Flatten;
pub use header_from::HeaderFrom;
pub use insert_field::InsertField;
pub use misc::{DropHeaders, Filter, InsertHeader, SetSchemaMetadata};
pub use predicates::{HasHeaderKey, RecordIsTombstone, TopicNameMatches};
pub use router::{RegexRouter, TimestampRouter};
pub use timestamp_converter::TimestampConverter;
pub use util::Side;

use tributary_api::PluginSet;

const VERSION: &str = env!("CARGO_PKG_VERSION");

pub use tributary_api::plugin::class_matches;
pub use tributary_api::{PredicatePlugin, TransformationPlugin};

/// This crate's plugins: every transformation and predicate shipped with Apache Kafka.
pub fn plugins() -> PluginSet {
    let set = transformations().into_iter().fold(PluginSet::new(), PluginSet::with_transformation);
    predicates().into_iter().fold(set, PluginSet::with_predicate)
}

macro_rules! transform {
    ($class:literal, $make:expr) => {
        TransformationPlugin::new(concat!("org.apache.kafka.connect.transforms.", $class), VERSION, || Box::new($make), || Box::new($make))
    };
}

macro_rules! predicate {
    ($class:literal, $make:expr) => {
        PredicatePlugin::new(concat!("org.apache.kafka.connect.transforms.predicates.", $class), VERSION, || Box::new($make), || Box::new($make))
    };
}

/// Every transformation shipped with Apache Kafka, sorted by class name.
pub fn transformations() -> Vec<TransformationPlugin> {
    let mut all = vec![
        transform!("Cast$Key", Cast::new(Side::Key)),
        transform!("Cast$Value", Cast::new(Side::Value)),
        transform!("DropHeaders", DropHeaders::default()),
        transform!("ExtractField$Key", ExtractField::new(Side::Key)),
        transform!("ExtractField$Value", ExtractField::new(Side::Value)),
        transform!("Filter", Filter),
        transform!("Flatten$Key", Flatten::new(Side::Key)),
        transform!("Flatten$Value", Flatten::new(Side::Value)),
        transform!("HeaderFrom$Key", HeaderFrom::new(Side::Key)),
        transform!("HeaderFrom$Value", HeaderFrom::new(Side::Value)),
        transform!("HoistField$Key", HoistField::new(Side::Key)),
        transform!("HoistField$Value", HoistField::new(Side::Value)),
        transform!("InsertField$Key", InsertField::new(Side::Key)),
        transform!("InsertField$Value", InsertField::new(Side::Value)),
        transform!("InsertHeader", InsertHeader::default()),
        transform!("MaskField$Key", MaskField::new(Side::Key)),
        transform!("MaskField$Value", MaskField::new(Side::Value)),
        transform!("RegexRouter", RegexRouter::default()),
        transform!("ReplaceField$Key", ReplaceField::new(Side::Key)),
        transform!("ReplaceField$Value", ReplaceField::new(Side::Value)),
        transform!("SetSchemaMetadata$Key", SetSchemaMetadata::new(Side::Key)),
        transform!("SetSchemaMetadata$Value", SetSchemaMetadata::new(Side::Value)),
        transform!("TimestampConverter$Key", TimestampConverter::new(Side::Key)),
        transform!("TimestampConverter$Value", TimestampConverter::new(Side::Value)),
        transform!("TimestampRouter", TimestampRouter::default()),
        transform!("ValueToKey", ValueToKey::default()),
    ];
    all.sort_by(|a, b| a.class.cmp(&b.class));
    all
}

/// Every predicate this build has.
pub fn predicates() -> Vec<PredicatePlugin> {
    vec![
        predicate!("HasHeaderKey", HasHeaderKey::default()),
        predicate!("RecordIsTombstone", RecordIsTombstone),
        predicate!("TopicNameMatches", TopicNameMatches::default()),
    ]
}

/// The transformation named by `name` (class name or simple name).
pub fn transformation(name: &str) -> Option<TransformationPlugin> {
    transformations().into_iter().find(|p| class_matches(&p.class, name))
}

/// The predicate named by `name` (class name or simple name).
pub fn predicate(name: &str) -> Option<PredicatePlugin> {
    predicates().into_iter().find(|p| class_matches(&p.class, name))
}

#[cfg(test)]
mod tests;
