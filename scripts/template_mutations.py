"""The deliberate breakages behind `check_template.py --self-test`.

A check that cannot fail proves nothing. Each entry here breaks one property of
template.yaml that check_template.py asserts (a wildcard action, a dropped tag condition, a
visibility timeout shorter than the function's, a missing alarm, ...); the self-test applies
each to a fresh copy of the template and requires at least one check to catch it.

They live apart from the checks so that the checker reads as the list of properties it
enforces, and this file as the list of ways to break them: a new check comes with a new
mutation here, and a template change that makes a mutation stop applying shows up as
"no longer applies" in the self-test rather than as a silent pass.

Two kinds:

* MUTATIONS: (title, mutate(d, t)) on the parsed template. `d` is the template as loaded
  (plain dicts and lists, mutated in place); `t` is check_template's Template view of that
  same `d`, for finding a statement by Sid, the function or its role. It is passed in
  rather than imported, so this module needs nothing from the checker and the checker can
  import it without an import cycle.
* TEXT_MUTATIONS: (title, regex, replacement) applied to the template's text (the regex
  must match exactly once); the self-test runs the checker's command line on the result
  and requires a failing exit status and summary line, end to end.
"""


def _stmt(t, sid):
    """The policy statement with this Sid, anywhere in the template."""
    for owner, path, st in t.statements():
        if st.get("Sid") == sid:
            return st
    raise KeyError(sid)


def _fn(t):
    """The function's Properties (the one AWS::Serverless::Function building the binary)."""
    return t.function()[1]["Properties"]


def _set(d, path, value):
    """Set d[path[0]][path[1]]... to value; value KeyError deletes the last key instead."""
    node = d
    for k in path[:-1]:
        node = node[k]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value


def _one_second_short(m):
    """The VisibilityTimeout mutation's replacement: one second below the current value."""
    return m.group(0).replace(m.group(1), str(int(m.group(1)) - 1))


# Each must make at least one check fail.
MUTATIONS = [
    ("lightsail:* on the read statement", lambda d, t: _stmt(t, "LightsailRead")["Action"].append("lightsail:*")),
    ("lightsail:Get* instead of the two reads", lambda d, t: _set(_stmt(t, "LightsailRead"), ["Action"], ["lightsail:Get*"])),
    ("Action '*'", lambda d, t: _set(_stmt(t, "LightsailRead"), ["Action"], "*")),
    ("CloseInstancePublicPorts added", lambda d, t: _stmt(t, "LightsailFirewallWriteOptedIn")["Action"].append("lightsail:CloseInstancePublicPorts")),
    ("GetInstancePortStates added", lambda d, t: _stmt(t, "LightsailRead")["Action"].append("lightsail:GetInstancePortStates")),
    ("firewall write without the tag condition", lambda d, t: _set(_stmt(t, "LightsailFirewallWriteOptedIn"), ["Condition"], KeyError)),
    ("firewall write with Null = true", lambda d, t: _set(_stmt(t, "LightsailFirewallWriteOptedIn"), ["Condition", "Null", "aws:ResourceTag/jit:managed"], "true")),
    ("firewall write on Resource '*'", lambda d, t: _set(_stmt(t, "LightsailFirewallWriteOptedIn"), ["Resource"], "*")),
    ("PutInstancePublicPorts moved to the read statement", lambda d, t: (
        _stmt(t, "LightsailRead")["Action"].append("lightsail:PutInstancePublicPorts"))),
    ("tag write without the tag condition", lambda d, t: _set(_stmt(t, "LightsailLedgerTagsOptedIn"), ["Condition", "Null"], {"aws:TagKeys": "false"})),
    ("tag keys widened to jit:*", lambda d, t: _set(_stmt(t, "LightsailLedgerTagsOptedIn"), ["Condition", "ForAllValues:StringLike", "aws:TagKeys"], ["jit:*"])),
    ("tag keys widened to jit:lockdown*", lambda d, t: _stmt(t, "LightsailLedgerTagsOptedIn")["Condition"]["ForAllValues:StringLike"]["aws:TagKeys"].append("jit:lockdown*")),
    ("lockdown tag key dropped", lambda d, t: _stmt(t, "LightsailLedgerTagsOptedIn")["Condition"]["ForAllValues:StringLike"]["aws:TagKeys"].remove("jit:lockdown")),
    ("tag keys include jit:managed", lambda d, t: _stmt(t, "LightsailLedgerTagsOptedIn")["Condition"]["ForAllValues:StringLike"]["aws:TagKeys"].append("jit:managed")),
    ("tag keys check dropped", lambda d, t: _set(_stmt(t, "LightsailLedgerTagsOptedIn")["Condition"], ["ForAllValues:StringLike"], KeyError)),
    ("ForAnyValue instead of ForAllValues", lambda d, t: _stmt(t, "LightsailLedgerTagsOptedIn")["Condition"].__setitem__(
        "ForAnyValue:StringLike", _stmt(t, "LightsailLedgerTagsOptedIn")["Condition"].pop("ForAllValues:StringLike"))),
    ("Null aws:TagKeys dropped", lambda d, t: _stmt(t, "LightsailLedgerTagsOptedIn")["Condition"]["Null"].pop("aws:TagKeys")),
    ("deny of jit:managed dropped", lambda d, t: _stmt(t, "DenyOptInTagChanges")["Condition"].__setitem__(
        "ForAnyValue:StringEqualsIgnoreCase", {"aws:TagKeys": ["jit:other"]})),
    ("managed policy attached to the role", lambda d, t: _set(d, ["Resources", t.function_role(), "Properties", "ManagedPolicyArns"],
                                                               ["arn:aws:iam::aws:policy/AdministratorAccess"])),
    ("SAM-generated role instead of the explicit one", lambda d, t: _fn(t).pop("Role")),
    ("sqs:* on the sender policy", lambda d, t: d["Resources"]["CommandSenderPolicy"]["Properties"]["PolicyDocument"]["Statement"][1].__setitem__("Action", "sqs:*")),
    ("sqs:SendMessage on '*'", lambda d, t: d["Resources"]["CommandSenderPolicy"]["Properties"]["PolicyDocument"]["Statement"][1].__setitem__("Resource", "*")),
    ("queue policy open to any principal", lambda d, t: d["Resources"]["CommandQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"][0].__setitem__("Principal", "*")),
    ("ReportBatchItemFailures dropped", lambda d, t: _fn(t)["Events"]["CommandQueue"]["Properties"].pop("FunctionResponseTypes")),
    ("ReportBatchItemFailure typo", lambda d, t: _fn(t)["Events"]["CommandQueue"]["Properties"].__setitem__("FunctionResponseTypes", ["ReportBatchItemFailure"])),
    ("batching window 60 s", lambda d, t: _fn(t)["Events"]["CommandQueue"]["Properties"].__setitem__("MaximumBatchingWindowInSeconds", 60)),
    ("visibility timeout 600", lambda d, t: d["Resources"]["CommandQueue"]["Properties"].__setitem__("VisibilityTimeout", 600)),
    ("function timeout 30", lambda d, t: _fn(t).__setitem__("Timeout", 30)),
    ("redrive policy dropped", lambda d, t: d["Resources"]["CommandQueue"]["Properties"].pop("RedrivePolicy")),
    ("x86_64", lambda d, t: _fn(t).__setitem__("Architectures", ["x86_64"])),
    ("provided.al2", lambda d, t: _fn(t).__setitem__("Runtime", "provided.al2")),
    ("BuildMethod makefile", lambda d, t: t.function()[1]["Metadata"].__setitem__("BuildMethod", "makefile")),
    ("MemorySize 256", lambda d, t: _fn(t).__setitem__("MemorySize", 256)),
    ("LogFormat Text", lambda d, t: _fn(t)["LoggingConfig"].__setitem__("LogFormat", "Text")),
    ("log retention dropped", lambda d, t: d["Resources"]["JitLogGroup"]["Properties"].pop("RetentionInDays")),
    ("JIT_POLICY hard-coded", lambda d, t: _fn(t)["Environment"]["Variables"].__setitem__("JIT_POLICY", "{}")),
    ("reserved concurrency dropped", lambda d, t: _fn(t).pop("ReservedConcurrentExecutions")),
    ("poller bound dropped", lambda d, t: _fn(t)["Events"]["CommandQueue"]["Properties"].pop("ScalingConfig")),
    ("async OnFailure destination dropped", lambda d, t: _fn(t)["EventInvokeConfig"].pop("DestinationConfig")),
    ("sweep every 5 minutes", lambda d, t: d["Parameters"]["SweepSchedule"].__setitem__("Default", "rate(5 minutes)")),
    ("lockdown schedule unconditional", lambda d, t: d["Resources"]["LockdownScheduler"].pop("Condition")),
    ("lockdown sends something else", lambda d, t: d["Resources"]["LockdownScheduler"]["Properties"]["Target"].__setitem__(
        "Input", '{"action":"lockdown","requester":"x"}')),
    ("lockdown open-ended", lambda d, t: d["Resources"]["LockdownScheduler"]["Properties"]["Target"].__setitem__(
        "Input", '{"action":"lockdown","requestId":"lockdown-<aws.scheduler.scheduled-time>","requester":"scheduled-lockdown","reason":"scheduled lockdown"}')),
    ("lockdown without a stable requestId", lambda d, t: d["Resources"]["LockdownScheduler"]["Properties"]["Target"].__setitem__(
        "Input", {"Fn::Sub": '{"action":"lockdown","duration":"${LockdownDuration}","requester":"scheduled-lockdown","reason":"scheduled lockdown"}'})),
    ("lockdown duration unbounded", lambda d, t: d["Parameters"]["LockdownDuration"].__setitem__("AllowedPattern", ".*")),
    ("bus rule targets another queue", lambda d, t: d["Resources"]["CommandRule"]["Properties"]["Targets"][0].__setitem__(
        "Arn", {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]})),
    ("DLQ alarm dropped", lambda d, t: d["Resources"].pop("DeadLetterQueueAlarm")),
    ("errors alarm without actions", lambda d, t: d["Resources"]["FunctionErrorsAlarm"]["Properties"].pop("AlarmActions")),
    ("queue URL output dropped", lambda d, t: d["Outputs"].pop("CommandQueueUrl")),
]

# End to end through the command line, on text edits (regex, must match exactly once) of a
# copy of the template in a temp dir: the exit status and the summary line must show it.
TEXT_MUTATIONS = [
    ("text: lightsail:* added", r"(\n(\s*)- lightsail:GetInstances\n)", r"\1\2- lightsail:*\n"),
    ("text: tag condition removed from the firewall writes",
     r"\n\s*Condition:\n\s*\"Null\":\n\s*aws:ResourceTag/jit:managed: \"false\"\n(?=\s*#[^\n]*\n(\s*#[^\n]*\n)*\s*- Sid: LightsailLedgerTags)",
     "\n"),
    ("text: VisibilityTimeout one second short", r"VisibilityTimeout: (\d+)", _one_second_short),
]

