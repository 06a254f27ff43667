"""Session reports: Markdown, JSON, and one self-contained HTML file (audio embedded).

Every format shows each question as one exchange (`session/exchange.py`): the question's score
over all of its answers, each rubric point's best status with the turn whose answer earned it and
the quote, then the turns (question and follow-ups) with their takes. A follow-up is shown against
the points it asked about.

`report --format json` is a contract other tools read (README "Report JSON"):
`{"session", "score", "questions": [{"question_id", "text", "score",
"points": [{"id", "text", "status", "evidence", "turn"}],
"turns": [{"kind", "text", "targets", "score", "answer_s", "budget_s"}]}],
"interview": null | {"plan", "title", "budget_s", "elapsed_s", "ended", "segments": [...],
"timeline": [...]}}` (a mock interview's timeline, see `ReportInterview`).
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from interviewer.bank.loader import Bank
from interviewer.bank.models import BankEntry
from interviewer.protocols import PointVerdict, Status
from interviewer.session.clock import mmss
from interviewer.session.exchange import (
    ExchangeTurn,
    QuestionExchange,
    mean_score,
    question_exchanges,
)
from interviewer.session.pacing import timed_turns, turn_seconds
from interviewer.session.store import SessionRecord, SessionStore, TakeRecord


# --------------------------------------------------------------------------- the JSON contract
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReportPoint(_Strict):
    """A rubric point over the whole exchange."""

    id: str
    text: str
    status: Status
    evidence: str | None  # the quote that earned it (or that contradicted it)
    turn: int | None  # index in the question's `turns` of the answer that earned it; None: missed


class ReportTurn(_Strict):
    """The question or one of its follow-ups."""

    kind: Literal["question", "follow_up"]
    text: str
    targets: list[str]  # point ids it asks about (the question: every point)
    score: float | None  # over its targets only; None: unanswered, or a follow-up without targets
    answer_s: float | None = None  # seconds its answers took (every take); None: not measured
    budget_s: float | None = None  # a mock interview's time budget for it; None: no clock


class ReportQuestion(_Strict):
    question_id: str
    text: str
    score: float | None  # weighted coverage over every answer of the exchange
    points: list[ReportPoint]
    turns: list[ReportTurn]


class TimelineTurn(_Strict):
    """One turn of a mock interview, in the order asked."""

    turn: int  # index in the session's turns (0-based)
    segment: int | None  # index in `segments`
    question_id: str
    kind: Literal["question", "follow_up"]
    text: str
    started_s: float | None  # interview clock when its (first) answer started
    answer_s: float | None
    budget_s: float | None
    pace: Literal["long", "short", "ok"] | None  # against the budget; None: not answered
    score: float | None  # the turn's own score (as in `questions[].turns[].score`)
    question_score: float | None  # its question exchange's score
    audio: list[str]  # the takes' audio files in the session folder


class ReportSegment(_Strict):
    name: str
    label: str
    budget_s: float  # the segment's answers' budgets added up
    answer_s: float  # its answers' time added up
    turns: list[int]  # indices into `timeline`


class ReportInterview(_Strict):
    """A mock interview's plan, clock and timeline."""

    plan: str
    title: str
    budget_s: float
    elapsed_s: float  # the interview clock (over every run of the session)
    ended: str  # "running" | "completed" | "out_of_time"
    segments: list[ReportSegment]
    timeline: list[TimelineTurn]


class SessionReport(_Strict):
    session: str
    score: float | None  # mean of the question scores
    questions: list[ReportQuestion]
    interview: ReportInterview | None = None  # mock interviews only


def _report_points(x: QuestionExchange, entry: BankEntry | None) -> list[ReportPoint]:
    if x.coverage is not None:
        return [ReportPoint(id=p.point_id, text=p.point, status=p.status, evidence=p.evidence,
                            turn=p.turn) for p in x.coverage.points]
    if entry is None:  # never judged and gone from the bank: its points are unknown
        return []
    return [ReportPoint(id=p.id, text=p.text, status="missing", evidence=None, turn=None)
            for p in entry.rubric.points]


def build_report(rec: SessionRecord, bank: Bank | None = None) -> SessionReport:
    """The session as the report contract (the bank, when given, resolves old sessions' follow-up
    targets and names the points of questions never answered)."""
    entries: Mapping[str, BankEntry] = bank.entries if bank else {}
    exchanges = question_exchanges(rec, entries)
    questions = []
    for x in exchanges:
        turns = [ReportTurn(kind=t.turn.kind, text=t.turn.text, targets=t.targets,
                            score=t.score, answer_s=turn_seconds(t.turn),
                            budget_s=t.turn.budget_s) for t in x.turns]
        questions.append(ReportQuestion(question_id=x.question_id, text=x.text, score=x.score,
                                        points=_report_points(x, entries.get(x.question_id)),
                                        turns=turns))
    return SessionReport(session=rec.id, score=mean_score(exchanges), questions=questions,
                         interview=_interview(rec, exchanges))


def _interview(rec: SessionRecord, exchanges: list[QuestionExchange]) -> ReportInterview | None:
    state = rec.interview
    if state is None:
        return None
    scores = {t.turn.index: (t.score, x.score) for x in exchanges for t in x.turns}
    pace = {t.turn.index: t.verdict for t in timed_turns(rec.turns)}
    timeline = [TimelineTurn(
        turn=t.index, segment=t.segment, question_id=t.question_id, kind=t.kind, text=t.text,
        started_s=next((k.started_s for k in t.takes if k.started_s is not None), None),
        answer_s=turn_seconds(t), budget_s=t.budget_s, pace=pace.get(t.index),
        score=scores.get(t.index, (None, None))[0],
        question_score=scores.get(t.index, (None, None))[1],
        audio=[k.audio for k in t.takes if k.audio]) for t in rec.turns]
    segments = [ReportSegment(
        name=seg.name, label=seg.label, budget_s=round(seg.budget_s, 1),
        answer_s=round(sum(e.answer_s or 0.0 for e in timeline if e.segment == i), 2),
        turns=[n for n, e in enumerate(timeline) if e.segment == i])
        for i, seg in enumerate(state.segments)]
    return ReportInterview(plan=state.plan, title=state.title, budget_s=state.budget_s,
                           elapsed_s=state.elapsed_s, ended=state.ended, segments=segments,
                           timeline=timeline)


def to_json(rec: SessionRecord, bank: Bank | None = None) -> str:
    """The report contract as indented JSON (nulls kept: they are part of the contract)."""
    return build_report(rec, bank).model_dump_json(indent=2)


# --------------------------------------------------------------------------- shared pieces
def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.0%}"


def _metrics_line(t: TakeRecord) -> str:
    m = t.metrics
    if m is None:
        return ""
    parts = [f"{m.words} words"]
    if m.words_per_minute:
        parts.append(f"{m.words_per_minute:.0f} wpm")
    parts.append(f"{m.fillers} fillers")
    if m.long_pauses:
        parts.append(f"{m.long_pauses} long pauses (longest {m.longest_pause_s:.1f} s)")
    if m.time_to_first_word_s is not None:
        parts.append(f"first word at {m.time_to_first_word_s:.1f} s")
    return ", ".join(parts)


def _turn_label(t: ExchangeTurn, i: int) -> str:
    return "question" if t.turn.kind == "question" else f"follow-up {i}"


def _earned_where(x: QuestionExchange, turn: int | None) -> str:
    """'turn 2 (follow-up 1)' for a point's earning turn."""
    if turn is None:
        return ""
    return f"turn {turn + 1} ({_turn_label(x.turns[turn], turn)})"


def _shown_points(t: ExchangeTurn, points: list[PointVerdict]) -> list[PointVerdict]:
    """A follow-up's take is shown against its targets only (all points if it has none)."""
    if t.turn.kind == "question" or not t.targets:
        return points
    return [p for p in points if p.point_id in t.targets]


def _turn_score_text(t: ExchangeTurn) -> str:
    if t.turn.kind == "question":
        return f"answer score {_pct(t.score)}"
    if not t.targets:
        return "no score of its own (adds to the question's coverage)"
    return f"score on what it asked {_pct(t.score)}"


# --------------------------------------------------------------------------- Markdown
def to_markdown(rec: SessionRecord, bank: Bank | None = None) -> str:
    entries: Mapping[str, BankEntry] = bank.entries if bank else {}
    exchanges = question_exchanges(rec, entries)
    out = [f"# Practice session {rec.id}", "",
           f"- date: {rec.created}", f"- status: {rec.status}",
           f"- mean score: {_pct(mean_score(exchanges))}",
           f"- engines: {', '.join(f'{k}={v}' for k, v in rec.engines.items()) or '-'}", ""]
    out += _timeline_md(_interview(rec, exchanges))
    for n, x in enumerate(exchanges, 1):
        out += _exchange_md(n, x, entries.get(x.question_id))
    return "\n".join(out)


def _timeline_rows(iv: ReportInterview) -> list[list[str]]:
    """One row per turn: #, segment, turn, answer/budget, pace, score, question score."""
    rows = []
    for e in iv.timeline:
        seg = iv.segments[e.segment].label if e.segment is not None else "–"
        what = ("Question: " if e.kind == "question" else "Follow-up: ") + e.text
        rows.append([str(e.turn + 1), seg, what, f"{mmss(e.answer_s)} / {mmss(e.budget_s)}",
                     e.pace or "–", _pct(e.score), _pct(e.question_score)])
    return rows


_TIMELINE_HEAD = ["#", "segment", "turn", "answer / budget", "pace", "turn score",
                  "question score"]


def _timeline_md(iv: ReportInterview | None) -> list[str]:
    if iv is None:
        return []
    out = [f"## Interview timeline: {iv.title}", "",
           f"Interview clock {mmss(iv.elapsed_s)} of {mmss(iv.budget_s)} ({iv.ended}).", "",
           "| " + " | ".join(_TIMELINE_HEAD) + " |", "|" + "---|" * len(_TIMELINE_HEAD)]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |"
            for row in _timeline_rows(iv)]
    return [*out, ""]


def _exchange_md(n: int, x: QuestionExchange, entry: BankEntry | None) -> list[str]:
    out = [f"## {n}. {x.text}", "", f"Question score **{_pct(x.score)}** over "
           f"{len(x.turns)} turn(s).", ""]
    if x.coverage is not None:
        out += ["| point | status | earned in | quote |", "|---|---|---|---|"]
        for p in x.coverage.points:
            quote = (p.evidence or "").replace("|", "\\|")
            out.append(f"| {p.point} | {p.status} | {_earned_where(x, p.turn) or '–'} | "
                       f"{quote} |")
        out.append("")
    for i, t in enumerate(x.turns):
        out += _turn_md(i, t)
    if entry is not None:
        out += ["**Reference answer.** " + entry.question.reference_answer, ""]
    return out


def _turn_md(i: int, t: ExchangeTurn) -> list[str]:
    label = "Question" if t.turn.kind == "question" else "Follow-up"
    asks = f" — asks about: {', '.join(t.targets)}" if t.turn.kind == "follow_up" and \
        t.targets else ""
    out = [f"### Turn {i + 1}. {label}: {t.turn.text}{asks}", "",
           f"_{_turn_score_text(t)}_", ""]
    if t.turn.skipped:
        out += ["_skipped_", ""]
    for take in t.turn.takes:
        out += _take_md(t, take, len(t.turn.takes) > 1)
    return out


def _take_md(t: ExchangeTurn, take: TakeRecord, several: bool) -> list[str]:
    out = [f"#### Take {take.index + 1}"] if several else []
    if take.audio:
        out.append(f"Audio: `{take.audio}`")
    text = take.transcript.text if take.transcript else ""
    out += ["", f"> {text or '(no answer)'}", ""]
    if ml := _metrics_line(take):
        out += [f"Delivery: {ml}", ""]
    j = take.judgement
    if j:
        out += [f"Judge: {j.judge.backend} / {j.judge.model}", ""]
        for p in _shown_points(t, j.points):
            ev = f' — "{p.evidence}"' if p.evidence else ""
            out.append(f"- [{p.status}] {p.point}{ev}")
        shown = {p.point_id for p in _shown_points(t, j.points)}
        for fb, p in zip(j.missed_feedback, [p for p in j.points if p.status != "covered"],
                         strict=False):
            if p.point_id in shown:
                out.append(f"  - to add: {fb}")
        out.append("")
    return out


# --------------------------------------------------------------------------- HTML
def _highlight(text: str, take: TakeRecord) -> str:
    """Transcript HTML with each credited evidence span wrapped in <mark>."""
    j = take.judgement
    spans = sorted({p.evidence_span for p in (j.points if j else [])
                    if p.evidence_span and p.status != "missing"})
    out, pos = [], 0
    for a, b in spans:
        if a < pos or b > len(text):
            continue
        out += [html.escape(text[pos:a]), "<mark>", html.escape(text[a:b]), "</mark>"]
        pos = b
    out.append(html.escape(text[pos:]))
    return "".join(out)


def _chart(exchanges: list[QuestionExchange]) -> str:
    """Inline SVG bar chart of the score per question exchange."""
    bars = [(i, s) for i, x in enumerate(exchanges, 1) if (s := x.score) is not None]
    if not bars:
        return ""
    w, h, bw = 40 * len(bars) + 20, 140, 28
    parts = [f'<svg class="chart" width="{w}" height="{h}" role="img" '
             'aria-label="score per question">']
    for k, (n, s) in enumerate(bars):
        bh = int(100 * s)
        x = 10 + 40 * k
        parts.append(f'<rect x="{x}" y="{110 - bh}" width="{bw}" height="{bh}" fill="#2a7"/>'
                     f'<text x="{x + bw // 2}" y="125" font-size="10" text-anchor="middle">'
                     f'{n}</text><text x="{x + bw // 2}" y="{105 - bh}" '
                     f'font-size="10" text-anchor="middle">{s:.0%}</text>')
    parts.append("</svg>")
    return "".join(parts)


_CSS = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
mark{background:#cfe8cf}.missing{color:#a33}.partial{color:#a70}.covered{color:#272}
.question{border-top:2px solid #999;padding-top:1rem}.turn{border-top:1px solid #ddd}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}
audio{width:100%}.ref{color:#444}"""

_SCRIPT = """document.querySelectorAll('audio').forEach(function(a){
a.addEventListener('loadedmetadata',function(){a.dataset.duration=a.duration.toFixed(2);});
a.addEventListener('error',function(){a.dataset.error='1';});});"""


def to_html(rec: SessionRecord, store: SessionStore, bank: Bank | None = None) -> str:
    """One self-contained file: audio as data URIs, no external resources."""
    entries: Mapping[str, BankEntry] = bank.entries if bank else {}
    exchanges = question_exchanges(rec, entries)
    body = [f"<h1>Practice session {html.escape(rec.id)}</h1>",
            f"<p>{html.escape(rec.created)} · {html.escape(rec.status)} · mean score "
            f"<b>{_pct(mean_score(exchanges))}</b></p>",
            _chart(exchanges), _timeline_html(_interview(rec, exchanges))]
    for n, x in enumerate(exchanges, 1):
        body.append(_exchange_html(n, x, rec, store, entries.get(x.question_id)))
    return ("<!doctype html><html lang=en><head><meta charset=utf-8>"
            f"<title>Session {html.escape(rec.id)}</title><style>{_CSS}</style></head><body>"
            + "".join(body) + f"<script>{_SCRIPT}</script></body></html>")


def _timeline_html(iv: ReportInterview | None) -> str:
    if iv is None:
        return ""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in _TIMELINE_HEAD)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                   for row in _timeline_rows(iv))
    return (f"<section class=timeline><h2>Interview timeline: {html.escape(iv.title)}</h2>"
            f"<p>Interview clock {mmss(iv.elapsed_s)} of {mmss(iv.budget_s)} "
            f"({html.escape(iv.ended)})</p><table><tr>{head}</tr>{rows}</table></section>")


def _coverage_html(x: QuestionExchange) -> str:
    if x.coverage is None:
        return "<p><i>(not answered)</i></p>"
    rows = "".join(
        f'<tr class="{p.status}"><td>{html.escape(p.point)}</td><td>{p.status}</td>'
        f"<td>{html.escape(_earned_where(x, p.turn)) or '–'}</td>"
        f"<td>{html.escape(p.evidence or '')}</td></tr>" for p in x.coverage.points)
    return ("<table class=coverage><tr><th>point</th><th>status</th><th>earned in</th>"
            f"<th>quote</th></tr>{rows}</table>")


def _exchange_html(n: int, x: QuestionExchange, rec: SessionRecord, store: SessionStore,
                   entry: BankEntry | None) -> str:
    out = [f'<section class="question"><h2>{n}. {html.escape(x.text)}</h2>'
           f"<p>Question score <b>{_pct(x.score)}</b> over {len(x.turns)} turn(s)</p>",
           _coverage_html(x)]
    out += [_turn_html(i, t, rec, store) for i, t in enumerate(x.turns)]
    if entry is not None:
        out.append(f"<details class=ref><summary>Reference answer</summary>"
                   f"<p>{html.escape(entry.question.reference_answer)}</p></details>")
    out.append("</section>")
    return "".join(out)


def _turn_html(i: int, t: ExchangeTurn, rec: SessionRecord, store: SessionStore) -> str:
    label = "Question" if t.turn.kind == "question" else "Follow-up"
    out = [f'<div class="turn"><h3>Turn {i + 1}. {label}: {html.escape(t.turn.text)}</h3>'
           f"<p><i>{html.escape(_turn_score_text(t))}</i></p>"]
    for take in t.turn.takes:
        if take.audio:
            path: Path = store.audio_path(rec, take.audio)
            if path.is_file():
                b64 = base64.b64encode(path.read_bytes()).decode("ascii")
                out.append(f'<audio controls preload="metadata" '
                           f'src="data:audio/wav;base64,{b64}"></audio>')
        text = take.transcript.text if take.transcript else ""
        out.append(f"<p class=transcript>{_highlight(text, take) or '<i>(no answer)</i>'}</p>")
        if ml := _metrics_line(take):
            out.append(f"<p class=metrics>Delivery: {html.escape(ml)}</p>")
        if (j := take.judgement) is not None:
            out.append(f"<p>judge {html.escape(j.judge.backend)} / "
                       f"{html.escape(j.judge.model)}</p><ul>")
            for p in _shown_points(t, j.points):
                ev = f" — “{html.escape(p.evidence)}”" if p.evidence else ""
                out.append(f'<li class="{p.status}">[{p.status}] {html.escape(p.point)}{ev}</li>')
            out.append("</ul>")
    out.append("</div>")
    return "".join(out)


def render(rec: SessionRecord, store: SessionStore, fmt: str, bank: Bank | None) -> str:
    """The report in `fmt` ("json", "md" or "html")."""
    if fmt == "json":
        return to_json(rec, bank)
    if fmt == "md":
        return to_markdown(rec, bank)
    return to_html(rec, store, bank)


__all__ = ["SessionReport", "build_report", "render", "to_html", "to_json", "to_markdown"]
