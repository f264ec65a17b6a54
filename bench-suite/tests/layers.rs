//! The library's modules stand in layers, and no module reaches one at its own layer or above
//! (an import circle makes a layer impossible to read or test alone). Rust does not forbid
//! circles between modules of one crate, so this reads every `crate::…` path in the sources
//! and checks it against the layers below: a new module must be given its layer here, and an
//! import upward fails.

use std::path::Path;

/// Each top-level module of `src/`, lowest first; a module may name only modules of lower
/// layers (and itself). Macros exported at the crate's root (`say!`, `builder!`) are not
/// modules.
const LAYERS: &[&[&str]] = &[
    &[
        "alloc", "values", "format", "table", "svg", "progress", "diag",
    ],
    &["strategies"],
    &["error", "shapes"],
    &["section", "trace"],
    &["measure"],
    &["report"],
    &["plan", "speed"],
    &["cli"],
];

const MACROS: &[&str] = &["say", "builder"];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// The `crate::name` paths in `text`, comments included (a doc link upward is a circle for the
/// reader too).
fn crate_paths(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + "crate::".len()..];
        let name: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            // `crate::{a, b}`: every name in the braces.
            if let Some(group) = after.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                out.extend(
                    group[..end]
                        .split(',')
                        .map(|p| p.trim().split("::").next().unwrap_or("").to_owned())
                        .filter(|p| !p.is_empty()),
                );
            }
        } else {
            out.push(name);
        }
        rest = after;
    }
    out
}

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_module_reaches_its_own_layer_or_above() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut upward = Vec::new();
    let mut modules = 0;
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        let top = rel.iter().next().unwrap().to_str().unwrap();
        let module = top.trim_end_matches(".rs");
        if module == "lib" || module == "main" {
            continue;
        }
        modules += 1;
        let own = layer(module).unwrap_or_else(|| {
            panic!("src/{top} is a module without a layer: give it one in LAYERS")
        });
        let text = std::fs::read_to_string(file).unwrap();
        for name in crate_paths(&text) {
            if name == module || MACROS.contains(&name.as_str()) {
                continue;
            }
            match layer(&name) {
                Some(l) if l < own => {}
                Some(_) => upward.push(format!("{} names crate::{name}", rel.display())),
                None => panic!("{}: crate::{name} is not a module of LAYERS", rel.display()),
            }
        }
    }
    assert!(modules > 30, "read {modules} files");
    assert!(
        upward.is_empty(),
        "imports at or above their own layer: {upward:#?}"
    );
}

#[test]
fn the_path_reader_finds_plain_and_grouped_paths() {
    let text = "use crate::report::Report; use crate::{svg, table::Table};\n/// [`crate::measure`]";
    assert_eq!(
        crate_paths(text),
        ["report", "svg", "table", "measure"].map(String::from)
    );
}
