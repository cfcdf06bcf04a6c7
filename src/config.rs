//! Configuration: built-in defaults, then the repository's own settings, then flags.
//!
//! Layers are merged as TOML values (tables merge key by key, other values
//! replace, `catalog.api` entries append) and only then deserialised, so a
//! repository states just what it changes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The defaults shipped with the tool.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

/// Why configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is not valid TOML: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid configuration in {origin}: {message}")]
    Invalid { origin: String, message: String },
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    pub analysis: AnalysisConfig,
    pub catalog: CatalogConfig,
    /// Sections owned by later stages (drafting, validation, LLM, daemon); kept as
    /// raw tables until those stages read them.
    #[serde(flatten)]
    pub other: BTreeMap<String, toml::Value>,
    /// Where each layer came from, for messages.
    #[serde(skip)]
    pub sources: Vec<String>,
}

/// `[analysis]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalysisConfig {
    pub max_file_size: u64,
    pub include_tests: bool,
    pub exclude: Vec<String>,
    pub cache: bool,
    pub sync_bridges: Vec<String>,
}

/// `[catalog]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogConfig {
    pub builtin: bool,
    pub files: Vec<PathBuf>,
    pub api: Vec<toml::Value>,
    #[serde(default)]
    pub returns: BTreeMap<String, String>,
    #[serde(default)]
    pub aliases: BTreeMap<String, String>,
}

/// Sections a repository may set besides `analysis` and `catalog`; anything else is a typo.
const KNOWN_SECTIONS: &[&str] =
    &["analysis", "catalog", "llm", "naming", "rewrite", "propose", "validate", "daemon", "git"];

impl Config {
    /// Built-in defaults, then `[tool.refactor-async]` in `root/pyproject.toml` or
    /// `root/refactor-async.toml`.
    pub fn load(root: &Path) -> Result<Config, ConfigError> {
        let mut merged = parse_toml(DEFAULT_TOML, Path::new("<built-in config/default.toml>"))?;
        let mut sources = vec!["built-in defaults".to_string()];
        let own = root.join("refactor-async.toml");
        let pyproject = root.join("pyproject.toml");
        if own.is_file() {
            let table = read_toml(&own)?;
            check_sections(&table, &own.display().to_string())?;
            merge(&mut merged, table);
            sources.push(own.display().to_string());
        } else if pyproject.is_file() {
            let table = read_toml(&pyproject)?;
            let tool = table.get("tool").and_then(|t| t.get("refactor-async")).and_then(|t| t.as_table()).cloned();
            if let Some(tool) = tool {
                let origin = format!("{} [tool.refactor-async]", pyproject.display());
                check_sections(&tool, &origin)?;
                merge(&mut merged, tool);
                sources.push(origin);
            }
        }
        let mut config: Config = toml::Value::Table(merged).try_into().map_err(|e: toml::de::Error| {
            ConfigError::Invalid { origin: sources.join(" + "), message: e.message().to_string() }
        })?;
        config.sources = sources;
        Ok(config)
    }

    /// A section owned by a later stage (`[naming]`, `[validate]`, ...), deserialised and checked.
    pub fn section<T: serde::de::DeserializeOwned>(&self, name: &str) -> Result<T, ConfigError> {
        let value = self.other.get(name).cloned().unwrap_or(toml::Value::Table(Default::default()));
        value.try_into().map_err(|e: toml::de::Error| ConfigError::Invalid {
            origin: format!("[{name}] ({})", self.sources.join(", ")),
            message: e.message().to_string(),
        })
    }

    /// Built-in defaults only.
    pub fn builtin() -> Config {
        let table = parse_toml(DEFAULT_TOML, Path::new("default.toml")).expect("built-in config parses");
        toml::Value::Table(table).try_into().expect("built-in config is valid")
    }
}

fn check_sections(table: &toml::Table, origin: &str) -> Result<(), ConfigError> {
    for key in table.keys() {
        if !KNOWN_SECTIONS.contains(&key.as_str()) {
            return Err(ConfigError::Invalid {
                origin: origin.to_string(),
                message: format!("unknown section `{key}` (known: {})", KNOWN_SECTIONS.join(", ")),
            });
        }
    }
    Ok(())
}

fn read_toml(path: &Path) -> Result<toml::Table, ConfigError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
    parse_toml(&text, path)
}

/// Parse a TOML document into a table.
pub fn parse_toml(text: &str, path: &Path) -> Result<toml::Table, ConfigError> {
    text.parse::<toml::Table>()
        .map_err(|e| ConfigError::Parse { path: path.to_path_buf(), message: e.message().to_string() })
}

/// Merge `over` into `base`: tables recursively, `api` arrays appended, everything else replaced.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (Some(toml::Value::Array(b)), toml::Value::Array(o)) if key == "api" => b.extend(o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_defaults_load() {
        let c = Config::builtin();
        assert!(c.catalog.builtin);
        assert!(c.analysis.sync_bridges.iter().any(|b| b == "asyncio.run"));
    }

    #[test]
    fn repository_layers_merge_and_typos_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("pyproject.toml"),
            "[tool.refactor-async.analysis]\ninclude_tests = true\n[[tool.refactor-async.catalog.api]]\nnames = ['acme.fetch']\nkind = 'http'\nstrategy = 'thread'\nreplacement = 'asyncio.to_thread'\n",
        )
        .unwrap();
        let c = Config::load(dir.path()).unwrap();
        assert!(c.analysis.include_tests);
        assert!(c.analysis.cache, "unset keys keep their defaults");
        assert_eq!(c.catalog.api.len(), 1);

        std::fs::write(dir.path().join("refactor-async.toml"), "[analysys]\ncache = false\n").unwrap();
        let err = Config::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("unknown section `analysys`"), "{err}");
    }
}
