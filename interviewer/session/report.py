"""Session reports: Markdown, JSON, and one self-contained HTML file (audio embedded)."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from interviewer.bank.loader import Bank
from interviewer.session.store import SessionRecord, SessionStore, TakeRecord, Turn


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


def to_json(rec: SessionRecord) -> str:
    return rec.model_dump_json(indent=2, exclude_none=True)


def to_markdown(rec: SessionRecord, bank: Bank | None = None) -> str:
    out = [f"# Practice session {rec.id}", "",
           f"- date: {rec.created}", f"- status: {rec.status}",
           f"- mean score: {_pct(rec.mean_score())}",
           f"- engines: {', '.join(f'{k}={v}' for k, v in rec.engines.items()) or '-'}", ""]
    for turn in rec.turns:
        label = "Question" if turn.kind == "question" else "Follow-up"
        out += [f"## {turn.index + 1}. {label}: {turn.text}", ""]
        if turn.skipped:
            out += ["_skipped_", ""]
        for take in turn.takes:
            out += _take_md(take, len(turn.takes) > 1)
        if turn.kind == "question" and bank and turn.question_id in bank.entries:
            out += ["**Reference answer.** " + bank.entries[turn.question_id].question
                    .reference_answer, ""]
    return "\n".join(out)


def _take_md(take: TakeRecord, several: bool) -> list[str]:
    out = [f"### Take {take.index + 1}"] if several else []
    if take.audio:
        out.append(f"Audio: `{take.audio}`")
    text = take.transcript.text if take.transcript else ""
    out += ["", f"> {text or '(no answer)'}", ""]
    if ml := _metrics_line(take):
        out += [f"Delivery: {ml}", ""]
    j = take.judgement
    if j:
        out.append(f"Score **{_pct(j.score)}** (judge: {j.judge.backend} / {j.judge.model})")
        out.append("")
        for p in j.points:
            ev = f' — "{p.evidence}"' if p.evidence else ""
            out.append(f"- [{p.status}] {p.point}{ev}")
        for fb in j.missed_feedback:
            out.append(f"  - to add: {fb}")
        out.append("")
    return out


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


def _chart(rec: SessionRecord) -> str:
    """Inline SVG bar chart of the score per answered turn."""
    bars = [(t, tk.judgement.score) for t in rec.turns for tk in t.takes[-1:]
            if tk.judgement is not None]
    if not bars:
        return ""
    w, h, bw = 40 * len(bars) + 20, 140, 28
    parts = [f'<svg class="chart" width="{w}" height="{h}" role="img" '
             'aria-label="score per answer">']
    for i, (t, s) in enumerate(bars):
        bh = int(100 * s)
        x = 10 + 40 * i
        parts.append(f'<rect x="{x}" y="{110 - bh}" width="{bw}" height="{bh}" '
                     f'fill="{"#2a7" if t.kind == "question" else "#69c"}"/>'
                     f'<text x="{x + bw // 2}" y="125" font-size="10" text-anchor="middle">'
                     f'{t.index + 1}</text><text x="{x + bw // 2}" y="{105 - bh}" '
                     f'font-size="10" text-anchor="middle">{s:.0%}</text>')
    parts.append("</svg>")
    return "".join(parts)


_CSS = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
mark{background:#cfe8cf}.missing{color:#a33}.partial{color:#a70}.covered{color:#272}
.turn{border-top:1px solid #ccc;padding-top:1rem}audio{width:100%}.ref{color:#444}"""

_SCRIPT = """document.querySelectorAll('audio').forEach(function(a){
a.addEventListener('loadedmetadata',function(){a.dataset.duration=a.duration.toFixed(2);});
a.addEventListener('error',function(){a.dataset.error='1';});});"""


def to_html(rec: SessionRecord, store: SessionStore, bank: Bank | None = None) -> str:
    """One self-contained file: audio as data URIs, no external resources."""
    body = [f"<h1>Practice session {html.escape(rec.id)}</h1>",
            f"<p>{html.escape(rec.created)} · {html.escape(rec.status)} · mean score "
            f"<b>{_pct(rec.mean_score())}</b></p>", _chart(rec)]
    for turn in rec.turns:
        body.append(_turn_html(turn, rec, store, bank))
    return ("<!doctype html><html lang=en><head><meta charset=utf-8>"
            f"<title>Session {html.escape(rec.id)}</title><style>{_CSS}</style></head><body>"
            + "".join(body) + f"<script>{_SCRIPT}</script></body></html>")


def _turn_html(turn: Turn, rec: SessionRecord, store: SessionStore, bank: Bank | None) -> str:
    label = "Question" if turn.kind == "question" else "Follow-up"
    out = [f'<section class="turn"><h2>{turn.index + 1}. {label}: {html.escape(turn.text)}</h2>']
    for take in turn.takes:
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
        j = take.judgement
        if j:
            out.append(f"<p>Score <b>{_pct(j.score)}</b> · judge "
                       f"{html.escape(j.judge.backend)} / {html.escape(j.judge.model)}</p><ul>")
            for p in j.points:
                ev = f" — “{html.escape(p.evidence)}”" if p.evidence else ""
                out.append(f'<li class="{p.status}">[{p.status}] {html.escape(p.point)}{ev}</li>')
            out.append("</ul>")
            if j.missed_feedback:
                out.append("<p>To add:</p><ul>" + "".join(
                    f"<li>{html.escape(f)}</li>" for f in j.missed_feedback) + "</ul>")
    if turn.kind == "question" and bank and turn.question_id in bank.entries:
        ref = bank.entries[turn.question_id].question.reference_answer
        out.append(f"<details class=ref><summary>Reference answer</summary>"
                   f"<p>{html.escape(ref)}</p></details>")
    out.append("</section>")
    return "".join(out)


def render(rec: SessionRecord, store: SessionStore, fmt: str, bank: Bank | None) -> str:
    if fmt == "json":
        return to_json(rec)
    if fmt == "md":
        return to_markdown(rec, bank)
    return to_html(rec, store, bank)


__all__ = ["render", "to_html", "to_json", "to_markdown"]
