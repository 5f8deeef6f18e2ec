#!/usr/bin/env python3
"""End to end under cargo lambda: the function started by `cargo lambda watch`, pointed at
the HTTP simulator (`jit-sim`), driven by `cargo lambda invoke --data-file` for every file
in events/. Asserts each outcome and the simulator's resulting firewall, then stops every
process it started, whatever happened. The simulator is driven through
scripts/sim_driver.py.

The function runs on the real clock and refuses a grant or extend older than
maxCommandAge (15m), so each sample is sent as if issued now: its `issuedAt`, EventBridge
`time` and SQS `SentTimestamp` (also inside SQS bodies) are rewritten to the current time
in a copy, as jit-local does (src/local/restamp.rs). One grant is also sent an hour old, to
see it refused with CommandExpired.

Needs cargo-lambda on PATH (pip install cargo-lambda). Loopback only.
"""
import datetime
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sim_driver import SimDriver  # noqa: E402  (this directory)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EVENTS = os.path.join(ROOT, "events")
FUNCTION = "lightsail-jit"
BUS = "jit-e2e"
# The function's SLACK_SIGNING_SECRET here, and the one events/slack-grant.json is signed
# with (src/local/slack.rs LOCAL_SECRET: a test value).
SLACK_SECRET = "jit-local-slack-signing-secret"
started = []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd, env=None):
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True, text=True)
    started.append(proc)
    return proc


def stop_all():
    for proc in reversed(started):
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGINT)
                proc.wait(timeout=15)
            except Exception:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def wait_for_port(port, what, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{what} did not listen on {port} within {timeout}s")


def canonical(ports):
    """A firewall as a set of (protocol, from, to, source), like the function compares it."""
    out = set()
    for p in ports:
        for key in ("cidrs", "ipv6Cidrs", "cidrListAliases"):
            for src in p.get(key, []):
                if key == "cidrs" and "/" not in src:
                    src += "/32"
                out.add((p["protocol"].lower(), p["fromPort"], p["toPort"], src))
    return out


def rfc3339(at):
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def slack_sign(doc, at, secret=None):
    """A Function URL sample signed again at `at` as Slack signs: v0= + hex HMAC-SHA256
    over v0:<timestamp>:<body> (Python's hmac, not the code under test)."""
    timestamp = str(int(at.timestamp()))
    body = doc["body"].encode()
    mac = hmac.new((secret or SLACK_SECRET).encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    doc["headers"]["x-slack-request-timestamp"] = timestamp
    doc["headers"]["x-slack-signature"] = "v0=" + mac.hexdigest()
    return doc


def restamp(doc, at):
    """`doc` with every time a producer or transport writes set to `at` (only the times
    that are there): a command's issuedAt, an event's time, a record's SentTimestamp, a
    Slack request's timestamp (and so its signature)."""
    doc = json.loads(json.dumps(doc))
    if isinstance(doc, dict) and isinstance((doc.get("requestContext") or {}).get("http"), dict):
        return slack_sign(doc, at)

    def command(c):
        if isinstance(c, dict) and "issuedAt" in c:
            c["issuedAt"] = rfc3339(at)

    def message(m):
        if isinstance(m, dict) and "detail-type" in m and "source" in m:
            if "time" in m:
                m["time"] = rfc3339(at)
            command(m.get("detail"))
        else:
            command(m)

    if isinstance(doc, dict) and isinstance(doc.get("Records"), list):
        for record in doc["Records"]:
            attributes = record.get("attributes")
            if isinstance(attributes, dict) and "SentTimestamp" in attributes:
                attributes["SentTimestamp"] = str(int(at.timestamp() * 1000))
            try:
                body = json.loads(record.get("body"))
            except (TypeError, ValueError):
                continue
            if isinstance(body, dict):
                before = json.dumps(body)
                message(body)
                if json.dumps(body) != before:
                    record["body"] = json.dumps(body, separators=(",", ":"))
    else:
        message(doc)
    return doc


def now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def invoke(watch_port, data_file=None, data=None, at=None):
    """Invoke with a sample (restamped to `at`, default now) or with `data` as is."""
    cmd = ["cargo", "lambda", "invoke", FUNCTION, "-P", str(watch_port)]
    if data_file:
        with open(os.path.join(EVENTS, data_file)) as f:
            doc = restamp(json.load(f), at or now())
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(doc, f)
        try:
            return _invoke(cmd + ["--data-file", f.name], data_file)
        finally:
            os.unlink(f.name)
    return _invoke(cmd + ["--data-ascii", json.dumps(data)], data)


def _invoke(cmd, what):
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"invoke {what} failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout)


def check(condition, message):
    if not condition:
        raise SystemExit(f"FAIL: {message}")
    print(f"ok: {message}")


# A second Region (issue #15): the function manages us-east-1 (its own) and eu-west-1,
# where another instance is also named web-1, with its own firewall.
EU = "eu-west-1"
EU_WEB = {"name": "web-1", "tags": [{"key": "jit:managed"}],
          "ports": [{"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrs": ["0.0.0.0/0"],
                     "ipv6Cidrs": [], "cidrListAliases": []}]}
POLICY = {"regions": ["us-east-1", EU]}


def main():
    subprocess.run(["cargo", "build", "--quiet", "--bin", "jit-sim", "--bin", FUNCTION], cwd=ROOT, check=True)
    with open(os.path.join(EVENTS, "instances.json")) as f:
        fixture = dict(json.load(f), regions={EU: {"instances": [EU_WEB]}})
    with SimDriver(os.path.join(ROOT, "target", "debug", "jit-sim"), cwd=ROOT,
                   fixture=fixture, error_style="lightsail") as sim:
        try:
            run_events(sim)
        finally:
            stop_all()  # cargo lambda watch first, while the simulator still answers


def run_events(sim):
    watch_port = free_port()
    # Outcome events go to the simulator's EventBridge too (issue #12).
    env = dict(os.environ, AWS_ENDPOINT_URL_LIGHTSAIL=sim.url, AWS_ENDPOINT_URL_EVENTBRIDGE=sim.url,
               JIT_EVENT_BUS=BUS, SLACK_SIGNING_SECRET=SLACK_SECRET, AWS_ACCESS_KEY_ID="test",
               AWS_SECRET_ACCESS_KEY="test", AWS_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")
    env.pop("JIT_POLICY_FILE", None)
    env["JIT_POLICY"] = json.dumps(POLICY)  # the defaults, in two Regions
    start(["cargo", "lambda", "watch", "-P", str(watch_port)], env=env)
    wait_for_port(watch_port, "cargo lambda watch")

    baseline = {name: canonical(i["ports"]) for name, i in sim.instances().items()}
    firewall = lambda name: canonical(sim.instances()[name]["ports"])
    eu_baseline = canonical(EU_WEB["ports"])
    eu_firewall = lambda: canonical(sim.region_instances(EU)["web-1"]["ports"])
    ssh_alice = ("tcp", 22, 22, "203.0.113.7/32")
    seen = set()

    published = [0]

    def run(name, events=None):
        """Invoke one sample; `events`: the detail types it must publish, in any order."""
        seen.add(name)
        out = invoke(watch_port, data_file=name)
        print(f"{name}: {json.dumps(out)[:300]}")
        if events is not None:
            expect_events(name, events)
        return out

    def expect_events(what, types):
        new = sim.events(published[0])
        published[0] += len(new)
        got = sorted(e["detailType"] for e in new)
        check(got == sorted(types), f"{what} publishes {sorted(types) or 'nothing'} (got {got})")
        for e in new:
            detail = json.loads(e["detail"])
            check(e["source"] == "lightsail-jit" and e["eventBusName"] == BUS
                  and len(detail["eventId"]) == 32 and detail["summary"],
                  f"{e['detailType']}: source, bus, eventId and summary")

    out = run("status.json", [])
    check(out["status"] == "status"
          and {(i["region"], i["instanceName"]) for i in out["instances"]}
          == {("us-east-1", "web-1"), ("us-east-1", "db-1"), (EU, "web-1")},
          "status of every instance lists both Regions' managed instances")
    out = run("grant-dry-run.json", [])
    check(out["status"] == "plan" and firewall("db-1") == baseline["db-1"], "dry run plans and writes nothing")
    out = invoke(watch_port, data_file="grant-eventbridge.json", at=now() - datetime.timedelta(hours=1))
    expect_events("an hour-old grant", ["JIT Access Rejected"])
    check(out["status"] == "rejected" and out["error"]["code"] == "CommandExpired"
          and firewall("web-1") == baseline["web-1"], "an hour-old grant is CommandExpired and opens nothing")
    out = run("grant-eventbridge.json", ["JIT Access Granted"])
    check(out["status"] == "granted" and ssh_alice in firewall("web-1"), "EventBridge grant opens 22/tcp for alice")
    out = run("extend.json", ["JIT Access Extended"])
    check(out["status"] == "extended", "extend moves the expiry")
    out = run("sqs-batch.json", ["JIT Access Granted"] * 2)
    check(out == {"batchItemFailures": []}, "SQS batch of two grants: no failures")
    check(("tcp", 22, 22, "2001:db8:1234::/64") in firewall("db-1"), "bob's IPv6 grant is open on db-1")
    out = run("revoke.json", ["JIT Access Revoked"])
    check(out["status"] == "revoked" and ssh_alice not in firewall("web-1"), "revoke closes alice's grant")
    out = run("sweep-scheduled.json", [])
    check(out["status"] == "swept" and out["expired"] == 0, "a sweep before expiry ends nothing")
    eu_grant = {"action": "grant", "region": EU, "instanceName": "web-1", "cidrs": ["198.51.100.9"],
                "requester": "e2e", "requestId": "e2e-eu", "issuedAt": rfc3339(now())}
    out = invoke(watch_port, data=eu_grant)
    expect_events("a grant in eu-west-1", ["JIT Access Granted"])
    check(out["status"] == "granted" and out["region"] == EU
          and ("tcp", 22, 22, "198.51.100.9/32") in eu_firewall()
          and ("tcp", 22, 22, "198.51.100.9/32") not in firewall("web-1"),
          "a grant naming eu-west-1 opens eu-west-1's web-1 only (its client signs for eu-west-1)")
    out = run("lockdown.json", ["JIT Lockdown Started"] * 3 + ["JIT Access Revoked"] * 3)
    check(out["status"] == "lockedDown" and out["ended"] == 3 and out["instances"] == 3,
          "lockdown covers both Regions and ends the three remaining grants")
    check(all(firewall(n) == baseline[n] for n in baseline) and eu_firewall() == eu_baseline,
          "lockdown restores every baseline, in both Regions")
    check(out["until"] is not None, "the sample lockdown is timed")
    out = run("sweep-scheduled.json", [])
    check(out["status"] == "swept" and all(firewall(n) == baseline[n] for n in baseline), "the lockdown holds")
    out = run("grant-eventbridge.json", ["JIT Access Rejected"])
    check(out["status"] == "rejected" and out["error"]["code"] == "LockedDown", "a grant during the lockdown is LockedDown")
    out = run("unlock.json", ["JIT Lockdown Ended"] * 3)
    check(out["status"] == "unlocked" and out["instances"] == 3, "unlock lifts the lockdown in both Regions")

    # The /jit slash command (issue #14): a signed Function URL request, answered in
    # Slack's format; the same request signed with another secret is a 401.
    out = run("slack-grant.json", ["JIT Access Granted"])
    message = json.loads(out["body"])
    check(out["statusCode"] == 200 and message["response_type"] == "in_channel"
          and "was granted 22/tcp from 203.0.113.7/32 on *web-1*" in message["text"]
          and ssh_alice in firewall("web-1"), "a signed /jit grant opens and answers in the channel")
    with open(os.path.join(EVENTS, "slack-grant.json")) as f:
        forged = slack_sign(json.load(f), now(), secret="not-the-signing-secret")
    out = invoke(watch_port, data=forged)
    expect_events("a request signed with another secret", [])
    check(out["statusCode"] == 401, "a request signed with another secret is refused (401)")
    out = invoke(watch_port, data={"action": "revoke", "instanceName": "web-1", "requester": "e2e"})
    expect_events("revoking the Slack grant", ["JIT Access Revoked"])
    check(out["status"] == "revoked" and firewall("web-1") == baseline["web-1"], "the Slack grant is revoked")

    short = {"action": "grant", "instanceName": "web-1", "cidrs": ["198.51.100.77"], "duration": 2,
             "requester": "e2e", "requestId": "e2e-short", "issuedAt": rfc3339(now())}
    out = invoke(watch_port, data=short)
    check(out["status"] == "granted" and ("tcp", 22, 22, "198.51.100.77/32") in firewall("web-1"),
          "a 2-second grant opens")
    expect_events("a 2-second grant", ["JIT Access Granted"])
    time.sleep(3)
    out = run("sweep-scheduled.json", ["JIT Access Expired"])
    check(out["expired"] == 1 and firewall("web-1") == baseline["web-1"], "the sweep after expiry restores the baseline")

    files = {f for f in os.listdir(EVENTS) if f.endswith(".json") and f != "instances.json"}
    check(files == seen, f"every event file was invoked ({len(files)})")
    print(f"{len(seen) + 5} invocations passed, 0 failed")


if __name__ == "__main__":
    try:
        main()
    except RuntimeError as e:  # the simulator would not start or answer
        raise SystemExit(f"FAIL: {e}")
    finally:
        stop_all()
