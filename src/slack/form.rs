//! The slash command's fields, read from its `application/x-www-form-urlencoded` body.
//!
//! **Why strict, even after the signature holds.** `verify` proves the body is Slack's,
//! not that every field is fit for where it goes next: `team_id` and `user_id` become
//! the command's `requester`, `slack:<team_id>:<user_id>`, which is stored in a tag and
//! matched by the policy's allow-lists; `response_url` is echoed in `replyTo`, and a bot
//! posts the command's outcome there. So each is held to its shape here, once, and a
//! body that does not fit is refused (400, the field named) instead of being carried
//! along:
//!
//! - `team_id` and `user_id` are required and are Slack ids, `[A-Z0-9]+`, at most
//!   [`MAX_ID`] characters, so the requester is tag-safe (letters, digits and `:`) and
//!   within the command's own requester limit. So are `channel_id`, `enterprise_id` and
//!   `api_app_id` when given.
//! - `command` is required: `/` and 1-32 visible characters (Slack's limit on a command
//!   name), so the audit shows which command was typed.
//! - `response_url`, when given and not empty, starts with `https://hooks.slack.com/`
//!   and is at most [`MAX_RESPONSE_URL`] visible ASCII characters: the outcome (who was
//!   let in where) must never be posted anywhere else, even if Slack's format changed
//!   under us.
//! - A field given twice is refused, as strict JSON refuses a key given twice: readers
//!   disagree on which one counts. Bytes that are not UTF-8, raw or percent-encoded,
//!   are refused too, rather than replaced by U+FFFD and read as something else.
//!
//! `text` may be empty (the bare `/jit`); what it says is the grammar's business.
//! Fields Slack adds that we do not read are ignored, `token` (the deprecated
//! verification token) deliberately: the signature replaces it, and it is not kept.

use std::collections::BTreeSet;

use super::request::Refusal;
use crate::command::{MAX_REQUESTER, printable};

/// The prefix of [`SlashCommand::requester`].
pub const REQUESTER_PREFIX: &str = "slack:";
/// The longest Slack id accepted: two of them fit the command's requester limit,
/// `slack:<team>:<user>` ≤ [`MAX_REQUESTER`]. Slack's ids are 9-11 characters today.
pub const MAX_ID: usize = (MAX_REQUESTER - REQUESTER_PREFIX.len() - 1) / 2;
/// The longest command name after `/` (Slack's own limit).
pub const MAX_COMMAND: usize = 32;
/// The only place a `response_url` may point.
pub const RESPONSE_URL_PREFIX: &str = "https://hooks.slack.com/";
/// The longest `response_url` accepted: it must leave room in `replyTo`'s 1 KB. Slack's
/// are about 90 characters.
pub const MAX_RESPONSE_URL: usize = 512;

/// A slash command as Slack posted it. Built only by [`parse`], which holds each field
/// to its shape; a field Slack did not send is empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlashCommand {
    pub team_id: String,
    pub team_domain: String,
    pub enterprise_id: String,
    pub user_id: String,
    /// Display only: Slack has deprecated it, and it is not unique.
    pub user_name: String,
    pub channel_id: String,
    pub channel_name: String,
    /// As typed, with its `/`: `/jit`.
    pub command: String,
    /// Everything after the command; may be empty.
    pub text: String,
    /// Where to post the outcome: `https://hooks.slack.com/…`, or `None`.
    pub response_url: Option<String>,
    pub trigger_id: String,
    pub api_app_id: String,
}

impl SlashCommand {
    /// Who asked, as the command's `requester`: `slack:<team_id>:<user_id>`. A user id
    /// is unique only within its workspace, hence the team.
    pub fn requester(&self) -> String {
        format!("{REQUESTER_PREFIX}{}:{}", self.team_id, self.user_id)
    }
}

/// Read a slash command's form body, or say which field is wrong (400).
pub fn parse(body: &[u8]) -> Result<SlashCommand, Refusal> {
    if std::str::from_utf8(body).is_err() {
        return Err(Refusal::bad_request("the form body is not UTF-8"));
    }
    let mut seen = BTreeSet::new();
    let mut command = SlashCommand {
        team_id: String::new(),
        team_domain: String::new(),
        enterprise_id: String::new(),
        user_id: String::new(),
        user_name: String::new(),
        channel_id: String::new(),
        channel_name: String::new(),
        command: String::new(),
        text: String::new(),
        response_url: None,
        trigger_id: String::new(),
        api_app_id: String::new(),
    };
    for (name, value) in form_urlencoded::parse(body) {
        if name.contains(char::REPLACEMENT_CHARACTER) {
            return Err(Refusal::bad_request(format!(
                "the form field {} is not UTF-8 once percent-decoded",
                printable(&name, 40)
            )));
        }
        if !seen.insert(name.to_string()) {
            return Err(Refusal::bad_request(format!(
                "the form field {} is given twice",
                printable(&name, 40)
            )));
        }
        let slot = match name.as_ref() {
            "team_id" => &mut command.team_id,
            "team_domain" => &mut command.team_domain,
            "enterprise_id" => &mut command.enterprise_id,
            "user_id" => &mut command.user_id,
            "user_name" => &mut command.user_name,
            "channel_id" => &mut command.channel_id,
            "channel_name" => &mut command.channel_name,
            "command" => &mut command.command,
            "text" => &mut command.text,
            "trigger_id" => &mut command.trigger_id,
            "api_app_id" => &mut command.api_app_id,
            "response_url" => {
                command.response_url = response_url(&value)?;
                continue;
            }
            _ => continue,
        };
        if value.contains(char::REPLACEMENT_CHARACTER) {
            return Err(Refusal::bad_request(format!(
                "`{name}` is not UTF-8 once percent-decoded"
            )));
        }
        *slot = value.into_owned();
    }
    for (name, value) in [
        ("team_id", &command.team_id),
        ("user_id", &command.user_id),
        ("command", &command.command),
    ] {
        if !seen.contains(name) {
            return Err(Refusal::bad_request(format!("`{name}` is missing")));
        }
        if value.is_empty() {
            return Err(Refusal::bad_request(format!("`{name}` is empty")));
        }
    }
    for (name, value) in [
        ("team_id", &command.team_id),
        ("user_id", &command.user_id),
        ("channel_id", &command.channel_id),
        ("enterprise_id", &command.enterprise_id),
        ("api_app_id", &command.api_app_id),
    ] {
        slack_id(name, value)?;
    }
    command_name(&command.command)?;
    Ok(command)
}

/// An empty value is a field not given; the required ones were checked before this.
fn slack_id(name: &str, value: &str) -> Result<(), Refusal> {
    let fits = value.len() <= MAX_ID
        && value
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if fits {
        Ok(())
    } else {
        Err(Refusal::bad_request(format!(
            "`{name}` {} is not a Slack id (at most {MAX_ID} of A-Z and 0-9)",
            printable(value, 40)
        )))
    }
}

fn command_name(command: &str) -> Result<(), Refusal> {
    let name = command.strip_prefix('/').unwrap_or_default();
    let len = name.chars().count();
    let visible = name
        .chars()
        .all(|c| !c.is_whitespace() && !c.is_control() && !is_invisible(c));
    if (1..=MAX_COMMAND).contains(&len) && visible {
        Ok(())
    } else {
        Err(Refusal::bad_request(format!(
            "`command` {} is not `/` and 1-{MAX_COMMAND} visible characters",
            printable(command, 40)
        )))
    }
}

/// Zero-width, bidirectional and other formatting characters that could make one
/// command name look like another.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

fn response_url(value: &str) -> Result<Option<String>, Refusal> {
    if value.is_empty() {
        return Ok(None);
    }
    let fits = value.len() <= MAX_RESPONSE_URL
        && value.len() > RESPONSE_URL_PREFIX.len()
        && value.starts_with(RESPONSE_URL_PREFIX)
        && value.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    if fits {
        Ok(Some(value.to_string()))
    } else {
        Err(Refusal::bad_request(format!(
            "`response_url` {} is not {RESPONSE_URL_PREFIX}… (at most {MAX_RESPONSE_URL} visible ASCII characters)",
            printable(value, 60)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::validate_requester;

    /// The body of Slack's signing example ("Verifying requests from Slack").
    const SLACK_EXAMPLE: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";

    const MINIMAL: &str = "team_id=T1&user_id=U1&command=%2Fjit";

    fn refused(body: &str) -> (u16, String) {
        refused_bytes(body.as_bytes())
    }

    fn refused_bytes(body: &[u8]) -> (u16, String) {
        match parse(body) {
            Ok(c) => panic!("accepted: {c:?}"),
            Err(r) => (r.status, r.reason),
        }
    }

    #[test]
    fn slacks_example_is_read_field_by_field() {
        let c = parse(SLACK_EXAMPLE.as_bytes()).unwrap();
        assert_eq!(
            c,
            SlashCommand {
                team_id: "T1DC2JH3J".into(),
                team_domain: "testteamnow".into(),
                enterprise_id: String::new(),
                user_id: "U2CERLKJA".into(),
                user_name: "roadrunner".into(),
                channel_id: "G8PSS9T3V".into(),
                channel_name: "foobar".into(),
                command: "/webhook-collect".into(),
                text: String::new(),
                response_url: Some(
                    "https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN"
                        .into()
                ),
                trigger_id: "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c".into(),
                api_app_id: String::new(),
            }
        );
        assert_eq!(c.requester(), "slack:T1DC2JH3J:U2CERLKJA");
    }

    #[test]
    fn text_is_percent_and_plus_decoded() {
        let c = parse(
            b"team_id=T1&user_id=U1&command=%2Fjit&text=grant+web-1+22%2C443+for+1h+%E2%80%94+deploy",
        )
        .unwrap();
        assert_eq!(c.text, "grant web-1 22,443 for 1h — deploy");
        assert_eq!(c.response_url, None);
        assert_eq!(c.channel_id, "");
    }

    #[test]
    fn unknown_fields_are_ignored_and_the_token_is_not_kept() {
        let c = parse(
            format!("{MINIMAL}&is_enterprise_install=false&enterprise_name=Acme&token=secret&api_app_id=A0KRD7HC3&enterprise_id=E0KRD7HC3").as_bytes(),
        )
        .unwrap();
        assert_eq!(c.api_app_id, "A0KRD7HC3");
        assert_eq!(c.enterprise_id, "E0KRD7HC3");
        assert!(!format!("{c:?}").contains("secret"));
    }

    #[test]
    fn the_required_fields_are_named_when_missing_or_empty() {
        assert_eq!(
            refused("user_id=U1&command=%2Fjit"),
            (400, "`team_id` is missing".into())
        );
        assert_eq!(
            refused("team_id=T1&command=%2Fjit"),
            (400, "`user_id` is missing".into())
        );
        assert_eq!(
            refused("team_id=T1&user_id=U1&text=status"),
            (400, "`command` is missing".into())
        );
        assert_eq!(
            refused("team_id=&user_id=U1&command=%2Fjit"),
            (400, "`team_id` is empty".into())
        );
        assert_eq!(
            refused("team_id=T1&user_id&command=%2Fjit"),
            (400, "`user_id` is empty".into())
        );
        assert_eq!(refused(""), (400, "`team_id` is missing".into()));
    }

    #[test]
    fn a_field_given_twice_is_refused() {
        assert_eq!(
            refused(&format!("{MINIMAL}&user_id=U2")),
            (400, "the form field \"user_id\" is given twice".into())
        );
        assert_eq!(
            refused(&format!("{MINIMAL}&text=a&text=b")),
            (400, "the form field \"text\" is given twice".into())
        );
        // Percent-encoding the name does not make it another field.
        assert_eq!(
            refused(&format!("{MINIMAL}&%75ser_id=U2")),
            (400, "the form field \"user_id\" is given twice".into())
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_are_refused() {
        let mut raw = MINIMAL.as_bytes().to_vec();
        raw.extend_from_slice(b"&text=\xff");
        assert_eq!(
            refused_bytes(&raw),
            (400, "the form body is not UTF-8".into())
        );
        assert_eq!(
            refused(&format!("{MINIMAL}&text=%FF")),
            (400, "`text` is not UTF-8 once percent-decoded".into())
        );
        assert_eq!(
            refused(&format!("{MINIMAL}&te%FFxt=a")),
            (
                400,
                "the form field \"te\u{FFFD}xt\" is not UTF-8 once percent-decoded".into()
            )
        );
        assert_eq!(
            refused(&format!(
                "{MINIMAL}&response_url=https%3A%2F%2Fhooks.slack.com%2F%FF"
            ))
            .0,
            400
        );
    }

    #[test]
    fn ids_must_be_slack_ids_so_the_requester_is_tag_safe() {
        for (field, bad) in [
            ("team_id", "t1"),
            ("team_id", "T1%3AU2"),
            ("team_id", "T1+x"),
            ("user_id", "U-1"),
            ("user_id", "U%C3%891"),
            ("channel_id", "C1%2Fx"),
            ("enterprise_id", "e1"),
            ("api_app_id", "A_1"),
        ] {
            let body = match field {
                "team_id" => format!("team_id={bad}&user_id=U1&command=%2Fjit"),
                "user_id" => format!("team_id=T1&user_id={bad}&command=%2Fjit"),
                _ => format!("{MINIMAL}&{field}={bad}"),
            };
            let (status, reason) = refused(&body);
            assert_eq!(status, 400, "{field}={bad}");
            assert!(
                reason.starts_with(&format!("`{field}` \"")),
                "{field}={bad}: {reason}"
            );
            assert!(
                reason.ends_with(" is not a Slack id (at most 28 of A-Z and 0-9)"),
                "{reason}"
            );
        }
    }

    #[test]
    fn the_longest_ids_make_a_requester_the_command_accepts() {
        assert_eq!(MAX_ID, 28);
        let team = "T".repeat(MAX_ID);
        let user = "U".repeat(MAX_ID);
        let c = parse(format!("team_id={team}&user_id={user}&command=%2Fjit").as_bytes()).unwrap();
        let requester = c.requester();
        assert_eq!(requester.len(), 63);
        assert_eq!(validate_requester(&requester), Ok(requester.clone()));
        let (status, reason) = refused(&format!("team_id={team}T&user_id={user}&command=%2Fjit"));
        assert_eq!(status, 400);
        assert!(reason.starts_with("`team_id` \"TTTT"), "{reason}");
    }

    #[test]
    fn the_command_is_a_slash_and_a_visible_name() {
        let c = parse(b"team_id=T1&user_id=U1&command=%2Fjit-dev_2").unwrap();
        assert_eq!(c.command, "/jit-dev_2");
        let c = parse(format!("team_id=T1&user_id=U1&command=%2F{}", "j".repeat(32)).as_bytes())
            .unwrap();
        assert_eq!(c.command.len(), 33);
        for bad in [
            "jit",
            "%2F",
            "%2Fj+t",
            "%2Fj%0At",
            "%2Fj%E2%80%8Bit",
            &format!("%2F{}", "j".repeat(33)),
        ] {
            let (status, reason) = refused(&format!("team_id=T1&user_id=U1&command={bad}"));
            assert_eq!(status, 400, "{bad}");
            assert!(
                reason.starts_with("`command` \"")
                    && reason.ends_with(" is not `/` and 1-32 visible characters"),
                "{bad}: {reason}"
            );
        }
    }

    #[test]
    fn response_url_must_point_at_hooks_slack_com() {
        let with = |url: &str| format!("{MINIMAL}&response_url={url}");
        assert_eq!(
            parse(with("").as_bytes()).unwrap().response_url,
            None,
            "empty is absent"
        );
        assert_eq!(
            parse(with("https://hooks.slack.com/commands/T1/1/abc").as_bytes())
                .unwrap()
                .response_url
                .as_deref(),
            Some("https://hooks.slack.com/commands/T1/1/abc")
        );
        for bad in [
            "http://hooks.slack.com/commands/T1/1/abc",
            "https://hooks.slack.com.evil.example/commands",
            "https://hooks.slack.com@evil.example/commands",
            "https://evil.example/https://hooks.slack.com/",
            "HTTPS://HOOKS.SLACK.COM/commands",
            "https://hooks.slack.com",
            "https://hooks.slack.com/",
            "https://hooks.slack.com:8443/commands",
            "https://hooks.slack.com/commands%20x",
            "https://hooks.slack.com/a%5C%5Cevil.example",
            "https://hooks.slack.com/%0Ax",
            "https://hooks.slack.com/%C3%A9",
            " https://hooks.slack.com/commands",
            "javascript:alert(1)",
        ] {
            let (status, reason) = refused(&with(bad));
            assert_eq!(status, 400, "{bad}");
            assert!(reason.starts_with("`response_url` \""), "{bad}: {reason}");
        }
        let long = format!("https://hooks.slack.com/{}", "a".repeat(MAX_RESPONSE_URL));
        assert!(
            refused(&with(&long)).1.ends_with(
                " is not https://hooks.slack.com/… (at most 512 visible ASCII characters)"
            )
        );
    }
}
