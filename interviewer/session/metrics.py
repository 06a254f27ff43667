"""Delivery metrics computed from word timestamps: pace, pauses, fillers, time to first word."""

from __future__ import annotations

import re
from collections import Counter

from interviewer.protocols import Transcript
from interviewer.session.store import DeliveryMetrics

#: A silence between two words at least this long counts as a long pause.
LONG_PAUSE_S = 2.0
_SINGLE_FILLERS = {"um", "umm", "uh", "uhh", "er", "erm", "ah", "hmm", "mm", "basically"}
#: "like" is a filler only when set off by punctuation ("so, like, the loss…"), not in
#: "behaves like an ensemble".
_LIKE_FILLER = re.compile(r"(?:^|[,.!?;]\s*)like\s*,", re.I)
_MULTI_FILLERS = ("you know", "i mean", "sort of", "kind of")
_NORM = re.compile(r"[^a-z' ]+")


def _norm(word: str) -> str:
    return _NORM.sub("", word.lower()).strip()


def count_fillers(text: str) -> Counter[str]:
    """Filler words and phrases in a transcript (case and punctuation ignored)."""
    words = [w for w in (_norm(t) for t in text.split()) if w]
    found: Counter[str] = Counter(w for w in words if w in _SINGLE_FILLERS)
    if n_like := len(_LIKE_FILLER.findall(text)):
        found["like"] = n_like
    joined = " " + " ".join(words) + " "
    for phrase in _MULTI_FILLERS:
        n = joined.count(f" {phrase} ")
        if n:
            found[phrase] = n
    return found


def delivery_metrics(transcript: Transcript,
                     speech_start_s: float | None = None) -> DeliveryMetrics:
    """Metrics for one answer. Word timestamps give pauses and pace; without them (typed
    answers) only counts are filled in."""
    text_words = transcript.text.split()
    fillers = count_fillers(transcript.text)
    m = DeliveryMetrics(words=len(text_words), fillers=sum(fillers.values()),
                        filler_words=dict(fillers))
    words = transcript.words
    if not words:
        return m
    first, last = words[0].start, words[-1].end
    m.speaking_s = round(max(0.0, last - first), 2)
    m.time_to_first_word_s = round(first if speech_start_s is None else min(first,
                                                                            speech_start_s), 2)
    gaps = [b.start - a.end for a, b in zip(words, words[1:], strict=False)]
    long = [g for g in gaps if g >= LONG_PAUSE_S]
    m.long_pauses = len(long)
    m.longest_pause_s = round(max(gaps, default=0.0), 2)
    if m.speaking_s > 0:
        minutes = m.speaking_s / 60.0
        m.words_per_minute = round(len(words) / minutes, 1)
        m.fillers_per_minute = round(m.fillers / minutes, 2)
    return m
