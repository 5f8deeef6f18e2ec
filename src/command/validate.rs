//! The identity fields every command shares: instance names, request ids, requesters and
//! reasons. Each is checked against the rule of the place it ends up in — a Lightsail
//! resource name, a tag key, a tag value, an audit line — so it can never be refused
//! there after a port was opened.

use crate::ledger::is_tag_char;
use crate::rejection::{Code, Rejection};

use super::fields::printable;

/// Longest request id: it becomes part of a tag key (≤ 128 characters in all).
pub const MAX_REQUEST_ID: usize = 100;
pub const MAX_REQUESTER: usize = 64;
pub const MAX_REASON: usize = 256;

/// Lightsail resource names: 2–255 characters of letters, digits, `_`, `-` and `.`,
/// starting and ending with a letter, digit or `_`.
pub fn validate_instance_name(name: &str) -> Result<String, Rejection> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let ok = (2..=255).contains(&name.len())
        && name.chars().all(|c| word(c) || c == '-' || c == '.')
        && name.starts_with(word)
        && name.ends_with(word);
    if ok {
        Ok(name.to_string())
    } else {
        Err(Rejection::new(
            Code::InvalidInstanceName,
            format!(
                "`instanceName` {} is not a Lightsail instance name (2-255 letters, digits, '_', '-', '.', starting and ending with a letter or digit)",
                printable(name, 60)
            ),
        ))
    }
}

/// A request id becomes part of a tag key, so it must use tag characters (no spaces).
pub fn validate_request_id(id: &str) -> Result<String, Rejection> {
    let len = id.chars().count();
    if len == 0 || len > MAX_REQUEST_ID || !id.chars().all(|c| c != ' ' && is_tag_char(c)) {
        return Err(Rejection::new(
            Code::InvalidRequestId,
            format!(
                "`requestId` {} must be 1-{MAX_REQUEST_ID} characters of letters, digits and + - = . _ : / @",
                printable(id, 60)
            ),
        ));
    }
    Ok(id.to_string())
}

/// A requester is stored in the grant's tag value, so it must use tag characters.
pub fn validate_requester(who: &str) -> Result<String, Rejection> {
    let who = who.trim();
    let len = who.chars().count();
    if len == 0 || len > MAX_REQUESTER || !who.chars().all(is_tag_char) {
        return Err(Rejection::new(
            Code::InvalidRequester,
            format!(
                "`requester` {} must be 1-{MAX_REQUESTER} characters of letters, digits, spaces and + - = . _ : / @",
                printable(who, 60)
            ),
        ));
    }
    Ok(who.to_string())
}

/// A reason only goes to the audit log, but it must still be readable there.
pub fn validate_reason(why: &str) -> Result<String, Rejection> {
    let why = why.trim();
    if why.chars().count() > MAX_REASON || why.chars().any(|c| c.is_control() || is_invisible(c)) {
        return Err(Rejection::new(
            Code::InvalidReason,
            format!(
                "`reason` must be at most {MAX_REASON} characters without control or invisible formatting characters"
            ),
        ));
    }
    Ok(why.to_string())
}

/// Formatting characters that can hide or reorder text in a log or chat message
/// (zero-width, bidirectional overrides, line/paragraph separators, BOM, soft hyphen).
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_names_may_contain_periods() {
        assert!(validate_instance_name("web.example-1").is_ok());
        assert!(validate_instance_name("a").is_err());
        assert!(validate_instance_name("web-").is_err());
        assert!(validate_instance_name("wéb-1").is_err());
    }
}
