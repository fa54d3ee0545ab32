//! The runtime's top-level modules form no import cycle: every `crate::<module>` a module's
//! code names (its tests aside) points one way, so the layout can be read from the leaves up.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The top-level module a file belongs to: `source_task/send.rs` → `source_task`.
fn module_of(relative: &Path) -> String {
    let first = relative.components().next().map(|c| c.as_os_str().to_string_lossy().into_owned()).unwrap_or_default();
    first.trim_end_matches(".rs").to_owned()
}

/// The `crate::<module>` names in a file's code, comments and unit tests left out.
fn imports(source: &str) -> BTreeSet<String> {
    let code = match source.find("#[cfg(test)]\nmod tests") {
        Some(i) => &source[..i],
        None => source,
    };
    let mut out = BTreeSet::new();
    for line in code.lines() {
        let line = line.split("//").next().unwrap_or_default();
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let name: String = rest.chars().take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_').collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("source directory").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") && path.file_name().is_some_and(|n| n != "tests.rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_two_runtime_modules_import_each_other_through_any_path() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let module = module_of(file.strip_prefix(&src).expect("under src"));
        let text = std::fs::read_to_string(file).expect("readable source");
        graph.entry(module).or_default().extend(imports(&text));
    }
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    for deps in graph.values_mut() {
        deps.retain(|d| modules.contains(d));
    }
    assert!(modules.len() > 20 && graph.values().any(|d| !d.is_empty()), "the scan found the runtime's modules: {modules:?}");
    // A module reaches itself through its imports only if it is on a cycle: for each, walk
    // what it imports (each module once) and note the way back.
    let mut cycles = Vec::new();
    for start in graph.keys() {
        let mut seen: BTreeSet<&String> = BTreeSet::new();
        let mut came_from: BTreeMap<&String, &String> = BTreeMap::new();
        let mut todo: Vec<&String> = vec![start];
        while let Some(m) = todo.pop() {
            for next in graph.get(m).into_iter().flatten() {
                if next == start {
                    let mut way = vec![m.as_str()];
                    let mut at = m;
                    while let Some(prev) = came_from.get(at) {
                        way.push(prev.as_str());
                        at = prev;
                    }
                    way.reverse();
                    cycles.push(format!("{} -> {start}", way.join(" -> ")));
                } else if seen.insert(next) {
                    came_from.insert(next, m);
                    todo.push(next);
                }
            }
        }
    }
    assert!(cycles.is_empty(), "import cycles between runtime modules:\n{}", cycles.join("\n"));
}
