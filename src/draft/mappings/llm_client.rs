//! `self.client.chat.completions.create(...)` where the attribute holds an
//! `openai.OpenAI`, `openai.AzureOpenAI` or `anthropic.Anthropic` → `await` on the
//! SDK's async client (`AsyncOpenAI`, `AsyncAnthropic`), which has the same
//! methods, arguments and results.

use super::ClientClass;
use super::http_client::ClientAttribute;

/// The `llm_client` mapping.
pub const LLM_CLIENT: ClientAttribute = ClientAttribute {
    name: "llm_client",
    classes: CLASSES,
    // The async clients come from the SDK the converted code already imports.
    requires: &[],
    leaves_unused: &[],
    local_methods: &[],
    reserved_attributes: &[],
};

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
