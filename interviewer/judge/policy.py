"""The judge policy: everything about a judgement that code, not a model, decides.

A backend (`Judge.classify`) only proposes a status and an evidence quote per rubric point. This
module verifies each quote against the transcript, withdraws credit the guards forbid, computes the
score from the point weights, picks the follow-up from the gaps and writes the feedback.
`assess` is the one entry point the session loop calls.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

from interviewer.bank.models import BankEntry, ExpectedPoint
from interviewer.judge.guards import (
    adds_nothing_to_question,
    last_mention_denied,
    point_denied,
    screen,
    without_injection,
)
from interviewer.judge.text import content_words, find_span, split_sentences
from interviewer.protocols import Judge, Judgement, PointVerdict, RawVerdict, Status, Transcript

CREDIT: dict[str, float] = {"covered": 1.0, "partial": 0.5, "missing": 0.0}

GUARD_NOTES = {
    "no_speech": "no speech was heard",
    "gibberish": "the answer is not recognisable language",
    "repeats_question": "the answer only repeats the question",
    "injection_suspected": "the answer tries to instruct the grader; nothing is credited",
}


def rubric_words(entry: BankEntry) -> list[str]:
    """Every text of the question and rubric (the vocabulary an answer may legitimately use)."""
    r = entry.rubric
    out = [entry.question.text, entry.question.reference_answer]
    for p in r.points:
        out += [p.text, p.description or "", *p.aliases]
    return out


def verify(entry: BankEntry, transcript: str, raw: Iterable[RawVerdict],
           blocked_by: list[str] | None = None, *,
           lexical_denials: bool = True) -> list[PointVerdict]:
    """Turn backend proposals into verified verdicts, one per rubric point in rubric order.

    Credit (covered/partial) stands only if its evidence occurs verbatim in the transcript (up to
    case, whitespace and punctuation), says something beyond the question's own words and does
    not mention the point only to deny it (the lexical denial rules run only with
    `lexical_denials`: a backend that reads negation itself says so in its `Classification`).
    A `contradicted` proposal is reported as missing with `contradicted=True` and the verified
    quote that contradicts the point. Points the backend did not return are missing.
    """
    by_id: dict[str, RawVerdict] = {}
    for r in raw:
        by_id.setdefault(r.point_id, r)
    out = []
    for p in entry.rubric.points:
        v = by_id.get(p.id)
        pv = PointVerdict(point_id=p.id, point=p.text, weight=p.weight, status="missing",
                          confidence=v.confidence if v else None)
        if blocked_by:
            pv.note = GUARD_NOTES.get(blocked_by[0], blocked_by[0])
        elif v is not None and v.status == "contradicted":
            span = find_span(transcript, v.evidence) if v.evidence else None
            if span is not None:
                pv.contradicted, pv.evidence_span = True, span
                pv.evidence = transcript[span[0]:span[1]]
                pv.note = "the answer contradicts this point"
        elif v is not None and v.status in ("covered", "partial"):
            credit: Status = "covered" if v.status == "covered" else "partial"
            pv.status, pv.evidence, pv.evidence_span, pv.note = _check_credit(
                entry, p, transcript, credit, v.evidence, lexical_denials)
        out.append(pv)
    return out


def _check_credit(entry: BankEntry, p: ExpectedPoint, transcript: str, status: Status,
                  evidence: str | None, lexical_denials: bool = True,
                  ) -> tuple[Status, str | None, tuple[int, int] | None, str | None]:
    if not evidence or not content_words(evidence):
        return "missing", None, None, "credit withdrawn: no evidence quoted"
    span = find_span(transcript, evidence)
    if span is None:
        return "missing", None, None, "credit withdrawn: evidence not found in the transcript"
    quote = transcript[span[0] : span[1]]
    if adds_nothing_to_question(quote, entry.question.text, p.text):
        return "missing", None, None, "credit withdrawn: evidence only repeats the question"
    question = entry.question.text
    if lexical_denials and point_denied(quote, p.text, p.aliases, question) or last_mention_denied(
            transcript, p.text, p.aliases, question):
        return "missing", None, None, "credit withdrawn: the point is mentioned only to deny it"
    return status, quote, span, None


def compute_score(verdicts: Iterable[PointVerdict]) -> float:
    """Weighted share of credit: covered counts 1, partial 0.5, missing 0; rounded to 4 places."""
    vs = list(verdicts)
    total = sum(v.weight for v in vs)
    if total <= 0:
        return 0.0
    return round(sum(v.weight * CREDIT[v.status] for v in vs) / total, 4)


def _norm_q(text: str) -> str:
    return " ".join(text.casefold().split()).rstrip("?. ")


def choose_follow_up(entry: BankEntry, verdicts: list[PointVerdict],
                     asked: Iterable[str] = (),
                     probes: Mapping[str, str] | None = None) -> tuple[str | None, str | None]:
    """The next follow-up as (text, id), never one already asked (matched by id or text).

    Order: for each missed point by weight (then each partial one), its authored follow-up and
    the rubric follow-ups targeting it; then a backend-phrased probe for a gap that has no authored
    follow-up; then the rubric's general follow-ups; then any other unused one.
    """
    asked_set = {_norm_q(a) for a in asked} | set(asked)
    r = entry.rubric

    def unused(fid: str, text: str) -> bool:
        return fid not in asked_set and _norm_q(text) not in asked_set

    status = {v.point_id: v.status for v in verdicts}
    order = sorted(range(len(r.points)), key=lambda i: -r.points[i].weight)  # stable on ties
    gaps = [r.points[i] for i in order if status.get(r.points[i].id) == "missing"]
    gaps += [r.points[i] for i in order if status.get(r.points[i].id) == "partial"]
    candidates: list[tuple[str, str]] = []
    for p in gaps:
        if p.follow_up:
            candidates.append((f"point:{p.id}", p.follow_up))
        candidates += [(f.id, f.text) for f in r.follow_ups if p.id in f.targets]
    for p in gaps:
        authored = p.follow_up or any(p.id in f.targets for f in r.follow_ups)
        if probes and not authored and probes.get(p.id):
            candidates.append((f"probe:{p.id}", probes[p.id].strip()))
    candidates += [(f.id, f.text) for f in r.follow_ups if not f.targets]
    candidates += [(f"point:{p.id}", p.follow_up) for p in r.points if p.follow_up]
    candidates += [(f.id, f.text) for f in r.follow_ups]
    for fid, text in candidates:
        if text and unused(fid, text):
            return text, fid
    return None, None


def _best_reference_sentence(entry: BankEntry, p: ExpectedPoint) -> str | None:
    ref = entry.question.reference_answer
    want = set(content_words(" ".join([p.text, *p.aliases])))
    best, best_overlap = None, 0
    for s, e in split_sentences(ref):
        overlap = len(want & set(content_words(ref[s:e])))
        if overlap > best_overlap:
            best, best_overlap = ref[s:e].strip(), overlap
    return best


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text.endswith((".", "!", "?")) else text + "."


def build_feedback(entry: BankEntry, verdicts: list[PointVerdict]) -> tuple[list[str], list[str]]:
    """(missed, strengths): one line per missed/partial point saying what a strong answer adds,
    and one per credited point quoting what was actually heard."""
    missed, strengths = [], []
    for v in verdicts:
        p = entry.rubric.point(v.point_id)
        if v.status == "covered":
            strengths.append(f'{p.text}: you said "{v.evidence}"')
            continue
        hint = p.description or _best_reference_sentence(entry, p)
        if not hint or set(content_words(hint)) <= set(content_words(p.text)):
            hint = "A strong answer states this explicitly and explains why it holds"
        hint = _sentence(hint[:1].upper() + hint[1:])
        if v.status == "partial":
            strengths.append(f'{p.text} (partly): you said "{v.evidence}"')
            missed.append(f"Only partly covered: {_sentence(p.text)} {hint}")
        elif v.contradicted:
            missed.append(f'You said "{v.evidence}"; in fact: {_sentence(p.text)} {hint}')
        else:
            missed.append(f"Missed: {_sentence(p.text)} {hint}")
    return missed, strengths


def assess(judge: Judge, entry: BankEntry, transcript: str | Transcript,
           asked_follow_ups: Iterable[str] = ()) -> Judgement:
    """Judge one answer: screen it, ask the backend, verify, score, choose the follow-up.

    `transcript` is the answer text or a `Transcript` (whose `no_speech` is honoured);
    `asked_follow_ups` are the texts or ids of follow-ups already asked in this session.
    """
    t0 = time.perf_counter()
    if isinstance(transcript, Transcript):
        text, no_speech = transcript.text, transcript.no_speech
    else:
        text, no_speech = transcript, False
    flags = screen(text, entry.question.text, rubric_words(entry), no_speech=no_speech)
    # A blocked answer never reaches the backend: nothing in it can earn credit, and an injection
    # attempt is never shown to an LLM.
    # Sentences addressed to the grader are blanked (offsets kept) and never shown to a backend;
    # the rest of a real answer is judged as usual.
    judged, _ = without_injection(text)
    lexical = True
    if not flags and content_words(judged):
        found = judge.classify(entry, judged)
        raw, info, probes = found.verdicts, found.info, found.probes
        lexical = not found.negation_aware
    else:
        raw, info, probes = [], judge.info, {}
    verdicts = verify(entry, judged, raw, blocked_by=flags, lexical_denials=lexical)
    if judged != text and "injection_suspected" not in flags:
        flags.append("injection_suspected")
    if any(v.contradicted for v in verdicts):
        flags.append("contradicted")
    withdrawn = [v for v in verdicts if v.note and v.note.startswith("credit withdrawn")]
    if any("deny" in (v.note or "") for v in withdrawn):
        flags.append("denied_keywords")
    if any("not found" in (v.note or "") for v in withdrawn):
        flags.append("evidence_not_found")
    follow_up, follow_up_id = choose_follow_up(entry, verdicts, asked_follow_ups, probes)
    missed, strengths = build_feedback(entry, verdicts)
    return Judgement(
        question_id=entry.id,
        points=verdicts,
        score=compute_score(verdicts),
        follow_up=follow_up,
        follow_up_id=follow_up_id,
        missed_feedback=missed,
        strengths=strengths,
        judge=info.model_copy(),  # who judged this very answer (a fallback says so)
        seconds=round(time.perf_counter() - t0, 4),
        flags=flags,
    )
