//! A JSON body extractor that fails the contract's way: unparseable or empty
//! → 400, a missing or wrongly typed field → 422 naming it, over the limit → 413.
//! (actix's own `web::Json` reports all of these as 400 without the field.)

use crate::ApiError;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::pin::Pin;

/// The contract's request body limit (1 MiB).
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// Overrides the body limit for a scope, as `app_data(JsonBodyLimit(n))`.
#[derive(Clone, Copy, Debug)]
pub struct JsonBodyLimit(pub usize);

/// A parsed JSON request body.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<JsonBodyLimit>()
            .or_else(|| {
                req.app_data::<web::Data<JsonBodyLimit>>()
                    .map(|d| d.get_ref())
            })
            .map_or(DEFAULT_BODY_LIMIT, |l| l.0);
        // Reject on the declared length before reading a byte of an oversized body.
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if declared.is_some_and(|n| n > limit) {
                return Err(ApiError::PayloadTooLarge { limit });
            }
            let mut buf = web::BytesMut::with_capacity(declared.unwrap_or(0).min(limit));
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| {
                    ApiError::bad_request("malformed_body", format!("cannot read the body: {e}"))
                })?;
                if buf.len() + chunk.len() > limit {
                    return Err(ApiError::PayloadTooLarge { limit });
                }
                buf.extend_from_slice(&chunk);
            }
            parse(&buf).map(Json)
        })
    }
}

/// Parses a JSON document into `T`, classifying failures per the contract.
///
/// Beyond serde's checks: a body that is not UTF-8 is malformed (400, before
/// serde, whose skipping of unknown fields does not validate UTF-8), and a
/// field the handler reads that holds U+0000 is invalid (422 naming it):
/// PostgreSQL refuses NUL in text, and one such value must never reach it.
/// Unknown fields are ignored whatever they hold, as the documents allow.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if std::str::from_utf8(bytes).is_err() {
        return Err(ApiError::bad_request(
            "malformed_body",
            "the request body is not valid UTF-8",
        ));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "malformed_body",
            "the request body is empty; a JSON object is expected",
        ));
    }
    // Serde would accept an array for a struct (as a tuple); the contract's
    // bodies are objects, so anything else is malformed.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::bad_request(
            "malformed_body",
            "the request body must be a JSON object",
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(de) {
        // A raw NUL byte is already a syntax error; only the escape can
        // smuggle one in, so the walk runs only when the escape is present.
        Ok(v) if contains_escaped_nul(bytes) => match nul_field::<T>(bytes) {
            Some(field) => Err(field),
            None => Ok(v),
        },
        Ok(v) => Ok(v),
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            match inner.classify() {
                serde_json::error::Category::Data => {
                    let msg = inner.to_string();
                    let field = missing_field(&msg)
                        .map(|name| join(&path, name))
                        .unwrap_or(path);
                    if field == "." {
                        // The document itself has the wrong shape (an array, a string...).
                        return Err(ApiError::bad_request(
                            "malformed_body",
                            "the request body must be a JSON object",
                        ));
                    }
                    Err(ApiError::invalid_field(field, strip_position(&msg)))
                }
                // Some type mismatches (a number where an enum's string belongs)
                // surface as syntax errors; a document that parses as JSON is
                // well-formed, so the failure is the field's.
                serde_json::error::Category::Syntax
                    if path != "."
                        && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok() =>
                {
                    Err(ApiError::invalid_field(
                        path,
                        strip_position(&inner.to_string()),
                    ))
                }
                serde_json::error::Category::Syntax
                | serde_json::error::Category::Eof
                | serde_json::error::Category::Io => Err(ApiError::bad_request(
                    "malformed_body",
                    format!("the request body is not valid JSON: {inner}"),
                )),
            }
        }
    }
}

/// True when the document spells `\u0000` (an escaped backslash before it
/// does not count, so `"\\u0000"`, six visible characters, is fine).
fn contains_escaped_nul(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            if bytes[i + 1..].starts_with(b"u0000") {
                return true;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    false
}

/// One step of a path into a JSON document.
#[derive(Clone, Debug, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// The JSON steps of a path serde skipped (`Option` and newtype wrappers
/// have no JSON of their own).
fn steps(path: &serde_ignored::Path<'_>) -> Vec<Step> {
    let mut out = Vec::new();
    let mut at = path;
    loop {
        match at {
            serde_ignored::Path::Root => break,
            serde_ignored::Path::Seq { parent, index } => {
                out.push(Step::Index(*index));
                at = parent;
            }
            serde_ignored::Path::Map { parent, key } => {
                out.push(Step::Key(key.clone()));
                at = parent;
            }
            serde_ignored::Path::Some { parent }
            | serde_ignored::Path::NewtypeStruct { parent }
            | serde_ignored::Path::NewtypeVariant { parent } => at = parent,
        }
    }
    out.reverse();
    out
}

/// The 422 naming the first string (value or key) that holds U+0000 in a
/// part of the document `T` reads; `None` when every NUL is in fields `T`
/// ignores. Runs only when the body spells the escape, so its second parse
/// costs nothing on ordinary requests.
fn nul_field<T: DeserializeOwned>(bytes: &[u8]) -> Option<ApiError> {
    fn find(v: &serde_json::Value, at: &mut Vec<Step>, ignored: &[Vec<Step>]) -> Option<Vec<Step>> {
        if ignored.iter().any(|p| at.starts_with(p)) {
            return None;
        }
        match v {
            serde_json::Value::String(s) if s.contains('\0') => Some(at.clone()),
            serde_json::Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
                at.push(Step::Index(i));
                let found = find(item, at, ignored);
                at.pop();
                found
            }),
            serde_json::Value::Object(map) => map.iter().find_map(|(k, item)| {
                at.push(Step::Key(k.clone()));
                let found = if k.contains('\0') && !ignored.iter().any(|p| at.starts_with(p)) {
                    Some(at.clone())
                } else {
                    find(item, at, ignored)
                };
                at.pop();
                found
            }),
            _ => None,
        }
    }
    let mut ignored = Vec::new();
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_ignored::deserialize::<_, _, T>(de, |path| ignored.push(steps(&path))).ok()?;
    let doc = serde_json::from_slice::<serde_json::Value>(bytes).ok()?;
    let found = find(&doc, &mut Vec::new(), &ignored)?;
    // Spelled as serde_path_to_error spells the other 422s: `items[1].name`.
    let mut field = String::new();
    for step in found {
        match step {
            Step::Key(k) => {
                if !field.is_empty() {
                    field.push('.');
                }
                field.push_str(&k.replace('\0', "\\u0000"));
            }
            Step::Index(i) => field.push_str(&format!("[{i}]")),
        }
    }
    Some(ApiError::invalid_field(
        field,
        "must not contain the NUL character (U+0000)",
    ))
}

fn missing_field(msg: &str) -> Option<&str> {
    let rest = msg.strip_prefix("missing field `")?;
    rest.split('`').next()
}

fn join(path: &str, name: &str) -> String {
    if path == "." {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

/// serde_json appends " at line L column C", which means nothing to a form;
/// and it quotes the offending value, which must not come back whole (a
/// 60 KB string where a number belongs would be echoed in full): the
/// message is cut to [`MAX_MESSAGE_CHARS`].
fn strip_position(msg: &str) -> String {
    let msg = match msg.rfind(" at line ") {
        Some(i) => &msg[..i],
        None => msg,
    };
    match msg.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((i, _)) => format!("{}…", &msg[..i]),
        None => msg.to_owned(),
    }
}

/// The longest message a 422 built from serde's words carries.
const MAX_MESSAGE_CHARS: usize = 200;

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::ResponseError;
    use actix_web::http::StatusCode;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Login {
        login: String,
        password: String,
        remember: Option<bool>,
    }

    fn status(r: Result<Login, ApiError>) -> (StatusCode, Option<String>) {
        let e = r
            .err()
            .map(|e| (e.status_code(), e.field().map(str::to_owned)));
        e.unwrap_or((StatusCode::OK, None))
    }

    #[test]
    fn unparseable_json_is_400() {
        assert_eq!(status(parse(b"{\"login\":")).0, StatusCode::BAD_REQUEST);
        assert_eq!(status(parse(b"not json")).0, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn an_empty_body_is_400() {
        assert_eq!(status(parse(b"")).0, StatusCode::BAD_REQUEST);
        assert_eq!(status(parse(b"  \n")).0, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn a_missing_field_is_422_naming_it() {
        let (s, f) = status(parse(br#"{"login":"amira"}"#));
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(f.as_deref(), Some("password"));
    }

    #[test]
    fn a_wrongly_typed_field_is_422_naming_it() {
        let (s, f) = status(parse(
            br#"{"login":"amira","password":"x","remember":"yes"}"#,
        ));
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(f.as_deref(), Some("remember"));
        let (s, f) = status(parse(br#"{"login":5,"password":"x"}"#));
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(f.as_deref(), Some("login"));
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct WithEnum {
        kind: Kind,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Public,
    }

    #[test]
    fn a_wrongly_typed_enum_field_is_422_naming_it() {
        for body in [
            &br#"{"kind": 1}"#[..],
            br#"{"kind": null}"#,
            br#"{"kind": "secret"}"#,
        ] {
            let err = parse::<WithEnum>(body).err();
            assert_eq!(
                err.as_ref().map(ApiError::status_code),
                Some(StatusCode::UNPROCESSABLE_ENTITY),
                "{:?}",
                String::from_utf8_lossy(body)
            );
            assert_eq!(err.as_ref().and_then(ApiError::field), Some("kind"));
        }
    }

    #[test]
    fn a_422_never_echoes_a_long_value_whole() {
        let body = format!(
            r#"{{"login":"a","password":"x","remember":"{}"}}"#,
            "y".repeat(60_000)
        );
        let err = parse::<Login>(body.as_bytes()).err();
        assert_eq!(err.as_ref().and_then(ApiError::field), Some("remember"));
        let message = err
            .map(|e| e.public_message().into_owned())
            .unwrap_or_default();
        assert!(
            message.chars().count() < 300,
            "{} characters",
            message.len()
        );
    }

    #[test]
    fn a_body_that_is_not_an_object_is_400() {
        assert_eq!(status(parse(b"[1,2]")).0, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn a_body_that_is_not_utf8_is_400_even_in_an_unknown_field() {
        for body in [
            &b"{\"login\":\"am\xffira\",\"password\":\"x\"}"[..],
            b"{\"login\":\"a\",\"password\":\"x\",\"extra\":\"\xc3\"}",
            b"{\"lo\xfegin\":\"a\",\"password\":\"x\"}",
        ] {
            assert_eq!(status(parse(body)).0, StatusCode::BAD_REQUEST);
        }
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Outer {
        items: Vec<Item>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Item {
        name: String,
    }

    #[test]
    fn a_nul_character_in_a_field_that_is_read_is_422_naming_the_field() {
        let (s, f) = status(parse(br#"{"login":"am\u0000ira","password":"x"}"#));
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(f.as_deref(), Some("login"));
        // Unknown fields are ignored, whatever they hold (the documents allow them).
        assert!(parse::<Login>(br#"{"login":"a","password":"x","extra":["ok","\u0000"]}"#).is_ok());
        // Nested known fields are named by their path.
        let err = parse::<Outer>(br#"{"items":[{"name":"a"},{"name":"b\u0000"}]}"#).err();
        assert_eq!(
            err.as_ref().map(ApiError::status_code),
            Some(StatusCode::UNPROCESSABLE_ENTITY)
        );
        assert_eq!(
            err.as_ref().and_then(ApiError::field),
            Some("items[1].name")
        );
        // An escaped backslash followed by "u0000" is six ordinary characters.
        assert!(parse::<Login>(br#"{"login":"a\\u0000","password":"x"}"#).is_ok());
    }

    #[test]
    fn unknown_fields_are_ignored_for_forward_compatibility() {
        assert!(parse::<Login>(br#"{"login":"a","password":"b","new_field":1}"#).is_ok());
    }
}
