//! Loading the configuration, in one place: the layered [`Config`] with the
//! command line's overrides, the blocking-call catalog, and the settings of
//! every stage the command runs, each checked, with typed errors.
//!
//! A command reads the settings of the stages it runs and no others (its
//! [`Scope`]): `analyze` never fails on an `[llm]` table it would not use, a dry
//! run reads the drafting settings only, a full `propose` those of validation
//! and git too, and the daemon its own `[daemon]` table. A full run reads `[llm]`
//! ([`llm_settings`]) when it gets to drafting with it, so that an error in the
//! base commit's files is still reported before it, as always.

use std::path::Path;

use crate::analysis::catalog::Catalog;
use crate::config::{Config, ConfigError};
use crate::llm::settings::{LlmSettings, LlmSettingsError};
use crate::plan;
use crate::validate::ValidateSettings;
use crate::validate::settings::GitSettings;

/// Why the configuration could not be loaded. The messages read as the command
/// line has always printed them: the cause follows on a line of its own.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A layer could not be read, parsed or merged.
    #[error("cannot load the configuration")]
    Config(#[source] ConfigError),
    #[error("cannot load the blocking-call catalog")]
    Catalog(#[source] ConfigError),
    /// A stage's table has a value out of range or an unknown key.
    #[error(transparent)]
    Settings(ConfigError),
    /// `[llm]` out of range once the `--llm-*` flags are applied.
    #[error("[llm]: {0}")]
    Llm(#[source] LlmSettingsError),
}

/// Flags that change what the configuration says.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--no-cache`: neither read nor write the analysis cache.
    pub no_cache: bool,
    /// `--include-tests`: analyse test code too.
    pub include_tests: bool,
    /// `--llm-*`, over `[llm]`.
    pub llm: LlmOverrides,
}

/// Flags that override `[llm]`.
#[derive(Debug, Clone, Default)]
pub struct LlmOverrides {
    pub base_url: Option<String>,
    pub model: Option<String>,
    pub max_concurrency: Option<usize>,
    pub timeout_s: Option<f64>,
}

impl LlmOverrides {
    fn apply(&self, s: &mut LlmSettings) {
        if let Some(v) = &self.base_url {
            s.base_url = v.clone();
        }
        if let Some(v) = &self.model {
            s.model = v.clone();
        }
        if let Some(v) = self.max_concurrency {
            s.max_concurrency = v;
        }
        if let Some(v) = self.timeout_s {
            s.timeout_s = v;
        }
    }
}

/// The settings a command reads besides the analysis's own: one type per command.
pub trait Scope: Sized {
    /// Read and check them.
    fn read(config: &Config, overrides: &Overrides) -> Result<Self, SetupError>;
}

/// `analyze`: nothing besides `[analysis]` and `[catalog]`.
impl Scope for () {
    fn read(_: &Config, _: &Overrides) -> Result<(), SetupError> {
        Ok(())
    }
}

/// A dry run: how plans are drafted (`[naming]`, `[rewrite]`).
#[derive(Debug, Clone)]
pub struct Drafting {
    pub plan: plan::Settings,
}

impl Scope for Drafting {
    fn read(config: &Config, _: &Overrides) -> Result<Drafting, SetupError> {
        Ok(Drafting { plan: plan::Settings::from_config(config).map_err(SetupError::Settings)? })
    }
}

/// A full `propose`: drafting, validation and branches.
#[derive(Debug, Clone)]
pub struct Delivering {
    pub plan: plan::Settings,
    pub validate: ValidateSettings,
    pub git: GitSettings,
}

impl Scope for Delivering {
    fn read(config: &Config, _: &Overrides) -> Result<Delivering, SetupError> {
        let plan = plan::Settings::from_config(config).map_err(SetupError::Settings)?;
        let validate = ValidateSettings::from_config(config).map_err(SetupError::Settings)?;
        let git = GitSettings::from_config(config).map_err(SetupError::Settings)?;
        Ok(Delivering { plan, validate, git })
    }
}

/// `[llm]` with the `--llm-*` flags applied, checked.
pub fn llm_settings(config: &Config, overrides: &LlmOverrides) -> Result<LlmSettings, SetupError> {
    let mut llm = LlmSettings::from_config(config).map_err(SetupError::Settings)?;
    overrides.apply(&mut llm);
    llm.check().map_err(SetupError::Llm)?;
    Ok(llm)
}

/// The loaded configuration of a command.
#[derive(Debug)]
pub struct Setup<S> {
    pub config: Config,
    pub catalog: Catalog,
    /// The command's own settings.
    pub settings: S,
}

/// Load the configuration of the repository at `root`: its layers, the
/// overrides, the catalog, then the settings of scope `S`.
pub fn load<S: Scope>(root: &Path, overrides: &Overrides) -> Result<Setup<S>, SetupError> {
    let mut config = Config::load(root).map_err(SetupError::Config)?;
    if overrides.no_cache {
        config.analysis.cache = false;
    }
    if overrides.include_tests {
        config.analysis.include_tests = true;
    }
    let catalog = Catalog::load(&config, root).map_err(SetupError::Catalog)?;
    Setup { config, catalog, settings: () }.read(overrides)
}

impl Setup<()> {
    /// Read the settings of scope `S` too (a dry run checks that it works on a
    /// git repository between loading the configuration and reading them).
    pub fn read<S: Scope>(self, overrides: &Overrides) -> Result<Setup<S>, SetupError> {
        let settings = S::read(&self.config, overrides)?;
        Ok(Setup { config: self.config, catalog: self.catalog, settings })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_apply_and_flags_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let overrides = Overrides {
            no_cache: true,
            llm: LlmOverrides { model: Some("m".into()), ..Default::default() },
            ..Default::default()
        };
        let setup: Setup<Delivering> = load(dir.path(), &overrides).unwrap();
        assert!(!setup.config.analysis.cache);
        assert_eq!(llm_settings(&setup.config, &overrides.llm).unwrap().model, "m");
        let bad = LlmOverrides { max_concurrency: Some(0), ..Default::default() };
        let err = llm_settings(&setup.config, &bad).unwrap_err();
        assert_eq!(err.to_string(), "[llm]: max_concurrency must be at least 1");
        std::fs::write(dir.path().join("refactor-async.toml"), "[llm]\ntimeout_s = 0\n").unwrap();
        assert!(load::<Drafting>(dir.path(), &Overrides::default()).is_ok(), "a dry run reads no [llm]");
    }
}
