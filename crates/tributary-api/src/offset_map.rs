//! [`OffsetMap`]: a source partition or source offset.
//!
//! Every source record carries an offset map, usually one field (`{"position": 1234}`). A general
//! map (an `IndexMap` of `String` keys) cost three allocations per record to build and three to
//! drop: a tenth of a file source's CPU. This one holds a single field inline, with a key that
//! may be a `&'static str`, so the common record allocates nothing for its offset.

use crate::data::Value;
use std::borrow::Cow;

/// A field name of an offset map: usually a literal, sometimes built at run time.
pub type OffsetKey = Cow<'static, str>;

/// A source partition or source offset: string keys to primitive values, in insertion order
/// (the order is part of the stored key's bytes, as with Kafka Connect's JSON). Equality ignores
/// the order, as a Java map's does.
#[derive(Debug, Clone, Default)]
pub struct OffsetMap {
    repr: Repr,
}

#[derive(Debug, Clone, Default)]
enum Repr {
    #[default]
    Empty,
    One(OffsetKey, Value),
    Many(Vec<(OffsetKey, Value)>),
}

impl OffsetMap {
    pub fn new() -> Self {
        Self::default()
    }

    /// A map of one field, the common offset (`{"position": 1234}`): built in place.
    pub fn single(key: impl Into<OffsetKey>, value: Value) -> Self {
        OffsetMap { repr: Repr::One(key.into(), value) }
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Empty => 0,
            Repr::One(..) => 1,
            Repr::Many(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The fields in insertion order.
    pub fn iter(&self) -> Iter<'_> {
        let slice: &[(OffsetKey, Value)] = match &self.repr {
            Repr::Empty => &[],
            Repr::One(k, v) => return Iter { one: Some((k, v)), rest: [].iter() },
            Repr::Many(v) => v,
        };
        Iter { one: None, rest: slice.iter() }
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.iter().map(|(k, _)| k)
    }

    /// Sets `key` to `value`, keeping the key's place when it is already there; returns the
    /// value it replaced.
    pub fn insert(&mut self, key: impl Into<OffsetKey>, value: Value) -> Option<Value> {
        let key = key.into();
        match &mut self.repr {
            Repr::Empty => {
                self.repr = Repr::One(key, value);
                None
            }
            Repr::One(k, v) if *k == key => Some(std::mem::replace(v, value)),
            Repr::One(..) => {
                if let Repr::One(k, v) = std::mem::take(&mut self.repr) {
                    self.repr = Repr::Many(vec![(k, v), (key, value)]);
                }
                None
            }
            Repr::Many(entries) => match entries.iter_mut().find(|(k, _)| *k == key) {
                Some((_, v)) => Some(std::mem::replace(v, value)),
                None => {
                    entries.push((key, value));
                    None
                }
            },
        }
    }
}

impl PartialEq for OffsetMap {
    fn eq(&self, other: &Self) -> bool {
        // Keys are unique within a map, so equal lengths and every field found equal suffice.
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

/// `map["position"]`, as with std's maps: panics when the key is absent (use `get` otherwise).
impl std::ops::Index<&str> for OffsetMap {
    type Output = Value;
    fn index(&self, key: &str) -> &Value {
        match self.get(key) {
            Some(v) => v,
            None => panic!("no field {key:?} in the offset map"),
        }
    }
}

/// The fields of an [`OffsetMap`], in insertion order.
pub struct Iter<'a> {
    one: Option<(&'a OffsetKey, &'a Value)>,
    rest: std::slice::Iter<'a, (OffsetKey, Value)>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a Value);
    fn next(&mut self) -> Option<Self::Item> {
        if let Some((k, v)) = self.one.take() {
            return Some((k, v));
        }
        self.rest.next().map(|(k, v)| (&**k, v))
    }
}

impl<'a> IntoIterator for &'a OffsetMap {
    type Item = (&'a str, &'a Value);
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl<K: Into<OffsetKey>> FromIterator<(K, Value)> for OffsetMap {
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Self {
        let mut map = OffsetMap::new();
        for (k, v) in iter {
            map.insert(k, v);
        }
        map
    }
}

impl<K: Into<OffsetKey>, const N: usize> From<[(K, Value); N]> for OffsetMap {
    fn from(entries: [(K, Value); N]) -> Self {
        entries.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn one_field_is_held_inline_and_grows_in_order() {
        let mut m = OffsetMap::from([("position", Value::Int64(1))]);
        assert!(matches!(m.repr, Repr::One(Cow::Borrowed("position"), Value::Int64(1))));
        assert_eq!(m, OffsetMap::single("position", Value::Int64(1)));
        assert_eq!(m.insert("position", Value::Int64(2)), Some(Value::Int64(1)));
        assert_eq!(m.len(), 1);
        m.insert(String::from("line"), Value::Int32(7));
        m.insert("file", Value::String("a".into()));
        assert_eq!(m.insert("line", Value::Int32(8)), Some(Value::Int32(7)));
        let fields: Vec<(&str, &Value)> = m.iter().collect();
        assert_eq!(fields, vec![("position", &Value::Int64(2)), ("line", &Value::Int32(8)), ("file", &Value::String("a".into()))]);
        assert_eq!(m.get("file"), Some(&Value::String("a".into())));
        assert!(!m.contains_key("nope"));
    }

    #[test]
    fn equality_ignores_order_but_not_values_or_extra_keys() {
        let a = OffsetMap::from([("a", Value::Int32(1)), ("b", Value::Int32(2))]);
        let b = OffsetMap::from([("b", Value::Int32(2)), ("a", Value::Int32(1))]);
        assert_eq!(a, b);
        assert_ne!(a, OffsetMap::from([("a", Value::Int32(1)), ("b", Value::Int32(3))]));
        assert_ne!(a, OffsetMap::from([("a", Value::Int32(1))]));
        assert_ne!(OffsetMap::from([("a", Value::Int32(1))]), a);
        assert_eq!(OffsetMap::new(), OffsetMap::default());
    }

    proptest! {
        /// Against a model (a list with the last write per key kept in first-insertion place):
        /// the same fields, in the same order, whatever the inserts.
        #[test]
        fn behaves_like_an_insertion_ordered_map(ops in proptest::collection::vec((0u8..5, any::<i64>()), 0..20)) {
            let mut map = OffsetMap::new();
            let mut model: Vec<(String, i64)> = Vec::new();
            for (k, v) in ops {
                let key = format!("k{k}");
                let old = map.insert(key.clone(), Value::Int64(v));
                match model.iter_mut().find(|(mk, _)| *mk == key) {
                    Some((_, mv)) => {
                        prop_assert_eq!(old, Some(Value::Int64(*mv)));
                        *mv = v;
                    }
                    None => {
                        prop_assert_eq!(old, None);
                        model.push((key, v));
                    }
                }
            }
            let got: Vec<(String, i64)> = map.iter().map(|(k, v)| (k.to_owned(), v.as_i64().unwrap_or(i64::MIN))).collect();
            prop_assert_eq!(got, model.clone());
            prop_assert_eq!(map.len(), model.len());
            let rebuilt: OffsetMap = model.into_iter().rev().map(|(k, v)| (k, Value::Int64(v))).collect();
            prop_assert_eq!(rebuilt, map);
        }
    }
}
