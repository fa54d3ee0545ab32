//! Connector files as `connect-standalone` takes them: a JSON object of configs, a JSON
//! `{"name", "config", "initial_state"}` request, or a Java properties file.

use std::collections::BTreeMap;
use tributary_runtime::herder::TargetState;

/// One connector to create at start-up.
#[derive(Debug)]
pub struct ConnectorFile {
    pub name: String,
    pub config: BTreeMap<String, String>,
    pub initial_state: Option<TargetState>,
}

fn string_map(obj: &serde_json::Map<String, serde_json::Value>, path: &str) -> Result<BTreeMap<String, String>, String> {
    obj.iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => Ok((k.clone(), s.clone())),
            serde_json::Value::Number(n) => Ok((k.clone(), n.to_string())),
            serde_json::Value::Bool(b) => Ok((k.clone(), b.to_string())),
            _ => Err(format!("Connector configuration at '{path}': the value of '{k}' must be a string")),
        })
        .collect()
}

/// Reads and parses a connector file; the error names the file and the problem.
pub fn load(path: &str) -> Result<ConnectorFile, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("Cannot read connector configuration file '{path}': {e}"))?;
    let (mut config, name, initial_state) = match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Object(obj)) => {
            // A create request has a "config" object; anything else is a flat config map.
            if let Some(serde_json::Value::Object(inner)) = obj.get("config") {
                let config = string_map(inner, path)?;
                let name = obj.get("name").and_then(|n| n.as_str()).map(str::to_owned);
                let state = match obj.get("initial_state").and_then(|s| s.as_str()).map(str::to_ascii_uppercase).as_deref() {
                    None => None,
                    Some("RUNNING") => Some(TargetState::Started),
                    Some("PAUSED") => Some(TargetState::Paused),
                    Some("STOPPED") => Some(TargetState::Stopped),
                    Some(other) => return Err(format!("Connector configuration at '{path}': invalid initial_state {other}")),
                };
                (config, name, state)
            } else {
                (string_map(&obj, path)?, None, None)
            }
        }
        Ok(_) => return Err(format!("Connector configuration at '{path}' must be a JSON object or a properties file")),
        Err(_) if path.ends_with(".json") => {
            let e = serde_json::from_str::<serde_json::Value>(&text).err().map(|e| e.to_string()).unwrap_or_default();
            return Err(format!("Connector configuration at '{path}' is not valid JSON: {e}"));
        }
        Err(_) => (tributary_runtime::properties::parse(&text).map_err(|e| format!("Connector configuration at '{path}': {e}"))?, None, None),
    };
    let name = match (name, config.get("name").cloned()) {
        (Some(n), Some(c)) if n != c => {
            return Err(format!("Connector configuration at '{path}': name ({n}) doesn't match config name ({c})"));
        }
        (Some(n), _) | (None, Some(n)) => n,
        (None, None) => return Err(format!("Connector configuration at '{path}' is missing the mandatory 'name' configuration")),
    };
    config.insert("name".into(), name.clone());
    Ok(ConnectorFile { name, config, initial_state })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_owned()
    }

    #[test]
    fn reads_all_three_formats() {
        let dir = tempfile::tempdir().unwrap();
        let a = load(&write(&dir, "a.properties", "name=a\nconnector.class=FileStreamSource\ntopic=t\n")).unwrap();
        assert_eq!((a.name.as_str(), a.config["topic"].as_str()), ("a", "t"));
        let b = load(&write(&dir, "b.json", r#"{"name":"b","connector.class":"FileStreamSink","tasks.max":2}"#)).unwrap();
        assert_eq!(b.config["tasks.max"], "2");
        let c = load(&write(&dir, "c.json", r#"{"name":"c","config":{"connector.class":"FileStreamSink"},"initial_state":"stopped"}"#)).unwrap();
        assert_eq!((c.config["name"].as_str(), c.initial_state), ("c", Some(TargetState::Stopped)));
    }

    #[test]
    fn name_is_mandatory() {
        let dir = tempfile::tempdir().unwrap();
        let err = load(&write(&dir, "x.properties", "connector.class=FileStreamSource\n")).unwrap_err();
        assert!(err.contains("is missing the mandatory 'name' configuration"), "{err}");
        let err = load(&write(&dir, "y.json", "{not json")).unwrap_err();
        assert!(err.contains("is not valid JSON"), "{err}");
    }
}
