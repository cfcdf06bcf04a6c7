//! One OpenAI-compatible provider: async-openai over [`Transport`], which limits,
//! times out and retries every request. Each call reports its tokens, retries and time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::types::chat::{
    ChatCompletionRequestAssistantMessage, ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage,
    ChatCompletionRequestUserMessage, CreateChatCompletionRequest, ResponseFormat, ResponseFormatJsonSchema,
};
use serde::Serialize;

use super::settings::LlmSettings;
use super::transport::{CALL_RETRIES, Policy, Transport};

/// Why a call gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("the LLM endpoint failed: {0}")]
    Api(#[source] async_openai::error::OpenAIError),
    #[error("the LLM answered with no message content")]
    Empty,
    /// The HTTP client could not be built.
    #[error("cannot set up the HTTP client: {0}")]
    Http(#[source] reqwest::Error),
    /// The runtime the calls run on could not be started.
    #[error("cannot set up the HTTP client: {0}")]
    Runtime(#[source] std::io::Error),
}

/// A chat message.
#[derive(Debug, Clone)]
pub enum Message {
    System(String),
    User(String),
    /// An earlier answer, sent back with a repair request.
    Assistant(String),
}

/// One call's answer and what it cost.
#[derive(Debug, Clone)]
pub struct Completion {
    pub content: String,
    pub usage: CallUsage,
}

/// Tokens, retries and time of one call (or a sum of calls).
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct CallUsage {
    pub calls: u32,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub retries: u32,
    pub duration_ms: f64,
}

impl CallUsage {
    /// Add another call's (or sum's) figures to these.
    pub fn add(&mut self, other: &CallUsage) {
        self.calls += other.calls;
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
        self.retries += other.retries;
        self.duration_ms += other.duration_ms;
    }
}

/// A provider: its client, model and limits.
#[derive(Clone)]
pub struct LlmClient {
    client: Client<OpenAIConfig>,
    pub policy: Arc<Policy>,
    settings: LlmSettings,
}

/// The JSON schema of the answer (DESIGN.md), for `response_format`.
fn answer_schema() -> serde_json::Value {
    serde_json::json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["functions", "imports", "notes"],
        "properties": {
            "functions": {"type": "array", "items": {
                "type": "object", "additionalProperties": false, "required": ["qualname", "source"],
                "properties": {"qualname": {"type": "string"}, "source": {"type": "string"}}
            }},
            "imports": {"type": "array", "items": {"type": "string"}},
            "notes": {"type": "string"}
        }
    })
}

impl LlmClient {
    /// A client for the endpoint of `settings`, its requests limited, timed out and retried.
    pub fn new(settings: &LlmSettings) -> Result<LlmClient, LlmError> {
        let mut config = OpenAIConfig::new().with_api_base(settings.base_url.trim_end_matches('/'));
        if let Some(key) = settings.api_key() {
            config = config.with_api_key(key);
        }
        let http =
            reqwest::Client::builder().connect_timeout(Duration::from_secs(10)).build().map_err(LlmError::Http)?;
        let policy = Arc::new(Policy::new(
            settings.max_concurrency,
            Duration::from_secs_f64(settings.timeout_s),
            settings.max_retries,
        ));
        let client = Client::with_config(config).with_http_service(Transport::new(http, Arc::clone(&policy)));
        Ok(LlmClient { client, policy, settings: settings.clone() })
    }

    /// The model asked.
    pub fn model(&self) -> &str {
        &self.settings.model
    }

    /// Ask once (with the transport's retries) and return the assistant's content.
    pub async fn complete(&self, messages: &[Message]) -> Result<Completion, LlmError> {
        let messages: Vec<ChatCompletionRequestMessage> = messages
            .iter()
            .map(|m| match m {
                Message::System(text) => ChatCompletionRequestSystemMessage::from(text.as_str()).into(),
                Message::User(text) => ChatCompletionRequestUserMessage::from(text.as_str()).into(),
                Message::Assistant(text) => ChatCompletionRequestAssistantMessage::from(text.as_str()).into(),
            })
            .collect();
        let request = CreateChatCompletionRequest {
            model: self.settings.model.clone(),
            messages,
            temperature: Some(self.settings.temperature),
            max_completion_tokens: Some(self.settings.max_tokens),
            response_format: self.settings.structured_output.then(|| ResponseFormat::JsonSchema {
                json_schema: ResponseFormatJsonSchema {
                    description: Some("The converted functions and the imports they need".into()),
                    name: "refactor_async_answer".into(),
                    schema: answer_schema(),
                    strict: Some(true),
                },
            }),
            ..Default::default()
        };
        let retries = Arc::new(AtomicU32::new(0));
        let started = Instant::now();
        let result = CALL_RETRIES.scope(Arc::clone(&retries), self.client.chat().create(request)).await;
        let mut usage = CallUsage {
            calls: 1,
            retries: retries.load(Ordering::Relaxed),
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
            ..CallUsage::default()
        };
        let response = result.map_err(LlmError::Api)?;
        if let Some(u) = &response.usage {
            usage.prompt_tokens = u.prompt_tokens as u64;
            usage.completion_tokens = u.completion_tokens as u64;
        }
        let content = response.choices.into_iter().find_map(|c| c.message.content).ok_or(LlmError::Empty)?;
        Ok(Completion { content, usage })
    }
}
