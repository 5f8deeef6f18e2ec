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
                put("instanceName", instance_name.as_str().into());
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
                put("instanceName", instance_name.as_str().into());
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
                put("instanceName", instance_name.as_str().into());
                put("requestId", request_id.as_str().into());
                if let Some(duration) = duration {
                    put("duration", duration.as_str().into());
                }
            }
            SlackCommand::Status { instance_name } => {
                put("action", action(ActionName::Status));
                if let Some(instance_name) = instance_name {
                    put("instanceName", instance_name.as_str().into());
                }
            }
            SlackCommand::Help => return None,
        }
        Some(Value::Object(command))
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

