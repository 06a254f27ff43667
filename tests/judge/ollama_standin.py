"""A local stand-in for an Ollama server: /api/chat, /api/tags and /api/show over real HTTP.

Tests script the chat replies (`reply`, `reply_status`, `reply_after`) and inspect every request
the client really sent (`requests`: path and parsed JSON body).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class _Reply:
    content: str = ""
    status: int = 200
    body: dict[str, Any] | None = None
    delay_s: float = 0.0


@dataclass
class OllamaStandIn:
    """Start with `start()`, stop with `stop()`; `url` is the base address to give the client."""

    models: set[str] = field(default_factory=lambda: {"qwen2.5:7b-instruct"})
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _replies: deque[_Reply] = field(default_factory=deque)
    _server: ThreadingHTTPServer | None = None

    # ------------------------------------------------------------------ scripting
    def reply(self, content: str | dict[str, Any], delay_s: float = 0.0) -> None:
        """Queue an assistant message (a dict is sent as its JSON text)."""
        text = content if isinstance(content, str) else json.dumps(content)
        self._replies.append(_Reply(content=text, delay_s=delay_s))

    def reply_status(self, status: int, error: str) -> None:
        """Queue an HTTP error for the next chat request."""
        self._replies.append(_Reply(status=status, body={"error": error}))

    def chats(self) -> list[dict[str, Any]]:
        return [body for path, body in self.requests if path == "/api/chat"]

    # ------------------------------------------------------------------ server
    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    def start(self) -> OllamaStandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> dict[str, Any]:
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b"{}"
                body: dict[str, Any] = json.loads(raw.decode() or "{}")
                return body

            def do_GET(self) -> None:  # noqa: N802 - http.server API
                standin.requests.append((self.path, {}))
                if self.path == "/api/tags":
                    self._send(200, {"models": [{"name": m, "model": m, "size": 1}
                                                for m in sorted(standin.models)]})
                else:
                    self._send(404, {"error": "not found"})

            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = self._body()
                standin.requests.append((self.path, body))
                model = body.get("model") or body.get("name")
                if self.path == "/api/show":
                    if model in standin.models:
                        self._send(200, {"modelfile": "", "template": "", "model_info": {},
                                         "details": {"family": "qwen2",
                                                     "parameter_size": "7.6B"}})
                    else:
                        self._send(404, {"error": f"model '{model}' not found"})
                    return
                if self.path != "/api/chat":
                    self._send(404, {"error": "not found"})
                    return
                if model not in standin.models:
                    self._send(404, {"error": f"model '{model}' not found, try pulling it first"})
                    return
                r = standin._replies.popleft() if standin._replies else _Reply(content="{}")
                if r.delay_s:
                    time.sleep(r.delay_s)
                if r.status != 200:
                    self._send(r.status, r.body or {})
                    return
                self._send(200, {"model": model, "created_at": "2026-01-01T00:00:00Z",
                                 "message": {"role": "assistant", "content": r.content},
                                 "done": True, "done_reason": "stop"})

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
