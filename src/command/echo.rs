//! What can still be read of a command that was refused: enough to tell its sender why.
//!
//! A rejected grant must reach the thread it came from ("port 23 is not allowed"), so
//! its rejection event carries the command's `replyTo`, `requestId`, `instanceName`, `region`,
//! `requester` and `action` — each only if it is valid on its own. Nothing here decides
//! anything: a field that does not validate is simply not echoed.

use serde_json::Value;

use super::ActionName;
use super::validate::{validate_instance_name, validate_request_id, validate_requester};
use crate::ledger::ReplyTo;
use crate::region::Region;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Echo {
    pub request_id: Option<String>,
    pub instance_name: Option<String>,
    /// The command's `region`, when it is a Lightsail Region.
    pub region: Option<Region>,
    pub requester: Option<String>,
    pub reply_to: Option<ReplyTo>,
    pub action: Option<String>,
}

impl Echo {
    /// The valid fields of `command` (anything, as received).
    pub fn read(command: &Value) -> Echo {
        let text = |name: &str| command.get(name).and_then(Value::as_str);
        // An instance is its Region and name: with a `region` that cannot be read, which
        // instance the command meant is unknown (it is not the home Region's).
        let region = command.get("region").filter(|r| !r.is_null());
        let region = region.map(|r| r.as_str().and_then(Region::parse));
        Echo {
            request_id: text("requestId").and_then(|id| validate_request_id(id).ok()),
            instance_name: text("instanceName")
                .filter(|_| !matches!(region, Some(None)))
                .and_then(|n| validate_instance_name(n).ok()),
            region: region.flatten(),
            requester: text("requester").and_then(|who| validate_requester(who).ok()),
            reply_to: command
                .get("replyTo")
                .and_then(|v| ReplyTo::from_value(v).ok()),
            action: text("action")
                .filter(|a| a.parse::<ActionName>().is_ok())
                .map(str::to_string),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn valid_fields_are_echoed_and_invalid_ones_dropped() {
        let echo = Echo::read(&json!({
            "action": "grant", "requestId": "chg-1", "instanceName": "web-1", "region": "eu-west-1",
            "requester": "alice", "replyTo": {"channel": "C1"}, "ports": ["99999"]
        }));
        assert_eq!(echo.request_id.as_deref(), Some("chg-1"));
        assert_eq!(echo.instance_name.as_deref(), Some("web-1"));
        assert_eq!(echo.region.map(Region::as_str), Some("eu-west-1"));
        assert_eq!(echo.requester.as_deref(), Some("alice"));
        assert_eq!(echo.reply_to.unwrap().text(), r#"{"channel":"C1"}"#);
        assert_eq!(echo.action.as_deref(), Some("grant"));
        let bad = Echo::read(&json!({
            "action": "explode", "requestId": "has space", "instanceName": "bad name!", "region": "mars-1",
            "requester": "\u{0007}", "replyTo": "C1"
        }));
        assert_eq!(bad, Echo::default());
        assert_eq!(Echo::read(&json!([1, 2])), Echo::default());
        let elsewhere = Echo::read(&json!({"instanceName": "web-1", "region": "mars-1"}));
        assert_eq!(elsewhere.instance_name, None, "not the home Region's web-1");
        let home = Echo::read(&json!({"instanceName": "web-1", "region": null}));
        assert_eq!(home.instance_name.as_deref(), Some("web-1"));
    }
}
