"""The LLM judge on a local Ollama server: Ollama's native API as a transport for the shared
JSON-prompt judge (`judge/llm_core.py`: prompt, schema, validation, retry, fallback).

`format=<JSON schema>` constrains the reply; temperature 0 and a fixed seed make it repeatable.
The client's exceptions are translated here, at the boundary, into one-line `EngineUnavailable`
/ `ModelNotInstalled` errors naming the host and what to do.
"""

from __future__ import annotations

import os
from typing import Any

import httpx
import ollama
from pydantic import ValidationError

from interviewer.errors import EngineUnavailable, ModelNotInstalled
from interviewer.judge.llm_core import FallbackSpec, JsonPromptJudge, Messages
from interviewer.judge.llm_log import NULL_SINK, ExchangeSink

DEFAULT_MODEL = "qwen2.5:7b-instruct"
DEFAULT_HOST = "http://127.0.0.1:11434"
DEFAULT_TIMEOUT_S = 120.0


def host_url(host: str | None = None) -> str:
    """The server address: `host`, else OLLAMA_HOST, else the local default."""
    h = host or os.environ.get("OLLAMA_HOST") or DEFAULT_HOST
    return h if "://" in h else f"http://{h}"


# What the client raises: HTTP errors it maps to ResponseError, ConnectionError for a refused
# connection, httpx errors (timeouts), and ValidationError when a reply body has the wrong shape.
_CLIENT_ERRORS = (ollama.ResponseError, ConnectionError, httpx.HTTPError, ValidationError)


class OllamaTransport:
    """Ollama's `/api/chat` with a JSON-schema `format` (see `llm_core.ChatTransport`)."""

    backend = "ollama"
    label = "Ollama"

    def __init__(self, model: str = DEFAULT_MODEL, *, host: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.model = model
        self.host = host_url(host)
        self.timeout = timeout
        self.where = f"Ollama at {self.host}"
        self._client = ollama.Client(host=self.host, timeout=timeout)

    def translate(self, exc: Exception) -> EngineUnavailable:
        """The client's exception as a one-line error saying what to do."""
        if isinstance(exc, ollama.ResponseError) and exc.status_code == 404:
            return ModelNotInstalled(f"Ollama at {self.host} has no model {self.model!r}",
                                     hint=f"run `ollama pull {self.model}`")
        if isinstance(exc, ConnectionError | httpx.ConnectError):
            return EngineUnavailable(f"cannot connect to Ollama at {self.host}",
                                     hint="start `ollama serve`, or set OLLAMA_HOST")
        if isinstance(exc, httpx.TimeoutException):
            return EngineUnavailable(f"Ollama at {self.host} did not answer within "
                                     f"{self.timeout:g} s")
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return EngineUnavailable(f"Ollama at {self.host} failed: {first}")

    def check(self) -> None:
        """Raise `EngineUnavailable`/`ModelNotInstalled` unless the server has the model."""
        try:
            self._client.show(self.model)
        except _CLIENT_ERRORS as exc:
            raise self.translate(exc) from exc

    def models(self) -> list[str]:
        """Names of the models the server has (`/api/tags`)."""
        try:
            return [m.model or "" for m in self._client.list().models]
        except _CLIENT_ERRORS as exc:
            raise self.translate(exc) from exc

    def chat(self, messages: Messages, schema: dict[str, Any], max_tokens: int) -> str:
        """One non-streaming chat request constrained to `schema`; the reply text."""
        try:
            resp = self._client.chat(model=self.model, messages=messages, format=schema,
                                     options={"temperature": 0, "seed": 0,
                                              "num_predict": max_tokens}, stream=False)
        except _CLIENT_ERRORS as exc:
            raise self.translate(exc) from exc
        return resp.message.content or ""


class OllamaJudge(JsonPromptJudge):
    """The JSON-prompt judge over an Ollama server."""

    transport: OllamaTransport

    def __init__(self, model: str = DEFAULT_MODEL, *, host: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT_S, fallback: FallbackSpec = None,
                 log: ExchangeSink = NULL_SINK) -> None:
        super().__init__(OllamaTransport(model, host=host, timeout=timeout), fallback=fallback,
                         log=log)

    @property
    def host(self) -> str:
        """The server's base URL."""
        return self.transport.host

    def models(self) -> list[str]:
        """Names of the models the server has."""
        return self.transport.models()
