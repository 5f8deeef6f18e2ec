#!/usr/bin/env python3
"""Assert the security and operational properties of template.yaml, so that a later edit
cannot silently widen the function's authority or break its wiring.

    python scripts/check_template.py [TEMPLATE]        # default: template.yaml
    python scripts/check_template.py --self-test [TEMPLATE]
    python scripts/check_template.py --translated CFN.json   # the SAM transform's output

Prints one line per check and ends with "N passed, M failed"; exits 1 on any failure.
--self-test applies mutations (wildcard actions, a dropped tag condition, a shorter
visibility timeout, ...) to copies of the template and asserts that every one of them is
caught, so no check here is vacuous; the mutations themselves are in
scripts/template_mutations.py.

Some checks also read the sample events under events/ (the repository's, whatever
template is checked): the command rule's pattern is held against every command sample
(must match) and every outcome sample in events/outcomes/ (must not: no event loop), and
the outcome rules' input transformers are rendered on each outcome sample the way
EventBridge renders them. Both use a small, independent event-pattern matcher and
template renderer below, limited to what the template uses; an operator or syntax they
do not implement fails the check instead of being guessed at.

The Lightsail statements' Resource and Condition are built from the ManagedRegions
parameter with conditions (Fn::If, Fn::Join, Fn::Split, Fn::Sub); a small evaluator of
those intrinsics below resolves them for a range of parameter values, and the checks hold
the resolved ARNs and Regions, not the expressions, against what they must be.

Parsing uses cfn-lint's own YAML loader (understands !Ref, !GetAtt, !Sub, ...); without
cfn-lint installed, PyYAML with equivalent constructors is used.
"""

import copy
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from template_mutations import MUTATIONS, TEXT_MUTATIONS  # noqa: E402  (this directory)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# What the code calls, exactly (src/lightsail/aws.rs).
LIGHTSAIL_READS = {"lightsail:GetInstance", "lightsail:GetInstances"}
LIGHTSAIL_FIREWALL_WRITES = {"lightsail:OpenInstancePublicPorts", "lightsail:PutInstancePublicPorts"}
LIGHTSAIL_TAG_WRITES = {"lightsail:TagResource", "lightsail:UntagResource"}
LIGHTSAIL_WRITES = LIGHTSAIL_FIREWALL_WRITES | LIGHTSAIL_TAG_WRITES
LIGHTSAIL_ACTIONS = LIGHTSAIL_READS | LIGHTSAIL_WRITES
# Every Region Lightsail serves: the function's list (src/region.rs LIGHTSAIL_REGIONS,
# aws-sdk-lightsail's RegionName), compared with that file whenever it is present.
LIGHTSAIL_REGIONS = ["ap-east-1", "ap-northeast-1", "ap-northeast-2", "ap-south-1", "ap-southeast-1",
                     "ap-southeast-2", "ap-southeast-3", "ap-southeast-5", "ca-central-1", "eu-central-1",
                     "eu-north-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3", "sa-east-1",
                     "us-east-1", "us-east-2", "us-west-1", "us-west-2"]
REGION_SOURCE = os.path.join(ROOT, "src", "region.rs")
REGIONS_PARAM = "ManagedRegions"
REQUESTED_REGION = "aws:RequestedRegion"
# The stack the Lightsail statements are evaluated for: (stack Region, ManagedRegions).
# Each Lightsail Region alone (every Manages* condition and its ARN), several at once,
# spaces (CloudFormation trims each item), a trailing comma, neighbours by prefix
# (ap-south-1 / ap-southeast-1), and empty: the stack's own Region, Lightsail's or not.
EVAL_ACCOUNT = "123456789012"
EVAL_PARTITION = "aws"
REGION_SCENARIOS = ([("us-east-1", r) for r in LIGHTSAIL_REGIONS] + [
    ("us-east-1", ""), ("eu-west-3", ""), ("ap-northeast-3", ""), ("us-east-1", ","),
    ("us-east-1", "us-east-1,eu-west-1,ap-northeast-1"), ("eu-west-3", "us-east-1,eu-west-1,ap-northeast-1"),
    ("us-east-1", " us-east-1 , eu-west-1 "), ("us-east-1", "eu-west-1,"), ("us-east-1", "ap-south-1"),
    ("us-east-1", "ap-southeast-1,ap-south-1"), ("us-east-1", ",".join(LIGHTSAIL_REGIONS)),
])
NOT_LIGHTSAIL_REGIONS = ["ap-northeast-3", "us-gov-west-1", "cn-north-1", "*", "us-east-*", "eu-west-1,x",
                         "EU-WEST-1", "eu-west-1x", "xeu-west-1", "${AWS::Region}"]
OPT_IN_TAG = "jit:managed"
ALLOWED_TAG_KEY_PATTERNS = {"jit:grant:*", "jit:baseline*", "jit:lockdown", "jit:lockdown:reason", "jit:reply:*",
                            "jit:end:*"}
# Keys the ledger writes (README "The ledger"): each must be allowed by some pattern.
# jit:reply:<i>:<requestId> holds a grant's replyTo (base64 in chunks, i = 0..5);
# jit:end:<requestId> marks a grant ended early by a revoke or a lockdown.
LEDGER_KEYS = ["jit:grant:chg-1001", "jit:baseline", "jit:baseline:0", "jit:baseline:12",
               "jit:lockdown", "jit:lockdown:reason", "jit:reply:0:chg-1001", "jit:reply:5:chg-1001",
               "jit:end:chg-1001"]
# Keys no pattern may allow: the opt-in tag and anything beside the lockdown and reply records.
NOT_LEDGER_KEYS = ["jit:lockdownx", "jit:lockdown:other", "jit:lockdowns", "jit:replyx", "jit:reply",
                   "jit:rep", "jit:endx", "jit:end", "jit:managed"]
LAMBDA_BINARY = "lightsail-jit"
SLACK_SIGNING_PARAM = "SlackSigningSecretArn"
# src/slack/serve.rs DEFERRED_COMMAND: the detail type of a slash command handed on.
DEFERRED_COMMAND = "JIT Command"
# The scheduled lockdown, with LockdownDuration at its default: timed (so it ends by
# itself) and keyed by the scheduled time (so a retried delivery is the same lockdown).
LOCKDOWN_INPUT = {"action": "lockdown", "requestId": "lockdown-<aws.scheduler.scheduled-time>",
                  "duration": "9h", "requester": "scheduled-lockdown", "reason": "scheduled lockdown"}

# Outcome events (issue #12): the function publishes every decision on the JIT bus with
# this source; JIT_EVENT_BUS names the bus.
EVENT_SOURCE = "lightsail-jit"
EVENT_BUS_ENV = "JIT_EVENT_BUS"
# Every command action the handler knows; the command rule must take exactly these.
COMMAND_ACTIONS = {"grant", "revoke", "extend", "sweep", "lockdown", "unlock", "status"}
# One sample per detail type under events/outcomes/, and the detail keys each carries.
OUTCOME_SAMPLES = {
    "granted.json": "JIT Access Granted", "rejected.json": "JIT Access Rejected",
    "revoked.json": "JIT Access Revoked", "extended.json": "JIT Access Extended",
    "expiring.json": "JIT Access Expiring", "expired.json": "JIT Access Expired",
    "lockdown-started.json": "JIT Lockdown Started", "lockdown-ended.json": "JIT Lockdown Ended",
}
OUTCOME_DETAIL_KEYS = {"eventId", "summary", "requestId", "region", "instanceName", "requester", "rules",
                       "sources", "expiresAt", "reason", "replyTo"}
OUTCOME_EXTRA_KEYS = {
    "JIT Access Granted": {"breakGlass", "cappedBy"}, "JIT Access Rejected": {"error", "command"},
    "JIT Access Revoked": {"endedBy", "revokedBy"}, "JIT Access Extended": set(),
    "JIT Access Expiring": set(), "JIT Access Expired": set(),
    "JIT Lockdown Started": {"until"}, "JIT Lockdown Ended": {"until", "endedBy"},
}
EVENT_ENVELOPE_KEYS = {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
REPLY_TO_MAX_BYTES = 1024
# The function's default maxCommandAge (src/policy/freshness.rs): a grant or extend older
# than this is refused (CommandExpired), so the command rule must not retry longer.
MAX_COMMAND_AGE_SECONDS = 15 * 60
# How a plain command sample (events/*.json with an action) reaches the bus from a bot.
CHATOPS_ENVELOPE = {"version": "0", "id": "00000000-0000-4000-8000-000000000000", "detail-type": "JitAccessRequest",
                    "source": "chatops.slack", "account": "123456789012", "time": "2026-11-23T10:00:00Z",
                    "region": "us-east-1", "resources": []}
SLACK_ENDPOINT = "https://slack.com/api/chat.postMessage"
SLACK_TOKEN_PARAM = "SlackBotToken"
SLACK_CHANNEL_PARAM = "SlackDefaultChannel"
SLACK_SAMPLE_DEFAULT_CHANNEL = "C0DEFAULT1"  # stands in for SlackDefaultChannel when rendering
CHATBOT_PARAM = "ChatbotNotifications"
OUTCOME_TARGET_TYPES = {"AWS::Events::ApiDestination", "AWS::SNS::Topic"}
# A summary must not hold a raw < or >: Slack would read <!channel> or <@U123> in a reason
# as a mention (the function escapes them as &lt; &gt;).
SUMMARY_FORBIDDEN = re.compile(r"[<>]")
# What a summary may hold all the same (rejections quote user text as "..."): every
# outcome rule must render it exactly, whether or not EventBridge escapes strings.
HOSTILE_SUMMARY = 'grant on web-1 rejected: UnknownField: "po\\rts" is not a field of `grant` {x: [1]}, 100%\u00e9'
NOT_PUBLISHED_FIELD = "eventNotPublished"


# --------------------------------------------------------------------------- loading

def load(path):
    try:
        from cfnlint.decode.cfn_yaml import load as cfn_load
    except ImportError:  # pragma: no cover - fallback without cfn-lint
        return _load_pyyaml(path)
    return cfn_load(path)


def _load_pyyaml(path):
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def intrinsic(loader, suffix, node):
        name = "Ref" if suffix == "Ref" else "Fn::" + suffix
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if suffix == "GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}

    Loader.add_multi_constructor("!", intrinsic)
    with open(path) as f:
        return yaml.load(f, Loader=Loader)


# --------------------------------------------------------------------------- helpers

def as_list(value):
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def getatt(value):
    """(resource, attribute) of a !GetAtt, else None."""
    if isinstance(value, dict) and list(value) == ["Fn::GetAtt"]:
        target = value["Fn::GetAtt"]
        if isinstance(target, str):
            target = target.split(".", 1)
        return tuple(target)
    return None


def ref(value):
    if isinstance(value, dict) and list(value) == ["Ref"]:
        return value["Ref"]
    return None


def sub_string(value):
    if isinstance(value, dict) and list(value) == ["Fn::Sub"]:
        body = value["Fn::Sub"]
        return body if isinstance(body, str) else body[0]
    return None


def iam_like(pattern, text):
    """IAM StringLike: * is any sequence, ? one character, case-sensitive."""
    rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, text, re.S) is not None


def is_false(value):
    return value is False or str(value).lower() == "false"


def doc_statements(doc):
    """(condition, statement) for each statement of a policy document: a statement
    written as !If [Cond, {...}, !Ref AWS::NoValue] counts, under Cond."""
    out = []
    for st in as_list((doc or {}).get("Statement")):
        if isinstance(st, dict) and list(st) == ["Fn::If"]:
            cond, yes, no = st["Fn::If"]
            for branch, c in ((yes, cond), (no, f"!{cond}")):
                if isinstance(branch, dict) and ref(branch) != "AWS::NoValue":
                    out.append((c, branch))
        elif isinstance(st, dict):
            out.append((None, st))
    return out


def load_samples():
    """Every JSON file under events/ (relative path -> parsed JSON)."""
    out = {}
    base = os.path.join(ROOT, "events")
    for dirpath, _, files in sorted(os.walk(base)):
        for f in sorted(files):
            if f.endswith(".json"):
                path = os.path.join(dirpath, f)
                with open(path) as fh:
                    out[os.path.relpath(path, ROOT).replace(os.sep, "/")] = json.load(fh)
    return out


class Template:
    def __init__(self, data):
        self.t = data
        self.resources = data.get("Resources") or {}
        self.params = data.get("Parameters") or {}
        self.conditions = data.get("Conditions") or {}
        self._samples = None

    @property
    def samples(self):
        """The repository's sample events, loaded once per Template (mutations may edit them)."""
        if self._samples is None:
            self._samples = load_samples()
        return self._samples

    def of_type(self, *types):
        return {k: v for k, v in self.resources.items() if v.get("Type") in types}

    def props(self, name):
        return self.resources[name].get("Properties") or {}

    def globals_function(self):
        return ((self.t.get("Globals") or {}).get("Function")) or {}

    def function(self):
        fns = {k: v for k, v in self.of_type("AWS::Serverless::Function").items()
               if ((v.get("Metadata") or {}).get("BuildProperties") or {}).get("Binary") == LAMBDA_BINARY}
        assert len(fns) == 1, f"expected one AWS::Serverless::Function building {LAMBDA_BINARY}, found {sorted(fns)}"
        return next(iter(fns.items()))

    def fn_prop(self, key):
        name, res = self.function()
        props = res.get("Properties") or {}
        return props[key] if key in props else self.globals_function().get(key)

    def events(self, kind):
        name, res = self.function()
        evs = (res.get("Properties") or {}).get("Events") or {}
        return {k: v.get("Properties") or {} for k, v in evs.items() if v.get("Type") == kind}

    def param_default(self, value):
        name = ref(value)
        if name and name in self.params:
            return self.params[name].get("Default")
        return value

    def statements(self):
        """Every statement of every policy document in the template, with its owner."""
        out = []

        def walk(node, owner, path):
            if isinstance(node, dict):
                if "Statement" in node and isinstance(node["Statement"], (list, dict)):
                    for cond, st in doc_statements(node):
                        out.append((owner, path if cond is None else f"{path}[if {cond}]", st))
                for k, v in node.items():
                    if k != "Statement":
                        walk(v, owner, f"{path}.{k}")
            elif isinstance(node, list):
                for i, v in enumerate(node):
                    walk(v, owner, f"{path}[{i}]")

        for name, res in self.resources.items():
            walk(res.get("Properties") or {}, name, name)
        return out

    def function_role(self):
        fn_name, _ = self.function()
        role = getatt(self.fn_prop("Role"))
        assert role and role[1] == "Arn", f"{fn_name}.Role must be !GetAtt <role>.Arn (an explicit role)"
        assert role[0] in self.of_type("AWS::IAM::Role"), f"{fn_name}.Role: {role[0]} is not an AWS::IAM::Role here"
        return role[0]

    def function_statements(self):
        """Statements of the function's execution role (its whole authority)."""
        role = self.function_role()
        fn_name, _ = self.function()
        return [st for owner, path, st in self.statements()
                if (owner == role and ".Policies" in path) or owner == fn_name and ".Policies" in path]


def actions(st):
    return [str(a) for a in as_list(st.get("Action"))]


def lower_set(items):
    return {str(i).lower() for i in items}


# --------------------------------------------------------------------------- intrinsics
# What CloudFormation would make of an expression, for given parameter values: Ref
# (parameters, pseudo parameters, AWS::NoValue), Fn::If and the condition functions,
# Fn::Join, Fn::Split, Fn::Select, Fn::Sub. A delimiter or Sub string that is not a
# literal, like anything else, raises Unresolvable (CloudFormation refuses those too).

class Unresolvable(ValueError):
    pass


_NO_VALUE = object()


def code_regions():
    """LIGHTSAIL_REGIONS as src/region.rs lists them, or None without that file."""
    if not os.path.exists(REGION_SOURCE):
        return None
    with open(REGION_SOURCE) as f:
        m = re.search(r"LIGHTSAIL_REGIONS\s*:\s*&\[&str\]\s*=\s*&\[(.*?)\];", f.read(), re.S)
    assert m, f"{REGION_SOURCE}: no LIGHTSAIL_REGIONS list"
    return re.findall(r'"([^"]*)"', m.group(1))


class Stack:
    """One deployment of the template: its Region and parameter values (else defaults)."""

    def __init__(self, t, region, values):
        self.t = t
        self.pseudo = {"AWS::Region": region, "AWS::AccountId": EVAL_ACCOUNT, "AWS::Partition": EVAL_PARTITION,
                       "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": "lightsail-jit"}
        self.values = values
        self._conditions = {}

    def param(self, name):
        if name in self.pseudo:
            return self.pseudo[name]
        if name not in self.t.params:
            raise Unresolvable(f"Ref {name} (not a parameter)")
        p = self.t.params[name]
        raw = str(self.values.get(name, p.get("Default", "")))
        if p.get("Type") == "CommaDelimitedList":
            return [item.strip() for item in raw.split(",")]
        return raw

    def condition(self, name):
        if name not in self._conditions:
            if name not in self.t.conditions:
                raise Unresolvable(f"condition {name} is not defined")
            self._conditions[name] = None  # a cycle resolves to an error below
            self._conditions[name] = self.truth(self.t.conditions[name])
        if self._conditions[name] is None:
            raise Unresolvable(f"condition {name} refers to itself")
        return self._conditions[name]

    def truth(self, node):
        (fn, arg), = node.items() if isinstance(node, dict) and len(node) == 1 else [(None, node)]
        if fn == "Condition":
            return self.condition(arg)
        if fn == "Fn::Equals":
            a, b = (self.string(x) for x in arg)
            return a == b
        if fn == "Fn::Not":
            return not self.truth(arg[0])
        if fn == "Fn::And":
            return all(self.truth(x) for x in arg)
        if fn == "Fn::Or":
            return any(self.truth(x) for x in arg)
        raise Unresolvable(f"condition function {node!r}")

    def string(self, node):
        v = self.value(node)
        if isinstance(v, bool):
            return str(v).lower()
        if not isinstance(v, (str, int, float)):
            raise Unresolvable(f"{node!r} is not a string: {v!r}")
        return str(v)

    def strings(self, node):
        v = self.value(node)
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise Unresolvable(f"{node!r} is not a list of strings: {v!r}")
        return v

    def value(self, node):
        if isinstance(node, list):
            return [v for v in (self.value(x) for x in node) if v is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) != 1 or not (list(node)[0] == "Ref" or list(node)[0].startswith("Fn::")):
            return {k: v for k, v in ((k, self.value(v)) for k, v in node.items()) if v is not _NO_VALUE}
        (fn, arg), = node.items()
        if fn == "Ref":
            return _NO_VALUE if arg == "AWS::NoValue" else self.param(arg)
        if fn == "Fn::If":
            cond, yes, no = arg
            return self.value(yes if self.condition(cond) else no)
        if fn == "Fn::Join":
            delimiter, items = arg
            if not isinstance(delimiter, str):
                raise Unresolvable(f"Fn::Join delimiter {delimiter!r} is not a literal string")
            return delimiter.join(self.strings(items))
        if fn == "Fn::Split":
            delimiter, text = arg
            if not isinstance(delimiter, str) or not delimiter:
                raise Unresolvable(f"Fn::Split delimiter {delimiter!r} is not a literal string")
            return self.string(text).split(delimiter)
        if fn == "Fn::Select":
            index, items = arg
            items = self.value(items)
            i = int(self.string(index))
            if not isinstance(items, list) or not 0 <= i < len(items):
                raise Unresolvable(f"Fn::Select {i} of {items!r}")
            return items[i]
        if fn == "Fn::Sub":
            body, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
            if not isinstance(body, str):
                raise Unresolvable(f"Fn::Sub string {body!r} is not a literal string")
            variables = {k: self.string(v) for k, v in variables.items()}

            def sub(m):
                name = m.group(1)
                if name.startswith("!"):
                    return "${" + name[1:] + "}"
                if name in variables:
                    return variables[name]
                v = self.param(name)
                if not isinstance(v, str):
                    raise Unresolvable(f"Fn::Sub ${{{name}}} is a list")
                return v
            return re.sub(r"\$\{([^}]*)\}", sub, body)
        raise Unresolvable(f"{fn} is not modelled")


def expected_regions(stack):
    """The Regions the function may reach in that stack: ManagedRegions, else its own."""
    return [r for r in stack.param(REGIONS_PARAM) if r] or [stack.pseudo["AWS::Region"]]


def instance_arn(stack, region):
    return f"arn:{EVAL_PARTITION}:lightsail:{region}:{EVAL_ACCOUNT}:Instance/*"


def region_stacks(t):
    return [Stack(t, home, {REGIONS_PARAM: value}) for home, value in REGION_SCENARIOS]


def requested_regions(stack, st):
    """The Regions a statement's aws:RequestedRegion condition admits, resolved; the only
    operator allowed on that key is StringEquals (no IfExists, no pattern, no negation)."""
    sid = st.get("Sid") or "?"
    found = None
    for op, block in (st.get("Condition") or {}).items():
        for key, val in (block or {}).items():
            if str(key).lower() != REQUESTED_REGION.lower():
                continue
            assert op == "StringEquals" and found is None, f"{sid}: {op} {key} (want one StringEquals {REQUESTED_REGION})"
            found = val
    assert found is not None, f"{sid}: no {REQUESTED_REGION} condition"
    v = stack.value(found)
    return {x for x in (v if isinstance(v, list) else [v]) if x != ""}


# --------------------------------------------------------------------------- EventBridge model
# An independent reading of the EventBridge documentation ("Event patterns", "Input
# transformation"), not a port of its code: only what template.yaml uses. Anything else
# raises Unsupported, which fails the check that met it.

class Unsupported(ValueError):
    pass


_ABSENT = object()


def eb_matches(pattern, event):
    """Does the event match the EventBridge event pattern? Exact values (strings, numbers,
    booleans, null), prefix, anything-but (a value or a list of values), exists; nested
    objects; an array in the event matches if any element does. Every field of the
    pattern must match (AND); the values listed for one field are alternatives (OR)."""
    if not isinstance(pattern, dict) or not pattern:
        raise Unsupported(f"a pattern must be a non-empty object, got {pattern!r}")
    for key, want in pattern.items():
        if str(key).startswith("$"):
            raise Unsupported(f"pattern operator {key!r}")
        value = event.get(key, _ABSENT) if isinstance(event, dict) else _ABSENT
        if isinstance(want, dict):
            if isinstance(value, list):
                objects = [v for v in value if isinstance(v, dict)] or [{}]
                if not any(eb_matches(want, v) for v in objects):
                    return False
            elif not eb_matches(want, value if isinstance(value, dict) else {}):
                return False
        elif isinstance(want, list):
            if not want:
                raise Unsupported(f"{key}: an empty list matches nothing")
            if not any(_leaf_matches(m, value) for m in want):
                return False
        else:
            raise Unsupported(f"{key}: a pattern value must be a list or an object, got {want!r}")
    return True


def _same(value, literal):
    if isinstance(literal, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(literal, bool) and value == literal
    if literal is None or value is None:
        return literal is None and value is None
    if isinstance(literal, (int, float)):
        return isinstance(value, (int, float)) and float(value) == float(literal)
    if isinstance(literal, str):
        return isinstance(value, str) and value == literal
    raise Unsupported(f"pattern value {literal!r}")


def _leaf_matches(matcher, value):
    # A leaf is present if the event has the field with a scalar (or an array of them):
    # an object there means the pattern's path ends inside it, which is no leaf.
    present = value is not _ABSENT and not isinstance(value, dict) and value != []
    values = value if isinstance(value, list) else [value]
    if isinstance(matcher, dict):
        if len(matcher) != 1:
            raise Unsupported(f"matcher {matcher!r}")
        (op, arg), = matcher.items()
        if op == "exists":
            if not isinstance(arg, bool):
                raise Unsupported(f"exists {arg!r}")
            return present == arg
        if op == "prefix":
            if not isinstance(arg, str):
                raise Unsupported(f"prefix {arg!r}")
            return present and any(isinstance(v, str) and v.startswith(arg) for v in values)
        if op == "anything-but":
            excluded = arg if isinstance(arg, list) else [arg]
            if not excluded or any(isinstance(x, (dict, list)) for x in excluded):
                raise Unsupported(f"anything-but {arg!r}")
            return present and any(not any(_same(v, x) for x in excluded) for v in values)
        raise Unsupported(f"matcher {op!r}")
    if isinstance(matcher, list):
        raise Unsupported(f"nested list {matcher!r}")
    return present and any(_same(v, matcher) for v in values)


def json_path(event, path):
    """A JSONPath of an InputPathsMap: $ or $.a.b-c (dot notation only)."""
    if path == "$":
        return event
    if not isinstance(path, str) or not path.startswith("$."):
        raise Unsupported(f"JSON path {path!r}")
    node = event
    for part in path[2:].split("."):
        if not re.fullmatch(r"[A-Za-z0-9_-]+", part):
            raise Unsupported(f"JSON path {path!r} (only dot notation)")
        if not isinstance(node, dict) or part not in node:
            return _ABSENT
        node = node[part]
    return node


_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.-]+)>")


def render_input(template, paths, event, escape):
    """The target input EventBridge makes from an InputTemplate, its InputPathsMap and an
    event. A placeholder outside quotes becomes the value as JSON; inside a JSON string it
    is the string itself, inserted unescaped as the documentation says (escape=True models
    the other reading, JSON-escaped). A path missing from the event creates no variable:
    that is reported, as the template would then be rendered with a hole."""
    values = {}
    for var, path in (paths or {}).items():
        value = json_path(event, path)
        assert value is not _ABSENT, f"{path} is not in the event, so <{var}> would not be set"
        values[var] = value
    out, i, in_string = [], 0, False
    while i < len(template):
        c = template[i]
        m = _PLACEHOLDER.match(template, i) if c == "<" else None
        if m:
            name = m.group(1)
            if name.startswith("aws."):
                raise Unsupported(f"predefined variable <{name}>")
            assert name in values, f"<{name}> is not in the InputPathsMap"
            value = values[name]
            if in_string:
                if not isinstance(value, str):
                    raise Unsupported(f"<{name}> holds {type(value).__name__} inside a string")
                out.append(json.dumps(value)[1:-1] if escape else value)
            else:
                out.append(json.dumps(value))
            i = m.end()
            continue
        if in_string and c == "\\":
            out.append(template[i:i + 2])
            i += 2
            continue
        if c == '"':
            in_string = not in_string
        out.append(c)
        i += 1
    return "".join(out)


def rendered(template, paths, event):
    """Render both ways (unescaped, escaped); both must be the same valid JSON."""
    raw = render_input(template, paths, event, escape=False)
    escaped = render_input(template, paths, event, escape=True)
    try:
        a, b = json.loads(raw), json.loads(escaped)
    except ValueError as e:
        raise AssertionError(f"renders invalid JSON ({e}): {raw}")
    assert a == b, f"renders differently when EventBridge escapes strings: {raw} vs {escaped}"
    return a


# --------------------------------------------------------------------------- checks

CHECKS = []


def check(title):
    def deco(fn):
        CHECKS.append((title, fn))
        return fn
    return deco


# ---- security ----

@check("IAM: no action anywhere contains '*' (no lightsail:*, sqs:*, Get*)")
def _(t):
    for owner, path, st in t.statements():
        for a in actions(st) + [str(a) for a in as_list(st.get("NotAction"))]:
            assert "*" not in a, f"{owner}: wildcard action {a!r} in {st.get('Sid') or path}"


@check("IAM: no NotAction / NotResource / NotPrincipal, no Allow on Principal '*'")
def _(t):
    for owner, path, st in t.statements():
        for key in ("NotAction", "NotResource", "NotPrincipal"):
            assert key not in st, f"{owner}: {key} in {st.get('Sid') or path}"
        if st.get("Effect") == "Allow" and "Principal" in st:
            principal = st["Principal"]
            assert principal != "*" and not (isinstance(principal, dict) and "*" in as_list(principal.get("AWS"))), \
                f"{owner}: Allow to Principal '*'"


@check("IAM: the Lightsail actions allowed are exactly the six the code calls")
def _(t):
    allowed = set()
    for owner, path, st in t.statements():
        if st.get("Effect") == "Allow":
            allowed |= {a.lower() for a in actions(st) if a.lower().startswith("lightsail:")}
    want = lower_set(LIGHTSAIL_ACTIONS)
    assert allowed == want, f"extra: {sorted(allowed - want)}, missing: {sorted(want - allowed)}"


@check("IAM: Lightsail actions appear only in the function's execution role")
def _(t):
    role = t.function_role()
    fn_name, _ = t.function()
    for owner, path, st in t.statements():
        if any(a.lower().startswith("lightsail:") for a in actions(st)):
            assert owner in (role, fn_name), f"{owner} ({st.get('Sid') or path}) grants Lightsail actions"


@check("IAM: the function's authority is all in this file (explicit role, no managed policies)")
def _(t):
    fn_name, res = t.function()
    role = t.function_role()
    props = t.props(role)
    assert not props.get("ManagedPolicyArns"), f"{role} attaches managed policies {props.get('ManagedPolicyArns')}"
    assert "Policies" not in (res.get("Properties") or {}), f"{fn_name}: SAM Policies are ignored with an explicit Role"
    trust = as_list(props["AssumeRolePolicyDocument"]["Statement"])
    services = set()
    for st in trust:
        assert st.get("Effect") == "Allow" and actions(st) == ["sts:AssumeRole"], f"{role}: unexpected trust {st}"
        services |= set(as_list((st.get("Principal") or {}).get("Service")))
        assert set(st.get("Principal") or {}) == {"Service"}, f"{role}: trust must name a service only"
    assert services == {"lambda.amazonaws.com"}, f"{role} is assumable by {services}"
    # Nothing else in the template attaches policies to that role.
    for name in t.of_type("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        roles = [ref(r) for r in as_list(t.props(name).get("Roles"))]
        assert role not in roles, f"{name} attaches to {role}"


@check("IAM: every Lightsail write is only on Instance/* and requires the jit:managed tag (Null=false)")
def _(t):
    seen = set()
    for owner, path, st in t.statements():
        acts = {a.lower() for a in actions(st)}
        writes = acts & lower_set(LIGHTSAIL_WRITES)
        if st.get("Effect") != "Allow" or not writes:
            continue
        seen |= writes
        resources = resolved_resources(Stack(t, "us-east-1", {}), st)
        assert resources == [instance_arn(None, "us-east-1")], \
            f"{st.get('Sid') or path}: Resource must be the stack's own Instance/* by default, got {resources}"
        cond = st.get("Condition") or {}
        null = cond.get("Null") or {}
        assert is_false(null.get(f"aws:ResourceTag/{OPT_IN_TAG}")), \
            f"{st.get('Sid') or path}: missing Null aws:ResourceTag/{OPT_IN_TAG} = false"
        for op in cond:
            assert "IfExists" not in op, f"{st.get('Sid') or path}: {op} lets a missing key pass"
    assert seen == lower_set(LIGHTSAIL_WRITES), f"writes not found: {sorted(lower_set(LIGHTSAIL_WRITES) - seen)}"


def resolved_resources(stack, st):
    v = stack.value(st.get("Resource"))
    return v if isinstance(v, list) else [v]


def is_instance_arn_expr(t, r):
    """Does this Resource entry resolve to Lightsail instance ARNs only (in a default stack)?"""
    try:
        v = Stack(t, "us-east-1", {}).value(r)
    except Unresolvable:
        return False
    return bool(as_list(v)) and all(isinstance(x, str) and re.fullmatch(
        r"arn:%s:lightsail:[a-z0-9-]+:%s:Instance/\*" % (EVAL_PARTITION, EVAL_ACCOUNT), x) for x in as_list(v))


@check("regions: ManagedRegions is a CommaDelimitedList defaulting to empty, each item a Region Lightsail serves (the function's list)")
def _(t):
    code = code_regions()
    assert code is None or code == LIGHTSAIL_REGIONS, \
        f"{REGION_SOURCE} lists {code}, this checker {LIGHTSAIL_REGIONS}: update LIGHTSAIL_REGIONS here and the template"
    p = t.params.get(REGIONS_PARAM)
    assert p, f"no parameter {REGIONS_PARAM}"
    assert p.get("Type") == "CommaDelimitedList", f"{REGIONS_PARAM}: Type {p.get('Type')}"
    assert p.get("Default") == "", f"{REGIONS_PARAM}: Default {p.get('Default')!r} (empty = the stack's own Region)"
    # CloudFormation applies AllowedPattern to each item of a CommaDelimitedList.
    rx = p.get("AllowedPattern")
    assert rx and "AllowedValues" not in p, f"{REGIONS_PARAM}: needs an AllowedPattern (checked per item), not AllowedValues"
    for good in LIGHTSAIL_REGIONS + [""]:
        assert re.fullmatch(rx, good), f"{REGIONS_PARAM} refuses {good!r}"
    for bad in NOT_LIGHTSAIL_REGIONS:
        assert not re.fullmatch(rx, bad), f"{REGIONS_PARAM} admits {bad!r}"
    env = ((t.fn_prop("Environment") or {}).get("Variables")) or {}
    assert not any(REGIONS_PARAM in json.dumps(v) for v in env.values()), \
        f"{REGIONS_PARAM} must not reach the environment: the function reads its Regions from the policy"


@check("IAM: every Lightsail Allow holds only in the managed Regions (StringEquals aws:RequestedRegion: ManagedRegions, else the stack's own)")
def lightsail_allows_in_managed_regions(t):
    sts = [st for _, _, st in t.statements() if st.get("Effect") == "Allow"
           and any(a.lower().startswith("lightsail:") for a in actions(st))]
    assert sts, "no Lightsail Allow"
    for stack in region_stacks(t):
        want = set(expected_regions(stack))
        for st in sts:
            got = requested_regions(stack, st)
            assert got == want, (f"{st.get('Sid')}: stack in {stack.pseudo['AWS::Region']} with {REGIONS_PARAM}="
                                 f"{stack.values[REGIONS_PARAM]!r} admits {sorted(got)}, want {sorted(want)}")


@check("IAM: Lightsail writes on exactly Instance/* of each managed Region (never '*', never a wildcard Region)")
def lightsail_writes_on_managed_regions(t):
    sts = [st for _, _, st in t.statements() if st.get("Effect") == "Allow"
           and {a.lower() for a in actions(st)} & lower_set(LIGHTSAIL_WRITES)]
    assert sts, "no Lightsail write"
    for stack in region_stacks(t):
        want = sorted(instance_arn(stack, r) for r in set(expected_regions(stack)))
        for st in sts:
            got = resolved_resources(stack, st)
            assert sorted(set(got)) == want and len(got) == len(want), \
                (f"{st.get('Sid')}: stack in {stack.pseudo['AWS::Region']} with {REGIONS_PARAM}="
                 f"{stack.values[REGIONS_PARAM]!r} writes on {got}, want {want}")


@check("IAM: Tag/UntagResource limited by aws:TagKeys to jit:grant:* / jit:baseline* / jit:lockdown[:reason] / jit:reply:* / jit:end:*, never jit:managed")
def _(t):
    found = 0
    for owner, path, st in t.statements():
        if st.get("Effect") != "Allow" or not ({a.lower() for a in actions(st)} & lower_set(LIGHTSAIL_TAG_WRITES)):
            continue
        found += 1
        sid = st.get("Sid") or path
        assert not ({a.lower() for a in actions(st)} - lower_set(LIGHTSAIL_TAG_WRITES)), \
            f"{sid}: tag actions must be in a statement of their own"
        cond = st.get("Condition") or {}
        ops = [op for op in cond if any(k.lower() == "aws:tagkeys" for k in (cond[op] or {}))]
        assert "ForAllValues:StringLike" in ops, f"{sid}: needs ForAllValues:StringLike on aws:TagKeys"
        patterns = [str(p) for p in as_list(cond["ForAllValues:StringLike"]["aws:TagKeys"])]
        assert patterns and set(patterns) <= ALLOWED_TAG_KEY_PATTERNS, \
            f"{sid}: aws:TagKeys patterns {patterns} not within {sorted(ALLOWED_TAG_KEY_PATTERNS)}"
        for p in patterns:
            assert p.startswith("jit:"), f"{sid}: pattern {p!r} outside the jit: prefix"
            for probe in (OPT_IN_TAG, OPT_IN_TAG.upper(), "Jit:Managed", "jit:managed:x"):
                assert not iam_like(p, probe), f"{sid}: pattern {p!r} matches {probe!r}"
        for key in LEDGER_KEYS:
            assert any(iam_like(p, key) for p in patterns), f"{sid}: no pattern allows the ledger key {key!r}"
        for key in NOT_LEDGER_KEYS:
            assert not any(iam_like(p, key) for p in patterns), f"{sid}: a pattern allows {key!r}"
        # ForAllValues is true for an empty key set: require the keys to be present.
        assert is_false((cond.get("Null") or {}).get("aws:TagKeys")), f"{sid}: needs Null aws:TagKeys = false"
        others = [op for op in ops if op not in ("ForAllValues:StringLike", "Null")]
        assert not others, f"{sid}: other aws:TagKeys operators {others}"
    assert found, "no statement allows TagResource/UntagResource"


@check("IAM: explicit Deny of tag changes to jit:managed (any case) on the function role")
def _(t):
    for st in t.function_statements():
        if st.get("Effect") != "Deny":
            continue
        acts = {a.lower() for a in actions(st)}
        cond = (st.get("Condition") or {}).get("ForAnyValue:StringEqualsIgnoreCase") or {}
        keys = [str(k).lower() for k in as_list(cond.get("aws:TagKeys"))]
        if lower_set(LIGHTSAIL_TAG_WRITES) <= acts and as_list(st.get("Resource")) == ["*"] and OPT_IN_TAG in keys \
                and set(st["Condition"]) == {"ForAnyValue:StringEqualsIgnoreCase"}:
            return
    raise AssertionError("no Deny of lightsail:TagResource/UntagResource with ForAnyValue:StringEqualsIgnoreCase aws:TagKeys jit:managed")


@check("IAM: Resource '*' only for the Lightsail reads; every other Allow names this stack's resources")
def _(t):
    names = set(t.resources)
    for owner, path, st in t.statements():
        if st.get("Effect") != "Allow" or "Resource" not in st:
            continue  # trust policies have no Resource
        sid = st.get("Sid") or path
        for r in as_list(st["Resource"]):
            if r == "*":
                extra = {a.lower() for a in actions(st)} - lower_set(LIGHTSAIL_READS)
                assert not extra, f"{owner} {sid}: {sorted(extra)} on Resource '*'"
            elif is_instance_arn_expr(t, r):
                extra = {a.lower() for a in actions(st)} - lower_set(LIGHTSAIL_WRITES)
                assert not extra, f"{owner} {sid}: {sorted(extra)} on the instance ARN"
            else:
                target = getatt(r) or (ref(r), None)
                assert target[0] in names, f"{owner} {sid}: Resource {r} is not a resource of this template"


@check("IAM: queue policies admit only events.amazonaws.com, for one rule (aws:SourceArn)")
def _(t):
    pols = t.of_type("AWS::SQS::QueuePolicy")
    assert pols, "no queue policy"
    for name in pols:
        for _, st in doc_statements(t.props(name)["PolicyDocument"]):
            if st.get("Effect") != "Allow":
                continue
            assert st.get("Principal") == {"Service": "events.amazonaws.com"}, f"{name}: principal {st.get('Principal')}"
            assert actions(st) == ["sqs:SendMessage"], f"{name}: actions {actions(st)}"
            src = ((st.get("Condition") or {}).get("ArnEquals") or {}).get("aws:SourceArn")
            assert getatt(src) and getatt(src)[0] in t.of_type("AWS::Events::Rule"), f"{name}: no aws:SourceArn rule condition"


# ---- the function ----

@check("function: provided.al2023, arm64, BuildMethod rust-cargolambda, Binary lightsail-jit, Handler bootstrap")
def _(t):
    name, res = t.function()
    meta = res.get("Metadata") or {}
    assert meta.get("BuildMethod") == "rust-cargolambda", f"BuildMethod {meta.get('BuildMethod')}"
    assert t.fn_prop("Runtime") == "provided.al2023", f"Runtime {t.fn_prop('Runtime')}"
    assert as_list(t.fn_prop("Architectures")) == ["arm64"], f"Architectures {t.fn_prop('Architectures')}"
    assert t.fn_prop("Handler") == "bootstrap", f"Handler {t.fn_prop('Handler')}"
    assert str(t.fn_prop("CodeUri")).rstrip("/") in (".", ""), f"CodeUri {t.fn_prop('CodeUri')} (the crate root)"


@check("function: MemorySize 128")
def _(t):
    assert t.fn_prop("MemorySize") == 128, f"MemorySize {t.fn_prop('MemorySize')}"


@check("function: Timeout sized for a full sweep (120..900 s)")
def _(t):
    timeout = t.fn_prop("Timeout")
    assert isinstance(timeout, int) and 120 <= timeout <= 900, f"Timeout {timeout}"


@check("function: LoggingConfig LogFormat JSON into a log group with retention")
def _(t):
    cfg = t.fn_prop("LoggingConfig") or {}
    assert cfg.get("LogFormat") == "JSON", f"LogFormat {cfg.get('LogFormat')}"
    group = ref(cfg.get("LogGroup"))
    assert group in t.of_type("AWS::Logs::LogGroup"), "LoggingConfig.LogGroup must !Ref a log group of this stack"
    retention = t.param_default(t.props(group).get("RetentionInDays"))
    assert retention and int(retention) > 0, f"{group}: RetentionInDays not set"
    env = ((t.fn_prop("Environment") or {}).get("Variables")) or {}
    assert not [k for k in env if str(k).startswith("AWS_LAMBDA_")], "AWS_LAMBDA_* are set by Lambda, not the template"


@check("function: JIT_POLICY comes from a String parameter")
def _(t):
    env = ((t.fn_prop("Environment") or {}).get("Variables")) or {}
    p = ref(env.get("JIT_POLICY"))
    assert p in t.params and t.params[p].get("Type") == "String", f"JIT_POLICY = {env.get('JIT_POLICY')}"


@check("function: reserved concurrency set and above the SQS poller's MaximumConcurrency")
def _(t):
    rc = t.fn_prop("ReservedConcurrentExecutions")
    assert rc is not None, "ReservedConcurrentExecutions missing"
    if isinstance(rc, dict) and "Fn::If" in rc:
        rc = rc["Fn::If"][1]
    default = int(t.param_default(rc))
    sqs = t.events("SQS")
    assert sqs, "no SQS event"
    for name, p in sqs.items():
        mc = (p.get("ScalingConfig") or {}).get("MaximumConcurrency")
        assert mc is not None, f"{name}: ScalingConfig.MaximumConcurrency missing"
        assert default > mc, f"reserved {default} <= poller MaximumConcurrency {mc}"


@check("function: async invocations retry and go OnFailure to the dead-letter queue")
def _(t):
    cfg = t.fn_prop("EventInvokeConfig") or {}
    retries = cfg.get("MaximumRetryAttempts")
    assert retries is not None and 0 <= retries <= 2, f"MaximumRetryAttempts {retries}"
    on_failure = (cfg.get("DestinationConfig") or {}).get("OnFailure") or {}
    dest = getatt(on_failure.get("Destination"))
    assert on_failure.get("Type") == "SQS" and dest and dest[0] in t.of_type("AWS::SQS::Queue"), f"OnFailure {on_failure}"
    ok = any(st.get("Effect") == "Allow" and "sqs:SendMessage" in actions(st)
             and getatt(as_list(st.get("Resource"))[0]) == (dest[0], "Arn") for st in t.function_statements())
    assert ok, f"the function role cannot sqs:SendMessage to {dest[0]}"


# ---- queues ----

def command_queue(t):
    sqs = t.events("SQS")
    assert len(sqs) == 1, f"expected one SQS event, found {sorted(sqs)}"
    props = next(iter(sqs.values()))
    q = getatt(props.get("Queue"))
    assert q and q[0] in t.of_type("AWS::SQS::Queue"), f"SQS event Queue {props.get('Queue')}"
    return q[0], props


@check("SQS event: ReportBatchItemFailures, BatchSize <= 10, batching window <= 5 s")
def _(t):
    q, props = command_queue(t)
    assert as_list(props.get("FunctionResponseTypes")) == ["ReportBatchItemFailures"], \
        f"FunctionResponseTypes {props.get('FunctionResponseTypes')}"
    assert 1 <= int(props.get("BatchSize", 10)) <= 10, f"BatchSize {props.get('BatchSize')}"
    window = props.get("MaximumBatchingWindowInSeconds")
    assert window is not None and 0 <= int(window) <= 5, f"MaximumBatchingWindowInSeconds {window}"


@check("SQS: command queue VisibilityTimeout >= 6 x function Timeout")
def _(t):
    q, _ = command_queue(t)
    vis = t.props(q).get("VisibilityTimeout")
    assert vis is not None and int(vis) >= 6 * int(t.fn_prop("Timeout")), f"VisibilityTimeout {vis} < 6 x {t.fn_prop('Timeout')}"


@check("SQS: redrive to a dead-letter queue that outlives the command queue's retention")
def _(t):
    q, _ = command_queue(t)
    props = t.props(q)
    redrive = props.get("RedrivePolicy") or {}
    dlq = getatt(redrive.get("deadLetterTargetArn"))
    assert dlq and dlq[0] in t.of_type("AWS::SQS::Queue") and dlq[0] != q, f"RedrivePolicy {redrive}"
    receives = int(redrive.get("maxReceiveCount", 0))
    assert 3 <= receives <= 10, f"maxReceiveCount {receives}"
    retention = int(props.get("MessageRetentionPeriod", 345600))
    assert retention > receives * int(props["VisibilityTimeout"]), "messages would expire before reaching the DLQ"
    assert int(t.props(dlq[0]).get("MessageRetentionPeriod", 345600)) > retention, "DLQ retention <= queue retention"


# ---- EventBridge ----

def the_bus(t):
    buses = t.of_type("AWS::Events::EventBus")
    assert len(buses) == 1, f"buses {sorted(buses)}"
    return next(iter(buses))


def target_name(target):
    """The template resource a rule target names (!GetAtt X.Arn or !Ref X), else None."""
    arn = target.get("Arn")
    return (getatt(arn) or (ref(arn), None))[0]


def rule_targets(t, rule):
    return as_list(t.props(rule).get("Targets"))


def rule_pattern(t, rule):
    pattern = t.props(rule).get("EventPattern")
    if isinstance(pattern, str):
        pattern = json.loads(pattern)
    assert isinstance(pattern, dict), f"{rule}: EventPattern {pattern!r}"
    return pattern


def is_deferral_rule(t, rule):
    """The rule for slash commands the function hands on (source lightsail-jit, detail
    type DEFERRED_COMMAND): the only lightsail-jit events that may reach the queue."""
    return rule_pattern(t, rule) == {"source": [EVENT_SOURCE], "detail-type": [DEFERRED_COMMAND]}


def is_outcome_rule(t, rule):
    """A rule for the function's outcome events: its pattern names exactly their source."""
    return rule_pattern(t, rule).get("source") == [EVENT_SOURCE] and not is_deferral_rule(t, rule)


def feeds_function(t, rule):
    """Does the rule deliver to the function or to the command queue (a loop, if it
    matched the function's own events)?"""
    q, _ = command_queue(t)
    fn_name, _ = t.function()
    return any(target_name(x) in (q, fn_name) for x in rule_targets(t, rule))


def command_rules(t):
    rules = [r for r in t.of_type("AWS::Events::Rule")
             if feeds_function(t, r) and "EventPattern" in t.props(r) and not is_deferral_rule(t, r)]
    assert rules, "no rule feeds commands to the queue or the function"
    return rules


def outcome_rules(t, target_type):
    out = {}
    for r in t.of_type("AWS::Events::Rule"):
        if "EventPattern" not in t.props(r) or not is_outcome_rule(t, r):
            continue
        for x in rule_targets(t, r):
            if t.resources.get(target_name(x), {}).get("Type") == target_type:
                out[r] = x
    return out


def samples_by_kind(t):
    """The repository's samples, sorted by how they reach the bus:
    outcome  - events/outcomes/*.json, the function's own events;
    command  - EventBridge events with a command in detail, and plain commands (a top-level
               action, or the bodies of an SQS batch) wrapped as a bot would send them;
    schedule - EventBridge scheduled events (source aws.events): they invoke the function
               directly and must not also take the queue."""
    kinds = {"outcome": {}, "command": {}, "schedule": {}}

    def wrap(cmd):
        return dict(copy.deepcopy(CHATOPS_ENVELOPE), detail=copy.deepcopy(cmd))

    for path, doc in sorted(t.samples.items()):
        if path.startswith("events/outcomes/"):
            kinds["outcome"][path] = doc
        elif isinstance(doc, dict) and "source" in doc and "detail-type" in doc:
            kinds["schedule" if doc["source"] == "aws.events" else "command"][path] = doc
        elif isinstance(doc, dict) and "action" in doc:
            kinds["command"][path] = wrap(doc)
        elif isinstance(doc, dict) and "Records" in doc:
            for i, record in enumerate(doc["Records"]):
                body = json.loads(record["body"])
                if isinstance(body, dict) and "action" in body:
                    kinds["command"][f"{path}#Records[{i}].body"] = wrap(body)
    for kind, found in kinds.items():
        assert found, f"no {kind} samples under events/"
    return kinds


@check("EventBridge: custom bus named by a parameter; command rules feed the queue, outcome rules only chat")
def _(t):
    bus = the_bus(t)
    assert ref(t.props(bus).get("Name")) in t.params, "bus Name must be a parameter"
    q, _ = command_queue(t)
    fn_name, _ = t.function()
    rules = [r for r in t.of_type("AWS::Events::Rule") if ref(t.props(r).get("EventBusName")) == bus]
    assert rules, "no rule on the bus"
    assert any(feeds_function(t, r) for r in rules), "no rule on the bus feeds the command queue"
    for r in rules:
        names = [target_name(x) for x in rule_targets(t, r)]
        assert names, f"{r}: no targets"
        if is_outcome_rule(t, r):
            for name in names:
                kind = t.resources.get(name, {}).get("Type")
                assert kind in OUTCOME_TARGET_TYPES, f"{r} (source {EVENT_SOURCE}) targets {name} ({kind})"
            continue
        assert all(name in (q, fn_name) for name in names), f"{r}: targets {names}"
        if q in names:
            policies = [p for p in t.of_type("AWS::SQS::QueuePolicy") if {"Ref": q} in as_list(t.props(p).get("Queues"))]
            admits = [st for p in policies for _, st in doc_statements(t.props(p)["PolicyDocument"])
                      if getatt(((st.get("Condition") or {}).get("ArnEquals") or {}).get("aws:SourceArn")) == (r, "Arn")]
            assert admits, f"no queue policy lets {r} send to {q}"


@check("EventBridge: the command rule takes exactly the seven actions and excludes source lightsail-jit")
def _(t):
    for r in command_rules(t):
        pattern = rule_pattern(t, r)
        acts = ((pattern.get("detail") or {}).get("action"))
        assert isinstance(acts, list) and all(isinstance(a, str) for a in acts), f"{r}: detail.action {acts!r}"
        assert set(acts) == COMMAND_ACTIONS and len(acts) == len(set(acts)), \
            f"{r}: actions extra {sorted(set(acts) - COMMAND_ACTIONS)}, missing {sorted(COMMAND_ACTIONS - set(acts))}"
        source = pattern.get("source")
        excluded = [x.get("anything-but") for x in as_list(source) if isinstance(x, dict)]
        assert isinstance(source, list) and len(source) == 1 and excluded \
            and EVENT_SOURCE in as_list(excluded[0]), \
            f"{r}: source must be [{{anything-but: [{EVENT_SOURCE}]}}], got {source!r}"


@check("EventBridge: no rule that feeds the function matches an outcome event, even one with detail.action (no loop)")
def _(t):
    kinds = samples_by_kind(t)
    probes = dict(kinds["outcome"])
    for path, ev in kinds["outcome"].items():
        for action in sorted(COMMAND_ACTIONS):
            forged = copy.deepcopy(ev)
            forged["detail"]["action"] = action
            probes[f"{path} + detail.action={action}"] = forged
    for r in t.of_type("AWS::Events::Rule"):
        if "EventPattern" not in t.props(r) or not feeds_function(t, r):
            continue
        pattern = rule_pattern(t, r)
        hits = [p for p, ev in probes.items() if eb_matches(pattern, ev)]
        assert not hits, f"{r} feeds the function and matches {hits[:3]}"


@check("EventBridge: the command rule matches every command sample, every action, no scheduled event")
def _(t):
    kinds = samples_by_kind(t)
    synthetic = {f"action {a}": dict(copy.deepcopy(CHATOPS_ENVELOPE), detail={"action": a})
                 for a in sorted(COMMAND_ACTIONS)}
    for r in command_rules(t):
        pattern = rule_pattern(t, r)
        missed = [p for p, ev in {**kinds["command"], **synthetic}.items() if not eb_matches(pattern, ev)]
        assert not missed, f"{r} does not match {missed}"
        taken = [p for p, ev in kinds["schedule"].items() if eb_matches(pattern, ev)]
        assert not taken, f"{r} would also queue the scheduled events {taken}"


@check("function: JIT_EVENT_BUS names the JIT bus")
def _(t):
    env = ((t.fn_prop("Environment") or {}).get("Variables")) or {}
    bus = the_bus(t)
    value = env.get(EVENT_BUS_ENV)
    assert value in ({"Ref": bus}, {"Fn::GetAtt": [bus, "Arn"]}, {"Fn::GetAtt": f"{bus}.Arn"}), \
        f"{EVENT_BUS_ENV} = {value!r}, not !Ref {bus} (or its ARN)"


def source_condition(st, operator):
    """The events:source values of a statement's Condition under this operator."""
    return [str(v) for v in as_list(((st.get("Condition") or {}).get(operator) or {}).get("events:source"))]


@check("IAM: the function may events:PutEvents only on the JIT bus, only as source lightsail-jit")
def _(t):
    bus = the_bus(t)
    found = [st for st in t.function_statements() if any(a.lower().startswith("events:") for a in actions(st))]
    assert len(found) == 1, f"expected one events statement on the function role, found {len(found)}"
    st = found[0]
    sid = st.get("Sid") or "the events statement"
    assert st.get("Effect") == "Allow" and actions(st) == ["events:PutEvents"], f"{sid}: {st.get('Effect')} {actions(st)}"
    assert [getatt(r) for r in as_list(st.get("Resource"))] == [(bus, "Arn")], f"{sid}: Resource {st.get('Resource')}"
    assert st.get("Condition") == {"StringEquals": {"events:source": EVENT_SOURCE}} \
        or st.get("Condition") == {"StringEquals": {"events:source": [EVENT_SOURCE]}}, \
        f"{sid}: Condition must be exactly StringEquals events:source {EVENT_SOURCE}, got {st.get('Condition')}"


@check("IAM: the ChatOps sender cannot publish as lightsail-jit (StringNotEquals on its Allow, and a Deny)")
def _(t):
    bus = the_bus(t)
    role = t.function_role()
    fn_name, _ = t.function()
    allows = denies = 0
    for owner, path, st in t.statements():
        if "events:putevents" not in lower_set(actions(st)) or owner in (role, fn_name):
            continue
        sid = st.get("Sid") or path
        if st.get("Effect") == "Allow":
            allows += 1
            assert EVENT_SOURCE in source_condition(st, "StringNotEquals"), \
                f"{owner} {sid}: PutEvents without StringNotEquals events:source {EVENT_SOURCE}"
            assert not [op for op in st["Condition"] if "IfExists" in op], f"{owner} {sid}: IfExists"
        elif st.get("Effect") == "Deny":
            on_bus = [getatt(r) for r in as_list(st.get("Resource"))] == [(bus, "Arn")] \
                or as_list(st.get("Resource")) == ["*"]
            if on_bus and source_condition(st, "StringEquals") == [EVENT_SOURCE] \
                    and set(st["Condition"]) == {"StringEquals"}:
                denies += 1
    assert allows, "no sender policy allows events:PutEvents"
    assert denies, f"no Deny of events:PutEvents on the bus for StringEquals events:source {EVENT_SOURCE}"


@check("IAM: events actions are only PutEvents and InvokeApiDestination (by an events-only role, on the destination)")
def _(t):
    roles = t.of_type("AWS::IAM::Role")
    invokers = 0
    for owner, path, st in t.statements():
        acts = lower_set(a for a in actions(st) if a.lower().startswith("events:"))
        if st.get("Effect") != "Allow" or not acts:
            continue
        sid = st.get("Sid") or path
        assert acts <= {"events:putevents", "events:invokeapidestination"}, f"{owner} {sid}: {sorted(acts)}"
        if "events:invokeapidestination" not in acts:
            continue
        invokers += 1
        assert actions(st) == ["events:InvokeApiDestination"], f"{owner} {sid}: also {actions(st)}"
        resources = [getatt(r) for r in as_list(st.get("Resource"))]
        assert len(resources) == 1 and resources[0] and resources[0][1] == "ArnForPolicy" \
            and t.resources.get(resources[0][0], {}).get("Type") == "AWS::Events::ApiDestination", \
            f"{owner} {sid}: Resource must be !GetAtt <ApiDestination>.ArnForPolicy, got {st.get('Resource')}"
        assert owner in roles, f"{owner} is not a role of this template"
        trust = as_list(t.props(owner)["AssumeRolePolicyDocument"]["Statement"])
        assert [x.get("Principal") for x in trust] == [{"Service": "events.amazonaws.com"}] \
            and actions(trust[0]) == ["sts:AssumeRole"], f"{owner}: trusted by {[x.get('Principal') for x in trust]}"
        assert ((trust[0].get("Condition") or {}).get("StringEquals") or {}).get("aws:SourceAccount") \
            == {"Ref": "AWS::AccountId"}, f"{owner}: trust without aws:SourceAccount = this account"
        others = [s for o, _, s in t.statements() if o == owner and s is not st and s not in trust]
        assert not others, f"{owner} has more than InvokeApiDestination: {others}"
        assert t.resources[owner].get("Condition") == t.resources[resources[0][0]].get("Condition"), \
            f"{owner} and {resources[0][0]} must share a condition"
    for r, x in outcome_rules(t, "AWS::Events::ApiDestination").items():
        role = getatt(x.get("RoleArn"))
        assert role and role[0] in roles, f"{r}: API destination target without a role of this template"
    assert invokers or not t.of_type("AWS::Events::ApiDestination"), "no role may invoke the API destination"


@check("SNS: topic policies let only events.amazonaws.com publish, for the rule that targets the topic (aws:SourceArn)")
def _(t):
    topics = t.of_type("AWS::SNS::Topic")
    admitted = set()
    for name in t.of_type("AWS::SNS::TopicPolicy"):
        props = t.props(name)
        on = [ref(x) for x in as_list(props.get("Topics"))]
        assert on and set(on) <= set(topics), f"{name}: Topics {props.get('Topics')}"
        for cond, st in doc_statements(props["PolicyDocument"]):
            if st.get("Effect") != "Allow":
                continue
            sid = st.get("Sid") or name
            assert st.get("Principal") == {"Service": "events.amazonaws.com"}, f"{name} {sid}: principal {st.get('Principal')}"
            assert actions(st) == ["sns:Publish"], f"{name} {sid}: actions {actions(st)}"
            assert [ref(r) for r in as_list(st.get("Resource"))] == on, f"{name} {sid}: Resource {st.get('Resource')}"
            rule = getatt(((st.get("Condition") or {}).get("ArnEquals") or {}).get("aws:SourceArn"))
            assert rule and rule[1] == "Arn" and rule[0] in t.of_type("AWS::Events::Rule"), \
                f"{name} {sid}: no ArnEquals aws:SourceArn <rule>"
            assert any(target_name(x) in on for x in rule_targets(t, rule[0])), f"{name} {sid}: {rule[0]} does not target {on}"
            admitted |= {(rule[0], topic) for topic in on}
            assert t.resources[name].get("Condition") == t.resources[rule[0]].get("Condition"), \
                f"{name} and {rule[0]} must share a condition"
    for r in t.of_type("AWS::Events::Rule"):
        for x in rule_targets(t, r):
            if target_name(x) in topics:
                assert (r, target_name(x)) in admitted, f"no topic policy lets {r} publish to {target_name(x)}"


@check("outcome deliveries: Slack only with a token (default channel also with its id), Chatbot only when enabled")
def _(t):
    def param_condition(cond, param, value="", negate=True):
        equals = {"Fn::Equals": [{"Ref": param}, value]}
        want = {"Fn::Not": [equals]} if negate else equals
        assert t.conditions.get(cond) == want, f"{cond} must be {want}, got {t.conditions.get(cond)}"

    token = t.params.get(SLACK_TOKEN_PARAM) or {}
    assert token.get("NoEcho") in (True, "true", "True") and token.get("Default") == "", \
        f"{SLACK_TOKEN_PARAM}: NoEcho with an empty default"
    rx = token.get("AllowedPattern") or ".*"
    for good in ("", "xoxb-1234-5678-AbCd"):
        assert re.fullmatch(rx, good), f"{SLACK_TOKEN_PARAM} refuses {good!r}"
    for bad in ("xoxp-1234", "Bearer xoxb-1", 'xoxb-1"x', "xoxb-1 x", "xoxb-"):
        assert not re.fullmatch(rx, bad), f"{SLACK_TOKEN_PARAM} admits {bad!r}"
    channel = t.params.get(SLACK_CHANNEL_PARAM) or {}
    assert channel.get("Default") == "", f"{SLACK_CHANNEL_PARAM} must default to ''"
    rx = channel.get("AllowedPattern") or ".*"
    assert re.fullmatch(rx, "") and re.fullmatch(rx, "C0123456"), f"{SLACK_CHANNEL_PARAM} refuses a channel id"
    for bad in ('C01"}', "C01\\x", "#general", "C0123456 "):
        assert not re.fullmatch(rx, bad), f"{SLACK_CHANNEL_PARAM} admits {bad!r} (it is put into a JSON template)"
    chatbot = t.params.get(CHATBOT_PARAM) or {}
    assert chatbot.get("Default") == "" and set(chatbot.get("AllowedValues") or []) == {"", "enabled"}, \
        f"{CHATBOT_PARAM}: '' or 'enabled', default ''"

    slack_types = ("AWS::Events::Connection", "AWS::Events::ApiDestination")
    slack = set(t.of_type(*slack_types)) | set(outcome_rules(t, "AWS::Events::ApiDestination"))
    slack |= {getatt(x.get("RoleArn"))[0] for x in outcome_rules(t, "AWS::Events::ApiDestination").values()
              if getatt(x.get("RoleArn"))}
    assert slack, "no Slack delivery"
    for name in slack:
        cond = t.resources[name].get("Condition")
        assert cond, f"{name} is created unconditionally"
        uses_channel = SLACK_CHANNEL_PARAM in json.dumps(t.props(name))
        if uses_channel:
            yes = t.conditions.get(cond) or {}
            assert yes.get("Fn::And") and {"Condition": "HasSlack"} in yes["Fn::And"] \
                and {"Fn::Not": [{"Fn::Equals": [{"Ref": SLACK_CHANNEL_PARAM}, ""]}]} in yes["Fn::And"], \
                f"{name} uses {SLACK_CHANNEL_PARAM}: its condition {cond} must need the token and the channel"
        else:
            assert cond == "HasSlack", f"{name}: condition {cond}, expected HasSlack"
    param_condition("HasSlack", SLACK_TOKEN_PARAM)
    assert any(SLACK_CHANNEL_PARAM in json.dumps(t.props(r)) for r in slack), f"no rule posts to {SLACK_CHANNEL_PARAM}"

    chat = set(t.of_type("AWS::SNS::Topic", "AWS::SNS::TopicPolicy")) | set(outcome_rules(t, "AWS::SNS::Topic"))
    assert chat, "no Chatbot delivery"
    for name in chat:
        assert t.resources[name].get("Condition") == "HasChatbot", f"{name}: condition {t.resources[name].get('Condition')}"
    param_condition("HasChatbot", CHATBOT_PARAM, "enabled", negate=False)
    outputs = [o for o in (t.t.get("Outputs") or {}).values() if ref(o.get("Value")) in t.of_type("AWS::SNS::Topic")]
    assert outputs and all(o.get("Condition") == "HasChatbot" for o in outputs), "topic ARN output missing or unconditional"


@check("outcome deliveries: Slack is POST chat.postMessage, API key Authorization: Bearer <token>, rate-limited")
def _(t):
    dests = t.of_type("AWS::Events::ApiDestination")
    assert dests, "no API destination"
    for name in dests:
        p = t.props(name)
        assert p.get("HttpMethod") == "POST" and p.get("InvocationEndpoint") == SLACK_ENDPOINT, \
            f"{name}: {p.get('HttpMethod')} {p.get('InvocationEndpoint')}"
        rate = p.get("InvocationRateLimitPerSecond")
        assert rate is not None and 1 <= int(rate) <= 5, f"{name}: InvocationRateLimitPerSecond {rate}"
        conn = getatt(p.get("ConnectionArn"))
        assert conn and conn[0] in t.of_type("AWS::Events::Connection"), f"{name}: ConnectionArn {p.get('ConnectionArn')}"
        c = t.props(conn[0])
        key = (c.get("AuthParameters") or {}).get("ApiKeyAuthParameters") or {}
        assert c.get("AuthorizationType") == "API_KEY" and key.get("ApiKeyName") == "Authorization" \
            and sub_string(key.get("ApiKeyValue")) == "Bearer ${%s}" % SLACK_TOKEN_PARAM, \
            f"{conn[0]}: must send Authorization: Bearer ${{{SLACK_TOKEN_PARAM}}}, got {c.get('AuthorizationType')} {key}"


@check("outcome deliveries: every target retries and dead-letters to the DLQ, whose policy admits its rule")
def _(t):
    queues = t.of_type("AWS::SQS::Queue")
    for r in t.of_type("AWS::Events::Rule"):
        if ref(t.props(r).get("EventBusName")) != the_bus(t):
            continue
        for x in rule_targets(t, r):
            retry = x.get("RetryPolicy") or {}
            assert int(retry.get("MaximumRetryAttempts", 0)) >= 1 and 60 <= int(retry.get("MaximumEventAgeInSeconds", 0)) <= 86400, \
                f"{r}: RetryPolicy {retry}"
            dlq = getatt((x.get("DeadLetterConfig") or {}).get("Arn"))
            assert dlq and dlq[0] in queues, f"{r}: no DeadLetterConfig to a queue of this stack"
            policies = [p for p in t.of_type("AWS::SQS::QueuePolicy") if {"Ref": dlq[0]} in as_list(t.props(p).get("Queues"))]
            admits = [cond for p in policies for cond, st in doc_statements(t.props(p)["PolicyDocument"])
                      if st.get("Effect") == "Allow" and "sqs:SendMessage" in actions(st)
                      and getatt(((st.get("Condition") or {}).get("ArnEquals") or {}).get("aws:SourceArn")) == (r, "Arn")]
            assert admits, f"no queue policy lets {r} dead-letter into {dlq[0]}"
            assert admits == [t.resources[r].get("Condition")], \
                f"{dlq[0]}'s statement for {r} has condition {admits}, the rule {t.resources[r].get('Condition')}"
    for p in t.of_type("AWS::SQS::QueuePolicy"):
        for cond, st in doc_statements(t.props(p)["PolicyDocument"]):
            rule = getatt(((st.get("Condition") or {}).get("ArnEquals") or {}).get("aws:SourceArn"))
            if rule and rule[0] in t.resources:
                assert cond == t.resources[rule[0]].get("Condition"), \
                    f"{p}: statement for {rule[0]} under {cond}, the rule under {t.resources[rule[0]].get('Condition')}"


@check("command rules: retried for at most maxCommandAge (15m), the oldest grant the function accepts")
def _(t):
    for r in command_rules(t):
        for x in rule_targets(t, r):
            age = int((x.get("RetryPolicy") or {}).get("MaximumEventAgeInSeconds", 86400))
            assert 60 <= age <= MAX_COMMAND_AGE_SECONDS, \
                f"{r}: MaximumEventAgeInSeconds {age}; a grant older than {MAX_COMMAND_AGE_SECONDS} s is refused anyway"


def input_template(t, target):
    """A target's InputTemplate as EventBridge receives it (Fn::Sub of the default channel
    read at a sample channel id, which must satisfy the parameter's pattern)."""
    tr = target.get("InputTransformer") or {}
    text = tr.get("InputTemplate")
    body = sub_string(text)
    if body is not None:
        def param(m):
            name = m.group(1)
            if name != SLACK_CHANNEL_PARAM:
                raise Unsupported(f"InputTemplate substitutes ${{{name}}}")
            rx = (t.params.get(name) or {}).get("AllowedPattern") or ""
            assert re.fullmatch(rx, SLACK_SAMPLE_DEFAULT_CHANNEL), f"{name}'s pattern refuses {SLACK_SAMPLE_DEFAULT_CHANNEL}"
            return SLACK_SAMPLE_DEFAULT_CHANNEL
        text = re.sub(r"\$\{([A-Za-z0-9:]+)\}", param, body)
    assert isinstance(text, str), f"InputTemplate {tr.get('InputTemplate')!r}"
    return text, tr.get("InputPathsMap") or {}


def reply_variants(t):
    """Each outcome sample, and each with every kind of replyTo a command can carry."""
    out = {}
    for path, ev in samples_by_kind(t)["outcome"].items():
        out[path] = ev
        for label, reply in (("thread", {"channel": "C0THREAD", "threadTs": "1717171717.000300"}),
                             ("channel", {"channel": "C0CHANNEL"}), ("none", None), ("empty", {}),
                             ("threadTs only", {"threadTs": "1717171717.000400"}),
                             ("extra keys", {"channel": "C0EXTRA", "threadTs": "1.2", "team": "T1"})):
            variant = copy.deepcopy(ev)
            variant["detail"]["replyTo"] = reply
            out[f"{path} (replyTo {label})"] = variant
        variant = copy.deepcopy(ev)
        variant["detail"]["summary"] = HOSTILE_SUMMARY
        out[f"{path} (summary with quotes and a backslash)"] = variant
    return out


@check("outcome deliveries: each outcome reaches Slack by exactly one rule: channel, [thread_ts], the type and the summary")
def _(t):
    rules = outcome_rules(t, "AWS::Events::ApiDestination")
    assert rules, "no Slack rule"
    patterns = {r: rule_pattern(t, r) for r in rules}
    for path, ev in reply_variants(t).items():
        hits = [r for r in rules if eb_matches(patterns[r], ev)]
        assert len(hits) == 1, f"{path}: Slack rules {hits} match (want exactly one)"
        text, paths = input_template(t, rules[hits[0]])
        msg = rendered(text, paths, ev)
        reply = ev["detail"]["replyTo"] if isinstance(ev["detail"]["replyTo"], dict) else {}
        summary = ev["detail"]["summary"]
        want = {"channel": reply.get("channel", SLACK_SAMPLE_DEFAULT_CHANNEL), "text": summary,
                "blocks": [{"type": "context", "elements": [{"type": "plain_text", "text": ev["detail-type"]}]},
                           {"type": "section", "text": {"type": "mrkdwn", "text": summary}}]}
        if "channel" in reply and "threadTs" in reply:
            want["thread_ts"] = reply["threadTs"]
        assert msg == want, f"{path} via {hits[0]}: posts {msg}, want {want}"
    for path, ev in samples_by_kind(t)["command"].items():
        hits = [r for r in rules if eb_matches(patterns[r], ev)]
        assert not hits, f"the command {path} would be posted by {hits}"


@check("outcome deliveries: each outcome reaches the Chatbot topic as exactly a custom notification")
def _(t):
    rules = outcome_rules(t, "AWS::SNS::Topic")
    assert rules, "no Chatbot rule"
    for r, target in rules.items():
        pattern = rule_pattern(t, r)
        text, paths = input_template(t, target)
        for path, ev in reply_variants(t).items():
            assert eb_matches(pattern, ev), f"{r} does not match {path}"
            want = {"version": "1.0", "source": "custom",
                    "content": {"textType": "client-markdown", "title": ev["detail-type"],
                                "description": ev["detail"]["summary"]}}
            got = rendered(text, paths, ev)
            assert got == want, f"{r} on {path}: {got}, want {want}"
        for path, ev in samples_by_kind(t)["command"].items():
            assert not eb_matches(pattern, ev), f"the command {path} would be notified by {r}"


@check("events/outcomes: one sample per detail type, a full lightsail-jit event with exactly the documented keys")
def _(t):
    outcomes = samples_by_kind(t)["outcome"]
    names = {p.rsplit("/", 1)[1] for p in outcomes}
    assert names == set(OUTCOME_SAMPLES), f"extra {sorted(names - set(OUTCOME_SAMPLES))}, missing {sorted(set(OUTCOME_SAMPLES) - names)}"
    for path, ev in sorted(outcomes.items()):
        dtype = OUTCOME_SAMPLES[path.rsplit("/", 1)[1]]
        assert isinstance(ev, dict) and set(ev) == EVENT_ENVELOPE_KEYS, f"{path}: envelope keys {sorted(ev)}"
        assert ev["detail-type"] == dtype and ev["source"] == EVENT_SOURCE, f"{path}: {ev['detail-type']} from {ev['source']}"
        assert ev["version"] == "0" and ev["resources"] == [] and re.fullmatch(r"\d{12}", ev["account"]), f"{path}: envelope"
        d = ev["detail"]
        want = OUTCOME_DETAIL_KEYS | OUTCOME_EXTRA_KEYS[dtype]
        assert set(d) == want, f"{path}: detail extra {sorted(set(d) - want)}, missing {sorted(want - set(d))}"
        assert re.fullmatch(r"[0-9a-f]{32}", str(d["eventId"])), f"{path}: eventId {d['eventId']!r}"
        assert isinstance(d["summary"], str) and d["summary"] and isinstance(d["requestId"], str), f"{path}: summary/requestId"
        for key in ("region", "instanceName", "requester", "expiresAt", "reason"):
            assert d[key] is None or isinstance(d[key], str), f"{path}: {key} {d[key]!r}"
        for key in ("rules", "sources"):
            assert isinstance(d[key], list) and all(isinstance(x, str) for x in d[key]), f"{path}: {key} {d[key]!r}"
        assert d["replyTo"] is None or (isinstance(d["replyTo"], dict)
                                        and len(json.dumps(d["replyTo"]).encode()) <= REPLY_TO_MAX_BYTES), \
            f"{path}: replyTo {d['replyTo']!r}"
        if dtype == "JIT Access Rejected":
            assert isinstance(d["error"], dict) and set(d["error"]) == {"code", "message"}, f"{path}: error {d['error']!r}"
        if "endedBy" in d:
            allowed = {"revoke", "lockdown"} if dtype == "JIT Access Revoked" else {"unlock", "expired"}
            assert d["endedBy"] in allowed, f"{path}: endedBy {d['endedBy']!r}"
        if "breakGlass" in d:
            assert isinstance(d["breakGlass"], bool), f"{path}: breakGlass {d['breakGlass']!r}"


@check("events/outcomes: summaries hold no raw < or > (a reason cannot become a Slack mention)")
def _(t):
    for path, ev in sorted(samples_by_kind(t)["outcome"].items()):
        bad = SUMMARY_FORBIDDEN.findall(str(ev["detail"].get("summary")))
        assert not bad, f"{path}: summary holds {bad}"


@check("schedule: sweep on a parameter defaulting to rate(1 minute)")
def _(t):
    sched = t.events("Schedule")
    assert sched, "no Schedule event"
    props = next(iter(sched.values()))
    p = ref(props.get("Schedule"))
    assert p in t.params and t.params[p].get("Default") == "rate(1 minute)", f"Schedule {props.get('Schedule')}"
    inp = props.get("Input")
    assert inp is None or json.loads(inp).get("action") == "sweep", f"sweep Input {inp}"
    assert props.get("Enabled", True) is True, "sweep schedule disabled"


@check("schedule: lockdown sends the lockdown command, only when its cron parameter is not empty")
def _(t):
    found = []
    for name, res in t.of_type("AWS::Scheduler::Schedule", "AWS::Events::Rule").items():
        props = res.get("Properties") or {}
        inputs = [props.get("Target", {}).get("Input")] + [x.get("Input") for x in as_list(props.get("Targets"))]
        for inp in inputs:
            text = schedule_input(t, inp)
            if text and json.loads(text).get("action") == "lockdown":
                found.append((name, res, json.loads(text)))
    assert len(found) == 1, f"expected one lockdown schedule, found {[f[0] for f in found]}"
    name, res, inp = found[0]
    assert inp == LOCKDOWN_INPUT, f"{name}: Input {inp}"
    cond = res.get("Condition")
    assert cond in t.conditions, f"{name} has no Condition"
    p = ref(res["Properties"].get("ScheduleExpression"))
    assert p in t.params and t.params[p].get("Default") == "", f"{name}: ScheduleExpression must be a parameter defaulting to ''"
    assert t.conditions[cond] == {"Fn::Not": [{"Fn::Equals": [{"Ref": p}, ""]}]}, f"{cond} is not Not(Equals({p}, ''))"
    role = getatt((res["Properties"].get("Target") or {}).get("RoleArn"))
    if role:
        assert t.resources[role[0]].get("Condition") == cond, f"{role[0]} must share the condition {cond}"


def schedule_input(t, inp):
    """A schedule's Input as its target receives it: a plain string, or a Fn::Sub whose
    ${Param} references are read at the parameters' defaults."""
    body = sub_string(inp)
    if body is None:
        return inp
    def default(m):
        name = m.group(1)
        assert name in t.params, f"Input references {name}, which is not a parameter"
        return str(t.params[name].get("Default"))
    return re.sub(r"\$\{([A-Za-z0-9]+)\}", default, body)


@check("schedule: the lockdown's duration is the LockdownDuration parameter, a duration the function reads")
def _(t):
    res = t.resources.get("LockdownScheduler") or {}
    body = sub_string(((res.get("Properties") or {}).get("Target") or {}).get("Input")) or ""
    assert '"duration":"${LockdownDuration}"' in body, f"LockdownScheduler Input {body!r}"
    param = t.params.get("LockdownDuration") or {}
    pattern = param.get("AllowedPattern")
    assert pattern, "LockdownDuration needs an AllowedPattern"
    for good in ("9h", "8h30m", "90m", "12h"):
        assert re.fullmatch(pattern, good), f"LockdownDuration refuses {good!r}"
    for bad in ("", "0h", "9", "forever", "9h 30m", "-1h", "1d"):
        assert not re.fullmatch(pattern, bad), f"LockdownDuration admits {bad!r}"


# ---- alarms and outputs ----

def alarms(t):
    return {k: v.get("Properties") or {} for k, v in t.of_type("AWS::CloudWatch::Alarm").items()}


def alarm_actions_ok(t, name, props):
    acts = props.get("AlarmActions")
    assert isinstance(acts, dict) and "Fn::If" in acts, f"{name}: AlarmActions must be !If on the topic parameter"
    cond, yes, no = acts["Fn::If"]
    p = ref(as_list(yes)[0])
    assert p in t.params and t.params[p].get("Default") == "", f"{name}: topic parameter"
    assert t.conditions.get(cond) == {"Fn::Not": [{"Fn::Equals": [{"Ref": p}, ""]}]}, f"{name}: condition {cond}"


@check("alarms: DLQ depth > 0 and function Errors > 0, SNS actions from an optional parameter")
def _(t):
    q, _ = command_queue(t)
    dlq = getatt(t.props(q)["RedrivePolicy"]["deadLetterTargetArn"])[0]
    fn_name, _ = t.function()
    have = set()
    for name, p in alarms(t).items():
        dims = {d["Name"]: d["Value"] for d in as_list(p.get("Dimensions"))}
        over_zero = p.get("ComparisonOperator") == "GreaterThanThreshold" and float(p.get("Threshold", -1)) == 0
        if p.get("Namespace") == "AWS/SQS" and p.get("MetricName") == "ApproximateNumberOfMessagesVisible" \
                and getatt(dims.get("QueueName")) == (dlq, "QueueName") and over_zero:
            have.add("dlq")
            alarm_actions_ok(t, name, p)
        if p.get("Namespace") == "AWS/Lambda" and p.get("MetricName") == "Errors" \
                and ref(dims.get("FunctionName")) == fn_name and over_zero:
            have.add("errors")
            alarm_actions_ok(t, name, p)
    assert have == {"dlq", "errors"}, f"missing alarms: {sorted({'dlq', 'errors'} - have)}"


@check("alarms: EventsNotPublished counts fields.eventNotPublished in the function's log group, and is alarmed")
def _(t):
    group = ref((t.fn_prop("LoggingConfig") or {}).get("LogGroup"))
    filters = [(n, t.props(n)) for n in t.of_type("AWS::Logs::MetricFilter")
               if NOT_PUBLISHED_FIELD in str(t.props(n).get("FilterPattern"))]
    assert len(filters) == 1, f"expected one metric filter on {NOT_PUBLISHED_FIELD}, found {[n for n, _ in filters]}"
    name, p = filters[0]
    assert ref(p.get("LogGroupName")) == group, f"{name}: LogGroupName {p.get('LogGroupName')}, the function logs to {group}"
    assert re.fullmatch(r"\{\s*\$\.fields\.%s\s*=\s*1\s*\}" % NOT_PUBLISHED_FIELD, str(p.get("FilterPattern"))), \
        f"{name}: FilterPattern {p.get('FilterPattern')!r}, want {{ $.fields.{NOT_PUBLISHED_FIELD} = 1 }}"
    metrics = as_list(p.get("MetricTransformations"))
    assert len(metrics) == 1 and str(metrics[0].get("MetricValue")) == "1", f"{name}: MetricTransformations {metrics}"
    metric = metrics[0]
    watching = [a for a, ap in alarms(t).items()
                if ap.get("Namespace") == metric.get("MetricNamespace") and ap.get("MetricName") == metric.get("MetricName")]
    assert watching, f"no alarm on {metric.get('MetricNamespace')} {metric.get('MetricName')}"
    for a in watching:
        ap = alarms(t)[a]
        assert ap.get("Statistic") == "Sum" and ap.get("ComparisonOperator") == "GreaterThanThreshold" \
            and float(ap.get("Threshold", -1)) == 0, f"{a}: must fire on Sum > 0"
        alarm_actions_ok(t, a, ap)


@check("Slack front door: only with a signing secret; a public URL whose InvokeFunction grant holds only through the URL; the secret resolved from Secrets Manager")
def _(t):
    param = t.params.get(SLACK_SIGNING_PARAM) or {}
    assert param.get("Default") == "", f"{SLACK_SIGNING_PARAM} must default to '' (no URL)"
    rx = param.get("AllowedPattern") or ".*"
    good = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:jit/slack-AbCdEf"
    assert re.fullmatch(rx, "") and re.fullmatch(rx, good), f"{SLACK_SIGNING_PARAM} refuses a secret ARN"
    for bad in ("8f742231b10e8888abcd99yyyzzz85a5", "arn:aws:ssm:eu-west-1:123456789012:parameter/x",
                good + "}}"):
        assert not re.fullmatch(rx, bad), f"{SLACK_SIGNING_PARAM} admits {bad!r}"
    want = {"Fn::Not": [{"Fn::Equals": [{"Ref": SLACK_SIGNING_PARAM}, ""]}]}
    cond = next((k for k, v in t.conditions.items() if v == want), None)
    assert cond, f"no condition 'not empty' on {SLACK_SIGNING_PARAM}"
    urls = t.of_type("AWS::Lambda::Url")
    assert len(urls) == 1, f"expected one function URL, found {sorted(urls)}"
    (url_name, url), = urls.items()
    fn_name, _ = t.function()
    assert url.get("Condition") == cond, f"{url_name}: only under {cond}"
    assert (url.get("Properties") or {}).get("AuthType") == "NONE", \
        f"{url_name}: AuthType NONE (Slack cannot sign SigV4; the function checks Slack's signature)"
    assert (url.get("Properties") or {}).get("TargetFunctionArn") == {"Fn::GetAtt": [fn_name, "Arn"]}
    perms = t.of_type("AWS::Lambda::Permission")
    public = {k: v for k, v in perms.items() if (v.get("Properties") or {}).get("Principal") == "*"}
    actions = sorted((v.get("Properties") or {}).get("Action") for v in public.values())
    assert actions == ["lambda:InvokeFunction", "lambda:InvokeFunctionUrl"], \
        f"public permissions must be exactly the URL's two, got {actions}"
    for name, perm in public.items():
        props = perm.get("Properties") or {}
        assert perm.get("Condition") == cond, f"{name}: only under {cond}"
        if props["Action"] == "lambda:InvokeFunction":
            assert props.get("InvokedViaFunctionUrl") in (True, "true"), \
                f"{name}: a public InvokeFunction must hold only through the function URL"
        else:
            assert props.get("FunctionUrlAuthType") == "NONE", f"{name}: FunctionUrlAuthType NONE"
    env = t.fn_prop("Environment")["Variables"]
    secret = env.get("SLACK_SIGNING_SECRET")
    assert isinstance(secret, dict) and "Fn::If" in secret and secret["Fn::If"][0] == cond, \
        f"SLACK_SIGNING_SECRET must be set only under {cond}: {secret}"
    resolved = secret["Fn::If"][1]
    text = resolved.get("Fn::Sub") if isinstance(resolved, dict) else resolved
    assert isinstance(text, str) and text.startswith("{{resolve:secretsmanager:${" + SLACK_SIGNING_PARAM + "}"), \
        f"SLACK_SIGNING_SECRET must resolve the Secrets Manager secret, got {resolved}"
    outputs = t.t.get("Outputs") or {}
    assert any(o.get("Value") == {"Fn::GetAtt": [url_name, "FunctionUrl"]} and o.get("Condition") == cond
               for o in outputs.values()), "no output of the URL"


@check("EventBridge: one rule takes the slash commands the function hands on (lightsail-jit, JIT Command) to the queue, and no outcome event has that type")
def _(t):
    rules = [r for r in t.of_type("AWS::Events::Rule") if "EventPattern" in t.props(r) and is_deferral_rule(t, r)]
    assert len(rules) == 1, f"expected one deferral rule, found {rules}"
    (rule,) = rules
    q, _ = command_queue(t)
    assert [target_name(x) for x in rule_targets(t, rule)] == [q], f"{rule}: must target only {q}"
    assert "Condition" not in t.resources[rule], f"{rule}: the queue must always take handed-on commands"
    kinds = samples_by_kind(t)
    outcome_types = {ev["detail-type"] for ev in kinds["outcome"].values()}
    assert DEFERRED_COMMAND not in outcome_types, f"an outcome sample has detail-type {DEFERRED_COMMAND}"
    handed_on = {"version": "0", "id": "x", "source": EVENT_SOURCE, "detail-type": DEFERRED_COMMAND,
                 "detail": {"action": "grant", "instanceName": "web-1"}}
    assert eb_matches(rule_pattern(t, rule), handed_on), f"{rule} does not match a handed-on command"


@check("outputs: queue URL, bus name, function name")
def _(t):
    q, _ = command_queue(t)
    fn_name, _ = t.function()
    bus = next(iter(t.of_type("AWS::Events::EventBus")))
    values = [o.get("Value") for o in (t.t.get("Outputs") or {}).values()]
    for want in ({"Ref": q}, {"Ref": bus}, {"Ref": fn_name}):
        assert want in values, f"no output with {want}"


# --------------------------------------------------------------------------- runner

def run_checks(data, verbose=True):
    t = data if isinstance(data, Template) else Template(data)
    failed = []
    for title, fn in CHECKS:
        try:
            fn(t)
        except (AssertionError, KeyError, TypeError, ValueError, StopIteration) as e:
            failed.append(title)
            if verbose:
                print(f"FAIL {title}: {type(e).__name__ if not isinstance(e, AssertionError) else ''}{e}")
        else:
            if verbose:
                print(f"ok   {title}")
    return len(CHECKS) - len(failed), failed


# --self-test: every mutation in template_mutations.py must make at least one check fail.

def self_test(path):
    with open(path) as f:
        text = f.read()
    passed = failed = 0
    base_ok, base_failed = run_checks(load(path), verbose=False)
    if base_failed:
        print(f"FAIL the unmodified template already fails: {base_failed}")
        return 0, 1
    with tempfile.TemporaryDirectory(prefix="check-template-") as tmp:
        for title, mutate in MUTATIONS:
            data = load(path)
            t = Template(data)  # a mutation may also edit t.samples (this copy of events/)
            try:
                mutate(data, t)
            except Exception as e:  # the template changed shape: the mutation must be updated
                print(f"FAIL mutation {title!r} no longer applies: {type(e).__name__} {e}")
                failed += 1
                continue
            _, caught = run_checks(t, verbose=False)
            if caught:
                passed += 1
                print(f"ok   mutation {title!r} caught by: {caught[0]}")
            else:
                failed += 1
                print(f"FAIL mutation {title!r} not caught")
        for title, pattern, replacement in TEXT_MUTATIONS:
            mutated, count = re.subn(pattern, replacement, text)
            if count != 1:
                print(f"FAIL {title}: pattern matched {count} times in {path}")
                failed += 1
                continue
            mutant = os.path.join(tmp, "template.yaml")
            with open(mutant, "w") as f:
                f.write(mutated)
            proc = subprocess.run([sys.executable, os.path.abspath(__file__), mutant], capture_output=True, text=True)
            last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
            if proc.returncode != 0 and re.fullmatch(r"\d+ passed, [1-9]\d* failed", last):
                passed += 1
                print(f"ok   {title}: exit {proc.returncode}, {last}")
            else:
                failed += 1
                print(f"FAIL {title}: exit {proc.returncode}, {last!r}")
    return passed, failed


def translated_checks(path):
    """The plain CloudFormation that the SAM transform produces (scripts/ci_template.sh
    writes it): nothing SAM generates may add authority the source template does not show."""
    with open(path) as f:
        t = Template(json.load(f))
    results = []

    def run(title, fn):
        try:
            fn()
        except (AssertionError, KeyError, TypeError, ValueError) as e:
            print(f"FAIL {title}: {'' if isinstance(e, AssertionError) else type(e).__name__ + ' '}{e}")
            results.append(False)
        else:
            print(f"ok   {title}")
            results.append(True)

    def no_managed_policies():
        for name in t.of_type("AWS::IAM::Role"):
            arns = t.props(name).get("ManagedPolicyArns")
            assert not arns, f"{name} (after the SAM transform) attaches {arns}"

    def no_wildcards():
        for owner, path_, st in t.statements():
            for a in actions(st):
                assert "*" not in a, f"{owner}: wildcard action {a!r}"

    def lightsail_exact():
        got = {a.lower() for _, _, st in t.statements() if st.get("Effect") == "Allow"
               for a in actions(st) if a.lower().startswith("lightsail:")}
        assert got == lower_set(LIGHTSAIL_ACTIONS), f"Lightsail actions after the transform: {sorted(got)}"

    def events_exact():
        seen = set()
        for owner, _, st in t.statements():
            acts = lower_set(a for a in actions(st) if a.lower().startswith("events:"))
            if st.get("Effect") != "Allow" or not acts:
                continue
            seen |= acts
            assert acts <= {"events:putevents", "events:invokeapidestination"}, f"{owner}: {sorted(acts)}"
            if "events:putevents" in acts:
                assert EVENT_SOURCE in source_condition(st, "StringEquals") + source_condition(st, "StringNotEquals"), \
                    f"{owner}: events:PutEvents without an events:source condition"
        assert "events:putevents" in seen, "nobody may events:PutEvents after the transform"

    run("translated: no role has managed policies (SAM added none)", no_managed_policies)
    run("translated: no action contains '*'", no_wildcards)
    run("translated: Lightsail actions are exactly the six", lightsail_exact)
    run("translated: every Lightsail Allow holds only in the managed Regions (aws:RequestedRegion)",
        lambda: lightsail_allows_in_managed_regions(t))
    run("translated: Lightsail writes on exactly Instance/* of each managed Region",
        lambda: lightsail_writes_on_managed_regions(t))
    run("translated: events actions are PutEvents (always with an events:source condition) and InvokeApiDestination",
        events_exact)
    return results.count(True), results.count(False)


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    path = args[0] if args else os.path.join(ROOT, "template.yaml")
    if "--self-test" in argv:
        passed, failed = self_test(path)
    elif "--translated" in argv:
        assert args, "--translated needs the JSON file the SAM transform wrote"
        passed, failed = translated_checks(path)
    else:
        passed, failed_titles = run_checks(load(path))
        failed = len(failed_titles)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
