//! Error answers: every failure is JSON `{error, detail, field?}` with the matching status, and
//! the detail says what to do.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::types::ErrorBody;
use crate::orchestrator::EngineError;
use crate::store::{LookupError, StoreError};

/// A request that could not be answered.
#[derive(Debug)]
pub(crate) struct Failure {
    status: StatusCode,
    body: ErrorBody,
}

impl Failure {
    fn new(status: StatusCode, error: &str, detail: impl Into<String>) -> Self {
        Failure { status, body: ErrorBody { error: error.to_owned(), detail: detail.into(), field: None } }
    }

    /// Changes the status and the error code (for the rare answers without a constructor).
    pub(crate) fn set_status(&mut self, status: StatusCode, error: &str) {
        self.status = status;
        self.body.error = error.to_owned();
    }

    /// 400: the request is wrong.
    pub(crate) fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", detail)
    }

    /// 400 about one field.
    pub(crate) fn bad_field(field: &str, detail: impl Into<String>) -> Self {
        let mut failure = Self::bad_request(detail);
        failure.body.field = Some(field.to_owned());
        failure
    }

    /// 401: no token or the wrong one.
    pub(crate) fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    /// 404: no such task, gate or route.
    pub(crate) fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    /// 409: the request does not fit the current state.
    pub(crate) fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", detail)
    }

    /// 415: a body type the route does not take.
    pub(crate) fn unsupported_media_type(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", detail)
    }

    /// 500: the engine or the store failed.
    pub(crate) fn internal(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", detail)
    }

    /// 502: a service the engine relies on (the artifact store) failed or could not be reached.
    pub(crate) fn bad_gateway(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_GATEWAY, "bad_gateway", detail)
    }

    /// A body that could not be read: over the size limit (413) or cut short (400).
    pub(crate) fn body(rejection: &axum::extract::rejection::BytesRejection, limit: usize) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!(
                    "the request body is larger than {limit} bytes (api.max_body_bytes); send a smaller \
                     body or raise the limit with `-c api.max_body_bytes=N` when starting the engine"
                ),
            );
        }
        Self::bad_request(format!("cannot read the request body: {}", rejection.body_text()))
    }

    /// A JSON body that does not parse or does not fit the schema; names the field at fault.
    pub(crate) fn json(err: &serde_path_to_error::Error<serde_json::Error>, what: &str) -> Self {
        let inner = err.inner();
        let message = inner.to_string();
        if matches!(inner.classify(), serde_json::error::Category::Syntax | serde_json::error::Category::Eof) {
            return Self::bad_request(format!("the body is not valid JSON ({message}); send {what} as a JSON object"));
        }
        let field = named_field(&message).or_else(|| {
            let path = err.path().to_string();
            (!matches!(path.as_str(), "" | "." | "?")).then_some(path)
        });
        let detail = match &field {
            Some(field) => format!("field `{field}`: {message}; see GET /v1/openapi.json for {what}"),
            None => format!("{message}; see GET /v1/openapi.json for {what}"),
        };
        match field {
            Some(field) => Self::bad_field(&field, detail),
            None => Self::bad_request(detail),
        }
    }
}

/// The field a serde message names: "… unknown field `x`, …" or "… missing field `x`".
pub(crate) fn named_field(message: &str) -> Option<String> {
    let (_, rest) = message.split_once("unknown field `").or_else(|| message.split_once("missing field `"))?;
    rest.split_once('`').map(|(field, _)| field.to_owned())
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let unauthorized = self.status == StatusCode::UNAUTHORIZED;
        let mut response = (self.status, axum::Json(self.body)).into_response();
        if unauthorized {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<StoreError> for Failure {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Rejected(err) => Failure::conflict(err.to_string()),
            other => Failure::internal(other.to_string()),
        }
    }
}

impl From<LookupError> for Failure {
    fn from(err: LookupError) -> Self {
        match err {
            LookupError::NotFound(reference) => {
                Failure::not_found(format!("no task matches `{reference}` (see GET /v1/tasks)"))
            }
            ambiguous @ LookupError::Ambiguous { .. } => Failure::bad_request(ambiguous.to_string()),
            LookupError::Store(err) => err.into(),
        }
    }
}

impl From<EngineError> for Failure {
    fn from(err: EngineError) -> Self {
        match err {
            EngineError::Store(err) => err.into(),
            EngineError::Lookup(err) => err.into(),
            refused @ (EngineError::Refused(_) | EngineError::NotSetUp(_)) => Failure::conflict(refused.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_name_their_field() {
        assert_eq!(named_field("unknown field `titel`, expected one of `title`").as_deref(), Some("titel"));
        assert_eq!(named_field("missing field `title` at line 1 column 2").as_deref(), Some("title"));
        assert_eq!(named_field("invalid type: string"), None);
        assert_eq!(named_field("Failed to deserialize query string: unknown field `sinse`").as_deref(), Some("sinse"));
    }
}
