#!/usr/bin/env python3
"""Wire-level benchmarks of the release `lightsail-jit` (issue targets 1-5).

Runs the real function binary against two loopback servers:

* a Lambda Runtime API stub (scripts/runtime_api_stub.py): hands out events on
  `GET /2018-06-01/runtime/invocation/next`, records when each poll and each response
  arrived;
* the Lightsail HTTP simulator (`jit-sim`, driven through scripts/sim_driver.py) with
  50 ms of latency injected on every call and 25 instances per `GetInstances` page.

Targets:
 1. cold start: exec -> first `GET .../invocation/next`, median of N alternating runs,
    against an empty lambda_runtime binary built with the same profile (ratio <= 1.3);
 2. peak RSS (VmHWM) of the function during the 1,000-instance sweep <= 30 MB;
 3. sweep of 1,000 managed instances, 100 with an expired grant: wall <= 1.25 x
    (pages + 3) x 50 ms, API calls asserted per operation;
 4. SQS batch of 10 grants on 10 instances: wall <= 1.5 x one grant;
 5. one grant: wall <= (calls on the critical path) x 50 ms + 10 ms;
 8. a /jit slash command grant through the Function URL: wall <= calls x 50 ms + 10 ms,
    and with every Lightsail call 1 s late, handed on within Slack's 3 s;
 9. sweep of 3 Regions (us-east-1, eu-west-1, ap-northeast-1) x the same 1,000-instance
    fixture (#15): wall <= 1.15 x the single-Region sweep of target 3 (default
    concurrency, same harness run), calls and writes asserted per Region. Target 1 also
    times a cold start with a 3-Region policy (info: other Regions' clients are built on
    first use).

--only: all (every target), cold (target 1), regions (target 3 at default concurrency,
then target 9: the quick loop for Region work).

Prints a table `target | measured | limit | result` and writes it as JSON (--json).
Exits 0 whatever the results (machines are noisy: this is a benchmark, not a test);
exits 2 only when the harness itself cannot run. Loopback only; every process it starts
is stopped on exit.
"""
import argparse
import hashlib
import hmac
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runtime_api_stub import RuntimeStub  # noqa: E402  (this directory)
from sim_driver import SimDriver, count_ops  # noqa: E402

LATENCY_MS = 50
PAGE_SIZE = 25
INSTANCES = 1000
CHANGED = 100
# Target 9 (#15): the home Region (AWS_REGION) first, then the others the policy names.
REGIONS = ["us-east-1", "eu-west-1", "ap-northeast-1"]
REGIONS_LIMIT = 1.15
BUS = "jit-bench-bus"
started = []


# --------------------------------------------------------------------------- processes

def stop(proc):
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    if proc in started:
        started.remove(proc)


def stop_all():
    for proc in list(reversed(started)):
        stop(proc)


def vm_hwm_kb(pid):
    """Peak resident set size of a live process, from /proc (kB)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


# --------------------------------------------------------------------------- environment

def lambda_env(runtime_port, sim_url, policy=None):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{runtime_port}",
        "AWS_LAMBDA_FUNCTION_NAME": "lightsail-jit",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/lightsail-jit",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/23/[$LATEST]bench",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIDBENCHMARKEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "benchmark/secret/not/real/EXAMPLEKEY",
        "AWS_SESSION_TOKEN": "benchmark-session-token",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL_LIGHTSAIL": sim_url,
        "LAMBDA_TASK_ROOT": "/var/task",
        "TZ": ":UTC",
    }
    if policy is not None:
        env["JIT_POLICY"] = json.dumps(policy)
    return env


def start_function(binary, runtime_port, sim_url, log, policy=None, extra_env=None):
    env = lambda_env(runtime_port, sim_url, policy)
    env.update(extra_env or {})
    proc = subprocess.Popen([binary], env=env,
                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    started.append(proc)
    return proc


def start_sim(binary, fx, fixture_path, log_path):
    """`jit-sim` on a free loopback port, 25 instances a page, seeded with the fixture `fx`
    (kept at fixture_path for the record), its stderr appended to log_path."""
    with open(log_path, "ab") as log:
        sim = SimDriver(binary, fx, page_size=PAGE_SIZE, log=log, fixture_path=fixture_path)
        sim.start()
    return sim


# --------------------------------------------------------------------------- fixture

def instance_name(i):
    return f"bench-{i:04d}"


def fixture(now):
    """1,000 managed instances; every 10th has a grant that expired an hour ago (granted
    two hours ago, so past the 15-minute linger: its tag goes) and a captured baseline,
    with the grant's rule still open. The others have no grant: no write is due."""
    granted, expired = int(now) - 7200, int(now) - 3600
    baseline_ports = [
        {"protocol": "tcp", "fromPort": 80, "toPort": 80, "cidrs": ["0.0.0.0/0"],
         "ipv6Cidrs": ["::/0"], "cidrListAliases": []},
        {"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrs": ["0.0.0.0/0"],
         "ipv6Cidrs": ["::/0"], "cidrListAliases": []},
    ]
    instances, changed = [], set()
    for i in range(1, INSTANCES + 1):
        name = instance_name(i)
        tags = [{"key": "jit:managed"}, {"key": "env", "value": "bench"}]
        ports = [dict(p) for p in baseline_ports]
        if i % (INSTANCES // CHANGED) == 0:
            changed.add(name)
            tags += [
                {"key": f"jit:grant:old-{i}",
                 "value": f"v1 {granted} {expired} tcp.22.22 203.0.113.7/32 bench"},
                {"key": "jit:baseline", "value": "v1 1"},
                {"key": "jit:baseline:1",
                 "value": "tcp.80.80=0.0.0.0/0+::/0 tcp.443.443=0.0.0.0/0+::/0"},
            ]
            ports.append({"protocol": "tcp", "fromPort": 22, "toPort": 22,
                          "cidrs": ["203.0.113.7/32"], "ipv6Cidrs": [], "cidrListAliases": []})
        instances.append({"name": name, "tags": tags, "ports": ports})
    return {"instances": instances}, changed


def sweep_cleaned(fx_instances, changed, after):
    """(untouched, fixed) of one Region after a sweep: how many of the unchanged are
    exactly as the fixture left them, how many of the changed lost port 22 and every
    `jit:` tag but `jit:managed`."""
    before = {i["name"]: i for i in fx_instances}
    untouched = sum(1 for n, i in before.items()
                    if n not in changed and n in after and after[n]["tags"] == i["tags"]
                    and after[n]["ports"] == i["ports"])
    fixed = sum(1 for n in changed
                if n in after
                and not any(t["key"].startswith("jit:") and t["key"] != "jit:managed"
                            for t in after[n]["tags"])
                and not any(p["fromPort"] == 22 for p in after[n]["ports"]))
    return untouched, fixed


def sweep_event(tag):
    return {"version": "0", "id": f"bench-{tag}", "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012",
            "time": "2026-11-23T10:00:00Z", "region": "us-east-1", "resources": [],
            "detail": {}}


# --------------------------------------------------------------------------- benchmarks

def cold_start(binaries, sim_url, runs, logdir):
    """exec -> first poll for each (binary, extra env), alternating order every run; an
    env value "@sim" stands for the simulator's URL."""
    names = list(binaries)
    samples = {n: [] for n in names}
    rss = {n: [] for n in names}
    for run in range(runs + 1):  # run 0 warms the page cache and is discarded
        order = names[run % len(names):] + names[:run % len(names)]
        for name in order:
            stub = RuntimeStub()
            with open(os.path.join(logdir, f"cold-{name.replace('/', '-')}.log"), "ab") as log:
                t0 = time.monotonic()
                binary, extra = binaries[name]
                extra = {k: sim_url if v == "@sim" else v for k, v in extra.items()}
                proc = start_function(binary, stub.port, sim_url, log, extra_env=extra)
                first = stub.wait_first_poll(timeout=20)
                hwm = vm_hwm_kb(proc.pid)
                stop(proc)
            stub.close()
            if first is None:
                raise RuntimeError(f"{name}: no poll of the Runtime API within 20s "
                                   f"(init error: {stub.init_error}); see {logdir}")
            if run > 0:
                samples[name].append((first - t0) * 1000)
                rss[name].append(hwm)
    return samples, rss


def timed_sweep(sim, stub, fn_bin, logdir, tag, policy, extra=None):
    """Start the function under `policy` against `sim` (50 ms per call), invoke one
    scheduled sweep and stop it: (wall seconds, answer kind, answer, peak RSS in KB)."""
    sim.latency(LATENCY_MS)
    with open(os.path.join(logdir, f"fn-{tag}.log"), "ab") as log:
        proc = start_function(fn_bin, stub.port, sim.url, log, policy, extra)
    if stub.wait_first_poll(timeout=20) is None:
        raise RuntimeError(f"function did not start: {stub.init_error}; see {logdir}")
    wall, kind, answer = stub.invoke(f"sweep-{tag}", sweep_event(tag), timeout=120)
    hwm = vm_hwm_kb(proc.pid)
    stop(proc)
    return wall, kind, answer, hwm


def sweep(sim_bin, fn_bin, concurrency, logdir, tag, bus=False):
    """The 1,000-instance sweep; with `bus`, JIT_EVENT_BUS is set and the simulator's
    EventBridge (same 50 ms per call) receives the 100 `JIT Access Expired` events."""
    now = time.time()
    fx, changed = fixture(now)
    with start_sim(sim_bin, fx, os.path.join(logdir, "fixture-1000.json"),
                   os.path.join(logdir, f"sim-{tag}.log")) as sim, RuntimeStub() as stub:
        policy = None if concurrency is None else {"sweepConcurrency": concurrency}
        extra = {"JIT_EVENT_BUS": BUS, "AWS_ENDPOINT_URL_EVENTBRIDGE": sim.url} if bus else {}
        wall, kind, answer, hwm = timed_sweep(sim, stub, fn_bin, logdir, tag, policy, extra)
        ops = sim.calls()
        after = sim.instances()
        events = sim.events()
    # Zero writes for the unchanged: each of the 900 is exactly as the fixture left it, and
    # the 100 changed got one Put and one Untag each (so none was left for the others).
    untouched, fixed = sweep_cleaned(fx["instances"], changed, after)
    pages = -(-INSTANCES // PAGE_SIZE)
    expected = {"GetInstances": pages, "PutInstancePublicPorts": CHANGED,
                "UntagResource": CHANGED, "GetInstance": CHANGED}
    checks = []
    lightsail_calls = sum(n for op, n in ops.items() if op != "PutEvents")
    if bus:
        # One event per expiration, batched 10 to a call: 100 expirations, 10 more calls.
        expected["PutEvents"] = -(-CHANGED // 10)
        expired = sorted(json.loads(e["detail"])["instanceName"] for e in events
                         if e["detailType"] == "JIT Access Expired" and e["eventBusName"] == BUS)
        if len(events) != CHANGED or expired != sorted(changed):
            checks.append(f"events: {len(events)} received, {len(expired)} Expired for the "
                          f"{CHANGED} changed instances")
    elif events:
        checks.append(f"{len(events)} events published without JIT_EVENT_BUS")
    if kind != "response" or not isinstance(answer, dict) or answer.get("status") != "swept":
        checks.append(f"answer {kind} {answer}")
    else:
        if answer.get("instances") != INSTANCES:
            checks.append(f"instances {answer.get('instances')} != {INSTANCES}")
        if answer.get("expired") != CHANGED:
            checks.append(f"expired {answer.get('expired')} != {CHANGED}")
        if answer.get("apiCalls") != lightsail_calls:
            checks.append(f"apiCalls {answer.get('apiCalls')} != wire {lightsail_calls}")
    if ops != expected:
        checks.append(f"wire calls {ops} != {expected}")
    if untouched != INSTANCES - CHANGED:
        checks.append(f"unchanged instances untouched: {untouched} != {INSTANCES - CHANGED}")
    if fixed != CHANGED:
        checks.append(f"changed instances cleaned: {fixed} != {CHANGED}")
    return {"wall_s": wall, "rss_kb": hwm, "ops": ops, "answer": answer, "pages": pages,
            "untouched": untouched, "fixed": fixed, "events": len(events), "problems": checks}


def sweep_regions(sim_bin, fn_bin, logdir, tag):
    """Target 9 (#15): the 1,000-instance fixture (100 expired) in each of REGIONS, the
    same names in each (names are unique only within a Region), policy `{"regions":
    REGIONS}`, default sweepConcurrency (per Region), 50 ms per call. One `jit-sim`
    serves every Region, routed by the SigV4 signing Region; its latency fault and its
    request log are the server's, so both cover every Region, and each logged request
    says which Region it was signed for (`region`)."""
    now = time.time()
    home, changed = fixture(now)
    # A fresh copy per Region (the same content): nothing shared between their worlds.
    fx = {"instances": home["instances"],
          "regions": {r: {"instances": json.loads(json.dumps(home["instances"]))}
                      for r in REGIONS[1:]}}
    with start_sim(sim_bin, fx, os.path.join(logdir, "fixture-regions-3x1000.json"),
                   os.path.join(logdir, f"sim-{tag}.log")) as sim, RuntimeStub() as stub:
        wall, kind, answer, hwm = timed_sweep(sim, stub, fn_bin, logdir, tag, {"regions": REGIONS})
        requests = sim.requests()
        after = {REGIONS[0]: sim.instances()}
        for r in REGIONS[1:]:
            after[r] = sim.region_instances(r)
        events = sim.events()
    # The wire, in arrival order, for a diagnosis (is paging overlapped across Regions?).
    with open(os.path.join(logdir, f"requests-{tag}.json"), "w") as f:
        json.dump(requests, f)
    by_region = {}
    for q in requests:
        by_region.setdefault(q["region"], []).append(q)
    ops = {r: count_ops(by_region.get(r, [])) for r in REGIONS}
    pages = -(-INSTANCES // PAGE_SIZE)
    expected = {"GetInstances": pages, "PutInstancePublicPorts": CHANGED,
                "UntagResource": CHANGED, "GetInstance": CHANGED}
    checks = []
    stray = {r: len(qs) for r, qs in by_region.items() if r not in REGIONS}
    if stray:
        checks.append(f"calls signed for no Region of the policy: {stray}")
    bad = [q for q in requests if q["status"] != 200 or not q["signed"]]
    if bad:
        checks.append(f"{len(bad)} calls unsigned or not answered 200, e.g. {bad[0]}")
    if events:
        checks.append(f"{len(events)} events published without JIT_EVENT_BUS")
    n = len(REGIONS)
    if kind != "response" or not isinstance(answer, dict) or answer.get("status") != "swept":
        checks.append(f"answer {kind} {answer}")
    else:
        if answer.get("instances") != n * INSTANCES:
            checks.append(f"instances {answer.get('instances')} != {n * INSTANCES}")
        if answer.get("expired") != n * CHANGED:
            checks.append(f"expired {answer.get('expired')} != {n * CHANGED}")
        if answer.get("apiCalls") != len(requests):
            checks.append(f"apiCalls {answer.get('apiCalls')} != wire {len(requests)}")
        if answer.get("failed"):
            checks.append(f"failed {answer.get('failed')}")
    untouched, fixed, order = {}, {}, {}
    for r in REGIONS:
        if ops[r] != expected:
            checks.append(f"{r}: wire calls {ops[r]} != {expected}")
        untouched[r], fixed[r] = sweep_cleaned(fx["instances"] if r == REGIONS[0]
                                               else fx["regions"][r]["instances"],
                                               changed, after[r])
        if untouched[r] != INSTANCES - CHANGED:
            checks.append(f"{r}: unchanged instances untouched: {untouched[r]} != "
                          f"{INSTANCES - CHANGED}")
        if fixed[r] != CHANGED:
            checks.append(f"{r}: changed instances cleaned: {fixed[r]} != {CHANGED}")
        # Where in the wire's order this Region paged: its first and last GetInstances,
        # and its last call (indices into the request log of all Regions). Overlapped
        # Regions interleave; sequential ones follow each other.
        idx = [i for i, q in enumerate(requests) if q["region"] == r]
        got = [i for i in idx if requests[i]["operation"] == "GetInstances"]
        order[r] = {"firstPage": got[0] if got else None, "lastPage": got[-1] if got else None,
                    "last": idx[-1] if idx else None}
    total = {}
    for r in REGIONS:
        for op, k in ops[r].items():
            total[op] = total.get(op, 0) + k
    return {"wall_s": wall, "rss_kb": hwm, "ops": ops, "total": total, "calls": len(requests),
            "answer": answer, "pages": pages, "untouched": untouched, "fixed": fixed,
            "order": order, "problems": checks}


def grants(sim_bin, fn_bin, logdir, singles, batches, open_mode="merge"):
    now = time.time()
    fx, changed = fixture(now)
    free = [i["name"] for i in fx["instances"] if i["name"] not in changed]
    seq = iter(range(1, 10_000))
    result = {"single_ms": [], "single_calls": [], "batch_ms": [], "batch_calls": [],
              "first_ms": None, "problems": []}
    with start_sim(sim_bin, fx, os.path.join(logdir, f"fixture-grants-{open_mode}.json"),
                   os.path.join(logdir, f"sim-grants-{open_mode}.log")) as sim, RuntimeStub() as stub:
        sim.latency(LATENCY_MS)
        sim.open_mode(open_mode)
        with open(os.path.join(logdir, "fn-grants.log"), "ab") as log:
            start_function(fn_bin, stub.port, sim.url, log)
        if stub.wait_first_poll(timeout=20) is None:
            raise RuntimeError(f"function did not start: {stub.init_error}; see {logdir}")

        def command(n):
            # Issued now: the function refuses a grant without issuedAt (requireIssuedAt)
            # or older than maxCommandAge.
            issued = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            return {"action": "grant", "instanceName": free[n], "ports": ["22"],
                    "cidrs": ["203.0.113.7"], "duration": "1h", "requester": "bench",
                    "reason": "benchmark", "requestId": f"bench-{n}", "issuedAt": issued}

        def run(request_id, payload, expect):
            seen = len(sim.requests())
            wall, kind, answer = stub.invoke(request_id, payload)
            reqs = sim.requests(since=seen)
            if kind != "response" or not expect(answer):
                result["problems"].append(f"{request_id}: {kind} {answer}")
            if any(r["status"] != 200 for r in reqs):
                result["problems"].append(f"{request_id}: non-200 calls {reqs}")
            return wall * 1000, count_ops(reqs)

        granted = lambda a: isinstance(a, dict) and a.get("status") == "granted"  # noqa: E731
        # The first invocation of a fresh process (first connection to the endpoint).
        n = next(seq)
        result["first_ms"], _ = run(f"g{n}", command(n), granted)
        for _ in range(singles):
            n = next(seq)
            ms, ops = run(f"g{n}", command(n), granted)
            result["single_ms"].append(ms)
            result["single_calls"].append(ops)
        for b in range(batches):
            records = []
            for _ in range(10):
                n = next(seq)
                records.append({
                    "messageId": f"00000000-0000-4000-8000-{n:012d}",
                    "receiptHandle": "AQEB-bench", "body": json.dumps(command(n)),
                    "attributes": {"ApproximateReceiveCount": "1",
                                   "SentTimestamp": str(int(time.time() * 1000))},
                    "messageAttributes": {}, "md5OfBody": "0" * 32, "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:lightsail-jit",
                    "awsRegion": "us-east-1"})
            no_failures = lambda a: isinstance(a, dict) and a.get("batchItemFailures") == []  # noqa: E731
            ms, ops = run(f"batch{b}", {"Records": records}, no_failures)
            result["batch_ms"].append(ms)
            result["batch_calls"].append(ops)
        opened = sum(1 for i in sim.instances().values()
                     if any(p["fromPort"] == 22 and "203.0.113.7/32" in p["cidrs"]
                            for p in i["ports"]) and i["name"] not in changed)
        expected_open = 1 + singles + 10 * batches
        if opened != expected_open:
            result["problems"].append(f"{opened} instances opened, expected {expected_open}")
    return result


SLACK_SECRET = "bench-slack-signing-secret"
SLACK_BUDGET_S = 2.5
SLACK_DEADLINE_S = 3.0


def slack_event(text, user, now):
    """A Function URL request for `/jit <text>`, signed as Slack signs (Python's hmac)."""
    body = urllib.parse.urlencode([
        ("team_id", "T0BENCH"), ("user_id", user), ("user_name", "bench"),
        ("channel_id", "C0BENCH"), ("command", "/jit"), ("text", text),
        ("response_url", "https://hooks.slack.com/commands/T0BENCH/1/x"),
        ("trigger_id", f"{user}.{now}")])
    ts = str(int(now))
    sig = "v0=" + hmac.new(SLACK_SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"version": "2.0", "rawPath": "/", "headers": {
                "content-type": "application/x-www-form-urlencoded",
                "x-slack-request-timestamp": ts, "x-slack-signature": sig},
            "requestContext": {"http": {"method": "POST", "path": "/"}},
            "body": body, "isBase64Encoded": False}


def slack(sim_bin, fn_bin, logdir, runs):
    """Slash command grants at 50 ms per call (answered in the channel), then with every
    Lightsail call 1 s late (handed on to the bus within Slack's 3 s)."""
    now = time.time()
    fx, changed = fixture(now)
    free = [i["name"] for i in fx["instances"] if i["name"] not in changed]
    result = {"ms": [], "calls": [], "late_ms": [], "problems": []}
    with start_sim(sim_bin, fx, os.path.join(logdir, "fixture-slack.json"),
                   os.path.join(logdir, "sim-slack.log")) as sim, RuntimeStub() as stub:
        sim.latency(LATENCY_MS)
        extra = {"SLACK_SIGNING_SECRET": SLACK_SECRET, "JIT_EVENT_BUS": BUS,
                 "AWS_ENDPOINT_URL_EVENTBRIDGE": sim.url}
        with open(os.path.join(logdir, "fn-slack.log"), "ab") as log:
            start_function(fn_bin, stub.port, sim.url, log, extra_env=extra)
        if stub.wait_first_poll(timeout=20) is None:
            raise RuntimeError(f"function did not start: {stub.init_error}; see {logdir}")

        def send(n, text):
            seen = len(sim.requests())
            wall, kind, answer = stub.invoke(f"slack-{n}", slack_event(text, f"U{n:06d}", time.time()))
            message = {}
            if kind == "response" and isinstance(answer, dict) and answer.get("statusCode") == 200:
                message = json.loads(answer["body"])
            else:
                result["problems"].append(f"slack-{n}: {kind} {answer}")
            return wall, message, count_ops(sim.requests(since=seen))

        for n in range(runs + 1):  # the first warms the connection and is not counted
            wall, message, ops = send(n, f"grant {free[n]} 22 for 1h from 203.0.113.7 reason bench")
            if "was granted" not in message.get("text", ""):
                result["problems"].append(f"slack-{n}: not granted: {message}")
            if n > 0:
                result["ms"].append(wall * 1000)
                result["calls"].append(ops)
        # Every Lightsail call a second late: a grant needs 4 of them, past the budget.
        sim.faults([{"operation": op, "kind": {"type": "latency", "millis": 1000}}
                    for op in ("GetInstance", "TagResource", "OpenInstancePublicPorts")])
        for k in range(runs):
            n = 100 + k
            wall, message, _ = send(n, f"grant {free[n]} 22 for 1h from 203.0.113.7 reason bench")
            if "working on it" not in message.get("text", ""):
                result["problems"].append(f"slack-{n}: not handed on: {message}")
            result["late_ms"].append(wall * 1000)
        handed = [e for e in sim.events() if e["detailType"] == "JIT Command"]
        if len(handed) != runs:
            result["problems"].append(f"{len(handed)} commands handed on, expected {runs}")
    return result


# --------------------------------------------------------------------------- report

def fmt_ms(v):
    return f"{v:.1f} ms"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--function", required=True)
    ap.add_argument("--empty", required=True, help="empty lambda_runtime reference binary")
    ap.add_argument("--empty-ct", help="empty lambda_runtime on a current-thread runtime")
    ap.add_argument("--sdk", help="lambda_runtime + aws-config + client reference binary")
    ap.add_argument("--sim", required=True)
    ap.add_argument("--cold-runs", type=int, default=20)
    ap.add_argument("--sweep-runs", type=int, default=3)
    ap.add_argument("--concurrency", default="default,16,32",
                    help="sweepConcurrency values to try; 'default' = no JIT_POLICY")
    ap.add_argument("--sweep-bus", type=int, default=1,
                    help="1: also sweep with JIT_EVENT_BUS set (100 events, 10 PutEvents)")
    ap.add_argument("--singles", type=int, default=5)
    ap.add_argument("--batches", type=int, default=3)
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--logdir")
    ap.add_argument("--only", choices=["all", "cold", "regions"], default="all",
                    help="cold: run target 1 only; regions: target 3 at default "
                         "concurrency (no bus) and target 9 only")
    ap.add_argument("--extra", action="append", default=[], metavar="NAME=PATH[:K=V...]",
                    help="another binary for the cold-start runs (diagnosis), with env")
    args = ap.parse_args()

    logdir = args.logdir or tempfile.mkdtemp(prefix="lightsail-jit-bench-")
    os.makedirs(logdir, exist_ok=True)
    print(f"logs: {logdir}", flush=True)
    rows = []

    def row(target, measured, limit, ok, note=""):
        result = "PASS" if ok else "FAIL"
        if ok is None:
            result = "info"
        rows.append({"target": target, "measured": measured, "limit": limit,
                     "result": result, "note": note})

    samples, rss = {}, {}
    if args.only != "regions":
        binaries = {"empty_lambda": (args.empty, {}), "lightsail-jit": (args.function, {})}
        if args.empty_ct:
            binaries["empty_lambda_ct"] = (args.empty_ct, {})
        if args.sdk:
            binaries["sdk_lambda"] = (args.sdk, {})
        # Diagnosis: the same function trusting the platform's store instead of the five
        # compiled-in Amazon roots (the SDK then reads and parses every native root at init).
        binaries["lightsail-jit/system-roots"] = (args.function, {"JIT_TLS_ROOTS": "system"})
        # With outcome events on (#12): the bus name is checked, the EventBridge client is not
        # built until the first publish.
        binaries["lightsail-jit/bus"] = (args.function, {"JIT_EVENT_BUS": BUS,
                                                         "AWS_ENDPOINT_URL_EVENTBRIDGE": "@sim"})
        # Managing three Regions (#15): the other Regions' clients are built on first use,
        # so their cold start should be the default's.
        binaries["lightsail-jit/3-regions"] = (args.function,
                                               {"JIT_POLICY": json.dumps({"regions": REGIONS})})
        for spec in args.extra:
            name, _, rest = spec.partition("=")
            path, *env = rest.split(":")
            binaries[name] = (path, dict(kv.split("=", 1) for kv in env))
        print(f"[1] cold start: {args.cold_runs} runs of {', '.join(binaries)}", flush=True)
        # A simulator for the cold-start runs' endpoint variable (nothing may call it).
        with start_sim(args.sim, {"instances": []}, os.path.join(logdir, "fixture-empty.json"),
                       os.path.join(logdir, "sim-cold.log")) as sim:
            samples, rss = cold_start(binaries, sim.url, args.cold_runs, logdir)
            init_calls = len(sim.requests())
        med = {n: statistics.median(s) for n, s in samples.items()}
        for n, s in samples.items():
            q = statistics.quantiles(s, n=10) if len(s) >= 2 else [s[0]] * 9
            print(f"    {n:22s} median {med[n]:6.2f} ms  min {min(s):6.2f}  p90 {q[8]:6.2f}  "
                  f"RSS at first poll {statistics.median(rss[n]) / 1024:.1f} MB", flush=True)
        ratio = med["lightsail-jit"] / med["empty_lambda"]
        row("1. cold start exec->first poll (ratio to empty lambda_runtime)",
            f"{med['lightsail-jit']:.2f} / {med['empty_lambda']:.2f} ms = {ratio:.2f}x",
            "<= 1.30x", ratio <= 1.3 and init_calls == 0,
            f"medians of {args.cold_runs}; Lightsail calls during init: {init_calls}")
        rb = med["lightsail-jit/bus"] / med["empty_lambda"]
        row("1. cold start with JIT_EVENT_BUS set (ratio to empty lambda_runtime)",
            f"{med['lightsail-jit/bus']:.2f} / {med['empty_lambda']:.2f} ms = {rb:.2f}x",
            "<= 1.30x", rb <= 1.3 and init_calls == 0,
            "outcome events on; the EventBridge client is built at the first publish")
        if "sdk_lambda" in med:
            r2 = med["lightsail-jit"] / med["sdk_lambda"]
            row("   (info) ratio to lambda_runtime + aws-config + client",
                f"{med['lightsail-jit']:.2f} / {med['sdk_lambda']:.2f} ms = {r2:.2f}x", "-", None)
        if "empty_lambda_ct" in med:
            r4 = med["lightsail-jit"] / med["empty_lambda_ct"]
            row("   (info) ratio to empty lambda_runtime on a current-thread runtime",
                f"{med['lightsail-jit']:.2f} / {med['empty_lambda_ct']:.2f} ms = {r4:.2f}x", "-",
                None, "the function's own flavour; no worker threads in either")
        r3 = med["lightsail-jit/system-roots"] / med["empty_lambda"]
        row("   (info) same function, JIT_TLS_ROOTS=system",
            f"{med['lightsail-jit/system-roots']:.2f} / {med['empty_lambda']:.2f} ms = {r3:.2f}x", "-",
            None, "what loading the platform's root store at init costs")
        row("   (info) RSS at first poll (lightsail-jit / empty)",
            f"{statistics.median(rss['lightsail-jit']) / 1024:.1f} / "
            f"{statistics.median(rss['empty_lambda']) / 1024:.1f} MB", "-", None)
        m3 = med["lightsail-jit/3-regions"]
        row("   (info) cold start, policy regions " + "+".join(REGIONS)
            + " (ratio to empty lambda_runtime)",
            f"{m3:.2f} / {med['empty_lambda']:.2f} ms = {m3 / med['empty_lambda']:.2f}x", "-",
            None, f"target 1's limit is <= 1.30x; {m3 / med['lightsail-jit']:.2f}x the "
            f"default policy's {med['lightsail-jit']:.2f} ms; RSS at first poll "
            f"{statistics.median(rss['lightsail-jit/3-regions']) / 1024:.1f} MB; the other "
            "Regions' clients are built on first use")

        for n in med:
            if n not in ("lightsail-jit", "empty_lambda", "empty_lambda_ct", "sdk_lambda",
                         "lightsail-jit/system-roots", "lightsail-jit/bus",
                         "lightsail-jit/3-regions"):
                row(f"   (info) {n}", f"{med[n]:.2f} / {med['empty_lambda']:.2f} ms = "
                    f"{med[n] / med['empty_lambda']:.2f}x", "-", None)

    if args.only == "cold":
        print_table(rows, args, samples, rss, {}, {})
        return

    floor = (-(-INSTANCES // PAGE_SIZE) + 3) * LATENCY_MS / 1000
    sweeps = {}
    concurrencies = [c.strip() for c in args.concurrency.split(",") if c.strip()]
    if args.only == "regions":
        # Only the single-Region baseline target 9 is compared with.
        concurrencies, args.sweep_bus = ["default"], 0
    elif "default" not in concurrencies:
        concurrencies.insert(0, "default")  # target 9's baseline
    for c in concurrencies:
        conc = None if c == "default" else int(c)
        label = "default (16)" if conc is None else str(conc)
        runs = []
        for k in range(args.sweep_runs):
            print(f"[2,3] sweep, sweepConcurrency {label}, run {k + 1}/{args.sweep_runs}",
                  flush=True)
            runs.append(sweep(args.sim, args.function, conc, logdir, f"{c}-{k}"))
            r = runs[-1]
            print(f"    wall {r['wall_s']:.3f} s, peak RSS {r['rss_kb'] / 1024:.1f} MB, "
                  f"calls {r['ops']}, answer {r['answer']}"
                  + (f", PROBLEMS {r['problems']}" if r["problems"] else ""), flush=True)
        sweeps[label] = runs
    if args.sweep_bus:
        runs = []
        for k in range(args.sweep_runs):
            print(f"[3] sweep with JIT_EVENT_BUS set, run {k + 1}/{args.sweep_runs}", flush=True)
            runs.append(sweep(args.sim, args.function, None, logdir, f"bus-{k}", bus=True))
            r = runs[-1]
            print(f"    wall {r['wall_s']:.3f} s, calls {r['ops']}, events {r['events']}"
                  + (f", PROBLEMS {r['problems']}" if r["problems"] else ""), flush=True)
        sweeps["default (16), JIT_EVENT_BUS set"] = runs
    for label, runs in sweeps.items():
        wall = statistics.median(r["wall_s"] for r in runs)
        peak = max(r["rss_kb"] for r in runs) / 1024
        problems = [p for r in runs for p in r["problems"]]
        r0 = runs[0]
        calls = sum(r0["ops"].values())
        row(f"3. sweep 1,000 (100 changed), sweepConcurrency {label}",
            f"{wall:.3f} s (runs: {', '.join('%.2f' % r['wall_s'] for r in runs)})",
            f"<= {1.25 * floor:.3f} s (1.25 x {floor:.2f})", wall <= 1.25 * floor)
        row(f"3. sweep API calls, sweepConcurrency {label}",
            f"{calls} = {r0['ops'].get('GetInstances', 0)} pages + "
            f"{r0['ops'].get('PutInstancePublicPorts', 0)} Put + "
            f"{r0['ops'].get('UntagResource', 0)} Untag + "
            f"{r0['ops'].get('GetInstance', 0)} re-read"
            + (f" + {r0['ops']['PutEvents']} PutEvents ({r0['events']} events)"
               if "PutEvents" in r0["ops"] else "") + "; "
            f"{r0['untouched']} unchanged untouched",
            "40 + 3 x 100" + (" + 10 PutEvents" if "PutEvents" in r0["ops"] else "")
            + ", 0 writes for 900", not problems, "; ".join(problems))
        row(f"2. peak RSS during the sweep, sweepConcurrency {label}", f"{peak:.1f} MB",
            "<= 30 MB", peak <= 30)

    # Target 9 (#15): three Regions at once, against the single-Region sweep just measured.
    one = sweeps["default (16)"]
    runs = []
    for k in range(args.sweep_runs):
        print(f"[9] sweep of {len(REGIONS)} Regions x {INSTANCES}, run {k + 1}/{args.sweep_runs}",
              flush=True)
        runs.append(sweep_regions(args.sim, args.function, logdir, f"regions-{k}"))
        r = runs[-1]
        print(f"    wall {r['wall_s']:.3f} s, peak RSS {r['rss_kb'] / 1024:.1f} MB, "
              f"calls {r['calls']} {r['ops']}, paging order {r['order']}, answer {r['answer']}"
              + (f", PROBLEMS {r['problems']}" if r["problems"] else ""), flush=True)
    sweeps[f"{len(REGIONS)} Regions, default (16)"] = runs
    wall1 = statistics.median(r["wall_s"] for r in one)
    wall3 = statistics.median(r["wall_s"] for r in runs)
    ratio9 = wall3 / wall1
    problems = [p for r in runs for p in r["problems"]]
    single_calls = sum(one[0]["ops"].values())
    r0 = runs[0]
    row(f"9. sweep {len(REGIONS)} Regions x 1,000 (100 changed each), ratio to 1 Region",
        f"{wall3:.3f} / {wall1:.3f} s = {ratio9:.2f}x (runs: "
        f"{', '.join('%.2f' % r['wall_s'] for r in runs)})",
        f"<= {REGIONS_LIMIT:.2f}x", ratio9 <= REGIONS_LIMIT and not problems,
        "; ".join(problems))
    row(f"9. sweep API calls, {len(REGIONS)} Regions",
        f"{r0['calls']} = {len(REGIONS)} x ("
        + " + ".join(f"{r0['ops'][REGIONS[0]].get(op, 0)} {op}" for op in
                     ("GetInstances", "PutInstancePublicPorts", "UntagResource", "GetInstance"))
        + f"), each Region alike; apiCalls {r0['answer'].get('apiCalls') if isinstance(r0['answer'], dict) else '?'}; "
        + ", ".join(f"{reg} {r0['untouched'][reg]} untouched / {r0['fixed'][reg]} cleaned"
                    for reg in REGIONS),
        f"{len(REGIONS)} x {single_calls} (1 Region), 0 writes for 900 per Region",
        not problems and r0["calls"] == len(REGIONS) * single_calls)
    peak3 = max(r["rss_kb"] for r in runs) / 1024
    peak1 = max(r["rss_kb"] for r in one) / 1024
    row(f"   (info) peak RSS during the {len(REGIONS)}-Region sweep",
        f"{peak3:.1f} MB ({peak1:.1f} MB for 1 Region)", "-", None,
        "target 2's <= 30 MB is for the 1-Region sweep")
    if args.only == "regions":
        print_table(rows, args, samples, rss, sweeps, {})
        return

    print(f"[4,5] grants: 1 first + {args.singles} single, {args.batches} SQS batches of 10",
          flush=True)
    g = grants(args.sim, args.function, logdir, args.singles, args.batches)
    one = statistics.median(g["single_ms"])
    calls = g["single_calls"][0]
    n_calls = sum(calls.values())
    # Critical path: GetInstance -> TagResource -> the Opens (concurrent, one per port)
    # -> the GetInstance that checks the rules they touched (#13: whatever Open does).
    critical = calls.get("GetInstance", 0) + 1 + (1 if calls.get("OpenInstancePublicPorts") else 0)
    limit = critical * LATENCY_MS + 10
    row("5. one grant (warm process, median)",
        f"{one:.1f} ms; {n_calls} calls {calls} (runs: "
        f"{', '.join(f'{v:.0f}' for v in g['single_ms'])})",
        f"<= {limit} ms ({critical} x {LATENCY_MS} + 10)", one <= limit and not g["problems"],
        "; ".join(g["problems"]))
    row("   (info) first grant of a fresh process", fmt_ms(g["first_ms"]), "-", None,
        "includes the first connection to the endpoint")
    batch = statistics.median(g["batch_ms"])
    bcalls = g["batch_calls"][0]
    row("4. SQS batch of 10 grants on 10 instances (median)",
        f"{batch:.1f} ms = {batch / one:.2f}x one grant; {sum(bcalls.values())} calls "
        f"(runs: {', '.join(f'{v:.0f}' for v in g['batch_ms'])})",
        f"<= {1.5 * one:.1f} ms (1.5x)", batch <= 1.5 * one and not g["problems"])

    # The same grants where Open replaces an existing rule's sources (the simulator's other
    # reading of the API): the grant's check costs the same one GetInstance.
    print("[5] grants again, the simulator's Open replacing sources", flush=True)
    r = grants(args.sim, args.function, logdir, args.singles, 0, open_mode="replace")
    rone = statistics.median(r["single_ms"])
    rcalls = r["single_calls"][0]
    row("5. one grant, Open replacing sources (warm process, median)",
        f"{rone:.1f} ms; {sum(rcalls.values())} calls {rcalls}",
        f"<= {limit} ms", rone <= limit and not r["problems"], "; ".join(r["problems"]))

    print(f"[8] slash command: {args.singles} grants at {LATENCY_MS} ms per call, "
          f"{args.singles} with Lightsail 1 s late", flush=True)
    sl = slack(args.sim, args.function, logdir, args.singles)
    median = statistics.median(sl["ms"])
    scalls = sl["calls"][0]
    waiting = sum(scalls.values()) * LATENCY_MS
    row("8. /jit grant through the Function URL (warm, median)",
        f"{median:.1f} ms = {waiting} ms waiting on {sum(scalls.values())} sequential calls "
        f"{scalls} + {median - waiting:.1f} ms",
        f"<= {SLACK_BUDGET_S * 1000:.0f} ms (the budget inside Slack's 3 s)",
        median <= SLACK_BUDGET_S * 1000 and not sl["problems"], "; ".join(sl["problems"]))
    late = max(sl["late_ms"])
    row("8. /jit grant with every Lightsail call 1 s late: handed on (slowest)",
        f"{late:.0f} ms (runs: {', '.join(f'{v:.0f}' for v in sl['late_ms'])})",
        f"<= {SLACK_DEADLINE_S * 1000:.0f} ms (budget {SLACK_BUDGET_S * 1000:.0f} + the hand-off)",
        late <= SLACK_DEADLINE_S * 1000 and not sl["problems"])

    print_table(rows, args, samples, rss, sweeps, g)


def print_table(rows, args, samples, rss, sweeps, g):
    width = [max(len(r[k]) for r in rows + [{"target": "target", "measured": "measured",
                                              "limit": "limit"}])
             for k in ("target", "measured", "limit")]
    print()
    print(f"{'target':{width[0]}} | {'measured':{width[1]}} | {'limit':{width[2]}} | result")
    print(f"{'-' * width[0]}-+-{'-' * width[1]}-+-{'-' * width[2]}-+-------")
    for r in rows:
        print(f"{r['target']:{width[0]}} | {r['measured']:{width[1]}} | "
              f"{r['limit']:{width[2]}} | {r['result']}" + (f"  ({r['note']})" if r["note"] else ""))
    failed = [r for r in rows if r["result"] == "FAIL"]
    print(f"\n{len(rows) - len(failed) - sum(r['result'] == 'info' for r in rows)} targets met, "
          f"{len(failed)} missed" + (": " + "; ".join(r["target"] for r in failed) if failed else ""))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "cold_ms": samples, "cold_rss_kb": rss,
                       "sweeps": sweeps, "grants": g}, f, indent=1)


if __name__ == "__main__":
    try:
        main()
    except (RuntimeError, OSError) as e:
        print(f"bench: cannot run: {e}", file=sys.stderr)
        stop_all()
        sys.exit(2)
    finally:
        stop_all()
