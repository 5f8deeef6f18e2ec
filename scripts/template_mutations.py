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
  same `d`, for finding a statement by Sid, the function or its role, and the checks then
  run on that same `t`: a mutation may also edit `t.samples`, the checker's copy of the
  sample events under events/ (the files stay untouched). It is passed in rather than
  imported, so this module needs nothing from the checker and the checker can import it
  without an import cycle.
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


def _res(d, name):
    """A resource's Properties."""
    return d["Resources"][name]["Properties"]


def _pattern(d, rule):
    return _res(d, rule)["EventPattern"]


def _target(d, rule):
    return _res(d, rule)["Targets"][0]


def _outcome(t, name):
    """An outcome sample (events/outcomes/<name>), in the checker's copy."""
    return t.samples[f"events/outcomes/{name}"]


def _dlq_statement(d, sid):
    """The DLQ policy's statement with this Sid, unwrapped from its !If."""
    for st in d["Resources"]["DeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]:
        body = st["Fn::If"][1] if "Fn::If" in st else st
        if body.get("Sid") == sid:
            return st
    raise KeyError(sid)


def _unwrap_dlq_statement(d, sid):
    """Make a conditional DLQ statement unconditional (its rule stays conditional)."""
    sts = d["Resources"]["DeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    st = _dlq_statement(d, sid)
    sts[sts.index(st)] = st["Fn::If"][1]


def _region_cond(st):
    """The statement's StringEquals block (holding aws:RequestedRegion)."""
    return st["Condition"]["StringEquals"]


def _region_arns(t, sid):
    """The per-Region ARN list of a write statement (the Fn::If's HasManagedRegions branch)."""
    return _stmt(t, sid)["Resource"]["Fn::If"][1]


def _region_arn(t, sid, region):
    """The !If [Manages<Region>, !Sub arn, NoValue] entry of that Region in a write statement."""
    for entry in _region_arns(t, sid):
        if f":lightsail:{region}:" in entry["Fn::If"][1]["Fn::Sub"]:
            return entry
    raise KeyError(region)


def _one_second_short(m):
    """The VisibilityTimeout mutation's replacement: one second below the current value."""
    return m.group(0).replace(m.group(1), str(int(m.group(1)) - 1))


# Each must make at least one check fail.
MUTATIONS = [
    ("deferral rule widened to every lightsail-jit event", lambda d, t: _set(
        _res(d, "DeferredCommandRule"), ["EventPattern"], {"source": ["lightsail-jit"]})),
    ("deferral rule dropped", lambda d, t: d["Resources"].pop("DeferredCommandRule")),
    ("public InvokeFunction not limited to the URL", lambda d, t: _set(
        _res(d, "SlackCommandInvokePermission"), ["InvokedViaFunctionUrl"], KeyError)),
    ("function URL without its condition", lambda d, t: _set(
        d["Resources"]["SlackCommandUrl"], ["Condition"], KeyError)),
    ("signing secret in plain text", lambda d, t: _set(
        _fn(t)["Environment"]["Variables"], ["SLACK_SIGNING_SECRET"], "8f742231b10e8888abcd99yyyzzz85a5")),
    ("a third public permission", lambda d, t: d["Resources"].__setitem__("OpenToAll", {
        "Type": "AWS::Lambda::Permission", "Condition": "HasSlackCommand",
        "Properties": {"Action": "lambda:GetFunction", "FunctionName": {"Ref": "JitFunction"}, "Principal": "*"}})),
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
    ("sqs:* on the sender policy", lambda d, t: _stmt(t, "SendCommandsToQueue").__setitem__("Action", "sqs:*")),
    ("sqs:SendMessage on '*'", lambda d, t: _stmt(t, "SendCommandsToQueue").__setitem__("Resource", "*")),
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
    ("command rule retries grants for an hour", lambda d, t: d["Resources"]["CommandRule"]["Properties"]["Targets"][0]["RetryPolicy"].__setitem__(
        "MaximumEventAgeInSeconds", 3600)),
    ("DLQ alarm dropped", lambda d, t: d["Resources"].pop("DeadLetterQueueAlarm")),
    ("errors alarm without actions", lambda d, t: d["Resources"]["FunctionErrorsAlarm"]["Properties"].pop("AlarmActions")),
    ("queue URL output dropped", lambda d, t: d["Outputs"].pop("CommandQueueUrl")),
    # -- the managed Regions (ManagedRegions)
    ("read without the Region condition", lambda d, t: _stmt(t, "LightsailRead").pop("Condition")),
    ("firewall write without the Region condition", lambda d, t: _stmt(t, "LightsailFirewallWriteOptedIn")["Condition"].pop("StringEquals")),
    ("tag write without the Region condition", lambda d, t: _stmt(t, "LightsailLedgerTagsOptedIn")["Condition"].pop("StringEquals")),
    ("read in any Region by StringLike", lambda d, t: _stmt(t, "LightsailRead").__setitem__(
        "Condition", {"StringLike": {"aws:RequestedRegion": "*"}})),
    ("read Region condition IfExists", lambda d, t: _stmt(t, "LightsailRead").__setitem__(
        "Condition", {"StringEqualsIfExists": _region_cond(_stmt(t, "LightsailRead"))})),
    ("read Region condition always the stack's Region", lambda d, t: _region_cond(_stmt(t, "LightsailRead")).__setitem__(
        "aws:RequestedRegion", {"Ref": "AWS::Region"})),
    ("write Region condition only ManagedRegions (nothing when empty)", lambda d, t: _region_cond(_stmt(t, "LightsailFirewallWriteOptedIn")).__setitem__(
        "aws:RequestedRegion", {"Ref": "ManagedRegions"})),
    ("firewall write on a wildcard Region", lambda d, t: _stmt(t, "LightsailFirewallWriteOptedIn").__setitem__(
        "Resource", {"Fn::Sub": "arn:${AWS::Partition}:lightsail:*:${AWS::AccountId}:Instance/*"})),
    ("tag write always on the stack's Region", lambda d, t: _stmt(t, "LightsailLedgerTagsOptedIn").__setitem__(
        "Resource", {"Fn::Sub": "arn:${AWS::Partition}:lightsail:${AWS::Region}:${AWS::AccountId}:Instance/*"})),
    ("tag write on '*' when ManagedRegions is empty", lambda d, t: _stmt(t, "LightsailLedgerTagsOptedIn")["Resource"]["Fn::If"].__setitem__(2, "*")),
    ("eu-west-1's ARN names eu-west-2", lambda d, t: _region_arn(t, "LightsailFirewallWriteOptedIn", "eu-west-1")["Fn::If"].__setitem__(
        1, {"Fn::Sub": "arn:${AWS::Partition}:lightsail:eu-west-2:${AWS::AccountId}:Instance/*"})),
    ("a Region's ARN unconditional", lambda d, t: (lambda arns, e: arns.__setitem__(arns.index(e), e["Fn::If"][1]))(
        _region_arns(t, "LightsailLedgerTagsOptedIn"), _region_arn(t, "LightsailLedgerTagsOptedIn", "ap-south-1"))),
    ("a Region's ARN dropped", lambda d, t: _region_arns(t, "LightsailFirewallWriteOptedIn").remove(
        _region_arn(t, "LightsailFirewallWriteOptedIn", "sa-east-1"))),
    ("a Manages condition tests another Region", lambda d, t: d["Conditions"].__setitem__(
        "ManagesUsEast1", d["Conditions"]["ManagesUsEast2"])),
    ("a Manages condition always true", lambda d, t: d["Conditions"].__setitem__(
        "ManagesEuWest1", {"Fn::Not": [{"Fn::Equals": ["a", "b"]}]})),
    ("a Manages condition matches by prefix (no commas)", lambda d, t: d["Conditions"].__setitem__(
        "ManagesApSouth1", {"Fn::Not": [{"Fn::Equals": [
            {"Fn::Join": ["", {"Fn::Split": ["ap-south", {"Fn::Join": [",", {"Ref": "ManagedRegions"}]}]}]},
            {"Fn::Join": [",", {"Ref": "ManagedRegions"}]}]}]})),
    ("empty ManagedRegions counts as set", lambda d, t: d["Conditions"].__setitem__(
        "HasManagedRegions", {"Fn::Not": [{"Fn::Equals": [{"Fn::Join": [",", {"Ref": "ManagedRegions"}]}, "x"]}]})),
    ("ManagedRegions defaults to us-east-1", lambda d, t: d["Parameters"]["ManagedRegions"].__setitem__("Default", "us-east-1")),
    ("ManagedRegions a String", lambda d, t: d["Parameters"]["ManagedRegions"].__setitem__("Type", "String")),
    ("ManagedRegions admits any Region", lambda d, t: d["Parameters"]["ManagedRegions"].__setitem__("AllowedPattern", "^[a-z0-9-]*$")),
    ("ManagedRegions admits a wildcard", lambda d, t: d["Parameters"]["ManagedRegions"].__setitem__(
        "AllowedPattern", d["Parameters"]["ManagedRegions"]["AllowedPattern"].replace("|us-west-2)", "|us-west-2|\\*)"))),
    ("ManagedRegions refuses a Lightsail Region", lambda d, t: d["Parameters"]["ManagedRegions"].__setitem__(
        "AllowedPattern", d["Parameters"]["ManagedRegions"]["AllowedPattern"].replace("|eu-south-2", ""))),
    ("ManagedRegions passed to the function", lambda d, t: _fn(t)["Environment"]["Variables"].__setitem__(
        "JIT_REGIONS", {"Fn::Join": [",", {"Ref": "ManagedRegions"}]})),
    # -- the reply tags (jit:reply:<i>:<requestId>)
    ("tag keys widened to jit:rep*", lambda d, t: _stmt(t, "LightsailLedgerTagsOptedIn")["Condition"]["ForAllValues:StringLike"]["aws:TagKeys"].append("jit:rep*")),
    ("reply tag key jit:reply* instead of jit:reply:*", lambda d, t: (lambda keys: keys.__setitem__(keys.index("jit:reply:*"), "jit:reply*"))(
        _stmt(t, "LightsailLedgerTagsOptedIn")["Condition"]["ForAllValues:StringLike"]["aws:TagKeys"])),
    ("reply tag key dropped", lambda d, t: _stmt(t, "LightsailLedgerTagsOptedIn")["Condition"]["ForAllValues:StringLike"]["aws:TagKeys"].remove("jit:reply:*")),
    # -- the command rule: no loop, every action
    ("command rule without the source filter", lambda d, t: _pattern(d, "CommandRule").pop("source")),
    ("command rule excludes another source", lambda d, t: _pattern(d, "CommandRule").__setitem__("source", [{"anything-but": ["chatops.other"]}])),
    ("command rule matches any source by prefix", lambda d, t: _pattern(d, "CommandRule").__setitem__("source", [{"prefix": ""}])),
    ("unlock dropped from the command rule", lambda d, t: _pattern(d, "CommandRule")["detail"]["action"].remove("unlock")),
    ("command rule takes an unknown action", lambda d, t: _pattern(d, "CommandRule")["detail"]["action"].append("delete")),
    ("command rule with an operator the matcher lacks", lambda d, t: _pattern(d, "CommandRule")["detail"].__setitem__("requester", [{"numeric": [">", 0]}])),
    ("outcome rule also matches commands", lambda d, t: _pattern(d, "ChatbotRule")["source"].append("chatops.slack")),
    ("outcome rule targets the command queue", lambda d, t: _target(d, "ChatbotRule").__setitem__("Arn", {"Fn::GetAtt": ["CommandQueue", "Arn"]})),
    # -- publishing
    ("JIT_EVENT_BUS dropped", lambda d, t: _fn(t)["Environment"]["Variables"].pop("JIT_EVENT_BUS")),
    ("JIT_EVENT_BUS hard-coded", lambda d, t: _fn(t)["Environment"]["Variables"].__setitem__("JIT_EVENT_BUS", "lightsail-jit")),
    ("function publishes as any source", lambda d, t: _stmt(t, "PublishOutcomesToJitBus").pop("Condition")),
    ("function publishes as lightsail-*", lambda d, t: _stmt(t, "PublishOutcomesToJitBus").__setitem__(
        "Condition", {"StringLike": {"events:source": "lightsail-*"}})),
    ("function publishes to the default bus", lambda d, t: _stmt(t, "PublishOutcomesToJitBus").__setitem__(
        "Resource", {"Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default"})),
    ("function may also events:PutRule", lambda d, t: _stmt(t, "PublishOutcomesToJitBus").__setitem__("Action", ["events:PutEvents", "events:PutRule"])),
    ("sender may publish as lightsail-jit", lambda d, t: _stmt(t, "SendCommandsToJitBus").pop("Condition")),
    ("sender's deny of forged outcomes dropped", lambda d, t: d["Resources"]["CommandSenderPolicy"]["Properties"]["PolicyDocument"]["Statement"].remove(
        _stmt(t, "DenyForgedOutcomes"))),
    ("sender's deny names another source", lambda d, t: _stmt(t, "DenyForgedOutcomes")["Condition"]["StringEquals"].__setitem__("events:source", "chatops.slack")),
    # -- Slack
    ("Slack role may invoke any API destination", lambda d, t: _res(d, "SlackDestinationRole")["Policies"][0]["PolicyDocument"]["Statement"][0].__setitem__(
        "Resource", {"Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:api-destination/*"})),
    ("Slack role on the destination's Arn, not ArnForPolicy", lambda d, t: _res(d, "SlackDestinationRole")["Policies"][0]["PolicyDocument"]["Statement"][0].__setitem__(
        "Resource", {"Fn::GetAtt": ["SlackDestination", "Arn"]})),
    ("Slack role also sends to SQS", lambda d, t: _res(d, "SlackDestinationRole")["Policies"][0]["PolicyDocument"]["Statement"].append(
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": {"Fn::GetAtt": ["CommandQueue", "Arn"]}})),
    ("Slack role assumable by Lambda", lambda d, t: _res(d, "SlackDestinationRole")["AssumeRolePolicyDocument"]["Statement"][0].__setitem__(
        "Principal", {"Service": "lambda.amazonaws.com"})),
    ("Slack connection unconditional", lambda d, t: d["Resources"]["SlackConnection"].pop("Condition")),
    ("Slack role unconditional", lambda d, t: d["Resources"]["SlackDestinationRole"].pop("Condition")),
    ("default-channel rule without the channel condition", lambda d, t: d["Resources"]["SlackDefaultChannelRule"].__setitem__("Condition", "HasSlack")),
    ("Slack condition inverted", lambda d, t: d["Conditions"].__setitem__("HasSlack", {"Fn::Equals": [{"Ref": "SlackBotToken"}, ""]})),
    ("Slack token echoed", lambda d, t: d["Parameters"]["SlackBotToken"].pop("NoEcho")),
    ("Slack token pattern admits anything", lambda d, t: d["Parameters"]["SlackBotToken"].__setitem__("AllowedPattern", ".*")),
    ("default channel admits quotes", lambda d, t: d["Parameters"]["SlackDefaultChannel"].__setitem__("AllowedPattern", "^.*$")),
    ("Slack endpoint elsewhere", lambda d, t: _res(d, "SlackDestination").__setitem__("InvocationEndpoint", "https://hooks.example.com/post")),
    ("Slack rate limit 100/s", lambda d, t: _res(d, "SlackDestination").__setitem__("InvocationRateLimitPerSecond", 100)),
    ("Slack token without Bearer", lambda d, t: _res(d, "SlackConnection")["AuthParameters"]["ApiKeyAuthParameters"].__setitem__(
        "ApiKeyValue", {"Fn::Sub": "${SlackBotToken}"})),
    ("Slack thread rule also takes replies without threadTs", lambda d, t: _pattern(d, "SlackThreadRule")["detail"]["replyTo"].pop("threadTs")),
    ("Slack default-channel rule takes every outcome", lambda d, t: _pattern(d, "SlackDefaultChannelRule").pop("detail")),
    ("Slack channel rule needs no channel", lambda d, t: _pattern(d, "SlackChannelRule")["detail"]["replyTo"].__setitem__("channel", [{"exists": False}])),
    ("Slack message without the detail type", lambda d, t: _target(d, "SlackChannelRule")["InputTransformer"].__setitem__(
        "InputTemplate", '{"channel": <channel>, "text": <summary>}')),
    ("Slack thread reply without thread_ts", lambda d, t: _target(d, "SlackThreadRule")["InputTransformer"].__setitem__(
        "InputTemplate", '{"channel": <channel>, "text": <summary>, "blocks": [{"type": "context", "elements": [{"type": "plain_text", "text": <detailType>}]}, {"type": "section", "text": {"type": "mrkdwn", "text": <summary>}}]}')),
    ("Slack text quotes the summary", lambda d, t: _target(d, "SlackChannelRule")["InputTransformer"].__setitem__(
        "InputTemplate", '{"channel": <channel>, "text": "<summary>", "blocks": [{"type": "context", "elements": [{"type": "plain_text", "text": <detailType>}]}, {"type": "section", "text": {"type": "mrkdwn", "text": <summary>}}]}')),
    ("Slack template with a path typo", lambda d, t: _target(d, "SlackThreadRule")["InputTransformer"]["InputPathsMap"].__setitem__(
        "summary", "$.detail.sumary")),
    ("Slack template with an unknown placeholder", lambda d, t: _target(d, "SlackChannelRule")["InputTransformer"].__setitem__(
        "InputTemplate", '{"channel": <channel>, "text": <sumary>, "blocks": [{"type": "context", "elements": [{"type": "plain_text", "text": <detailType>}]}, {"type": "section", "text": {"type": "mrkdwn", "text": <summary>}}]}')),
    ("Slack template that is not JSON", lambda d, t: _target(d, "SlackChannelRule")["InputTransformer"].__setitem__(
        "InputTemplate", '{"channel": <channel> "text": <summary>, "blocks": [{"type": "context", "elements": [{"type": "plain_text", "text": <detailType>}]}, {"type": "section", "text": {"type": "mrkdwn", "text": <summary>}}]}')),
    ("Slack target without a dead-letter queue", lambda d, t: _target(d, "SlackThreadRule").pop("DeadLetterConfig")),
    ("Slack target without a retry policy", lambda d, t: _target(d, "SlackChannelRule").pop("RetryPolicy")),
    ("DLQ policy does not admit the Slack thread rule", lambda d, t: d["Resources"]["DeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"].remove(
        _dlq_statement(d, "AllowSlackThreadRuleDeadLetters"))),
    ("DLQ statement for a conditional rule unconditional", lambda d, t: _unwrap_dlq_statement(d, "AllowSlackDefaultChannelRuleDeadLetters")),
    # -- Amazon Q Developer (Chatbot)
    ("topic policy without aws:SourceArn", lambda d, t: _res(d, "ChatbotTopicPolicy")["PolicyDocument"]["Statement"][0].pop("Condition")),
    ("topic policy open to any principal", lambda d, t: _res(d, "ChatbotTopicPolicy")["PolicyDocument"]["Statement"][0].__setitem__("Principal", "*")),
    ("topic policy for the command rule", lambda d, t: _res(d, "ChatbotTopicPolicy")["PolicyDocument"]["Statement"][0]["Condition"]["ArnEquals"].__setitem__(
        "aws:SourceArn", {"Fn::GetAtt": ["CommandRule", "Arn"]})),
    ("topic policy also allows sns:Subscribe", lambda d, t: _res(d, "ChatbotTopicPolicy")["PolicyDocument"]["Statement"][0].__setitem__(
        "Action", ["sns:Publish", "sns:Subscribe"])),
    ("Chatbot topic unconditional", lambda d, t: d["Resources"]["ChatbotTopic"].pop("Condition")),
    ("Chatbot topic output unconditional", lambda d, t: d["Outputs"]["ChatbotTopicArn"].pop("Condition")),
    ("Chatbot enabled by default", lambda d, t: d["Parameters"]["ChatbotNotifications"].__setitem__("Default", "enabled")),
    ("Chatbot notification with textType markdown", lambda d, t: _target(d, "ChatbotRule")["InputTransformer"].__setitem__(
        "InputTemplate", '{"version": "1.0", "source": "custom", "content": {"textType": "markdown", "title": <detailType>, "description": <summary>}}')),
    ("Chatbot notification with an extra key", lambda d, t: _target(d, "ChatbotRule")["InputTransformer"].__setitem__(
        "InputTemplate", '{"version": "1.0", "source": "custom", "id": "x", "content": {"textType": "client-markdown", "title": <detailType>, "description": <summary>}}')),
    ("Chatbot description quotes the summary", lambda d, t: _target(d, "ChatbotRule")["InputTransformer"].__setitem__(
        "InputTemplate", '{"version": "1.0", "source": "custom", "content": {"textType": "client-markdown", "title": "<detailType>", "description": "<summary>"}}')),
    ("Chatbot rule only for grants", lambda d, t: _pattern(d, "ChatbotRule").__setitem__("detail-type", ["JIT Access Granted"])),
    # -- the samples (t.samples, the checker's copy of events/)
    ("outcome summary with a Slack mention", lambda d, t: _outcome(t, "rejected.json")["detail"].__setitem__(
        "summary", "grant on web-1 rejected: <!channel>")),
    ("outcome sample without eventId", lambda d, t: _outcome(t, "expired.json")["detail"].pop("eventId")),
    ("outcome sample with an extra detail key", lambda d, t: _outcome(t, "revoked.json")["detail"].__setitem__("action", "revoke")),
    ("outcome sample missing", lambda d, t: t.samples.pop("events/outcomes/lockdown-ended.json")),
    ("outcome sample from another source", lambda d, t: _outcome(t, "extended.json").__setitem__("source", "chatops.slack")),
    # -- not published
    ("not-published filter on another field", lambda d, t: _res(d, "EventsNotPublishedMetricFilter").__setitem__(
        "FilterPattern", "{ $.fields.eventNotPublishedx = 1 }")),
    ("not-published filter counts the value of another field", lambda d, t: _res(d, "EventsNotPublishedMetricFilter")["MetricTransformations"][0].__setitem__(
        "MetricValue", "$.fields.count")),
    ("not-published alarm dropped", lambda d, t: d["Resources"].pop("EventsNotPublishedAlarm")),
    ("not-published alarm on another metric", lambda d, t: _res(d, "EventsNotPublishedAlarm").__setitem__("MetricName", "EventsPublished")),
    ("not-published alarm without actions", lambda d, t: _res(d, "EventsNotPublishedAlarm").pop("AlarmActions")),
]

# End to end through the command line, on text edits (regex, must match exactly once) of a
# copy of the template in a temp dir: the exit status and the summary line must show it.
TEXT_MUTATIONS = [
    ("text: lightsail:* added", r"(\n(\s*)- lightsail:GetInstances\n)", r"\1\2- lightsail:*\n"),
    ("text: tag condition removed from the firewall writes",
     r"\n\s*\"Null\":\n\s*aws:ResourceTag/jit:managed: \"false\"\n(?=\s*#[^\n]*\n(\s*#[^\n]*\n)*\s*- Sid: LightsailLedgerTags)",
     "\n"),
    ("text: Region condition removed from the reads",
     r"(- lightsail:GetInstances\n\s*Resource: \"\*\"\n)\s*Condition:\n\s*StringEquals:\n\s*aws:RequestedRegion: [^\n]*\n",
     r"\1"),
    ("text: VisibilityTimeout one second short", r"VisibilityTimeout: (\d+)", _one_second_short),
    ("text: unlock removed from the command rule", r"\n\s*- unlock\n", "\n"),
]

