//! The text after `/jit`, parsed into the same JSON command every other entry point
//! sends.
//!
//! Why a grammar that only *splits*: a grant typed in Slack must be judged exactly like
//! one sent by a bot, so this module decides what the text says (which word is the
//! instance, which are ports, sources, the duration, the reason) and nothing more. It
//! emits the JSON command, and [`crate::command::Command::from_json`] and the policy
//! validate it: their rejections, naming the command's fields, are what the user sees.
//! A second validator here could only disagree with the first one.
//!
//! The forms ([`USAGE`]):
//!
//! - `grant INSTANCE [PORTS] [for DURATION] from SOURCES [reason TEXT]`: the instance
//!   first, then optional ports, then the keywords `for`, `from` and `reason` in any
//!   order, each at most once. `reason` takes the rest of the text verbatim (trimmed),
//!   so it comes last and may contain anything, keywords included. `from` is required:
//!   Slack does not send the user's address.
//! - `revoke INSTANCE [REQUEST_ID]`, `extend INSTANCE REQUEST_ID [for DURATION]`,
//!   `status [INSTANCE]`, and `help` (or no text at all).
//! - `INSTANCE` is a name in the function's own Region, or `REGION/NAME` (`eu-west-1/web-1`),
//!   which becomes the command's `region` and `instanceName`.
//!
//! Decisions, each tested below:
//!
//! - Words are separated by runs of spaces, tabs and the no-break spaces (U+00A0,
//!   U+2007, U+202F) that chat clients and pasted text put where a space looks to be:
//!   the user cannot see the difference, so it must not make a different command. Other
//!   Unicode spaces stay inside their word, and the command refuses that word.
//! - Subcommands and keywords match ASCII letters in any case (`GRANT`, `From`); a
//!   look-alike (fullwidth `ｇｒａｎｔ`, a Cyrillic `а`) is not a keyword, and the
//!   refusal points at its non-ASCII character. Every other word is passed as typed.
//! - Ports and sources are comma-separated; spaces around a comma are allowed
//!   (`22, 443`), two items with only a space between them are not: the second word
//!   must then be a keyword, so a typo such as `resaon` is named as such instead of
//!   becoming a source. An empty item (`22,,443`, `from 1.2.3.4,`) is refused here.
//! - `for` takes the words up to the next keyword, joined by one space, so `for 1h 30m`
//!   reads as `1h 30m`.
//! - A source with a `:` goes to `ipv6Cidrs`, `lightsail-connect` (any case, passed as
//!   typed) to `cidrListAliases`, anything else to `cidrs`, whose validation then names
//!   what it is not.
//! - The words `for`, `from` and `reason` cannot be an instance name or a request id
//!   here (such a grant is reachable through the JSON command only).
//! - The text is at most [`MAX_TEXT_BYTES`], checked before anything else; a line break
//!   (also U+2028, U+2029) or any other control character but tab is refused.
//!
//! The caller adds `requester`, `requestId`, `issuedAt` and `replyTo` from what Slack
//! vouches for. No text can set them, nor `dryRun`: no form emits those fields, and
//! `reason` is a JSON string built by serde, so `requester=bob` or `","requester":"bob`
//! in it is only a reason.

use std::fmt;

use serde_json::{Map, Value};

use crate::command::{ActionName, printable};
use crate::firewall::LIGHTSAIL_CONNECT;

/// Longest text accepted: about Slack's own limit for a message, and far more than any
/// command needs (20 ports and 60 sources fit), so parsing work stays bounded.
pub const MAX_TEXT_BYTES: usize = 4000;

/// One `pub const` per form, and [`USAGE`], all of them one a line, from one list.
macro_rules! usage_lines {
    ($first_name:ident = $first:literal; $($name:ident = $line:literal;)*) => {
        pub const $first_name: &str = $first;
        $(pub const $name: &str = $line;)*
        /// Every form, one a line.
        pub const USAGE: &str = concat!($first $(, "\n", $line)*);
    };
}

usage_lines! {
    GRANT_USAGE = "/jit grant INSTANCE [PORTS] [for DURATION] from SOURCES [reason TEXT]";
    REVOKE_USAGE = "/jit revoke INSTANCE [REQUEST_ID]";
    EXTEND_USAGE = "/jit extend INSTANCE REQUEST_ID [for DURATION]";
    STATUS_USAGE = "/jit status [INSTANCE]";
    HELP_USAGE = "/jit help";
}

/// What the text says, every value as typed (not validated: the command does that).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SlackCommand {
    Grant {
        instance_name: String,
        /// `None`: the policy's default ports.
        ports: Option<Vec<String>>,
        /// `None`: the policy's default duration.
        duration: Option<String>,
        sources: Sources,
        reason: Option<String>,
    },
    Revoke {
        instance_name: String,
        /// `None`: every grant on the instance.
        request_id: Option<String>,
    },
    Extend {
        instance_name: String,
        request_id: String,
        duration: Option<String>,
    },
    Status {
        instance_name: Option<String>,
    },
    Help,
}

/// The sources after `from`, sorted into the command's fields by their shape.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sources {
    pub cidrs: Vec<String>,
    pub ipv6_cidrs: Vec<String>,
    pub cidr_list_aliases: Vec<String>,
}

/// Text that is not a `/jit` command: why, and the form it should have had.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrammarError {
    pub reason: String,
    /// The usage line of the subcommand concerned, or [`USAGE`] when none is.
    pub usage: &'static str,
}

impl fmt::Display for GrammarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.usage.contains('\n') {
            write!(f, "{}\nUsage:\n{}", self.reason, self.usage)
        } else {
            write!(f, "{}\nUsage: {}", self.reason, self.usage)
        }
    }
}

impl std::error::Error for GrammarError {}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, strum::EnumString, strum::IntoStaticStr, strum::VariantArray,
)]
#[strum(serialize_all = "lowercase", ascii_case_insensitive)]
enum Subcommand {
    Grant,
    Revoke,
    Extend,
    Status,
    Help,
}

impl Subcommand {
    fn usage(self) -> &'static str {
        match self {
            Subcommand::Grant => GRANT_USAGE,
            Subcommand::Revoke => REVOKE_USAGE,
            Subcommand::Extend => EXTEND_USAGE,
            Subcommand::Status => STATUS_USAGE,
            Subcommand::Help => HELP_USAGE,
        }
    }

    fn name(self) -> &'static str {
        self.into()
    }

    fn refuse(self, reason: String) -> GrammarError {
        GrammarError {
            reason,
            usage: self.usage(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase", ascii_case_insensitive)]
enum Keyword {
    For,
    From,
    Reason,
}

const KEYWORDS: &str = "`for`, `from`, `reason`";

/// Parse the text of a `/jit` slash command.
pub fn parse(text: &str) -> Result<SlackCommand, GrammarError> {
    refuse_unreadable(text)?;
    let words = words(text);
    let Some((first, rest)) = words.split_first() else {
        return Ok(SlackCommand::Help);
    };
    match first.text.parse::<Subcommand>() {
        Ok(Subcommand::Grant) => grant(text, rest),
        Ok(Subcommand::Revoke) => revoke(text, rest),
        Ok(Subcommand::Extend) => extend(text, rest),
        Ok(Subcommand::Status) => status(text, rest),
        Ok(Subcommand::Help) => Ok(SlackCommand::Help),
        Err(_) => Err(unknown_subcommand(first.text)),
    }
}

impl SlackCommand {
    /// The JSON command, without the fields the caller adds; `None` for help.
    pub fn to_command(&self) -> Option<Value> {
        let mut command = Map::new();
        let mut put = |field: &str, value: Value| {
            command.insert(field.to_string(), value);
        };
        let action = |name: ActionName| Value::from(<&'static str>::from(name));
        match self {
            SlackCommand::Grant {
                instance_name,
                ports,
                duration,
                sources,
                reason,
            } => {
                put("action", action(ActionName::Grant));
                for (field, value) in instance_fields(instance_name) {
                    put(field, value);
                }
                if let Some(ports) = ports {
                    put("ports", ports.clone().into());
                }
                for (field, items) in [
                    ("cidrs", &sources.cidrs),
                    ("ipv6Cidrs", &sources.ipv6_cidrs),
                    ("cidrListAliases", &sources.cidr_list_aliases),
                ] {
                    if !items.is_empty() {
                        put(field, items.clone().into());
                    }
                }
                if let Some(duration) = duration {
                    put("duration", duration.as_str().into());
                }
                if let Some(reason) = reason {
                    put("reason", reason.as_str().into());
                }
            }
            SlackCommand::Revoke {
                instance_name,
                request_id,
            } => {
                put("action", action(ActionName::Revoke));
                for (field, value) in instance_fields(instance_name) {
                    put(field, value);
                }
                if let Some(request_id) = request_id {
                    put("requestId", request_id.as_str().into());
                }
            }
            SlackCommand::Extend {
                instance_name,
                request_id,
                duration,
            } => {
                put("action", action(ActionName::Extend));
                for (field, value) in instance_fields(instance_name) {
                    put(field, value);
                }
                put("requestId", request_id.as_str().into());
                if let Some(duration) = duration {
                    put("duration", duration.as_str().into());
                }
            }
            SlackCommand::Status { instance_name } => {
                put("action", action(ActionName::Status));
                if let Some(instance_name) = instance_name {
                    for (field, value) in instance_fields(instance_name) {
                        put(field, value);
                    }
                }
            }
            SlackCommand::Help => return None,
        }
        Some(Value::Object(command))
    }
}

/// `web-1`, or `eu-west-1/web-1` for an instance in another Region: split at the first
/// `/` into `region` and `instanceName` (the policy writes instances the same way). Not
/// validated here: the command refuses a Region it does not manage, or a bad name.
fn instance_fields(word: &str) -> Vec<(&'static str, Value)> {
    match word.split_once('/') {
        Some((region, name)) => vec![("region", region.into()), ("instanceName", name.into())],
        None => vec![("instanceName", word.into())],
    }
}

/// The answer to `/jit help`: every form with an example, and where to find one's own
/// address. Plain text that reads the same as Slack mrkdwn (forms in code spans; no
/// `<`, `>` or `&`, which Slack would take for markup).
pub fn help_text() -> String {
    [
        "*/jit* opens a port of a Lightsail instance to your address, for a while.".to_string(),
        String::new(),
        format!("`{GRANT_USAGE}`"),
        "    e.g. `/jit grant web-1 22 for 1h from 203.0.113.7 reason hotfix INC-1234`".into(),
        "    PORTS: `22`, `22/tcp`, `8000-8100/udp`, comma-separated; without them, the policy's default ports".into(),
        "    SOURCES: IPv4 or IPv6 addresses or networks, or `lightsail-connect`, comma-separated".into(),
        "    DURATION: `30m`, `2h`, `1h30m`; without it, the policy's default".into(),
        "    after the ports, `for`, `from` and `reason` may come in any order; `reason` takes the rest of the line".into(),
        "    INSTANCE: a name, or `REGION/NAME` for another Region, e.g. `eu-west-1/web-1`".into(),
        format!("`{REVOKE_USAGE}`"),
        "    e.g. `/jit revoke web-1 chg-1001` (without a request id: every grant on web-1)".into(),
        format!("`{EXTEND_USAGE}`"),
        "    e.g. `/jit extend web-1 chg-1001 for 30m` (the request id is in the grant's answer)".into(),
        format!("`{STATUS_USAGE}`"),
        "    e.g. `/jit status web-1` (without an instance: every managed one)".into(),
        format!("`{HELP_USAGE}`"),
        "    this text".into(),
        String::new(),
        "`from` is required: Slack does not send your address. Find your public IP with".into(),
        "`curl https://checkip.amazonaws.com` and grant that, e.g. `from 203.0.113.7`.".into(),
    ]
    .join("\n")
}

/// One word of the text, and the byte offset just past it (where a `reason` starts).
#[derive(Clone, Copy, Debug)]
struct Word<'t> {
    text: &'t str,
    end: usize,
}

fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{00A0}' | '\u{2007}' | '\u{202F}')
}

fn words(text: &str) -> Vec<Word<'_>> {
    let mut words = Vec::new();
    let mut start = None;
    for (at, c) in text.char_indices() {
        match (is_separator(c), start) {
            (true, Some(from)) => {
                words.push(Word {
                    text: &text[from..at],
                    end: at,
                });
                start = None;
            }
            (false, None) => start = Some(at),
            _ => {}
        }
    }
    if let Some(from) = start {
        words.push(Word {
            text: &text[from..],
            end: text.len(),
        });
    }
    words
}

fn keyword(word: &Word<'_>) -> Option<Keyword> {
    word.text.parse().ok()
}

/// Too long, or a character no command may contain: refused before any other reading.
fn refuse_unreadable(text: &str) -> Result<(), GrammarError> {
    let general = |reason: String| GrammarError {
        reason,
        usage: USAGE,
    };
    if text.len() > MAX_TEXT_BYTES {
        return Err(general(format!(
            "the text is {} bytes; a /jit command is at most {MAX_TEXT_BYTES} bytes",
            text.len()
        )));
    }
    let unreadable =
        |c: char| (c.is_control() && c != '\t') || matches!(c, '\u{2028}' | '\u{2029}');
    match text.chars().enumerate().find(|(_, c)| unreadable(*c)) {
        None => Ok(()),
        Some((at, c)) if matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}') => {
            Err(general(format!(
                "the text has a line break (U+{:04X}) at character {}; put the whole command on one line",
                u32::from(c),
                at + 1
            )))
        }
        Some((at, c)) => Err(general(format!(
            "the text has the control character U+{:04X} at character {}; remove it",
            u32::from(c),
            at + 1
        ))),
    }
}

fn unknown_subcommand(word: &str) -> GrammarError {
    let known: Vec<&str> = <Subcommand as strum::VariantArray>::VARIANTS
        .iter()
        .map(|s| s.name())
        .collect();
    GrammarError {
        reason: format!(
            "{} is not a /jit subcommand{}; the subcommands are {}",
            printable(word, 40),
            look_alike_hint(word),
            known.join(", ")
        ),
        usage: USAGE,
    }
}

/// A word that looks like a keyword but is not one usually hides a non-ASCII letter.
fn look_alike_hint(word: &str) -> String {
    match word.chars().find(|c| !c.is_ascii()) {
        Some(c) => format!(
            " (it contains U+{:04X}, which is not an ASCII letter or digit)",
            u32::from(c)
        ),
        None => String::new(),
    }
}

/// The words after the subcommand, split at the keywords.
#[derive(Debug, Default)]
struct Clauses<'t> {
    /// The words before the first keyword.
    head: Vec<&'t str>,
    duration: Option<String>,
    sources: Option<Vec<&'t str>>,
    reason: Option<&'t str>,
}

fn clauses<'t>(
    text: &'t str,
    words: &[Word<'t>],
    form: Subcommand,
    allowed: &[Keyword],
) -> Result<Clauses<'t>, GrammarError> {
    let first_keyword = words
        .iter()
        .position(|w| keyword(w).is_some())
        .unwrap_or(words.len());
    let (head, mut rest) = words.split_at(first_keyword);
    let mut clauses = Clauses {
        head: head.iter().map(|w| w.text).collect(),
        ..Clauses::default()
    };
    while let Some((word, after)) = rest.split_first() {
        let Some(key) = keyword(word) else {
            break;
        };
        let name: &'static str = key.into();
        if !allowed.contains(&key) {
            return Err(form.refuse(format!("`{name}` is not part of `{}`", form.name())));
        }
        let value_len = after
            .iter()
            .position(|w| keyword(w).is_some())
            .unwrap_or(after.len());
        let (value, next) = after.split_at(value_len);
        let value: Vec<&'t str> = value.iter().map(|w| w.text).collect();
        rest = next;
        let twice = |example: &str| {
            form.refuse(format!(
                "`{name}` is given twice; say it once, e.g. `{example}`"
            ))
        };
        let needs = |what: &str| form.refuse(format!("`{name}` needs {what} after it"));
        match key {
            Keyword::Reason => {
                let reason = text[word.end..].trim_matches(is_separator);
                if reason.is_empty() {
                    return Err(needs("some text"));
                }
                clauses.reason = Some(reason);
                break;
            }
            Keyword::For if clauses.duration.is_some() => return Err(twice("for 1h30m")),
            Keyword::For if value.is_empty() => return Err(needs("a duration, e.g. `for 1h`")),
            Keyword::For => clauses.duration = Some(value.join(" ")),
            Keyword::From if clauses.sources.is_some() => {
                return Err(twice("from 203.0.113.7,2001:db8::7"));
            }
            Keyword::From if value.is_empty() => {
                return Err(needs("at least one source, e.g. `from 203.0.113.7`"));
            }
            Keyword::From => clauses.sources = Some(value),
        }
    }
    Ok(clauses)
}

/// A comma-separated list over one or more words: `22,443`, `22, 443`, `22 ,443`.
fn comma_list(words: &[&str], what: &str, form: Subcommand) -> Result<Vec<String>, GrammarError> {
    let joined = words.join(" ");
    joined
        .split(',')
        .map(|item| {
            let item = item.trim_matches(' ');
            if item.is_empty() {
                return Err(form.refuse(format!(
                    "{what} {} has an empty item: a comma with nothing before or after it",
                    printable(&joined, 60)
                )));
            }
            match item.split_once(' ') {
                None => Ok(item.to_string()),
                Some((before, after)) => {
                    let next = after.split(' ').next().unwrap_or(after);
                    Err(form.refuse(format!(
                        "after {}, expected a comma or one of {KEYWORDS}, got {}{}",
                        printable(before, 40),
                        printable(next, 40),
                        look_alike_hint(next)
                    )))
                }
            }
        })
        .collect()
}

fn by_family(items: Vec<String>) -> Sources {
    let mut sources = Sources::default();
    for item in items {
        if item.contains(':') {
            sources.ipv6_cidrs.push(item);
        } else if item.eq_ignore_ascii_case(LIGHTSAIL_CONNECT) {
            sources.cidr_list_aliases.push(item);
        } else {
            sources.cidrs.push(item);
        }
    }
    sources
}

fn grant(text: &str, words: &[Word<'_>]) -> Result<SlackCommand, GrammarError> {
    let form = Subcommand::Grant;
    let c = clauses(
        text,
        words,
        form,
        &[Keyword::For, Keyword::From, Keyword::Reason],
    )?;
    let Some((instance_name, port_words)) = c.head.split_first() else {
        return Err(form.refuse(
            "`grant` needs the instance name first, e.g. `grant web-1 from 203.0.113.7`".into(),
        ));
    };
    let ports = match port_words {
        [] => None,
        words => Some(comma_list(words, "the ports", form)?),
    };
    let Some(source_words) = c.sources else {
        return Err(form.refuse(
            "`grant` needs `from` and your public address (Slack does not send it), e.g. `from 203.0.113.7`; find it with `curl https://checkip.amazonaws.com`".into(),
        ));
    };
    Ok(SlackCommand::Grant {
        instance_name: instance_name.to_string(),
        ports,
        duration: c.duration,
        sources: by_family(comma_list(&source_words, "`from`", form)?),
        reason: c.reason.map(str::to_string),
    })
}

fn missing_instance(form: Subcommand) -> GrammarError {
    form.refuse(format!(
        "`{}` needs the instance name, e.g. `{} web-1`",
        form.name(),
        form.name()
    ))
}

fn too_many_words(form: Subcommand, extra: &str, takes: &str) -> GrammarError {
    form.refuse(format!(
        "unexpected {}: `{}` takes {takes}",
        printable(extra, 40),
        form.name()
    ))
}

fn revoke(text: &str, words: &[Word<'_>]) -> Result<SlackCommand, GrammarError> {
    let form = Subcommand::Revoke;
    let c = clauses(text, words, form, &[])?;
    match c.head.as_slice() {
        [] => Err(missing_instance(form)),
        [instance_name] => Ok(SlackCommand::Revoke {
            instance_name: instance_name.to_string(),
            request_id: None,
        }),
        [instance_name, request_id] => Ok(SlackCommand::Revoke {
            instance_name: instance_name.to_string(),
            request_id: Some(request_id.to_string()),
        }),
        [_, _, extra, ..] => Err(too_many_words(
            form,
            extra,
            "an instance and, optionally, the request id of one grant",
        )),
    }
}

fn extend(text: &str, words: &[Word<'_>]) -> Result<SlackCommand, GrammarError> {
    let form = Subcommand::Extend;
    let c = clauses(text, words, form, &[Keyword::For])?;
    match c.head.as_slice() {
        [] => Err(missing_instance(form)),
        [_] => Err(form.refuse(
            "`extend` needs the grant's request id after the instance (it is in the grant's answer), e.g. `extend web-1 chg-1001 for 30m`".into(),
        )),
        [instance_name, request_id] => Ok(SlackCommand::Extend {
            instance_name: instance_name.to_string(),
            request_id: request_id.to_string(),
            duration: c.duration,
        }),
        [_, _, extra, ..] => Err(too_many_words(
            form,
            extra,
            "an instance, a request id and, optionally, `for DURATION`",
        )),
    }
}

fn status(text: &str, words: &[Word<'_>]) -> Result<SlackCommand, GrammarError> {
    let form = Subcommand::Status;
    let c = clauses(text, words, form, &[])?;
    match c.head.as_slice() {
        [] => Ok(SlackCommand::Status {
            instance_name: None,
        }),
        [instance_name] => Ok(SlackCommand::Status {
            instance_name: Some(instance_name.to_string()),
        }),
        [_, extra, ..] => Err(too_many_words(form, extra, "at most an instance")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{Action, Command, GrantRequest};
    use crate::firewall::{PortRange, Protocol};
    use crate::policy::Policy;
    use crate::rejection::{Code, Rejection};
    use proptest::prelude::*;
    use serde_json::json;
    use std::time::Duration;

    /// What the Slack caller adds; the text must never have set any of them.
    const CALLER_FIELDS: [&str; 4] = ["requester", "requestId", "issuedAt", "replyTo"];

    fn command(text: &str) -> Value {
        match parse(text) {
            Ok(parsed) => parsed.to_command().unwrap_or(Value::Null),
            Err(e) => panic!("{text:?} refused: {e}"),
        }
    }

    fn refusal(text: &str) -> GrammarError {
        match parse(text) {
            Ok(parsed) => panic!("{text:?} parsed as {parsed:?}"),
            Err(e) => e,
        }
    }

    /// The JSON as the caller sends it on: its own fields added, none of them already
    /// there (a grant's `requestId` is the caller's; a revoke's or extend's is the text's).
    fn as_the_caller_sends(mut command: Value) -> Value {
        let object = command.as_object_mut().unwrap();
        let is_grant = object["action"] == "grant";
        for field in CALLER_FIELDS {
            let the_texts_own = field == "requestId" && !is_grant;
            assert!(
                the_texts_own || !object.contains_key(field),
                "the text set {field}: {object:?}"
            );
        }
        // `status` has no requester: the command refuses one as an unknown field.
        if object["action"] != "status" {
            object.insert("requester".into(), json!("alice"));
        }
        if is_grant {
            object.insert("requestId".into(), json!("slack-1"));
        }
        object.insert("issuedAt".into(), json!("2026-11-23T10:00:00Z"));
        command
    }

    fn typed(text: &str) -> Result<Command, Rejection> {
        Command::from_json(&as_the_caller_sends(command(text)))
    }

    fn grant_of(text: &str) -> GrantRequest {
        match typed(text).unwrap().action {
            Action::Grant(g) => g,
            other => panic!("{other:?}"),
        }
    }

    fn now() -> jiff::Timestamp {
        "2026-11-23T10:00:00Z".parse().unwrap()
    }

    /// A text's fate through every judge a Slack user meets.
    #[derive(Debug, PartialEq)]
    enum Judged {
        /// The grammar refused it; the reason contains this.
        Refused(String),
        /// `Command::from_json` rejected it.
        Rejected(Code),
        /// The default policy refused the grant.
        Denied(Code),
        /// A command the policy accepts (help: `null`), as the grammar emitted it.
        Accepted(Value),
    }

    fn judge(text: &str) -> Judged {
        let parsed = match parse(text) {
            Ok(parsed) => parsed,
            Err(e) => return Judged::Refused(e.reason),
        };
        let Some(emitted) = parsed.to_command() else {
            return Judged::Accepted(Value::Null);
        };
        let command = match Command::from_json(&as_the_caller_sends(emitted.clone())) {
            Ok(command) => command,
            Err(r) => return Judged::Rejected(r.code),
        };
        let expected_requester = match command.action {
            Action::Status(_) => None,
            _ => Some("alice"),
        };
        assert_eq!(command.action.requester(), expected_requester, "{text:?}");
        assert!(!command.dry_run, "{text:?}");
        assert_eq!(command.reply_to, None, "{text:?}");
        if let Action::Grant(grant) = &command.action {
            assert_eq!(command.request_id.as_deref(), Some("slack-1"), "{text:?}");
            if let Err(r) = Policy::default().decide_grant(
                grant,
                crate::region::Region::US_EAST_1,
                "slack-1",
                now(),
            ) {
                return Judged::Denied(r.code);
            }
        }
        Judged::Accepted(emitted)
    }

    fn refused(part: &str) -> Judged {
        Judged::Refused(part.to_string())
    }

    /// `expected` holds when it is the same, or, for a refusal, a part of the reason.
    fn assert_judged(text: &str, expected: &Judged) {
        let actual = judge(text);
        match (&actual, expected) {
            (Judged::Refused(reason), Judged::Refused(part)) => {
                assert!(reason.contains(part), "{text:?}: {reason:?} lacks {part:?}")
            }
            _ => assert_eq!(&actual, expected, "{text:?}"),
        }
    }

    #[test]
    fn region_slash_name_becomes_region_and_instance_name() {
        assert_eq!(
            command("grant eu-west-1/web-1 from 203.0.113.7"),
            json!({"action": "grant", "region": "eu-west-1", "instanceName": "web-1", "cidrs": ["203.0.113.7"]})
        );
        assert_eq!(
            command("revoke eu-west-1/web-1 chg-1"),
            json!({"action": "revoke", "region": "eu-west-1", "instanceName": "web-1", "requestId": "chg-1"})
        );
        assert_eq!(
            command("status ap-northeast-1/db-1"),
            json!({"action": "status", "region": "ap-northeast-1", "instanceName": "db-1"})
        );
        // Only split: the command judges the parts.
        let bad = typed("grant mars-1/web-1 from 203.0.113.7").unwrap_err();
        assert_eq!(
            bad.code,
            crate::rejection::Code::RegionNotManaged,
            "{bad:?}"
        );
        let bad = typed("grant eu-west-1/ from 203.0.113.7").unwrap_err();
        assert_eq!(
            bad.code,
            crate::rejection::Code::InvalidInstanceName,
            "{bad:?}"
        );
    }

    #[test]
    fn a_full_grant_names_every_field() {
        assert_eq!(
            command(
                "grant web-1 22/tcp,8000-8100/udp for 1h from 203.0.113.7,2001:db8::7,lightsail-connect reason hotfix INC-1234"
            ),
            json!({
                "action": "grant", "instanceName": "web-1", "ports": ["22/tcp", "8000-8100/udp"],
                "cidrs": ["203.0.113.7"], "ipv6Cidrs": ["2001:db8::7"],
                "cidrListAliases": ["lightsail-connect"], "duration": "1h",
                "reason": "hotfix INC-1234"
            })
        );
        let g = grant_of(
            "grant web-1 22/tcp,8000-8100/udp for 1h from 203.0.113.7,2001:db8::7,lightsail-connect reason hotfix INC-1234",
        );
        assert_eq!(g.instance_name, "web-1");
        assert_eq!(
            g.ports,
            Some(vec![
                PortRange::new(Protocol::Tcp, 22, 22),
                PortRange::new(Protocol::Udp, 8000, 8100)
            ])
        );
        assert_eq!(g.sources.ipv4[0].to_string(), "203.0.113.7/32");
        assert_eq!(g.sources.ipv6[0].to_string(), "2001:db8::7/128");
        assert_eq!(g.sources.aliases, vec!["lightsail-connect"]);
        assert_eq!(g.duration, Some(Duration::from_secs(3600)));
        assert_eq!(g.reason.as_deref(), Some("hotfix INC-1234"));
    }

    #[test]
    fn a_minimal_grant_leaves_ports_and_duration_to_the_policy() {
        assert_eq!(
            command("grant web-1 from 203.0.113.7"),
            json!({"action": "grant", "instanceName": "web-1", "cidrs": ["203.0.113.7"]})
        );
        let g = Policy::default()
            .decide_grant(
                &grant_of("grant web-1 from 203.0.113.7"),
                crate::region::Region::US_EAST_1,
                "slack-1",
                now(),
            )
            .unwrap();
        assert_eq!(g.ports, vec![PortRange::new(Protocol::Tcp, 22, 22)]);
        assert_eq!(crate::clock::rfc3339(g.expires_at), "2026-11-23T11:00:00Z");
        assert_eq!(g.requester, "alice");
    }

    #[test]
    fn for_from_and_reason_come_in_any_order_after_the_ports() {
        let expected = json!({
            "action": "grant", "instanceName": "web-1", "ports": ["22"],
            "cidrs": ["203.0.113.7"], "duration": "30m", "reason": "deploy"
        });
        assert_eq!(
            command("grant web-1 22 for 30m from 203.0.113.7 reason deploy"),
            expected
        );
        assert_eq!(
            command("grant web-1 22 from 203.0.113.7 for 30m reason deploy"),
            expected
        );
        // `reason` eats the rest, keywords included: here it swallowed the `from`.
        let e = refusal("grant web-1 22 reason moved for a while from the old box");
        assert!(e.reason.contains("needs `from`"), "{}", e.reason);
        assert_eq!(
            command("grant web-1 from 203.0.113.7 reason moved from the old box for now")["reason"],
            "moved from the old box for now"
        );
    }

    #[test]
    fn revoke_extend_status_and_help() {
        assert_eq!(
            command("revoke web-1"),
            json!({"action": "revoke", "instanceName": "web-1"})
        );
        assert_eq!(
            command("revoke web-1 chg-1001"),
            json!({"action": "revoke", "instanceName": "web-1", "requestId": "chg-1001"})
        );
        assert_eq!(
            command("extend web-1 chg-1001 for 30m"),
            json!({"action": "extend", "instanceName": "web-1", "requestId": "chg-1001", "duration": "30m"})
        );
        assert_eq!(
            command("extend web-1 chg-1001"),
            json!({"action": "extend", "instanceName": "web-1", "requestId": "chg-1001"})
        );
        assert_eq!(command("status"), json!({"action": "status"}));
        assert_eq!(
            command("status web-1"),
            json!({"action": "status", "instanceName": "web-1"})
        );
        for text in ["help", "HELP", "", "   ", "\t\u{a0}", "help grant"] {
            assert_eq!(parse(text), Ok(SlackCommand::Help), "{text:?}");
            assert_eq!(SlackCommand::Help.to_command(), None);
        }
    }

    #[test]
    fn every_valid_form_is_the_command_it_says() {
        let revoke = typed("revoke web-1 chg-1001").unwrap();
        assert_eq!(revoke.request_id.as_deref(), Some("chg-1001"));
        let Action::Revoke(r) = revoke.action else {
            panic!("not a revoke")
        };
        assert_eq!(r.target.instance_name, "web-1");
        assert_eq!(r.grant.map(|g| g.to_string()).as_deref(), Some("chg-1001"));

        let Action::Revoke(all) = typed("revoke web-1").unwrap().action else {
            panic!("not a revoke")
        };
        assert_eq!(all.grant, None);

        let Action::Extend(e) = typed("extend web-1 chg-1001 for 1h 30m").unwrap().action else {
            panic!("not an extend")
        };
        assert_eq!(e.grant.to_string(), "chg-1001");
        assert_eq!(e.duration, Some(Duration::from_secs(5400)));

        let Action::Status(s) = typed("status web-1").unwrap().action else {
            panic!("not a status")
        };
        assert_eq!(s.instance_name.as_deref(), Some("web-1"));
        let Action::Status(every) = typed("status").unwrap().action else {
            panic!("not a status")
        };
        assert_eq!(every.instance_name, None);
    }

    #[test]
    fn keywords_match_any_ascii_case_and_values_stay_as_typed() {
        assert_eq!(
            command("GRANT Web-1 22/TCP FROM 203.0.113.7 For 2H REASON Hotfix"),
            json!({
                "action": "grant", "instanceName": "Web-1", "ports": ["22/TCP"],
                "cidrs": ["203.0.113.7"], "duration": "2H", "reason": "Hotfix"
            })
        );
        assert_eq!(
            command("Revoke web-1 CHG-1")["requestId"],
            "CHG-1",
            "a request id is a value, kept as typed"
        );
    }

    #[test]
    fn words_are_separated_by_spaces_tabs_and_no_break_spaces() {
        let plain = command("grant web-1 22 from 203.0.113.7 reason x");
        for text in [
            "  grant   web-1\t22 \t from 203.0.113.7   reason x  ",
            "grant\u{a0}web-1\u{a0}\u{a0}22\u{a0}from\u{a0}203.0.113.7\u{a0}reason\u{a0}x\u{a0}",
            "grant\u{202f}web-1\u{2007}22 from\u{202f}203.0.113.7 reason x",
        ] {
            assert_eq!(command(text), plain, "{text:?}");
        }
        assert_eq!(
            command("grant web-1 from 203.0.113.7 reason a\u{a0} b")["reason"],
            "a\u{a0} b",
            "inside a reason, every space is kept verbatim"
        );
        // Other Unicode spaces are part of the word, and the command refuses it.
        assert_judged(
            "status web-1\u{2003}",
            &Judged::Rejected(Code::InvalidInstanceName),
        );
        // The ideographic space joined `web-1` and `from`: no `from` keyword is left.
        assert_judged(
            "grant web-1\u{3000}from 203.0.113.7",
            &refused("`grant` needs `from`"),
        );
        assert_eq!(
            command("grant web-1 22\u{2003}23 from 203.0.113.7")["ports"],
            json!(["22\u{2003}23"])
        );
        // A tab inside a reason is kept too, and the command's reason rule refuses it.
        assert_judged(
            "grant web-1 from 203.0.113.7 reason a\tb",
            &Judged::Rejected(Code::InvalidReason),
        );
    }

    #[test]
    fn lists_are_comma_separated_with_optional_spaces_around_commas() {
        for text in [
            "grant web-1 22,443 from 203.0.113.7",
            "grant web-1 22, 443 from 203.0.113.7",
            "grant web-1 22 ,443 from 203.0.113.7",
            "grant web-1 22 , 443 from 203.0.113.7",
            "grant web-1 22,\u{a0}443 from 203.0.113.7",
        ] {
            assert_eq!(command(text)["ports"], json!(["22", "443"]), "{text:?}");
        }
        assert_eq!(
            command("grant web-1 from 203.0.113.7, 198.51.100.9 ,2001:db8::1")["cidrs"],
            json!(["203.0.113.7", "198.51.100.9"])
        );
        let e = refusal("grant web-1 22 443 from 203.0.113.7");
        assert_eq!(
            e.reason,
            "after \"22\", expected a comma or one of `for`, `from`, `reason`, got \"443\""
        );
        let e = refusal("grant web-1 from 203.0.113.7 resaon hotfix");
        assert_eq!(
            e.reason,
            "after \"203.0.113.7\", expected a comma or one of `for`, `from`, `reason`, got \"resaon\""
        );
        for text in [
            "grant web-1 22,,443 from 203.0.113.7",
            "grant web-1 ,22 from 203.0.113.7",
            "grant web-1 from 203.0.113.7,",
            "grant web-1 from 203.0.113.7, reason x",
            "grant web-1 from , for 1h",
        ] {
            let e = refusal(text);
            assert!(
                e.reason.contains("has an empty item"),
                "{text:?}: {}",
                e.reason
            );
            assert_eq!(e.usage, GRANT_USAGE);
        }
    }

    #[test]
    fn sources_go_to_the_field_of_their_shape() {
        assert_eq!(
            parse(
                "grant web-1 from 203.0.113.7,198.51.100.0/24,2001:db8::/64,Lightsail-Connect,example.com,1.2.3.4:22"
            ),
            Ok(SlackCommand::Grant {
                instance_name: "web-1".into(),
                ports: None,
                duration: None,
                sources: Sources {
                    cidrs: vec![
                        "203.0.113.7".into(),
                        "198.51.100.0/24".into(),
                        "example.com".into()
                    ],
                    ipv6_cidrs: vec!["2001:db8::/64".into(), "1.2.3.4:22".into()],
                    cidr_list_aliases: vec!["Lightsail-Connect".into()],
                },
                reason: None,
            })
        );
        // What is neither an address nor the alias is named by the command's validation.
        for (text, code) in [
            ("grant web-1 from example.com", Code::InvalidCidr),
            ("grant web-1 from 1.2.3.4:22", Code::InvalidCidr),
            ("grant web-1 from ::ffff:203.0.113.7", Code::InvalidCidr),
            ("grant web-1 from Lightsail-Connect", Code::InvalidAlias),
            ("grant web-1 from 127.0.0.1", Code::InvalidCidr),
        ] {
            assert_eq!(typed(text).unwrap_err().code, code, "{text}");
        }
        let e = typed("grant web-1 from example.com").unwrap_err();
        assert!(e.message.contains("`cidrs[0]`"), "{}", e.message);
        assert!(typed("grant web-1 from lightsail-connect").is_ok());
    }

    #[test]
    fn the_command_and_the_policy_judge_what_the_grammar_split() {
        for (text, expected) in [
            (
                "grant web-1 22 from 0.0.0.0/0",
                Judged::Denied(Code::SourceTooWide),
            ),
            (
                "grant web-1 22 from ::/0",
                Judged::Denied(Code::SourceTooWide),
            ),
            (
                "grant web-1 22 from 10.0.0.0/8",
                Judged::Denied(Code::SourceTooWide),
            ),
            (
                "grant web-1 80 from 203.0.113.7",
                Judged::Denied(Code::PortNotAllowed),
            ),
            (
                "grant web-1 for 13h from 203.0.113.7",
                Judged::Denied(Code::DurationTooLong),
            ),
            (
                "grant web-1 70000 from 203.0.113.7",
                Judged::Rejected(Code::InvalidPort),
            ),
            (
                "grant web-1 22/sctp from 203.0.113.7",
                Judged::Rejected(Code::InvalidPort),
            ),
            (
                "grant web-1 for soon from 203.0.113.7",
                Judged::Rejected(Code::InvalidDuration),
            ),
            (
                "grant web-1 for 0 from 203.0.113.7",
                Judged::Rejected(Code::InvalidDuration),
            ),
            (
                "extend web-1 chg-1 for -1h",
                Judged::Rejected(Code::InvalidDuration),
            ),
            (
                "grant -web from 203.0.113.7",
                Judged::Rejected(Code::InvalidInstanceName),
            ),
            (
                "revoke web-1 a/b=c",
                Judged::Accepted(
                    json!({"action": "revoke", "instanceName": "web-1", "requestId": "a/b=c"}),
                ),
            ),
            (
                "revoke web-1 chg#1",
                Judged::Rejected(Code::InvalidRequestId),
            ),
            (
                "grant web-1 22 for 1h 30m from 203.0.113.7",
                Judged::Accepted(json!({
                    "action": "grant", "instanceName": "web-1", "ports": ["22"],
                    "cidrs": ["203.0.113.7"], "duration": "1h 30m"
                })),
            ),
            (
                &format!("grant web-1 from 203.0.113.7 reason {}", "x".repeat(257)),
                Judged::Rejected(Code::InvalidReason),
            ),
        ] {
            assert_judged(text, &expected);
        }
        let g = grant_of("grant web-1 for 1h 30m from 203.0.113.7");
        assert_eq!(g.duration, Some(Duration::from_secs(5400)));
    }

    #[test]
    fn refusals_are_precise_and_carry_the_usage_of_their_form() {
        for (text, reason, usage) in [
            (
                "grant",
                "`grant` needs the instance name first",
                GRANT_USAGE,
            ),
            (
                "grant from 203.0.113.7",
                "`grant` needs the instance name first",
                GRANT_USAGE,
            ),
            (
                "grant web-1 22",
                "`grant` needs `from` and your public address (Slack does not send it)",
                GRANT_USAGE,
            ),
            (
                "grant web-1 for 1h reason x from 203.0.113.7",
                "needs `from`",
                GRANT_USAGE,
            ),
            (
                "grant web-1 from",
                "`from` needs at least one source",
                GRANT_USAGE,
            ),
            (
                "grant web-1 from for 1h",
                "`from` needs at least one source",
                GRANT_USAGE,
            ),
            (
                "grant web-1 for from 203.0.113.7",
                "`for` needs a duration",
                GRANT_USAGE,
            ),
            (
                "grant web-1 from 203.0.113.7 for",
                "`for` needs a duration",
                GRANT_USAGE,
            ),
            (
                "grant web-1 from 203.0.113.7 reason",
                "`reason` needs some text",
                GRANT_USAGE,
            ),
            (
                "grant web-1 from 203.0.113.7 reason \u{a0} \t",
                "`reason` needs some text",
                GRANT_USAGE,
            ),
            (
                "grant web-1 for 1h for 2h from 203.0.113.7",
                "`for` is given twice",
                GRANT_USAGE,
            ),
            (
                "grant web-1 from 203.0.113.7 FROM 198.51.100.9",
                "`from` is given twice",
                GRANT_USAGE,
            ),
            ("revoke", "`revoke` needs the instance name", REVOKE_USAGE),
            (
                "revoke web-1 chg-1 now",
                "unexpected \"now\": `revoke` takes an instance and, optionally",
                REVOKE_USAGE,
            ),
            (
                "revoke web-1 reason done",
                "`reason` is not part of `revoke`",
                REVOKE_USAGE,
            ),
            (
                "revoke web-1 for 1h",
                "`for` is not part of `revoke`",
                REVOKE_USAGE,
            ),
            ("extend", "`extend` needs the instance name", EXTEND_USAGE),
            (
                "extend web-1",
                "`extend` needs the grant's request id",
                EXTEND_USAGE,
            ),
            (
                "extend web-1 for 30m",
                "`extend` needs the grant's request id",
                EXTEND_USAGE,
            ),
            (
                "extend web-1 chg-1 for",
                "`for` needs a duration",
                EXTEND_USAGE,
            ),
            (
                "extend web-1 chg-1 for 1h for 2h",
                "`for` is given twice",
                EXTEND_USAGE,
            ),
            (
                "extend web-1 chg-1 30m",
                "unexpected \"30m\": `extend` takes",
                EXTEND_USAGE,
            ),
            (
                "extend web-1 chg-1 for 1h from 203.0.113.7",
                "`from` is not part of `extend`",
                EXTEND_USAGE,
            ),
            (
                "status web-1 db-1",
                "unexpected \"db-1\": `status` takes at most an instance",
                STATUS_USAGE,
            ),
            (
                "status from 203.0.113.7",
                "`from` is not part of `status`",
                STATUS_USAGE,
            ),
            (
                "open web-1",
                "\"open\" is not a /jit subcommand; the subcommands are grant, revoke, extend, status, help",
                USAGE,
            ),
        ] {
            let e = refusal(text);
            assert!(e.reason.contains(reason), "{text:?}: {:?}", e.reason);
            assert_eq!(e.usage, usage, "{text:?}");
        }
    }

    #[test]
    fn display_gives_the_reason_then_the_usage() {
        assert_eq!(
            refusal("revoke").to_string(),
            "`revoke` needs the instance name, e.g. `revoke web-1`\nUsage: /jit revoke INSTANCE [REQUEST_ID]"
        );
        let e = refusal("fly");
        assert_eq!(e.to_string(), format!("{}\nUsage:\n{USAGE}", e.reason));
        assert_eq!(
            USAGE.lines().collect::<Vec<_>>(),
            vec![
                GRANT_USAGE,
                REVOKE_USAGE,
                EXTEND_USAGE,
                STATUS_USAGE,
                HELP_USAGE
            ]
        );
    }

    #[test]
    fn help_shows_every_form_with_an_example_that_works() {
        let help = help_text();
        for usage in USAGE.lines() {
            assert!(help.contains(usage), "{usage}");
        }
        assert!(help.contains("curl https://checkip.amazonaws.com"));
        assert!(help.contains("`from` is required: Slack does not send your address"));
        assert!(
            !help.contains(['<', '>', '&']),
            "Slack would read these as markup"
        );
        assert!(!USAGE.contains(['<', '>', '&']));
        let examples: Vec<&str> = help
            .lines()
            .filter_map(|line| line.split("e.g. `/jit ").nth(1))
            .filter_map(|rest| rest.split('`').next())
            .collect();
        assert_eq!(examples.len(), 4, "{examples:?}");
        for (example, action) in examples.iter().zip(["grant", "revoke", "extend", "status"]) {
            let command = typed(example).unwrap();
            assert_eq!(command.action.name(), action, "{example}");
        }
        let Action::Grant(g) = typed(examples[0]).unwrap().action else {
            panic!("not a grant")
        };
        assert!(
            Policy::default()
                .decide_grant(&g, crate::region::Region::US_EAST_1, "slack-1", now())
                .is_ok()
        );
    }

    #[test]
    fn the_length_limit_comes_before_anything_else() {
        let padded = |len: usize| {
            let head = "grant web-1 from 203.0.113.7 reason ";
            format!("{head}{}", "x".repeat(len - head.len()))
        };
        assert!(parse(&padded(MAX_TEXT_BYTES)).is_ok());
        let e = refusal(&padded(MAX_TEXT_BYTES + 1));
        assert_eq!(
            e.reason,
            "the text is 4001 bytes; a /jit command is at most 4000 bytes"
        );
        let ten_kb = format!("grant web-1 from 203.0.113.7\nreason {}", "é".repeat(5000));
        let e = refusal(&ten_kb);
        assert!(
            e.reason.starts_with("the text is 10036 bytes"),
            "{}",
            e.reason
        );
        assert_eq!(e.usage, USAGE);
    }

    #[test]
    fn line_breaks_and_control_characters_are_refused() {
        for (text, reason) in [
            (
                "grant web-1 from 203.0.113.7\nreason x",
                "the text has a line break (U+000A) at character 29; put the whole command on one line",
            ),
            (
                "status web-1\r\n",
                "the text has a line break (U+000D) at character 13",
            ),
            (
                "status\u{2028}web-1",
                "the text has a line break (U+2028) at character 7",
            ),
            ("status web-1\u{2029}", "the text has a line break (U+2029)"),
            (
                "status web\u{0}-1",
                "the text has the control character U+0000 at character 11; remove it",
            ),
            (
                "grant web-1 from 203.0.113.7 reason \u{1b}[31mred",
                "control character U+001B",
            ),
            ("status web-1\u{7}", "control character U+0007"),
            ("status web-1\u{7f}", "control character U+007F"),
            ("status web-1\u{85}", "control character U+0085"),
        ] {
            let e = refusal(text);
            assert!(e.reason.contains(reason), "{text:?}: {:?}", e.reason);
            assert_eq!(e.usage, USAGE);
        }
    }

    /// Hostile text, each judged by the grammar, then the command, then the policy.
    #[test]
    fn hostile_corpus() {
        let corpus: Vec<(&str, Judged)> = vec![
            // Look-alike letters: not keywords, and the refusal points at them.
            (
                "ｇｒａｎｔ web-1 from 203.0.113.7",
                refused("(it contains U+FF47, which is not an ASCII letter or digit)"),
            ),
            (
                "grаnt web-1 from 203.0.113.7",
                refused("\"grаnt\" is not a /jit subcommand (it contains U+0430"),
            ),
            ("rеvoke web-1", refused("(it contains U+0435")),
            (
                "gr\u{200b}ant web-1 from 203.0.113.7",
                refused("(it contains U+200B"),
            ),
            (
                "grant web-1 from 203.0.113.7 rеason x",
                refused("got \"rеason\" (it contains U+0435"),
            ),
            (
                "grant web-1 ｆｒｏｍ 203.0.113.7",
                refused("expected a comma or one of"),
            ),
            // Look-alikes in values land in a field, where the command refuses them.
            (
                "grant web-1 ２２ from 203.0.113.7",
                Judged::Rejected(Code::InvalidPort),
            ),
            (
                "grant web-1 ٢٢ from 203.0.113.7",
                Judged::Rejected(Code::InvalidPort),
            ),
            (
                "grant web-1 2２ from 203.0.113.7",
                Judged::Rejected(Code::InvalidPort),
            ),
            (
                "grant web-1 22/tсp from 203.0.113.7",
                Judged::Rejected(Code::InvalidPort),
            ),
            (
                "grant web-1 from ２03.0.113.7",
                Judged::Rejected(Code::InvalidCidr),
            ),
            (
                "grant web-1 from 203.0.113.7/２4",
                Judged::Rejected(Code::InvalidCidr),
            ),
            (
                "grant wеb-1 from 203.0.113.7",
                Judged::Rejected(Code::InvalidInstanceName),
            ),
            (
                "grant web-1 for １h from 203.0.113.7",
                Judged::Rejected(Code::InvalidDuration),
            ),
            (
                "grant web-1 from lightsail‐connect",
                Judged::Rejected(Code::InvalidCidr),
            ),
            // Shell metacharacters are data: a field's validation refuses them...
            (
                "grant web-1 from $(curl evil.example)",
                refused("after \"$(curl\", expected a comma"),
            ),
            (
                "grant web-1 from $(id)",
                Judged::Rejected(Code::InvalidCidr),
            ),
            ("grant web-1 from `id`", Judged::Rejected(Code::InvalidCidr)),
            (
                "grant web-1 from 203.0.113.7;id",
                Judged::Rejected(Code::InvalidCidr),
            ),
            (
                "grant web-1 from 203.0.113.7|sh",
                Judged::Rejected(Code::InvalidCidr),
            ),
            (
                "grant web-1;reboot from 203.0.113.7",
                Judged::Rejected(Code::InvalidInstanceName),
            ),
            (
                "grant $(hostname) from 203.0.113.7",
                Judged::Rejected(Code::InvalidInstanceName),
            ),
            (
                "grant web-1 22|nc from 203.0.113.7",
                Judged::Rejected(Code::InvalidPort),
            ),
            (
                "grant web-1 22&&id from 203.0.113.7",
                Judged::Rejected(Code::InvalidPort),
            ),
            (
                "grant web-1 for `sleep 9` from 203.0.113.7",
                Judged::Rejected(Code::InvalidDuration),
            ),
            (
                "revoke web-1 $(id)",
                Judged::Rejected(Code::InvalidRequestId),
            ),
            ("status `id`", Judged::Rejected(Code::InvalidInstanceName)),
            (
                "status web-1|cat",
                Judged::Rejected(Code::InvalidInstanceName),
            ),
            // A `/` splits off a Region: `..` is none.
            (
                "status ../../etc/passwd",
                Judged::Rejected(Code::RegionNotManaged),
            ),
            (
                "status eu-west-1/../etc/passwd",
                Judged::Rejected(Code::InvalidInstanceName),
            ),
            // ...and a reason keeps them verbatim, for the audit log to show.
            (
                "grant web-1 from 203.0.113.7 reason $(rm -rf /); `id` | tee > /dev/null && echo '\"ok\"'",
                Judged::Accepted(json!({
                    "action": "grant", "instanceName": "web-1", "cidrs": ["203.0.113.7"],
                    "reason": "$(rm -rf /); `id` | tee > /dev/null && echo '\"ok\"'"
                })),
            ),
            (
                "grant web-1 from 203.0.113.7 reason \u{202e}txt.exe",
                Judged::Rejected(Code::InvalidReason),
            ),
            (
                "grant web-1 from 203.0.113.7 reason a\u{200b}b",
                Judged::Rejected(Code::InvalidReason),
            ),
            // Markup and JSON are text too.
            (
                "grant web-1 from 203.0.113.7 reason <!channel> &lt;@U123&gt;",
                Judged::Accepted(json!({
                    "action": "grant", "instanceName": "web-1", "cidrs": ["203.0.113.7"],
                    "reason": "<!channel> &lt;@U123&gt;"
                })),
            ),
            (
                "grant web-1 {\"protocol\":\"tcp\",\"fromPort\":0,\"toPort\":65535} from 203.0.113.7",
                Judged::Rejected(Code::InvalidPort),
            ),
            (
                "grant web-1 [\"all\"] from 203.0.113.7",
                Judged::Rejected(Code::InvalidPort),
            ),
            (
                "grant web-1 all from 203.0.113.7",
                Judged::Denied(Code::PortNotAllowed),
            ),
            (
                "grant web-1 from 203.0.113.7 for 1h dryRun=true",
                Judged::Rejected(Code::InvalidDuration),
            ),
        ];
        for (text, expected) in &corpus {
            assert_judged(text, expected);
        }
    }

    #[test]
    fn the_requester_cannot_be_forged() {
        let reason = |text: &str| command(text)["reason"].clone();
        assert_eq!(
            reason("grant web-1 from 203.0.113.7 reason x requester=bob"),
            "x requester=bob"
        );
        assert_eq!(
            reason(r#"grant web-1 from 203.0.113.7 reason x","requester":"bob"#),
            r#"x","requester":"bob"#
        );
        assert_eq!(
            reason(
                r#"grant web-1 from 203.0.113.7 reason x"} {"action":"grant","requester":"bob"}"#
            ),
            r#"x"} {"action":"grant","requester":"bob"}"#
        );
        assert_eq!(
            reason("grant web-1 from 203.0.113.7 reason requester bob requestId chg-1"),
            "requester bob requestId chg-1"
        );
        for (text, expected) in [
            (
                "grant web-1 from 203.0.113.7 requester bob",
                refused("got \"requester\""),
            ),
            (
                "grant web-1 from 203.0.113.7 --requester=bob",
                refused("got \"--requester=bob\""),
            ),
            (
                "grant web-1 from 203.0.113.7 requestId chg-1",
                refused("got \"requestId\""),
            ),
            (
                "grant web-1 from 203.0.113.7,requester=bob",
                Judged::Rejected(Code::InvalidCidr),
            ),
            (
                "grant requester=bob from 203.0.113.7",
                Judged::Rejected(Code::InvalidInstanceName),
            ),
            (
                "grant web-1 requester:bob from 203.0.113.7",
                Judged::Rejected(Code::InvalidPort),
            ),
            (
                "grant web-1 {\"requester\":\"bob\"} from 203.0.113.7",
                Judged::Rejected(Code::InvalidPort),
            ),
            (
                "grant web-1 for 1h&requester=bob from 203.0.113.7",
                Judged::Rejected(Code::InvalidDuration),
            ),
            (
                "grant web-1 from 203.0.113.7 reason x requester=bob",
                Judged::Accepted(json!({
                    "action": "grant", "instanceName": "web-1", "cidrs": ["203.0.113.7"],
                    "reason": "x requester=bob"
                })),
            ),
            // In a revoke the second word is a request id: the grant to end, not a person.
            (
                "revoke web-1 requester=bob",
                Judged::Accepted(json!({
                    "action": "revoke", "instanceName": "web-1", "requestId": "requester=bob"
                })),
            ),
            (
                "revoke web-1 chg-1 requester=bob",
                refused("unexpected \"requester=bob\""),
            ),
            (
                "extend web-1 chg-1 for 1h requester bob",
                Judged::Rejected(Code::InvalidDuration),
            ),
            (
                "status web-1 requester=bob",
                refused("unexpected \"requester=bob\""),
            ),
        ] {
            assert_judged(text, &expected);
        }
    }

    /// Every field a form may emit; anything else would be the text setting a field.
    fn emittable(action: &str) -> &'static [&'static str] {
        match action {
            "grant" => &[
                "action",
                "instanceName",
                "ports",
                "cidrs",
                "ipv6Cidrs",
                "cidrListAliases",
                "duration",
                "reason",
            ],
            "revoke" => &["action", "instanceName", "requestId"],
            "extend" => &["action", "instanceName", "requestId", "duration"],
            "status" => &["action", "instanceName"],
            other => panic!("unexpected action {other}"),
        }
    }

    fn words_of_a_hostile_text() -> impl Strategy<Value = String> {
        let pieces = prop::sample::select(vec![
            "grant",
            "revoke",
            "extend",
            "status",
            "help",
            "for",
            "FROM",
            "reason",
            "requester",
            "requester=bob",
            "requestId",
            "issuedAt",
            "dryRun",
            "replyTo",
            "\"requester\":\"bob\"",
            "{",
            "}",
            ",",
            ":",
            "=",
            " ",
            "  ",
            "\t",
            "\u{a0}",
            "web-1",
            "203.0.113.7",
            "::1",
            "22",
            "1h",
            "lightsail-connect",
            "ｆｏｒ",
            "\n",
            "$(id)",
        ]);
        prop::collection::vec(pieces, 0..24).prop_map(|pieces| pieces.join(" "))
    }

    proptest! {
        #[test]
        fn no_text_sets_a_field_its_form_does_not_emit(
            text in prop_oneof![words_of_a_hostile_text(), any::<String>()]
        ) {
            if let Some(command) = parse(&text).ok().and_then(|c| c.to_command()) {
                let object = command.as_object().unwrap();
                let action = object["action"].as_str().unwrap();
                for field in object.keys() {
                    prop_assert!(emittable(action).contains(&field.as_str()), "{text:?} set {field}");
                }
                if let Ok(typed) = Command::from_json(&as_the_caller_sends(command.clone())) {
                    let expected = (action != "status").then_some("alice");
                    prop_assert_eq!(typed.action.requester(), expected);
                    prop_assert!(!typed.dry_run);
                }
            }
        }
    }
}
