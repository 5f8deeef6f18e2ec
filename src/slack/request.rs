//! A Lambda Function URL event read as the HTTP request Slack sent, and [`Refusal`]: the
//! one shape every refusal of the Slack path takes.
//!
//! **Why a separate step before the signature.** A Function URL is a public endpoint:
//! anyone on the internet can post to it, so the function sees noise as well as Slack.
//! This step only answers "is this even shaped like a Slack slash command?", using
//! nothing secret and doing bounded work (the body's size is checked before it is
//! decoded, and again after), so that `verify` gets exactly the bytes Slack signed and
//! `form` never sees a body that was not signed.
//!
//! **Why these status codes.** The caller is either Slack (which shows the status to the
//! person who typed the command) or a stranger (who learns nothing from it either way),
//! and the audit line keeps the reason. So the codes say what kind of problem it was:
//! 405 for a method other than `POST`, 413 for a body over [`MAX_BODY`], 401 when Slack's
//! signature headers are missing (authentication absent; `verify` answers 401 when it
//! fails), and 400 for everything malformed, a wrong content type included. A wrong
//! content type is a 400, not a 401: it says nothing about who sent the request, and a
//! 401 would make "someone unsigned is knocking" and "Slack sent something odd" read
//! the same in the audit.
//!
//! **Why headers are matched case-insensitively.** Function URLs lower-case header
//! names, but `jit-local`, tests and other fronts build these events by hand; HTTP
//! header names are case-insensitive, so `X-Slack-Signature` must count. A name that
//! arrives twice under different cases is refused (400): two readers could disagree on
//! which one counts, the same reason strict JSON refuses duplicate keys.
//!
//! The event format is payload format 2.0: `requestContext.http.method`, `headers` (an
//! object of strings; repeated headers arrive comma-joined), `body` (a string, absent
//! when empty) and `isBase64Encoded`.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;

use crate::command::printable;

/// The largest body accepted, in bytes after base64 decoding. A slash command is a few
/// hundred bytes; Slack caps the text typed after the command at 4,000 characters, which
/// percent-encoding can triple.
pub const MAX_BODY: usize = 16 * 1024;

/// The header carrying the request's Unix time in decimal seconds.
pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";
/// The header carrying Slack's signature, `v0=<hex>`.
pub const SIGNATURE_HEADER: &str = "x-slack-signature";
/// The only media type a slash command is posted as.
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// Why a request on the Slack path was refused: the HTTP status to answer with and a
/// reason for the audit line. A reason quotes request data only through [`printable`]
/// (escaped and cut short) and never quotes the signing secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {reason}")]
pub struct Refusal {
    pub status: u16,
    pub reason: String,
}

impl Refusal {
    /// 400: the request is malformed, whoever sent it.
    pub fn bad_request(reason: impl Into<String>) -> Self {
        Refusal {
            status: 400,
            reason: reason.into(),
        }
    }

    /// 401: Slack's signature is missing or does not hold.
    pub fn unauthorized(reason: impl Into<String>) -> Self {
        Refusal {
            status: 401,
            reason: reason.into(),
        }
    }

    /// 405: only `POST` carries a slash command.
    pub fn method_not_allowed(reason: impl Into<String>) -> Self {
        Refusal {
            status: 405,
            reason: reason.into(),
        }
    }

    /// 413: the body is larger than [`MAX_BODY`].
    pub fn too_large(reason: impl Into<String>) -> Self {
        Refusal {
            status: 413,
            reason: reason.into(),
        }
    }
}

/// A request shaped like a Slack slash command: a `POST` of a form, with Slack's
/// signature headers present (not yet checked) and the body exactly as sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    method: String,
    /// Lower-cased names; each name once.
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

impl HttpRequest {
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The header `name`, whatever its case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// All headers, names lower-cased.
    pub fn headers(&self) -> &BTreeMap<String, String> {
        &self.headers
    }

    /// `X-Slack-Request-Timestamp`, as sent (`read` made sure it is there).
    pub fn timestamp(&self) -> &str {
        self.header(TIMESTAMP_HEADER).unwrap_or_default()
    }

    /// `X-Slack-Signature`, as sent (`read` made sure it is there).
    pub fn signature(&self) -> &str {
        self.header(SIGNATURE_HEADER).unwrap_or_default()
    }

    /// The body's bytes, base64-decoded if the event carried it so: what Slack signed.
    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

/// Whether `event` is a Function URL (or API Gateway HTTP API) event: it has
/// `requestContext.http`, which no direct, EventBridge or SQS payload has.
pub fn is_function_url(event: &Value) -> bool {
    event
        .get("requestContext")
        .and_then(|c| c.get("http"))
        .is_some_and(Value::is_object)
}

/// Read a Function URL event as a Slack request, or say why it cannot be one.
///
/// In order: the method (405), the body's size as sent (413), the signature headers
/// (401), the content type (400), the body's encoding (400) and its decoded size (413).
pub fn read(event: &Value) -> Result<HttpRequest, Refusal> {
    let method = method(event)?;
    let raw_body = raw_body(event)?;
    let base64 = is_base64(event)?;
    let limit = if base64 { BASE64_LIMIT } else { MAX_BODY };
    if raw_body.len() > limit {
        return Err(too_large(raw_body.len(), base64));
    }
    let headers = headers(event)?;
    for name in [TIMESTAMP_HEADER, SIGNATURE_HEADER] {
        if !headers.contains_key(name) {
            return Err(Refusal::unauthorized(format!("no `{name}` header")));
        }
    }
    content_type(headers.get("content-type").map(String::as_str))?;
    let body = if base64 {
        BASE64
            .decode(raw_body)
            .map_err(|e| Refusal::bad_request(format!("`body` is marked base64 but is not: {e}")))?
    } else {
        raw_body.as_bytes().to_vec()
    };
    if body.len() > MAX_BODY {
        return Err(too_large(body.len(), false));
    }
    Ok(HttpRequest {
        method,
        headers,
        body,
    })
}

/// The longest base64 text that can decode to [`MAX_BODY`] bytes (padded, 4 per 3).
const BASE64_LIMIT: usize = MAX_BODY.div_ceil(3) * 4;

fn too_large(len: usize, base64: bool) -> Refusal {
    let form = if base64 { " as base64" } else { "" };
    Refusal::too_large(format!(
        "the body is {len} bytes{form}; at most {MAX_BODY} bytes are accepted"
    ))
}

fn method(event: &Value) -> Result<String, Refusal> {
    let method = event
        .get("requestContext")
        .and_then(|c| c.get("http"))
        .and_then(|h| h.get("method"));
    match method {
        Some(Value::String(m)) if m == "POST" => Ok(m.clone()),
        Some(Value::String(m)) => Err(Refusal::method_not_allowed(format!(
            "method {} is not POST",
            printable(m, 20)
        ))),
        Some(_) => Err(Refusal::bad_request(
            "`requestContext.http.method` is not a string",
        )),
        None => Err(Refusal::bad_request(
            "not a Function URL event: no `requestContext.http.method`",
        )),
    }
}

fn raw_body(event: &Value) -> Result<&str, Refusal> {
    match event.get("body") {
        None | Some(Value::Null) => Ok(""),
        Some(Value::String(body)) => Ok(body),
        Some(_) => Err(Refusal::bad_request("`body` is not a string")),
    }
}

fn is_base64(event: &Value) -> Result<bool, Refusal> {
    match event.get("isBase64Encoded") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(Refusal::bad_request("`isBase64Encoded` is not a boolean")),
    }
}

fn headers(event: &Value) -> Result<BTreeMap<String, String>, Refusal> {
    let object = match event.get("headers") {
        None | Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(Value::Object(object)) => object,
        Some(_) => return Err(Refusal::bad_request("`headers` is not an object")),
    };
    let mut headers = BTreeMap::new();
    for (name, value) in object {
        let Value::String(value) = value else {
            return Err(Refusal::bad_request(format!(
                "header {} is not a string",
                printable(name, 60)
            )));
        };
        let lower = name.to_ascii_lowercase();
        if headers.insert(lower, value.clone()).is_some() {
            return Err(Refusal::bad_request(format!(
                "header {} is given twice (names differ only in case)",
                printable(name, 60)
            )));
        }
    }
    Ok(headers)
}

/// `application/x-www-form-urlencoded`, optionally with `; charset=utf-8` (any case,
/// quoted or not). Any other charset is refused: the form is decoded as UTF-8, so a
/// body declared in another charset would be misread rather than read.
fn content_type(value: Option<&str>) -> Result<(), Refusal> {
    let Some(value) = value else {
        return Err(Refusal::bad_request(format!(
            "no `content-type` header; a slash command is {FORM_CONTENT_TYPE}"
        )));
    };
    let wrong = || {
        Refusal::bad_request(format!(
            "content type {} is not {FORM_CONTENT_TYPE} (optionally with charset=utf-8)",
            printable(value, 80)
        ))
    };
    let mut parts = value.split(';');
    let media = parts.next().unwrap_or_default().trim();
    if !media.eq_ignore_ascii_case(FORM_CONTENT_TYPE) {
        return Err(wrong());
    }
    for parameter in parts {
        let Some((name, charset)) = parameter.split_once('=') else {
            return Err(wrong());
        };
        let charset = charset.trim();
        let charset = charset
            .strip_prefix('"')
            .and_then(|c| c.strip_suffix('"'))
            .unwrap_or(charset);
        if !name.trim().eq_ignore_ascii_case("charset") || !charset.eq_ignore_ascii_case("utf-8") {
            return Err(wrong());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const BODY: &str = "team_id=T1&user_id=U1&command=%2Fjit&text=status";

    fn event(headers: Value, body: &str, base64: bool) -> Value {
        json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": "/",
            "rawQueryString": "",
            "headers": headers,
            "requestContext": {
                "http": {"method": "POST", "path": "/", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7"},
                "timeEpoch": 1_531_420_618_000_i64
            },
            "body": body,
            "isBase64Encoded": base64
        })
    }

    fn slack_headers() -> Value {
        json!({
            "content-type": "application/x-www-form-urlencoded",
            "x-slack-request-timestamp": "1531420618",
            "x-slack-signature": "v0=abc",
            "user-agent": "Slackbot 1.0 (+https://api.slack.com/robots)"
        })
    }

    fn refused(event: &Value) -> (u16, String) {
        match read(event) {
            Ok(request) => panic!("accepted: {request:?}"),
            Err(r) => (r.status, r.reason),
        }
    }

    #[test]
    fn a_slack_post_is_read_with_its_body_and_headers() {
        let request = read(&event(slack_headers(), BODY, false)).unwrap();
        assert_eq!(request.method(), "POST");
        assert_eq!(request.body(), BODY.as_bytes());
        assert_eq!(request.timestamp(), "1531420618");
        assert_eq!(request.signature(), "v0=abc");
        assert_eq!(
            request.header("User-Agent"),
            Some("Slackbot 1.0 (+https://api.slack.com/robots)")
        );
        assert_eq!(request.headers().len(), 4);
    }

    #[test]
    fn a_base64_body_is_decoded_to_the_bytes_sent() {
        let encoded = BASE64.encode(BODY);
        let request = read(&event(slack_headers(), &encoded, true)).unwrap();
        assert_eq!(request.body(), BODY.as_bytes());
    }

    #[test]
    fn header_names_match_whatever_their_case() {
        let headers = json!({
            "Content-Type": "Application/X-WWW-Form-URLEncoded; Charset=\"UTF-8\"",
            "X-Slack-Request-Timestamp": "1531420618",
            "X-SLACK-SIGNATURE": "v0=abc"
        });
        let request = read(&event(headers, BODY, false)).unwrap();
        assert_eq!(request.timestamp(), "1531420618");
        assert_eq!(request.signature(), "v0=abc");
        assert_eq!(request.header("x-slack-signature"), Some("v0=abc"));
        assert!(request.headers().contains_key("content-type"));
    }

    #[test]
    fn a_header_given_twice_in_different_cases_is_refused() {
        let mut headers = slack_headers();
        headers["X-Slack-Signature"] = json!("v0=def");
        let (status, reason) = refused(&event(headers, BODY, false));
        assert_eq!(status, 400);
        assert_eq!(
            reason,
            "header \"X-Slack-Signature\" is given twice (names differ only in case)"
        );
    }

    #[test]
    fn only_post_is_accepted() {
        for m in ["GET", "PUT", "post"] {
            let mut e = event(slack_headers(), BODY, false);
            e["requestContext"]["http"]["method"] = json!(m);
            assert_eq!(refused(&e), (405, format!("method \"{m}\" is not POST")));
        }
    }

    #[test]
    fn missing_signature_headers_are_unauthorized() {
        for name in [TIMESTAMP_HEADER, SIGNATURE_HEADER] {
            let mut headers = slack_headers();
            headers.as_object_mut().unwrap().remove(name);
            assert_eq!(
                refused(&event(headers, BODY, false)),
                (401, format!("no `{name}` header"))
            );
        }
        assert_eq!(
            refused(&event(json!({}), BODY, false)),
            (401, "no `x-slack-request-timestamp` header".into())
        );
    }

    #[test]
    fn a_wrong_or_missing_content_type_is_a_bad_request() {
        for wrong in [
            "application/json",
            "text/plain",
            "multipart/form-data; boundary=x",
            "application/x-www-form-urlencoded; charset=iso-8859-1",
            "application/x-www-form-urlencoded; boundary=x",
            "application/x-www-form-urlencoded; charset",
            "application/x-www-form-urlencodedx",
        ] {
            let mut headers = slack_headers();
            headers["content-type"] = json!(wrong);
            let (status, reason) = refused(&event(headers, BODY, false));
            assert_eq!(status, 400, "{wrong}");
            assert!(reason.starts_with("content type \""), "{reason}");
        }
        let mut headers = slack_headers();
        headers.as_object_mut().unwrap().remove("content-type");
        assert_eq!(
            refused(&event(headers, BODY, false)),
            (
                400,
                "no `content-type` header; a slash command is application/x-www-form-urlencoded"
                    .into()
            )
        );
    }

    #[test]
    fn a_charset_of_utf8_is_accepted() {
        for ok in [
            "application/x-www-form-urlencoded; charset=utf-8",
            "application/x-www-form-urlencoded;charset=UTF-8",
            " application/x-www-form-urlencoded ; charset = \"utf-8\" ",
        ] {
            let mut headers = slack_headers();
            headers["content-type"] = json!(ok);
            assert_eq!(
                read(&event(headers, BODY, false)).unwrap().body(),
                BODY.as_bytes()
            );
        }
    }

    #[test]
    fn bodies_over_the_limit_are_refused_before_and_after_decoding() {
        let at_limit = "a".repeat(MAX_BODY);
        assert_eq!(
            read(&event(slack_headers(), &at_limit, false))
                .unwrap()
                .body()
                .len(),
            MAX_BODY
        );
        let over = "a".repeat(MAX_BODY + 1);
        assert_eq!(
            refused(&event(slack_headers(), &over, false)),
            (
                413,
                "the body is 16385 bytes; at most 16384 bytes are accepted".into()
            )
        );
        // Encoded, the limit's own text passes and decodes to exactly the limit.
        let encoded = BASE64.encode(at_limit.as_bytes());
        assert_eq!(encoded.len(), BASE64_LIMIT);
        assert_eq!(
            read(&event(slack_headers(), &encoded, true))
                .unwrap()
                .body()
                .len(),
            MAX_BODY
        );
        // One byte more decoded is caught after decoding...
        let encoded = BASE64.encode(over.as_bytes());
        assert_eq!(
            encoded.len(),
            BASE64_LIMIT,
            "16385 bytes still fit 21848 chars"
        );
        assert_eq!(
            refused(&event(slack_headers(), &encoded, true)),
            (
                413,
                "the body is 16385 bytes; at most 16384 bytes are accepted".into()
            )
        );
        // ...and text longer than any 16 KiB could encode to, before.
        let encoded = BASE64.encode("a".repeat(MAX_BODY + 3).as_bytes());
        assert_eq!(
            refused(&event(slack_headers(), &encoded, true)),
            (
                413,
                "the body is 21852 bytes as base64; at most 16384 bytes are accepted".into()
            )
        );
    }

    #[test]
    fn the_size_is_checked_before_the_headers() {
        let over = "a".repeat(MAX_BODY + 1);
        assert_eq!(refused(&event(json!({}), &over, false)).0, 413);
    }

    #[test]
    fn bad_base64_is_a_bad_request() {
        let (status, reason) = refused(&event(slack_headers(), "not base64!", true));
        assert_eq!(status, 400);
        assert!(
            reason.starts_with("`body` is marked base64 but is not: "),
            "{reason}"
        );
    }

    #[test]
    fn an_absent_body_is_empty() {
        let mut e = event(slack_headers(), "", false);
        e.as_object_mut().unwrap().remove("body");
        assert_eq!(read(&e).unwrap().body(), b"");
    }

    #[test]
    fn fields_of_the_wrong_type_are_bad_requests() {
        let cases = [
            ("body", json!(5), "`body` is not a string"),
            (
                "isBase64Encoded",
                json!("true"),
                "`isBase64Encoded` is not a boolean",
            ),
            ("headers", json!([]), "`headers` is not an object"),
        ];
        for (field, value, reason) in cases {
            let mut e = event(slack_headers(), BODY, false);
            e[field] = value;
            assert_eq!(refused(&e), (400, reason.to_string()), "{field}");
        }
        let mut headers = slack_headers();
        headers["x-slack-signature"] = json!(["v0=abc"]);
        assert_eq!(
            refused(&event(headers, BODY, false)),
            (400, "header \"x-slack-signature\" is not a string".into())
        );
        let mut e = event(slack_headers(), BODY, false);
        e["requestContext"]["http"]["method"] = json!(1);
        assert_eq!(
            refused(&e),
            (400, "`requestContext.http.method` is not a string".into())
        );
    }

    #[test]
    fn function_url_events_are_told_from_other_payloads() {
        assert!(is_function_url(&event(slack_headers(), BODY, false)));
        assert!(!is_function_url(&json!({"action": "status"})));
        assert!(!is_function_url(&json!({"Records": []})));
        assert!(!is_function_url(
            &json!({"detail-type": "x", "requestContext": {}})
        ));
        assert!(!is_function_url(
            &json!({"requestContext": {"http": "GET"}})
        ));
        assert!(!is_function_url(&json!([1, 2])));
        assert_eq!(
            refused(&json!({"action": "status"})),
            (
                400,
                "not a Function URL event: no `requestContext.http.method`".into()
            )
        );
    }

    #[test]
    fn a_quoted_method_or_header_cannot_forge_a_log_line() {
        let mut e = event(slack_headers(), BODY, false);
        e["requestContext"]["http"]["method"] = json!("GET\n{\"forged\":1}");
        assert_eq!(
            refused(&e),
            (
                405,
                "method \"GET\\n{\\\"forged\\\":1}\" is not POST".into()
            )
        );
    }

    #[test]
    fn a_refusal_displays_its_status_and_reason() {
        assert_eq!(Refusal::unauthorized("no").to_string(), "401: no");
        assert_eq!(Refusal::bad_request("x").status, 400);
        assert_eq!(Refusal::method_not_allowed("x").status, 405);
        assert_eq!(Refusal::too_large("x").status, 413);
    }
}
