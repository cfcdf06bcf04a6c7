//! Every registered mapping is named by the built-in catalog and has a fixture
//! (`tests/fixtures/mappings/<name>/before.py` and `after.py`) whose rewrite uses
//! it and gives exactly `after.py`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::{REGISTRY, find, names};
use crate::analysis::catalog::{Catalog, Strategy};
use crate::config::Config;
use crate::draft::rewrite::testing::{Codemod, codemod};

fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mappings").join(name)
}

#[test]
fn names_are_unique_identifiers() {
    let all = names();
    let unique: BTreeSet<&str> = all.iter().copied().collect();
    assert_eq!(unique.len(), all.len(), "two mappings share a name: {all:?}");
    for name in all {
        assert!(crate::plan::settings::is_identifier(name), "{name} is not a snake_case identifier");
        assert!(find(name).is_some());
    }
}

#[test]
fn every_native_catalog_entry_names_a_registered_mapping_and_every_mapping_is_used() {
    let catalog = Catalog::load(&Config::builtin(), Path::new(".")).expect("the built-in catalog loads");
    let mut used = BTreeSet::new();
    for entry in catalog.entries.iter().filter(|e| e.strategy == Strategy::Native) {
        let name = entry.mapping.as_deref().unwrap_or_else(|| panic!("{:?} names no mapping", entry.names));
        assert!(find(name).is_some(), "{:?} names the unknown mapping {name}", entry.names);
        used.insert(name);
    }
    for mapping in REGISTRY {
        assert!(used.contains(mapping.name()), "no built-in catalog entry uses the mapping {}", mapping.name());
    }
}

#[test]
fn every_mapping_has_a_fixture_that_uses_it() {
    for mapping in REGISTRY {
        let dir = fixture_dir(mapping.name());
        let read = |file: &str| {
            std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| {
                panic!("mapping `{}` has no fixture {}: {e}", mapping.name(), dir.join(file).display())
            })
        };
        let before = read("before.py");
        let update = std::env::var_os("UPDATE_FIXTURES").is_some();
        let after = if update { String::new() } else { read("after.py") };
        let drafted = codemod(&[("app.py", &before)]);
        let Ok(Codemod { changed, mappings, .. }) = drafted else {
            panic!("the `{}` fixture was refused: {drafted:#?}", mapping.name())
        };
        assert!(mappings.contains(mapping.name()), "the `{}` fixture does not use it: {mappings:?}", mapping.name());
        let got = changed.get("app.py").map(String::as_str).unwrap_or(&before);
        if update {
            std::fs::write(dir.join("after.py"), got).unwrap();
            continue;
        }
        assert_eq!(got, after, "the `{}` fixture's rewrite differs from after.py", mapping.name());
    }
}
