"""Drive the Lightsail HTTP simulator (`jit-sim`, src/bin/jit-sim.rs) from a Python script.

scripts/e2e_cargo_lambda.py and scripts/bench_lambda.py both start `jit-sim`, point the
function at it (AWS_ENDPOINT_URL_LIGHTSAIL), then read back what the function did through
the simulator's control plane. This is the one copy of that: how to start it and know its
URL, how to call `/_sim/...`, how to stop it whatever happened. A change to the
simulator's command line or control plane is made here once.

    with SimDriver("target/debug/jit-sim", fixture="events/instances.json",
                   error_style="lightsail") as sim:
        env["AWS_ENDPOINT_URL_LIGHTSAIL"] = sim.url
        sim.latency(50)                      # POST /_sim/faults
        seen = len(sim.requests())           # GET /_sim/requests
        ... invoke the function ...
        sim.calls(since=seen)                # {"GetInstance": 1, "TagResource": 1, ...}
        sim.instances()["web-1"]["ports"]    # GET /_sim/instances, by name

What the simulator offers (src/lightsail/sim/http, the `/_sim/` control plane, no auth):
`GET /_sim/instances`, `GET /_sim/requests` (one entry per Lightsail call: operation,
signed, credential, explicitSources, status), `POST /_sim/faults` (replaces the list of
wire faults: `{"operation"?, "kind": {"type": "throttle" | "serverError" | "drop" |
"latency", "millis"?}, "times"?, "probability"?}`), `POST /_sim/error-style` ("plain" or
"lightsail"). Instances are seeded only at start, from the fixture file (`{"instances":
[{"name", "tags", "ports"}]}`); there is no endpoint to reset them or the request log, so
a fresh state is a fresh simulator (it starts in milliseconds), and "what this step did"
is `requests(since=n)`.

The simulator listens on port 0 (any free port) unless told otherwise, and its first line
on stdout ("jit-sim: Lightsail simulator on http://127.0.0.1:PORT ...") gives the URL: no
port to guess, no race for it, no polling. Loopback only; Python 3 standard library only.
"""
import json
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import urllib.error
import urllib.request

BANNER = "jit-sim: Lightsail simulator on "

# The control plane is on loopback: never through an HTTP proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def count_ops(requests):
    """{operation: number of calls} of a list of `/_sim/requests` entries."""
    ops = {}
    for r in requests:
        ops[r["operation"]] = ops.get(r["operation"], 0) + 1
    return ops


class SimDriver:
    """One `jit-sim` process and its control plane.

    fixture: a fixture file's path, or the fixture itself (a dict `{"instances": [...]}`),
    which is written to `fixture_path` (kept, e.g. next to a run's logs) or else to a
    temporary file removed on stop. page_size / error_style / port: jit-sim's
    --page-size / --error-style / --port (its own defaults when None; port 0: any free
    port). log: where the simulator's stderr goes (a file object; None: this process's
    stderr); it writes nothing there unless something is wrong. cwd, env: for the process.
    """

    def __init__(self, binary, fixture, *, page_size=None, error_style=None, port=0,
                 log=None, cwd=None, env=None, fixture_path=None, start_timeout=60):
        self.binary, self.fixture, self.fixture_path = binary, fixture, fixture_path
        self.flags = ["--port", str(port)]
        if page_size is not None:
            self.flags += ["--page-size", str(page_size)]
        if error_style is not None:
            self.flags += ["--error-style", error_style]
        self.popen = {"cwd": cwd, "env": env, "stderr": log}
        self.start_timeout = start_timeout
        self.proc = self.url = self._tmpdir = None

    # ------------------------------------------------------------------ lifecycle

    def start(self):
        """Start the simulator; returns its base URL (for AWS_ENDPOINT_URL_LIGHTSAIL)."""
        if self.proc is not None:
            raise RuntimeError("jit-sim: already started")
        path = self.fixture
        if not isinstance(path, (str, os.PathLike)):
            path = self.fixture_path
            if path is None:
                self._tmpdir = tempfile.mkdtemp(prefix="jit-sim-")
                path = os.path.join(self._tmpdir, "fixture.json")
            with open(path, "w") as f:
                json.dump(self.fixture, f)
        cmd = [self.binary, "--fixture", os.fspath(path), *self.flags]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     text=True, **self.popen)
        first = queue.Queue()
        threading.Thread(target=self._read_stdout, args=(self.proc.stdout, first),
                         daemon=True).start()
        try:
            line = first.get(timeout=self.start_timeout)
        except queue.Empty:
            line = None
        if not line or BANNER not in line or "http://" not in line:
            self.stop()
            why = (f"no banner within {self.start_timeout}s" if line is None
                   else "it exited before printing its URL" if not line else repr(line))
            raise RuntimeError(f"jit-sim did not start ({' '.join(cmd)}): {why}, "
                               f"exit status {self.proc.returncode}")
        self.url = "http://" + line.split("http://", 1)[1].split()[0]
        return self.url

    @staticmethod
    def _read_stdout(stream, first):
        # The banner goes to start(); anything after it is drained so that the pipe can
        # never fill up and block the simulator. Ends at its exit (EOF) and closes the pipe
        # here, so that stop() never closes it under a read in progress.
        try:
            first.put(stream.readline())
            for _ in stream:
                pass
        except (OSError, ValueError):
            first.put("")
        finally:
            stream.close()

    def stop(self):
        """Stop the simulator (SIGINT, as Ctrl-C; SIGKILL if it lingers). Idempotent."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            try:
                proc.send_signal(signal.SIGINT)
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            except ProcessLookupError:
                pass
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def __enter__(self):
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    @property
    def pid(self):
        return self.proc.pid if self.proc is not None else None

    # ------------------------------------------------------------------ control plane

    def control(self, method, path, body=None, timeout=30):
        """One call to the control plane; returns the parsed JSON answer."""
        if self.url is None:
            raise RuntimeError("jit-sim: not started")
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"content-type": "application/json"})
        try:
            with _OPENER.open(req, timeout=timeout) as r:
                return json.load(r)
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"jit-sim {method} {path}: {e.code} {e.read().decode(errors='replace')}")

    def instances(self):
        """The simulator's instances now, by name: {name: {"name", "tags", "ports"}}."""
        return {i["name"]: i for i in self.control("GET", "/_sim/instances")}

    def region_instances(self, region):
        """{name: instance} of another Region the fixture names (`"regions": {...}`)."""
        return {i["name"]: i for i in self.control("GET", f"/_sim/regions/{region}/instances")}

    def events(self, since=0):
        """The EventBridge entries the simulator accepted, oldest first (from index `since`):
        {"eventId", "source", "detailType", "detail" (JSON text), "eventBusName"}."""
        return self.control("GET", "/_sim/events")[since:]

    def requests(self, since=0):
        """Every Lightsail call the simulator has seen, oldest first (from index `since`)."""
        return self.control("GET", "/_sim/requests")[since:]

    def calls(self, since=0):
        """{operation: number of calls} since the `since`-th request."""
        return count_ops(self.requests(since))

    def faults(self, faults):
        """Replace the injected wire faults (a list of WireFault objects, see above)."""
        return self.control("POST", "/_sim/faults", list(faults))

    def latency(self, millis, operation=None):
        """Every call (or only `operation`'s) answered `millis` later; replaces other faults."""
        fault = {"kind": {"type": "latency", "millis": millis}}
        if operation is not None:
            fault["operation"] = operation
        return self.faults([fault])

    def open_mode(self, mode):
        """What Open does to an existing rule: "merge" (the default) or "replace"."""
        return self.control("POST", "/_sim/open-mode", mode)

    def clear_faults(self):
        return self.faults([])

    def error_style(self, style):
        """"plain" or "lightsail" (errors with Lightsail's own `code` member)."""
        return self.control("POST", "/_sim/error-style", style)
