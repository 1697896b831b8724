//! What a provider offers: `GET {base_url}/models` on OpenAI-compatible servers (OpenAI, Ollama,
//! vLLM, llama.cpp, LM Studio, OpenRouter) and `GET /v1/models` on Anthropic, with the same key
//! handling as requests; errors say what to change like every other provider error.

use std::time::Duration;

use serde_json::Value;

use super::classify::Endpoint;
use super::error::{ModelError, ModelErrorKind};
use super::{ApiKey, anthropic};
use crate::config::{ProviderConfig, ProviderKind};

/// One model a server offers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OfferedModel {
    /// Its id, as `model` takes it.
    pub id: String,
    /// Its display name or owner, when the server says.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// The models provider `name` offers, sorted by id.
pub async fn list_models(name: &str, provider: &ProviderConfig) -> Result<Vec<OfferedModel>, ModelError> {
    let config_error = |text: String| ModelError::new(ModelErrorKind::Config, format!("provider `{name}`: {text}"));
    let base = provider.base_url.trim().trim_end_matches('/');
    let url = match provider.kind {
        ProviderKind::Scripted => return Err(config_error("a scripted provider offers only its script".into())),
        ProviderKind::Openai | ProviderKind::OpenaiResponses => format!("{base}/models"),
        ProviderKind::Anthropic if base.ends_with("/v1") => format!("{base}/models"),
        ProviderKind::Anthropic => format!("{base}/v1/models"),
    };
    let key_env = provider.api_key_env.trim();
    let key = if key_env.is_empty() { None } else { ApiKey::from_env(key_env) };
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(provider.connect_timeout_secs.max(1)))
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|err| config_error(format!("cannot set up HTTP: {err}")))?;
    let mut request = http.get(&url).header("user-agent", concat!("ambidex/", env!("CARGO_PKG_VERSION")));
    for (header, value) in &provider.headers {
        request = request.header(header, value);
    }
    request = match (provider.kind, &key) {
        (ProviderKind::Anthropic, Some(key)) => {
            request.header("x-api-key", key.expose()).header("anthropic-version", anthropic::API_VERSION)
        }
        (ProviderKind::Anthropic, None) => request.header("anthropic-version", anthropic::API_VERSION),
        (_, Some(key)) => request.bearer_auth(key.expose()),
        (_, None) => request,
    };
    let endpoint = Endpoint { provider: name.to_owned(), url: url.clone(), key_env: key_env.to_owned(), api: "models" };
    let response = request.send().await.map_err(|err| {
        ModelError::new(
            ModelErrorKind::Unreachable { url: url.clone() },
            format!("provider `{name}`: cannot reach {url} ({}); check `providers.{name}.base_url`", err.without_url()),
        )
    })?;
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    if !(200..300).contains(&status) {
        return Err(endpoint.status_error("(listing models)", status, &text));
    }
    let body: Value = serde_json::from_str(&text).map_err(|err| {
        ModelError::new(ModelErrorKind::Protocol, format!("provider `{name}`: {url} did not answer JSON: {err}"))
    })?;
    let items = body.get("data").or_else(|| body.get("models")).and_then(Value::as_array).cloned().unwrap_or_default();
    let field = |item: &Value, key: &str| item.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
    let mut models: Vec<OfferedModel> = items
        .iter()
        .filter_map(|item| {
            let id = Some(field(item, "id")).filter(|id| !id.is_empty()).or_else(|| Some(field(item, "name")))?;
            let detail =
                Some(field(item, "display_name")).filter(|d| !d.is_empty()).unwrap_or_else(|| field(item, "owned_by"));
            (!id.is_empty()).then_some(OfferedModel { id, detail })
        })
        .collect();
    models.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(models)
}
