//! The runtime's files form no import cycle: every module a file's code names (`crate::...`,
//! `super::...`, or a submodule of its own; its tests aside) points one way, so the layout can
//! be read from the leaves up.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A file's module path: `source_task/send.rs` → `source_task::send`, `sink_task/mod.rs` →
/// `sink_task`.
fn module_of(relative: &Path) -> String {
    let parts: Vec<String> = relative.components().map(|c| c.as_os_str().to_string_lossy().trim_end_matches(".rs").to_owned()).collect();
    let parts: Vec<&str> = parts.iter().map(String::as_str).filter(|p| *p != "mod").collect();
    parts.join("::")
}

/// The code of a file: its unit tests and comments left out.
fn code(source: &str) -> String {
    // The unit tests: `#[cfg(test)]` before a `mod tests` of any visibility.
    let tests = ["#[cfg(test)]\nmod tests {", "#[cfg(test)]\npub(crate) mod tests {"].iter().filter_map(|m| source.find(m)).min();
    let code = tests.map_or(source, |i| &source[..i]);
    code.lines().map(|l| l.split("//").next().unwrap_or_default()).collect::<Vec<_>>().join("\n")
}

/// The paths that follow `prefix` in `code` (`crate::` → `a::b::C`), up to the first character
/// that cannot be in a path.
fn paths_after<'a>(code: &'a str, prefix: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find(prefix) {
        let before = rest[..i].chars().last();
        rest = &rest[i + prefix.len()..];
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':')).unwrap_or(rest.len());
        out.push(&rest[..end]);
    }
    out
}

/// The longest module of `modules` that `path` (`a::b::c`, from the crate root) names.
fn resolve(modules: &BTreeSet<String>, path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
    (1..=parts.len()).rev().map(|n| parts[..n].join("::")).find(|m| modules.contains(m))
}

/// The modules a file's code imports.
fn imports(module: &str, source: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let code = code(source);
    let mut out = BTreeSet::new();
    for p in paths_after(&code, "crate::") {
        out.extend(resolve(modules, p));
    }
    let parent = module.rsplit_once("::").map(|(p, _)| p);
    for p in paths_after(&code, "super::") {
        match parent {
            Some(parent) => out.extend(resolve(modules, &format!("{parent}::{p}"))),
            None => out.extend(resolve(modules, p)),
        }
    }
    // A folder's `mod.rs` naming one of its own submodules (`use consumer::X`).
    for m in modules.iter().filter(|m| m.rsplit_once("::").is_some_and(|(p, _)| p == module)) {
        let child = m.rsplit_once("::").map(|(_, c)| c).unwrap_or_default();
        if !paths_after(&code, &format!("{child}::")).is_empty() {
            out.insert(m.clone());
        }
    }
    out.remove(module);
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
fn no_two_runtime_files_import_each_other_through_any_path() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let sources: Vec<(String, String)> = files
        .iter()
        .map(|f| (module_of(f.strip_prefix(&src).expect("under src")), std::fs::read_to_string(f).expect("readable source")))
        .filter(|(m, _)| m != "lib")
        .collect();
    let modules: BTreeSet<String> = sources.iter().map(|(m, _)| m.clone()).collect();
    let graph: BTreeMap<String, BTreeSet<String>> = sources.iter().map(|(m, text)| (m.clone(), imports(m, text, &modules))).collect();
    assert!(modules.len() > 30 && modules.contains("sink_task::convert"), "the scan found the runtime's files: {modules:?}");
    assert!(graph["sink_task::convert"].contains("sink_task") && graph["worker"].contains("source_task"), "the scan sees imports: {graph:?}");
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
