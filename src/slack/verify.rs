//! Slack's request signature: the authentication of the Slack entry point.
//!
//! **Why this is the whole of authentication.** A Function URL with auth type `NONE` is
//! open to the internet; what makes a request Slack's is that it carries
//! `X-Slack-Signature: v0=<hex>`, the HMAC-SHA256 under the app's signing secret of
//! `v0:<X-Slack-Request-Timestamp>:<raw body>`. Only Slack and this function know the
//! secret, so a signature that holds proves the body and timestamp came from Slack
//! unchanged, and every field the form carries (team, user, `response_url`) can be
//! believed. Nothing from the body is trusted before [`verify`] returns `Ok`.
//!
//! **Why the timestamp window.** A signature does not expire, so a request captured once
//! could be replayed forever. Slack's rule is to refuse a timestamp more than five
//! minutes ([`MAX_SKEW_SECONDS`]) from now; we refuse it in either direction, since a
//! timestamp from the future is as unexplained as an old one. Exactly 300 s is still
//! accepted. The window bounds replay; it does not prevent a replay within it.
//!
//! **Why constant time, and lowercase only.** The comparison must not reveal how many
//! leading bytes of a forged signature were right, so the MAC is compared with
//! `aws_lc_rs::constant_time::verify_slices_are_equal` (aws-lc-rs is the crypto library
//! the SDK's TLS already builds). Slack sends lowercase hex and [`sign`] writes it, so a
//! signature in any other form is refused before any comparison: accepting uppercase
//! too would add a second spelling of the same signature for no sender that uses it.
//!
//! Every refusal is a 401 with its own reason for the audit line; no reason quotes the
//! secret or the expected signature.

use std::fmt;

use aws_lc_rs::{constant_time, hmac};
use jiff::Timestamp;

use super::request::Refusal;
use crate::command::printable;

/// How far, in seconds and either direction, a request's timestamp may be from now.
pub const MAX_SKEW_SECONDS: i64 = 5 * 60;

/// The only signature scheme Slack defines; it prefixes both the signature and the
/// signed text.
const VERSION: &str = "v0";
/// Hex digits of an HMAC-SHA256.
const SIGNATURE_HEX: usize = 64;
/// Digits a Unix time in seconds may have: enough until the year 33658, few enough that
/// parsing never overflows.
const MAX_TIMESTAMP_DIGITS: usize = 12;

/// The app's signing secret, from configuration. Never empty (every signature would
/// then be computable by anyone), and never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret(Vec<u8>);

/// Why a signing secret could not be loaded: a configuration error, reported at start.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("the Slack signing secret is empty")]
    Empty,
}

impl SigningSecret {
    /// The secret as configured, without surrounding whitespace. Slack's signing secrets
    /// are hex, so leading or trailing whitespace can only be a copy-paste or `echo`
    /// artifact, and keeping it would fail every request with a 401 that explains
    /// nothing.
    pub fn new(secret: String) -> Result<Self, SecretError> {
        let trimmed = secret.trim();
        if trimmed.is_empty() {
            return Err(SecretError::Empty);
        }
        Ok(SigningSecret(trimmed.as_bytes().to_vec()))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// The variable the signing secret comes from.
pub const SECRET_VAR: &str = "SLACK_SIGNING_SECRET";

/// The signing secret from `SLACK_SIGNING_SECRET`, read once at cold start: `None` when
/// unset or blank, and then every Slack request is refused (never accepted unverified).
pub fn slack_secret_from_env() -> Option<SigningSecret> {
    std::env::var(SECRET_VAR)
        .ok()
        .and_then(|value| SigningSecret::new(value).ok())
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSecret(<redacted>)")
    }
}

/// The signature Slack would send for `body` at `timestamp`: `v0=` and the lowercase hex
/// of HMAC-SHA256(`secret`, `v0:{timestamp}:{body}`). For tests, `jit-local` and scripts
/// that sign requests the way Slack does.
pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    let mac = mac(secret, timestamp, body);
    let mut signature = String::with_capacity(VERSION.len() + 1 + SIGNATURE_HEX);
    signature.push_str(VERSION);
    signature.push('=');
    for byte in mac.as_ref() {
        signature.push(HEX[usize::from(byte >> 4)]);
        signature.push(HEX[usize::from(byte & 0xf)]);
    }
    signature
}

/// Check that `signature` is Slack's for `body` at `timestamp`, and that `timestamp` is
/// within [`MAX_SKEW_SECONDS`] of `now`. Returns the request's time as Slack stated it
/// (now proven), or a 401.
///
/// The signature's form and the timestamp are checked before the MAC, which is then
/// compared in constant time.
pub fn verify(
    secret: &[u8],
    timestamp: &str,
    body: &[u8],
    signature: &str,
    now: Timestamp,
) -> Result<Timestamp, Refusal> {
    let claimed = decode_signature(signature)?;
    let sent_at = timestamp_of(timestamp)?;
    let age = now.as_second().saturating_sub(sent_at.as_second());
    if age > MAX_SKEW_SECONDS {
        return Err(Refusal::unauthorized(format!(
            "the request timestamp is {age} s old; at most {MAX_SKEW_SECONDS} s are accepted"
        )));
    }
    if age < -MAX_SKEW_SECONDS {
        return Err(Refusal::unauthorized(format!(
            "the request timestamp is {} s in the future; at most {MAX_SKEW_SECONDS} s are accepted",
            age.unsigned_abs()
        )));
    }
    let expected = mac(secret, timestamp, body);
    constant_time::verify_slices_are_equal(expected.as_ref(), &claimed).map_err(|_| {
        Refusal::unauthorized("the signature does not match the body and timestamp")
    })?;
    Ok(sent_at)
}

const HEX: [char; 16] = [
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f',
];

fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> hmac::Tag {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let mut context = hmac::Context::with_key(&key);
    context.update(VERSION.as_bytes());
    context.update(b":");
    context.update(timestamp.as_bytes());
    context.update(b":");
    context.update(body);
    context.sign()
}

/// `v0=` and 64 lowercase hex digits, as the 32 bytes they spell.
fn decode_signature(signature: &str) -> Result<[u8; SIGNATURE_HEX / 2], Refusal> {
    let Some((version, hex)) = signature.split_once('=') else {
        return Err(Refusal::unauthorized(format!(
            "the signature {} is not `v0=<hex>`",
            printable(signature, 20)
        )));
    };
    if version != VERSION {
        return Err(Refusal::unauthorized(format!(
            "the signature's version {} is not v0",
            printable(version, 20)
        )));
    }
    let digits = hex.as_bytes();
    if digits.len() != SIGNATURE_HEX {
        return Err(Refusal::unauthorized(format!(
            "the signature has {} hex digits; v0 has {SIGNATURE_HEX}",
            digits.len()
        )));
    }
    let mut bytes = [0u8; SIGNATURE_HEX / 2];
    for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
        match (nibble(pair[0]), nibble(pair[1])) {
            (Some(high), Some(low)) => *byte = (high << 4) | low,
            _ => {
                return Err(Refusal::unauthorized(
                    "the signature is not lowercase hex after `v0=`",
                ));
            }
        }
    }
    Ok(bytes)
}

fn nibble(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    }
}

/// Decimal Unix seconds, digits only (no sign, no spaces, no fraction).
fn timestamp_of(timestamp: &str) -> Result<Timestamp, Refusal> {
    let absurd = || {
        Refusal::unauthorized(format!(
            "the request timestamp {} is not Unix seconds in decimal",
            printable(timestamp, 24)
        ))
    };
    if timestamp.is_empty()
        || timestamp.len() > MAX_TIMESTAMP_DIGITS
        || !timestamp.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(absurd());
    }
    let seconds: i64 = timestamp.parse().map_err(|_| absurd())?;
    Timestamp::from_second(seconds).map_err(|_| absurd())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Slack's worked example ("Verifying requests from Slack").
    const SECRET: &[u8] = b"8f742231b10e8888abcd99yyyzzz85a5";
    const TIMESTAMP: &str = "1531420618";
    const BODY: &[u8] = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(seconds).unwrap()
    }

    const SENT: i64 = 1_531_420_618;

    fn reason(result: Result<Timestamp, Refusal>) -> String {
        match result {
            Ok(t) => panic!("verified at {t}"),
            Err(r) => {
                assert_eq!(r.status, 401, "{}", r.reason);
                r.reason
            }
        }
    }

    const MISMATCH: &str = "the signature does not match the body and timestamp";

    #[test]
    fn slacks_example_signs_and_verifies() {
        assert_eq!(sign(SECRET, TIMESTAMP, BODY), SIGNATURE);
        assert_eq!(
            verify(SECRET, TIMESTAMP, BODY, SIGNATURE, at(SENT + 10)),
            Ok(at(SENT))
        );
    }

    #[test]
    fn a_sub_second_now_is_fine() {
        let now = at(SENT) + jiff::SignedDuration::from_millis(999);
        assert_eq!(
            verify(SECRET, TIMESTAMP, BODY, SIGNATURE, now),
            Ok(at(SENT))
        );
    }

    #[test]
    fn any_change_to_body_timestamp_or_secret_breaks_it() {
        let mut body = BODY.to_vec();
        body[0] ^= 1;
        assert_eq!(
            reason(verify(SECRET, TIMESTAMP, &body, SIGNATURE, at(SENT))),
            MISMATCH
        );
        let mut longer = BODY.to_vec();
        longer.push(b'&');
        assert_eq!(
            reason(verify(SECRET, TIMESTAMP, &longer, SIGNATURE, at(SENT))),
            MISMATCH
        );
        assert_eq!(
            reason(verify(SECRET, "1531420619", BODY, SIGNATURE, at(SENT))),
            MISMATCH
        );
        // The timestamp is signed as sent: a leading zero is another text.
        assert_eq!(
            reason(verify(SECRET, "01531420618", BODY, SIGNATURE, at(SENT))),
            MISMATCH
        );
        assert_eq!(
            reason(verify(
                b"8f742231b10e8888abcd99yyyzzz85a6",
                TIMESTAMP,
                BODY,
                SIGNATURE,
                at(SENT)
            )),
            MISMATCH
        );
        let mut last = SIGNATURE.to_string();
        last.replace_range(66.., "4");
        assert_eq!(
            reason(verify(SECRET, TIMESTAMP, BODY, &last, at(SENT))),
            MISMATCH
        );
    }

    #[test]
    fn only_lowercase_hex_v0_signatures_are_read() {
        let upper = format!("v0={}", SIGNATURE[3..].to_ascii_uppercase());
        assert_eq!(
            reason(verify(SECRET, TIMESTAMP, BODY, &upper, at(SENT))),
            "the signature is not lowercase hex after `v0=`"
        );
        let v1 = SIGNATURE.replacen("v0", "v1", 1);
        assert_eq!(
            reason(verify(SECRET, TIMESTAMP, BODY, &v1, at(SENT))),
            "the signature's version \"v1\" is not v0"
        );
        assert_eq!(
            reason(verify(SECRET, TIMESTAMP, BODY, &SIGNATURE[..66], at(SENT))),
            "the signature has 63 hex digits; v0 has 64"
        );
        let longer = format!("{SIGNATURE}0");
        assert_eq!(
            reason(verify(SECRET, TIMESTAMP, BODY, &longer, at(SENT))),
            "the signature has 65 hex digits; v0 has 64"
        );
        assert_eq!(
            reason(verify(SECRET, TIMESTAMP, BODY, &SIGNATURE[3..], at(SENT))),
            "the signature \"a2114d57b48eac39b9ad\"… is not `v0=<hex>`"
        );
        assert_eq!(
            reason(verify(SECRET, TIMESTAMP, BODY, "", at(SENT))),
            "the signature \"\" is not `v0=<hex>`"
        );
        let not_hex = format!("v0={}", "g".repeat(64));
        assert_eq!(
            reason(verify(SECRET, TIMESTAMP, BODY, &not_hex, at(SENT))),
            "the signature is not lowercase hex after `v0=`"
        );
        // Multi-byte characters count as bytes and never split a digit pair.
        let wide = format!("v0={}", "é".repeat(32));
        assert_eq!(
            reason(verify(SECRET, TIMESTAMP, BODY, &wide, at(SENT))),
            "the signature is not lowercase hex after `v0=`"
        );
    }

    #[test]
    fn the_window_is_five_minutes_either_way_inclusive() {
        assert_eq!(
            verify(SECRET, TIMESTAMP, BODY, SIGNATURE, at(SENT + 300)),
            Ok(at(SENT))
        );
        assert_eq!(
            verify(SECRET, TIMESTAMP, BODY, SIGNATURE, at(SENT - 300)),
            Ok(at(SENT))
        );
        assert_eq!(
            reason(verify(SECRET, TIMESTAMP, BODY, SIGNATURE, at(SENT + 301))),
            "the request timestamp is 301 s old; at most 300 s are accepted"
        );
        assert_eq!(
            reason(verify(SECRET, TIMESTAMP, BODY, SIGNATURE, at(SENT - 301))),
            "the request timestamp is 301 s in the future; at most 300 s are accepted"
        );
        assert_eq!(
            reason(verify(
                SECRET,
                TIMESTAMP,
                BODY,
                SIGNATURE,
                at(SENT + 86_400)
            )),
            "the request timestamp is 86400 s old; at most 300 s are accepted"
        );
    }

    #[test]
    fn a_stale_request_is_refused_even_with_a_wrong_signature_it_would_fail() {
        // The window is checked before the MAC: a replay reads as a replay.
        let wrong = format!("v0={}", "0".repeat(64));
        assert_eq!(
            reason(verify(SECRET, TIMESTAMP, BODY, &wrong, at(SENT + 1000))),
            "the request timestamp is 1000 s old; at most 300 s are accepted"
        );
    }

    #[test]
    fn timestamps_that_are_not_decimal_seconds_are_refused() {
        for bad in [
            "",
            "-1531420618",
            "+1531420618",
            " 1531420618",
            "1531420618 ",
            "1531420618.5",
            "1e9",
            "0x5b4758ca",
            "１５３１４２０６１８",
        ] {
            let signature = sign(SECRET, bad, BODY);
            let got = reason(verify(SECRET, bad, BODY, &signature, at(SENT)));
            assert!(
                got.starts_with("the request timestamp ")
                    && got.ends_with(" is not Unix seconds in decimal"),
                "{bad:?}: {got}"
            );
        }
    }

    #[test]
    fn absurd_timestamps_are_refused_without_overflow() {
        for absurd in [
            "99999999999999999999999",
            "999999999999",
            "9223372036854775808",
        ] {
            let signature = sign(SECRET, absurd, BODY);
            assert_eq!(
                reason(verify(SECRET, absurd, BODY, &signature, at(SENT))),
                format!(
                    "the request timestamp {} is not Unix seconds in decimal",
                    printable(absurd, 24)
                )
            );
        }
        // Far but representable: refused by the window, not by parsing.
        let signature = sign(SECRET, "0", BODY);
        assert_eq!(
            reason(verify(SECRET, "0", BODY, &signature, at(SENT))),
            format!("the request timestamp is {SENT} s old; at most 300 s are accepted")
        );
    }

    #[test]
    fn a_request_signed_now_verifies_now() {
        let secret = SigningSecret::new("s3cret".into()).unwrap();
        let now = at(1_800_000_000);
        let signature = sign(secret.as_bytes(), "1800000000", b"text=status");
        assert_eq!(
            verify(
                secret.as_bytes(),
                "1800000000",
                b"text=status",
                &signature,
                now
            ),
            Ok(now)
        );
    }

    #[test]
    fn reasons_never_quote_the_secret_or_the_expected_signature() {
        let mut body = BODY.to_vec();
        body[0] ^= 1;
        let expected = sign(SECRET, TIMESTAMP, &body);
        let r = reason(verify(SECRET, TIMESTAMP, &body, SIGNATURE, at(SENT)));
        assert!(
            !r.contains("8f742231") && !r.contains(&expected[3..11]),
            "{r}"
        );
    }

    #[test]
    fn an_empty_secret_is_a_configuration_error() {
        assert_eq!(SigningSecret::new(String::new()), Err(SecretError::Empty));
        assert_eq!(SigningSecret::new(" \n\t".into()), Err(SecretError::Empty));
        assert_eq!(
            SecretError::Empty.to_string(),
            "the Slack signing secret is empty"
        );
    }

    #[test]
    fn a_secret_is_trimmed_and_never_shown() {
        let secret = SigningSecret::new("8f742231b10e8888abcd99yyyzzz85a5\n".into()).unwrap();
        assert_eq!(secret.as_bytes(), SECRET);
        assert_eq!(format!("{secret:?}"), "SigningSecret(<redacted>)");
        assert_eq!(
            verify(secret.as_bytes(), TIMESTAMP, BODY, SIGNATURE, at(SENT)),
            Ok(at(SENT))
        );
    }
}
