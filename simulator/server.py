"""The simulator's HTTP endpoint on 127.0.0.1: /metrics for Prometheus, plus a small control API
so a test can switch a version to "bad" or change the request rate while traffic flows.

  GET    /metrics                 Prometheus text format
  GET    /healthz                 "ok"
  GET    /routing                 current routing state and request counts (JSON)
  GET    /profiles                current profiles (JSON)
  PUT    /profiles                replace all profiles (YAML or JSON body, the profile file format)
  PUT    /profiles/versions/TAG   set one version's profile (YAML or JSON mapping, overlaid on default)
  DELETE /profiles/versions/TAG   drop a version's profile (it falls back to the default)
  PUT    /rps                     set the request rate (body: a number)
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import unquote

import yaml

from simulator.metrics import CONTENT_TYPE
from simulator.profiles import ProfileError, ProfileSet

log = logging.getLogger(__name__)
MAX_BODY = 1 << 20
PREFIX_VERSION = "/profiles/versions/"


class Controls(Protocol):
    """What the endpoint needs from the simulator."""

    def metrics_text(self) -> bytes: ...

    def routing_view(self) -> dict[str, Any]: ...

    @property
    def profiles(self) -> ProfileSet: ...

    def set_profiles(self, profiles: ProfileSet) -> None: ...

    @property
    def rps(self) -> float: ...

    def set_rps(self, rps: float) -> None: ...


class _Server(ThreadingHTTPServer):
    # Non-daemon handler threads are joined by server_close(), so stop() leaves no thread behind.
    daemon_threads = False
    block_on_close = True


def _handler(controls: Controls) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = 5  # a client that connects and says nothing must not pin a thread forever
        server_version = "rudder-simulator"

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s %s", self.address_string(), format % args)

        def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, doc: Any) -> None:
            self._send(status, (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode())

        def _body(self) -> str:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                raise ProfileError(f"body larger than {MAX_BODY} bytes")
            return self.rfile.read(length).decode()

        def do_GET(self) -> None:
            if self.path == "/metrics":
                self._send(200, controls.metrics_text(), CONTENT_TYPE)
            elif self.path == "/healthz":
                self._send(200, b"ok\n", "text/plain")
            elif self.path == "/routing":
                self._json(200, controls.routing_view())
            elif self.path == "/profiles":
                self._json(200, controls.profiles.to_dict())
            else:
                self._json(404, {"error": f"no such endpoint {self.path}"})

        def do_PUT(self) -> None:
            try:
                if self.path == "/profiles":
                    controls.set_profiles(ProfileSet.from_yaml(self._body()))
                elif self.path.startswith(PREFIX_VERSION) and len(self.path) > len(PREFIX_VERSION):
                    tag = unquote(self.path[len(PREFIX_VERSION):])
                    doc = yaml.safe_load(self._body()) or {}
                    controls.set_profiles(controls.profiles.with_version(tag, doc))
                elif self.path == "/rps":
                    controls.set_rps(float(self._body().strip()))
                    self._json(200, {"rps": controls.rps})
                    return
                else:
                    self._json(404, {"error": f"no such endpoint {self.path}"})
                    return
            except (ProfileError, ValueError, yaml.YAMLError) as exc:
                self._json(400, {"error": str(exc)})
                return
            self._json(200, {"profiles": controls.profiles.to_dict()})

        def do_DELETE(self) -> None:
            if self.path.startswith(PREFIX_VERSION) and len(self.path) > len(PREFIX_VERSION):
                tag = unquote(self.path[len(PREFIX_VERSION):])
                controls.set_profiles(controls.profiles.without_version(tag))
                self._json(200, {"profiles": controls.profiles.to_dict()})
            else:
                self._json(404, {"error": f"no such endpoint {self.path}"})

    return Handler


class Endpoint:
    """The HTTP server and the thread serving it; always bound to loopback."""

    def __init__(self, controls: Controls, port: int = 0) -> None:
        self._server = _Server(("127.0.0.1", port), _handler(controls))
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="simulator-http"
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()
