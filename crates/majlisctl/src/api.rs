//! The public API as majlisctl calls it: one request at a time, bounded
//! in time and size, every failure turned into a [`Failure`] that knows
//! its exit code.

use serde_json::Value;
use std::time::Duration;

/// The API's answers are small objects and pages; anything bigger is not
/// the API.
const MAX_BODY: usize = 8 << 20;
const TIMEOUT: Duration = Duration::from_secs(30);

/// Why a command failed.
#[derive(Debug)]
pub enum Failure {
    /// The API refused, with the contract's error body.
    Api {
        status: u16,
        code: String,
        message: String,
        body: Value,
    },
    /// The installation could not be reached, or did not answer in time.
    Unreachable(String),
    /// Something around the call: the credentials file, the terminal, an
    /// answer that is not the API's.
    Local(String),
}

impl Failure {
    /// The process's exit code (listed in `majlisctl --help`).
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Api { status, .. } => match status {
                401 | 403 => 3,
                404 => 4,
                409 => 5,
                400 | 413 | 422 => 6,
                429 | 502..=504 => 7,
                _ => 1,
            },
            Self::Unreachable(_) => 7,
            Self::Local(_) => 1,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Api {
                status,
                code,
                message,
                ..
            } => write!(f, "{code}: {message} (HTTP {status})"),
            Self::Unreachable(why) => write!(f, "unreachable: {why}"),
            Self::Local(why) => f.write_str(why),
        }
    }
}

pub type Outcome<T> = Result<T, Failure>;

/// The installation's API, as one caller.
pub struct Api {
    base: String,
    token: Option<String>,
    http: awc::Client,
}

impl Api {
    pub fn new(base: &str, token: Option<String>) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            token,
            http: awc::Client::builder().timeout(TIMEOUT).finish(),
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub async fn get(&self, path: &str) -> Outcome<Value> {
        self.call(awc::http::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Option<Value>) -> Outcome<Value> {
        self.call(awc::http::Method::POST, path, body).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Outcome<Value> {
        self.call(awc::http::Method::PUT, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Outcome<Value> {
        self.call(awc::http::Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Outcome<Value> {
        self.call(awc::http::Method::DELETE, path, None).await
    }

    /// One call; a 2xx answer's JSON (`null` for 204), else the failure.
    async fn call(
        &self,
        method: awc::http::Method,
        path: &str,
        body: Option<Value>,
    ) -> Outcome<Value> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        let sent = match body {
            Some(b) => req.send_json(&b).await,
            None => req.send().await,
        };
        let mut res = sent.map_err(|e| Failure::Unreachable(format!("{}: {e}", self.base)))?;
        let status = res.status().as_u16();
        let bytes = res
            .body()
            .limit(MAX_BODY)
            .await
            .map_err(|e| Failure::Unreachable(format!("reading the answer: {e}")))?;
        let json: Option<Value> = serde_json::from_slice(&bytes).ok();
        if (200..300).contains(&status) {
            return match json {
                Some(v) => Ok(v),
                None if bytes.is_empty() => Ok(Value::Null),
                None => Err(Failure::Local(format!(
                    "HTTP {status} with a body that is not JSON: is {} a majlis installation?",
                    self.base
                ))),
            };
        }
        let body = json.unwrap_or(Value::Null);
        let field = |k: &str| body["error"][k].as_str().map(str::to_owned);
        Err(Failure::Api {
            status,
            code: field("code").unwrap_or_else(|| format!("http_{status}")),
            message: field("message").unwrap_or_else(|| "no error body".to_owned()),
            body,
        })
    }
}

/// `s` as one path segment: everything but unreserved characters
/// percent-encoded.
pub fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_keeps_unreserved_characters_and_encodes_the_rest() {
        assert_eq!(segment("alice_1.b-c~"), "alice_1.b-c~");
        assert_eq!(segment("a/b c?é"), "a%2Fb%20c%3F%C3%A9");
    }

    #[test]
    fn each_kind_of_failure_has_its_exit_code() {
        let api = |status| Failure::Api {
            status,
            code: String::new(),
            message: String::new(),
            body: Value::Null,
        };
        let codes: Vec<i32> = [401, 403, 404, 409, 422, 400, 429, 503, 500]
            .into_iter()
            .map(|s| api(s).exit_code())
            .collect();
        assert_eq!(codes, [3, 3, 4, 5, 6, 6, 7, 7, 1]);
        assert_eq!(Failure::Unreachable(String::new()).exit_code(), 7);
        assert_eq!(Failure::Local(String::new()).exit_code(), 1);
    }
}
