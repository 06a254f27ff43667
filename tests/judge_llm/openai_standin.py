"""A local stand-in for an OpenAI-compatible server: /v1/models and /v1/chat/completions over
real HTTP, for fast unit tests of the transport (the real llama.cpp server is in conftest.py).

Tests script the replies (`reply`, `reply_status`) and inspect every request the client really
sent (`requests`). `json_schema=False` makes it refuse `response_format: json_schema` the way
llama-cpp-python's server does (HTTP 500 naming the field).
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
    error: str = ""
    delay_s: float = 0.0


@dataclass
class OpenAIStandIn:
    """Start with `start()`, stop with `stop()`; `url` is the base URL (ending in /v1)."""

    models: list[str] = field(default_factory=lambda: ["local-model"])
    json_schema: bool = True
    api_key: str | None = None  # when set, requests without "Bearer <key>" get 401
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _replies: deque[_Reply] = field(default_factory=deque)
    _server: ThreadingHTTPServer | None = None

    def reply(self, content: str | dict[str, Any], delay_s: float = 0.0) -> None:
        """Queue an assistant message (a dict is sent as its JSON text)."""
        text = content if isinstance(content, str) else json.dumps(content)
        self._replies.append(_Reply(content=text, delay_s=delay_s))

    def reply_status(self, status: int, error: str) -> None:
        """Queue an HTTP error for the next chat request."""
        self._replies.append(_Reply(status=status, error=error))

    def chats(self) -> list[dict[str, Any]]:
        return [body for path, body in self.requests if path.endswith("/chat/completions")]

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def _chat(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        fmt = body.get("response_format") or {}
        if fmt.get("type") == "json_schema" and not self.json_schema:
            return 500, {"error": {"message": "1 validation error: ('body', 'response_format', "
                                              "'type') Input should be 'text' or 'json_object'"}}
        if body.get("model") not in self.models:
            return 404, {"error": {"message": f"model {body.get('model')!r} not found"}}
        r = self._replies.popleft() if self._replies else _Reply(content="{}")
        if r.delay_s:
            time.sleep(r.delay_s)
        if r.status != 200:
            return r.status, {"error": {"message": r.error}}
        return 200, {"id": "c1", "object": "chat.completion", "created": 0,
                     "model": body["model"], "choices": [{
                         "index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": r.content}}]}

    def start(self) -> OpenAIStandIn:
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

            def _authorised(self) -> bool:
                if standin.api_key is None:
                    return True
                if self.headers.get("Authorization") == f"Bearer {standin.api_key}":
                    return True
                self._send(401, {"error": {"message": "invalid api key"}})
                return False

            def do_GET(self) -> None:  # noqa: N802 - http.server API
                standin.requests.append((self.path, {}))
                if not self._authorised():
                    return
                if self.path == "/v1/models":
                    self._send(200, {"object": "list", "data": [
                        {"id": m, "object": "model", "owned_by": "me"} for m in standin.models]})
                else:
                    self._send(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:  # noqa: N802 - http.server API
                n = int(self.headers.get("Content-Length") or 0)
                body: dict[str, Any] = json.loads(self.rfile.read(n).decode() or "{}")
                standin.requests.append((self.path, body))
                if not self._authorised():
                    return
                if self.path != "/v1/chat/completions":
                    self._send(404, {"error": {"message": "not found"}})
                    return
                self._send(*standin._chat(body))

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
