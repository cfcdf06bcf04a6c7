//! `[llm]`: which OpenAI-compatible endpoint drafts what the rules cannot, and the
//! limits every call to it runs under.

use serde::Deserialize;

use crate::config::{Config, ConfigError};

/// A value of `[llm]` (or of the flag over it) out of range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LlmSettingsError {
    #[error("max_concurrency must be at least 1")]
    NoConcurrency,
    #[error("{0} must be a positive number of seconds")]
    Seconds(&'static str),
    #[error("base_url = {0:?} must start with http:// or https://")]
    BaseUrl(String),
}

/// What the LLM drafter reads from the configuration (flags override).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmSettings {
    /// `https://api.openai.com/v1`, `http://localhost:11434/v1`, ...; empty: no LLM.
    pub base_url: String,
    /// Empty: no LLM.
    pub model: String,
    /// The *name* of the environment variable holding the API key.
    pub api_key_env: String,
    /// Requests in flight at once, at most.
    pub max_concurrency: usize,
    /// Seconds one request may take.
    pub timeout_s: f64,
    /// Retries of a request on 429, 5xx, timeouts and connection errors.
    pub max_retries: u32,
    pub temperature: f32,
    pub max_tokens: u32,
    /// Seconds for one plan, drafting and repairs together.
    pub plan_timeout_s: f64,
    /// Repair attempts after a draft fails a check.
    pub repair_attempts: u32,
    /// Ask for a JSON-schema answer (`response_format`); off for endpoints that reject it.
    pub structured_output: bool,
    /// A folder (relative to the repository) with prompt templates replacing the built-in ones.
    pub prompts: String,
}

impl LlmSettings {
    /// Read `[llm]`, checking every value.
    pub fn from_config(config: &Config) -> Result<LlmSettings, ConfigError> {
        let s: LlmSettings = config.section("llm")?;
        s.check().map_err(|e| ConfigError::Invalid {
            origin: format!("[llm] ({})", config.sources.join(", ")),
            message: e.to_string(),
        })?;
        Ok(s)
    }

    /// Whether an endpoint is configured at all.
    pub fn configured(&self) -> bool {
        !self.base_url.trim().is_empty() && !self.model.trim().is_empty()
    }

    /// Every value in range.
    pub fn check(&self) -> Result<(), LlmSettingsError> {
        if self.max_concurrency == 0 {
            return Err(LlmSettingsError::NoConcurrency);
        }
        for (name, value) in [("timeout_s", self.timeout_s), ("plan_timeout_s", self.plan_timeout_s)] {
            if !(value > 0.0 && value.is_finite()) {
                return Err(LlmSettingsError::Seconds(name));
            }
        }
        if self.configured() && !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            return Err(LlmSettingsError::BaseUrl(self.base_url.clone()));
        }
        Ok(())
    }

    /// The API key from the environment, if the variable is set (local servers need none).
    pub fn api_key(&self) -> Option<String> {
        if self.api_key_env.trim().is_empty() {
            return None;
        }
        std::env::var(&self.api_key_env).ok().filter(|k| !k.is_empty())
    }
}
