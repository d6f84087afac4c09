"""A housing system's end of the feed, for the tests: a real HTTP server on 127.0.0.1 that
verifies each event's signature as docs/integration.md tells a receiver to, refuses the first
`failures` deliveries (503), then acknowledges (200) and keeps what it accepted."""
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = "test-feed-secret-0123456789"


def verified(secret: str, headers, body: bytes) -> bool:
    """The receiver's check: the timestamp is recent and the signature is HMAC-SHA256 of
    "<timestamp>.<body>" under the shared secret."""
    stamp, given = headers.get("X-Alertflow-Timestamp", ""), headers.get("X-Alertflow-Signature", "")
    if not stamp.isdigit() or abs(time.time() - int(stamp)) > 300:
        return False
    expected = "sha256=" + hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, given)


class Receiver:
    def __init__(self, failures: int = 2, secret: str = SECRET):
        self.failures, self.secret = failures, secret
        self.attempts: list[int] = []  # the event id of every request, refused or not
        self.accepted: list[dict] = []  # the bodies acknowledged, in order
        self.unsigned = 0  # requests whose signature did not verify
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.attempts.append(int(self.headers.get("X-Alertflow-Event", 0)))
                    if not verified(receiver.secret, self.headers, body):
                        receiver.unsigned += 1
                        status = 401
                    elif receiver.failures > 0:
                        receiver.failures -= 1
                        status = 503
                    else:
                        receiver.accepted.append(json.loads(body))
                        status = 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/alerts"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
