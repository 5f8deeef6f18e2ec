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
INSTANCE_ARN = "arn:${AWS::Partition}:lightsail:${AWS::Region}:${AWS::AccountId}:Instance/*"
OPT_IN_TAG = "jit:managed"
ALLOWED_TAG_KEY_PATTERNS = {"jit:grant:*", "jit:baseline*", "jit:lockdown", "jit:lockdown:reason"}
# Keys the ledger writes (README "The ledger"): each must be allowed by some pattern.
LEDGER_KEYS = ["jit:grant:chg-1001", "jit:baseline", "jit:baseline:0", "jit:baseline:12",
               "jit:lockdown", "jit:lockdown:reason"]
# Keys no pattern may allow: the opt-in tag and anything beside the lockdown record.
NOT_LEDGER_KEYS = ["jit:lockdownx", "jit:lockdown:other", "jit:lockdowns"]
LAMBDA_BINARY = "lightsail-jit"
# The scheduled lockdown, with LockdownDuration at its default: timed (so it ends by
# itself) and keyed by the scheduled time (so a retried delivery is the same lockdown).
LOCKDOWN_INPUT = {"action": "lockdown", "requestId": "lockdown-<aws.scheduler.scheduled-time>",
                  "duration": "9h", "requester": "scheduled-lockdown", "reason": "scheduled lockdown"}


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


class Template:
    def __init__(self, data):
        self.t = data
        self.resources = data.get("Resources") or {}
        self.params = data.get("Parameters") or {}
        self.conditions = data.get("Conditions") or {}

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
                    for st in as_list(node["Statement"]):
                        if isinstance(st, dict):
                            out.append((owner, path, st))
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
        resources = as_list(st.get("Resource"))
        assert len(resources) == 1 and sub_string(resources[0]) == INSTANCE_ARN, \
            f"{st.get('Sid') or path}: Resource must be exactly !Sub {INSTANCE_ARN}, got {resources}"
        cond = st.get("Condition") or {}
        null = cond.get("Null") or {}
        assert is_false(null.get(f"aws:ResourceTag/{OPT_IN_TAG}")), \
            f"{st.get('Sid') or path}: missing Null aws:ResourceTag/{OPT_IN_TAG} = false"
        for op in cond:
            assert "IfExists" not in op, f"{st.get('Sid') or path}: {op} lets a missing key pass"
    assert seen == lower_set(LIGHTSAIL_WRITES), f"writes not found: {sorted(lower_set(LIGHTSAIL_WRITES) - seen)}"


@check("IAM: Tag/UntagResource limited by aws:TagKeys to jit:grant:* / jit:baseline* / jit:lockdown[:reason], never jit:managed")
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
            elif sub_string(r) == INSTANCE_ARN:
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
        for st in as_list(t.props(name)["PolicyDocument"]["Statement"]):
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

@check("EventBridge: custom bus named by a parameter, rule sends commands to the command queue")
def _(t):
    buses = t.of_type("AWS::Events::EventBus")
    assert len(buses) == 1, f"buses {sorted(buses)}"
    bus = next(iter(buses))
    assert ref(t.props(bus).get("Name")) in t.params, "bus Name must be a parameter"
    q, _ = command_queue(t)
    fn_name, _ = t.function()
    rules = [r for r in t.of_type("AWS::Events::Rule") if ref(t.props(r).get("EventBusName")) == bus]
    assert rules, "no rule on the bus"
    for r in rules:
        targets = [getatt(x.get("Arn")) for x in as_list(t.props(r).get("Targets"))]
        assert targets and all(x in ((q, "Arn"), (fn_name, "Arn")) for x in targets), f"{r}: targets {targets}"
        if (q, "Arn") in targets:
            policies = [p for p in t.of_type("AWS::SQS::QueuePolicy") if {"Ref": q} in as_list(t.props(p).get("Queues"))]
            admits = [st for p in policies for st in as_list(t.props(p)["PolicyDocument"]["Statement"])
                      if getatt(((st.get("Condition") or {}).get("ArnEquals") or {}).get("aws:SourceArn")) == (r, "Arn")]
            assert admits, f"no queue policy lets {r} send to {q}"


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
    t = Template(data)
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
            try:
                mutate(data, Template(data))
            except Exception as e:  # the template changed shape: the mutation must be updated
                print(f"FAIL mutation {title!r} no longer applies: {type(e).__name__} {e}")
                failed += 1
                continue
            _, caught = run_checks(data, verbose=False)
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
        except AssertionError as e:
            print(f"FAIL {title}: {e}")
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

    run("translated: no role has managed policies (SAM added none)", no_managed_policies)
    run("translated: no action contains '*'", no_wildcards)
    run("translated: Lightsail actions are exactly the six", lightsail_exact)
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
