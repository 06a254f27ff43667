"""The LLM judge on any OpenAI-compatible server (vLLM, llama.cpp's server, LM Studio, Ollama's
`/v1`): the `openai` client as a transport for the shared JSON-prompt judge (`judge/llm_core.py`).

This is how a team shares one GPU box across many candidates. The server is
`OPENAI_BASE_URL` (required: this project never sends an answer to a hosted service unless told
where to), the key `OPENAI_API_KEY` (local servers ignore it), the model `--model` or, when the
server serves exactly one, that one.

Output is constrained by `response_format={"type": "json_schema", …}`. llama-cpp-python's server
predates that form and rejects it; it takes the same schema as `{"type": "json_object",
"schema": …}`, so on that refusal the transport switches to the older form for the rest of the
run (both constrain decoding with a grammar). The client's own retries are off: retry and
fallback policy belong to the judge. Every client exception is translated here into a one-line
`EngineUnavailable`/`ModelNotInstalled`.
"""

from __future__ import annotations

import os
from typing import Any, Literal

import openai

from interviewer.errors import EngineUnavailable, ModelNotInstalled, UsageError
from interviewer.judge.llm_core import FallbackSpec, JsonPromptJudge, Messages
from interviewer.judge.llm_log import NULL_SINK, ExchangeSink

DEFAULT_TIMEOUT_S = 120.0
ENV_BASE_URL = "OPENAI_BASE_URL"
ENV_API_KEY = "OPENAI_API_KEY"
_LOCAL_KEY = "not-needed"  # the client insists on a key; local servers ignore it

Dialect = Literal["json_schema", "json_object"]


def base_url(url: str | None = None) -> str:
    """The server's base URL: `url`, else $OPENAI_BASE_URL; UsageError when neither is set."""
    chosen = url or os.environ.get(ENV_BASE_URL)
    if not chosen:
        raise UsageError(f"the openai judge needs ${ENV_BASE_URL}",
                         hint="e.g. OPENAI_BASE_URL=http://127.0.0.1:8000/v1 (see README: "
                              "Many candidates, one LLM server)")
    return chosen.rstrip("/")


def response_format(schema: dict[str, Any], dialect: Dialect) -> dict[str, Any]:
    """The `response_format` request field constraining the reply to `schema`."""
    if dialect == "json_schema":
        return {"type": "json_schema",
                "json_schema": {"name": "verdicts", "schema": schema, "strict": True}}
    return {"type": "json_object", "schema": schema}


class OpenAITransport:
    """`/v1/chat/completions` with a JSON-schema response format (`llm_core.ChatTransport`)."""

    backend = "openai"
    label = "the OpenAI-compatible server"

    def __init__(self, model: str | None = None, *, url: str | None = None,
                 api_key: str | None = None, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.url = base_url(url)
        self.where = f"the OpenAI-compatible server at {self.url}"
        self.timeout = timeout
        key = api_key or os.environ.get(ENV_API_KEY) or _LOCAL_KEY
        self._client = openai.OpenAI(base_url=self.url, api_key=key, timeout=timeout,
                                     max_retries=0)
        self.dialect: Dialect = "json_schema"
        self.model = model or ""

    def translate(self, exc: Exception) -> EngineUnavailable:
        """The client's exception as a one-line error saying what to do."""
        if isinstance(exc, openai.APITimeoutError):
            return EngineUnavailable(f"{self.where} did not answer within {self.timeout:g} s")
        if isinstance(exc, openai.APIConnectionError):
            return EngineUnavailable(f"cannot connect to {self.where}",
                                     hint=f"start the server, or set ${ENV_BASE_URL}")
        if isinstance(exc, openai.NotFoundError):
            return ModelNotInstalled(f"{self.where} has no model {self.model!r}",
                                     hint="see `interviewer doctor --section judge` for the "
                                          "models it serves")
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            return EngineUnavailable(f"{self.where} refused the API key",
                                     hint=f"set ${ENV_API_KEY}")
        if isinstance(exc, openai.APIStatusError):
            return EngineUnavailable(f"{self.where} failed: HTTP {exc.status_code}: "
                                     f"{_first_line(exc.message)}")
        return EngineUnavailable(f"{self.where} failed: {_first_line(str(exc))}")

    def models(self) -> list[str]:
        """Ids of the models the server serves (`/v1/models`)."""
        try:
            return [m.id for m in self._client.models.list()]
        except openai.OpenAIError as exc:
            raise self.translate(exc) from exc

    def check(self) -> None:
        """Raise unless the server answers and serves the model (picking the only one served
        when no model was named)."""
        served = self.models()
        if not self.model:
            if len(served) != 1:
                raise UsageError(f"{self.where} serves {len(served)} models: name one with "
                                 "--model", hint=", ".join(served[:8]) or None)
            self.model = served[0]
        elif self.model not in served:
            raise ModelNotInstalled(f"{self.where} has no model {self.model!r}",
                                    hint="it serves: " + (", ".join(served[:8]) or "nothing"))

    def chat(self, messages: Messages, schema: dict[str, Any], max_tokens: int) -> str:
        """One chat completion constrained to `schema`; the reply text."""
        if not self.model:
            self.check()
        try:
            return self._complete(messages, schema, max_tokens)
        except openai.APIStatusError as exc:
            # llama-cpp-python's server answers the unknown form with a validation error
            # (HTTP 500 in 0.3.x; 400/422 elsewhere) naming the field.
            if self.dialect != "json_schema" or "response_format" not in str(exc):
                raise self.translate(exc) from exc
            self.dialect = "json_object"  # llama-cpp-python's server: same schema, older form
            try:
                return self._complete(messages, schema, max_tokens)
            except openai.OpenAIError as exc2:
                raise self.translate(exc2) from exc2
        except openai.OpenAIError as exc:
            raise self.translate(exc) from exc

    def _complete(self, messages: Messages, schema: dict[str, Any], max_tokens: int) -> str:
        # Plain dicts on purpose: the client's TypedDicts do not know the older schema form.
        request: dict[str, Any] = {
            "model": self.model, "messages": messages, "temperature": 0, "seed": 0,
            "max_tokens": max_tokens, "response_format": response_format(schema, self.dialect)}
        resp = self._client.chat.completions.create(**request)
        if not resp.choices:
            raise EngineUnavailable(f"{self.where} returned no choices")
        return resp.choices[0].message.content or ""


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0][:200]


class OpenAIJudge(JsonPromptJudge):
    """The JSON-prompt judge over an OpenAI-compatible server."""

    transport: OpenAITransport

    def __init__(self, model: str | None = None, *, url: str | None = None,
                 api_key: str | None = None, timeout: float = DEFAULT_TIMEOUT_S,
                 fallback: FallbackSpec = None, log: ExchangeSink = NULL_SINK) -> None:
        super().__init__(OpenAITransport(model, url=url, api_key=api_key, timeout=timeout),
                         fallback=fallback, log=log)

    def check(self) -> None:
        """Raise unless the server answers and serves the model; `info` then names it."""
        self.transport.check()
        self.info = self.info.model_copy(update={"model": self.transport.model})

    @property
    def url(self) -> str:
        """The server's base URL."""
        return self.transport.url
