//! The `[naming]` and `[rewrite]` settings that shape a conversion.

use serde::Deserialize;

use crate::config::{Config, ConfigError};

/// When to use `asyncio.TaskGroup` for gathers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskGroupUse {
    /// When the repository's `requires-python` is 3.11 or later.
    Auto,
    Always,
    Never,
}

/// What planning and drafting read from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `{name}_async`.
    pub async_name: String,
    pub concurrency: u32,
    pub timeout: f64,
    pub helper_module: String,
    pub task_group: TaskGroupUse,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Naming {
    async_name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rewrite {
    concurrency: u32,
    timeout: f64,
    helper_module: String,
    task_group: TaskGroupUse,
}

impl Settings {
    /// Read `[naming]` and `[rewrite]`, checking every value.
    pub fn from_config(config: &Config) -> Result<Settings, ConfigError> {
        let naming: Naming = config.section("naming")?;
        let rewrite: Rewrite = config.section("rewrite")?;
        let invalid = |message: String| ConfigError::Invalid { origin: config.sources.join(", "), message };
        if !naming.async_name.contains("{name}") || !is_identifier(&naming.async_name.replace("{name}", "x")) {
            return Err(invalid(format!(
                "naming.async_name = {:?} must contain {{name}} and make a Python identifier",
                naming.async_name
            )));
        }
        if naming.async_name == "{name}" {
            return Err(invalid("naming.async_name must differ from the old name".into()));
        }
        if rewrite.concurrency == 0 {
            return Err(invalid("rewrite.concurrency must be at least 1".into()));
        }
        if !(rewrite.timeout > 0.0 && rewrite.timeout.is_finite()) {
            return Err(invalid(format!("rewrite.timeout = {} must be a positive number of seconds", rewrite.timeout)));
        }
        if !is_identifier(&rewrite.helper_module) {
            return Err(invalid(format!("rewrite.helper_module = {:?} is not a module name", rewrite.helper_module)));
        }
        Ok(Settings {
            async_name: naming.async_name,
            concurrency: rewrite.concurrency,
            timeout: rewrite.timeout,
            helper_module: rewrite.helper_module,
            task_group: rewrite.task_group,
        })
    }

    /// The async version's name for a function called `name`.
    pub fn async_name(&self, name: &str) -> String {
        self.async_name.replace("{name}", name)
    }

    /// The timeout as Python source (`30.0`).
    pub fn timeout_literal(&self) -> String {
        let text = format!("{}", self.timeout);
        if text.contains('.') { text } else { format!("{text}.0") }
    }
}

/// A Python identifier made of ASCII letters, digits and underscores.
pub fn is_identifier(text: &str) -> bool {
    !text.is_empty()
        && !text.starts_with(|c: char| c.is_ascii_digit())
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}
