//! `self.client.chat.completions.create(...)` where the attribute holds an
//! `openai.OpenAI`, `openai.AzureOpenAI` or `anthropic.Anthropic` → `await` on the
//! SDK's async client (`AsyncOpenAI`, `AsyncAnthropic`), which has the same
//! methods, arguments and results.

use super::http_client::{check_client_attribute, edit_client_attribute};
use super::{CallEdit, CallFacts, ClientClass, Description, Mapping, NO_MAPPING, class_of};

/// The `llm_client` mapping.
pub struct LlmClient;

/// The LLM SDK clients converted when held in an attribute.
const CLASSES: &[ClientClass] = &[
    ClientClass {
        sync: "openai.OpenAI",
        async_: "openai.AsyncOpenAI",
        close: "close",
        httpx: false,
        follows_redirects: false,
    },
    ClientClass {
        sync: "openai.AzureOpenAI",
        async_: "openai.AsyncAzureOpenAI",
        close: "close",
        httpx: false,
        follows_redirects: false,
    },
    ClientClass {
        sync: "anthropic.Anthropic",
        async_: "anthropic.AsyncAnthropic",
        close: "close",
        httpx: false,
        follows_redirects: false,
    },
];

impl Mapping for LlmClient {
    fn name(&self) -> &'static str {
        "llm_client"
    }

    fn kind(&self) -> &'static str {
        "client-attribute"
    }

    fn description(&self) -> Description {
        Description::same("await on the async client attribute")
    }

    /// The SDK clients are built on httpx: the same per-request keyword limits apply.
    fn check(&self, facts: &CallFacts<'_>) -> Result<(), String> {
        if self.client(facts.api).is_none() {
            return Err(NO_MAPPING.to_string());
        }
        check_client_attribute(facts)
    }

    fn edit(&self, edit: &mut CallEdit<'_, '_, '_, '_>) -> Result<(), String> {
        edit_client_attribute(edit)
    }

    fn client(&self, api: &str) -> Option<&'static ClientClass> {
        class_of(CLASSES, api)
    }
}
