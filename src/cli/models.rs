//! `ambidex models check`: one tiny streaming request to a provider, to see that it answers,
//! how fast, at what cost, and whether the model calls tools. `ambidex models list`: the models a
//! provider's server offers.

use clap::Subcommand;
use serde_json::json;

use super::{Context, Outcome};
use ambidex::config::{ProviderConfig, ProviderKind};
use ambidex::llm::{self, CheckReport, ModelError, ModelEvent, ToolCheck};

#[derive(Debug, Subcommand)]
pub enum ModelsCmd {
    /// Send one tiny streaming request with one tool; print model, latency, usage and whether
    /// tool calls work
    Check {
        /// The provider to check [default: models.default_provider]
        #[arg(long, value_name = "NAME")]
        provider: Option<String>,
        /// The model to ask [default: the provider's model]
        #[arg(long, value_name = "MODEL")]
        model: Option<String>,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// List the models the provider's server offers (`GET /models`)
    List {
        /// The provider to ask [default: models.default_provider]
        #[arg(long, value_name = "NAME")]
        provider: Option<String>,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
}

pub fn run(command: ModelsCmd, context: &Context) -> Result<Outcome, String> {
    let (provider, model, json) = match command {
        ModelsCmd::Check { provider, model, json } => (provider, model, json),
        ModelsCmd::List { provider, json } => return list(provider, json, context),
    };
    let config = &context.effective.config;
    let name = provider.unwrap_or_else(|| config.models.default_provider.clone());
    let Some(provider) = config.providers.get(&name) else {
        let known: Vec<&str> = config.providers.keys().map(String::as_str).collect();
        return Err(format!("no provider named `{name}`; configured providers: {}", known.join(", ")));
    };
    let result = llm::client_for(&name, provider, model.unwrap_or_default()).and_then(|client| {
        let runtime = tokio::runtime::Runtime::new().map_err(|err| {
            ModelError::new(llm::ModelErrorKind::Config, format!("cannot start the async runtime: {err}"))
        })?;
        let mut progress = |event: &ModelEvent| {
            if let ModelEvent::Retry { attempt, reason, delay } = event {
                eprintln!("attempt {attempt} failed ({reason}); retrying in {} ms", delay.as_millis());
            }
        };
        runtime.block_on(llm::check_with_progress(client.as_ref(), &mut progress))
    });
    if json {
        print_json(&name, provider, &result)?;
        return Ok(if result.is_ok() { Outcome::Done } else { Outcome::Exit(1) });
    }
    let report = result.map_err(|err| err.message)?;
    print_text(&name, provider, &report);
    Ok(Outcome::Done)
}

fn list(provider: Option<String>, json: bool, context: &Context) -> Result<Outcome, String> {
    let config = &context.effective.config;
    let name = provider.unwrap_or_else(|| config.models.default_provider.clone());
    let Some(provider) = config.providers.get(&name) else {
        let known: Vec<&str> = config.providers.keys().map(String::as_str).collect();
        return Err(format!("no provider named `{name}`; configured providers: {}", known.join(", ")));
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| format!("cannot start the async runtime: {err}"))?;
    let models = runtime.block_on(llm::list_models(&name, provider)).map_err(|err| err.message)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&models).map_err(|err| err.to_string())?);
        return Ok(Outcome::Done);
    }
    println!(
        "{} model(s) at {} (provider `{name}`; the configured one is marked *):",
        models.len(),
        location(provider)
    );
    for offered in &models {
        let mark = if offered.id == provider.model { "*" } else { " " };
        let detail = if offered.detail.is_empty() { String::new() } else { format!("  {}", offered.detail) };
        println!("{mark} {}{detail}", offered.id);
    }
    Ok(Outcome::Done)
}

fn kind_name(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::Openai => "openai",
        ProviderKind::Anthropic => "anthropic",
        ProviderKind::OpenaiResponses => "openai_responses",
        ProviderKind::Scripted => "scripted",
    }
}

fn location(provider: &ProviderConfig) -> &str {
    match provider.kind {
        ProviderKind::Scripted => &provider.script,
        _ => &provider.base_url,
    }
}

fn dollars(micros: u64) -> String {
    format!("${:.6}", micros as f64 / 1e6)
}

fn tool_line(tool: &ToolCheck) -> String {
    match tool {
        ToolCheck::Called { name, arguments } => format!("yes ({name} {arguments})"),
        ToolCheck::Malformed { error } => {
            format!("no: the model's tool call was malformed: {error}")
        }
        ToolCheck::NotCalled => "no: the model answered with text; agents need a model that calls tools".into(),
    }
}

fn print_text(name: &str, provider: &ProviderConfig, report: &CheckReport) {
    let row = |label: &str, value: &str| println!("{label:<12}{value}");
    row("provider", &format!("{name} ({}, {})", kind_name(provider.kind), location(provider)));
    row("model", &report.model);
    let first = report.first_content.map(|d| format!(" (first output after {} ms)", d.as_millis())).unwrap_or_default();
    row("latency", &format!("{} ms{first}", report.latency.as_millis()));
    let usage = match report.usage {
        Some(u) => format!("{} in, {} out, {}", u.input_tokens, u.output_tokens, dollars(u.cost_micros)),
        None => "not reported by the server".into(),
    };
    row("usage", &usage);
    row("tool calls", &tool_line(&report.tool_calls));
    if let Some(finish) = &report.finish {
        row("finish", finish.as_str());
    }
    if !report.text.trim().is_empty() {
        let text: String = report.text.trim().chars().take(200).collect();
        row("reply", &format!("{text:?}"));
    }
    for (n, reason) in report.retries.iter().enumerate() {
        row(if n == 0 { "retries" } else { "" }, reason);
    }
}

fn print_json(name: &str, provider: &ProviderConfig, result: &Result<CheckReport, ModelError>) -> Result<(), String> {
    let value = match result {
        Ok(report) => json!({
            "ok": true,
            "provider": name,
            "kind": kind_name(provider.kind),
            "location": location(provider),
            "model": report.model,
            "latency_ms": report.latency.as_millis() as u64,
            "first_content_ms": report.first_content.map(|d| d.as_millis() as u64),
            "usage": report.usage.map(|u| json!({
                "input_tokens": u.input_tokens,
                "output_tokens": u.output_tokens,
                "cost_micros": u.cost_micros,
            })),
            "tool_calls": report.tool_calls.works(),
            "tool_calls_detail": tool_line(&report.tool_calls),
            "finish": report.finish.as_ref().map(|f| f.as_str()),
            "text": report.text,
            "retries": report.retries,
        }),
        Err(err) => json!({
            "ok": false,
            "provider": name,
            "kind": kind_name(provider.kind),
            "location": location(provider),
            "error": { "kind": err.kind.name(), "message": err.message },
        }),
    };
    println!("{}", serde_json::to_string_pretty(&value).map_err(|err| err.to_string())?);
    Ok(())
}
