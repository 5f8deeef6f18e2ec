"""A stub of the AWS Lambda Runtime API on loopback, for driving a function binary
outside Lambda and timing it (scripts/bench_lambda.py).

A `lambda_runtime` binary finds the Runtime API through AWS_LAMBDA_RUNTIME_API, polls
`GET /2018-06-01/runtime/invocation/next` for an event and posts its answer to
`.../invocation/<id>/response` (or `/error`, or `.../init/error` when its cold start
fails). This stub serves exactly that, one stub per function process, and records when
things happened on the monotonic clock: the first poll (the end of the cold start), when
each event was handed out and when its answer came back (an invocation's wall time, from
the function's side of the wire).

It is a module of its own because it is a piece of infrastructure, not a benchmark: what
it must get right is the wire (no Nagle delay, head and body in one write, errors from a
killed function swallowed), and that is easier to read, and to reuse for another harness,
without the benchmarks around it. Python 3 standard library only.

    stub = RuntimeStub()                       # listening on 127.0.0.1:stub.port
    env["AWS_LAMBDA_RUNTIME_API"] = f"127.0.0.1:{stub.port}"
    ... start the function ...
    stub.wait_first_poll(timeout=20)           # monotonic time, or None
    wall_s, kind, answer = stub.invoke("req-1", {"action": "status"})
    stub.close()
"""
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NEXT = "/2018-06-01/runtime/invocation/next"


class RuntimeStub:
    """A minimal Lambda Runtime API on 127.0.0.1 (one per function process)."""

    def __init__(self):
        self.cond = threading.Condition()
        self.first_poll = None  # monotonic time of the first GET .../next
        self.queue = []  # (request_id, body bytes)
        self.handed = {}  # request_id -> monotonic time the event was written
        self.done = {}  # request_id -> (monotonic time, kind, parsed body)
        self.init_error = None
        self.closed = False
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                now = time.monotonic()
                if self.path != NEXT:
                    return self.reply(404, b'{"errorType":"NotFound"}')
                with stub.cond:
                    if stub.first_poll is None:
                        stub.first_poll = now
                        stub.cond.notify_all()
                    while not stub.queue and not stub.closed:
                        stub.cond.wait(timeout=1.0)
                    if stub.closed:
                        self.close_connection = True
                        return
                    request_id, body = stub.queue.pop(0)
                headers = {
                    "Lambda-Runtime-Aws-Request-Id": request_id,
                    "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + 900_000),
                    "Lambda-Runtime-Invoked-Function-Arn":
                        "arn:aws:lambda:us-east-1:123456789012:function:lightsail-jit",
                    "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000;Sampled=0",
                }
                with stub.cond:
                    stub.handed[request_id] = time.monotonic()
                self.reply(200, body, headers)

            def do_POST(self):
                now = time.monotonic()
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                parts = self.path.strip("/").split("/")
                # 2018-06-01/runtime/invocation/<id>/(response|error) or .../init/error
                kind, request_id = None, None
                if len(parts) == 5 and parts[2] == "invocation":
                    request_id, kind = parts[3], parts[4]
                elif parts[-2:] == ["init", "error"]:
                    kind = "init-error"
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode(errors="replace")
                with stub.cond:
                    if kind == "init-error":
                        stub.init_error = body
                    elif request_id:
                        stub.done[request_id] = (now, kind, body)
                    stub.cond.notify_all()
                self.reply(202, b'{"status":"OK"}')

            def setup(self):
                super().setup()
                # Like the real Runtime API: no Nagle delay on what we send.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def reply(self, status, body, headers=None):
                # Status line, headers and body in one write: written in two, the body
                # would wait for the client's delayed ACK (40 ms) on a reused connection.
                head = [f"HTTP/1.1 {status} {'OK' if status < 300 else 'Error'}",
                        "Content-Type: application/json", f"Content-Length: {len(body)}"]
                head += [f"{k}: {v}" for k, v in (headers or {}).items()]
                try:
                    self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
                    self.wfile.flush()
                except OSError:
                    pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # a function process killed mid-connection is expected

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def wait_first_poll(self, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while self.first_poll is None and self.init_error is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(timeout=left)
            return self.first_poll

    def invoke(self, request_id, payload, timeout=60):
        """Queue one event; wait for its answer. Returns (wall seconds, kind, body)."""
        body = json.dumps(payload).encode()
        with self.cond:
            self.queue.append((request_id, body))
            self.cond.notify_all()
            deadline = time.monotonic() + timeout
            while request_id not in self.done:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError(f"no answer to {request_id} within {timeout}s")
                self.cond.wait(timeout=left)
            t_done, kind, answer = self.done[request_id]
            return t_done - self.handed[request_id], kind, answer

    def close(self):
        with self.cond:
            self.closed = True
            self.cond.notify_all()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
