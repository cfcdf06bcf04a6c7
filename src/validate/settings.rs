//! The `[validate]` and `[git]` settings.

use serde::Deserialize;

use crate::config::{Config, ConfigError};

/// Whether the repository's own commit hooks run as part of validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HookMode {
    /// The pre-commit hook (or `.pre-commit-config.yaml`) runs when the repository has one.
    Auto,
    /// Hooks are skipped; every commit message says so.
    Off,
}

/// What validation and delivery read from the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidateSettings {
    /// Shell command lines, run in order in the worktree; all must pass.
    pub commands: Vec<String>,
    /// Seconds each command may take before its process group is killed.
    pub timeout_s: f64,
    /// Bytes of output kept in each command's log.
    pub log_limit_bytes: u64,
    /// Lines of a failing command's output shown.
    pub tail_lines: usize,
    pub hooks: HookMode,
    /// Validate several plans in one run first; bisect only when it fails.
    pub joint: bool,
    /// Runs whose logs are kept under `.git/refactor-async/logs/`.
    pub keep_logs: usize,
}

/// `[git]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitSettings {
    pub branch_prefix: String,
    /// Empty: the repository's `user.name` / `user.email`.
    pub author_name: String,
    pub author_email: String,
    /// Seconds for connecting to and hearing from a remote when pushing.
    pub network_timeout_s: f64,
}

impl ValidateSettings {
    /// Read `[validate]`, checking every value.
    pub fn from_config(config: &Config) -> Result<ValidateSettings, ConfigError> {
        let s: ValidateSettings = config.section("validate")?;
        let invalid =
            |message: &str| ConfigError::Invalid { origin: config.sources.join(", "), message: message.to_string() };
        if s.commands.iter().any(|c| c.trim().is_empty()) {
            return Err(invalid("validate.commands has an empty command"));
        }
        if !(s.timeout_s > 0.0 && s.timeout_s.is_finite()) {
            return Err(invalid("validate.timeout_s must be a positive number of seconds"));
        }
        if s.log_limit_bytes < 1024 {
            return Err(invalid("validate.log_limit_bytes must be at least 1024"));
        }
        Ok(s)
    }

    /// Environment given to validation commands on top of the tool's own.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![("REFACTOR_ASYNC_VALIDATION".to_string(), "1".to_string())]
    }

    /// The built-in `[validate]`, for unit tests.
    #[cfg(test)]
    pub fn default_for_tests() -> ValidateSettings {
        ValidateSettings::from_config(&Config::builtin()).expect("built-in [validate] is valid")
    }
}

impl GitSettings {
    /// Read `[git]`.
    pub fn from_config(config: &Config) -> Result<GitSettings, ConfigError> {
        let s: GitSettings = config.section("git")?;
        if !crate::git::branch::valid_name(&format!("{}x", s.branch_prefix)) {
            return Err(ConfigError::Invalid {
                origin: config.sources.join(", "),
                message: format!("git.branch_prefix = {:?} does not make valid branch names", s.branch_prefix),
            });
        }
        Ok(s)
    }

    /// The configured author's name and email; none where the repository's own apply.
    pub fn author(&self) -> (Option<&str>, Option<&str>) {
        fn some(s: &str) -> Option<&str> {
            (!s.trim().is_empty()).then_some(s)
        }
        (some(&self.author_name), some(&self.author_email))
    }
}
