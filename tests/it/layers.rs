//! The house rule that keeps the library growable: a module may use only
//! modules of the layers below its own (ARCHITECTURE.md, "Layers"). Read from
//! the sources, so a new `use` that runs up the layers fails here with the
//! file and the line, before it becomes a cycle.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The library's top-level modules, bottom first. A module may use the ones
/// before it in this list.
const LAYERS: &[&str] = &[
    "error", "paths", "fsafe", "vocab", "timetext", "host", "log", "panics", "pidfile", "metrics",
    "model", "netaddr", "exec", "disk", "monitor", "config", "alert", "engine", "cluster",
    "status", "protocol", "ipc", "remote", "logcc", "rest", "daemon", "cli",
];

/// Uses that still run up the layers, each with why it is tolerated. Keep empty.
const KNOWN_DEBTS: &[(&str, &str, &str)] = &[];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The part of a file that is not test code: test files are skipped, an inline
/// `#[cfg(test)]` module ends the file (they come last by convention).
fn production_text(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    if name == "tests.rs" || name.ends_with("_tests.rs") || name == "proptests.rs" {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    let end = text.find("#[cfg(test)]\nmod ").unwrap_or(text.len());
    Some(text[..end].to_string())
}

/// The leading identifier of `text`.
fn ident(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

#[test]
fn no_module_uses_a_layer_above_its_own() {
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib");
    let rank: BTreeMap<&str, usize> = LAYERS.iter().enumerate().map(|(i, m)| (*m, i)).collect();
    let mut files = Vec::new();
    rust_files(&lib, &mut files);
    files.sort();
    let mut problems = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&lib).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs").to_string();
        if module == "lib" {
            continue;
        }
        let Some(&own) = rank.get(module.as_str()) else {
            problems.push(format!(
                "{}: module {module} is not in LAYERS (tests/it/layers.rs): give it a layer",
                rel.display()
            ));
            continue;
        };
        let Some(text) = production_text(file) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            // Comments may point anywhere (doc links are not dependencies).
            if line.trim_start().starts_with("//") {
                continue;
            }
            let mut rest = line;
            while let Some(at) = rest.find("crate::") {
                rest = &rest[at + "crate::".len()..];
                // `crate::{a, b::c}` names several modules at once.
                let names: Vec<String> = match rest.strip_prefix('{') {
                    Some(group) => group
                        .split('}')
                        .next()
                        .unwrap_or("")
                        .split(',')
                        .map(|n| ident(n.trim()))
                        .collect(),
                    None => vec![ident(rest)],
                };
                for used in names {
                    let Some(&theirs) = rank.get(used.as_str()) else {
                        continue;
                    };
                    let tolerated = KNOWN_DEBTS
                        .iter()
                        .any(|(from, to, _)| *from == module && *to == used);
                    if theirs > own && !tolerated {
                        problems.push(format!(
                            "{}:{}: {module} uses {used}, a layer above it: {}",
                            rel.display(),
                            n + 1,
                            line.trim()
                        ));
                    }
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "uses that run up the layers:\n{}",
        problems.join("\n")
    );
}
