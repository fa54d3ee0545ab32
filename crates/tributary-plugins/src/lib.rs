//! The plugins a Tributary build ships with, assembled from their crates. Each family is a
//! cargo feature (all on by default), so a lean build leaves out what it does not run; a
//! program embedding the worker adds its own sets beside these.

use tributary_api::PluginSet;

/// Every built-in plugin this build's features include.
pub fn builtin() -> PluginSet {
    #[allow(unused_mut)] // with no family enabled nothing is added
    let mut set = PluginSet::new();
    #[cfg(feature = "file")]
    {
        set = set.with(tributary_file::plugins());
    }
    #[cfg(feature = "converters")]
    {
        set = set.with(tributary_converters::plugins());
    }
    #[cfg(feature = "transforms")]
    {
        set = set.with(tributary_transforms::plugins());
    }
    set
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_family_is_in_the_default_build() {
        let set = super::builtin();
        assert_eq!(set.connectors.len(), 2);
        assert_eq!(set.converters.len(), 3);
        assert_eq!(set.header_converters.len(), 4);
        assert!(set.transformations.iter().any(|t| t.class == "org.apache.kafka.connect.transforms.InsertField$Value"));
        assert_eq!(set.predicates.len(), 3);
    }
}
