"""Pure text utilities shared by the judge policy and backends (no engines, no I/O).

Everything works on character spans of the original transcript, so evidence found here can always
be shown back to the candidate exactly as it was transcribed.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

# Letters/digits runs, keeping inner apostrophes ("don't", "model's").
_TOKEN_RE = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
# A sentence ends at . ! ? (or a run of them) followed by whitespace, or at a line break; "0.5" and
# "e.g." inside a word do not split because whitespace must follow.
_SENT_END_RE = re.compile(r"[.!?\u2026]+[\"')\]]*\s+|\n+")
_ELLIPSIS_RE = re.compile(r"\.\.\.+|\u2026|\[\s*\.\.\.\s*\]")

STOPWORDS = frozenset(
    """a about above after again all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers him his how i if in into is it its itself just me more
    most my myself of off on once only or other our ours out over own same she should so some such
    than that the their theirs them then there these they this those through to too under until
    up very was we were what when where which while who whom why will with would you your yours
    yourself s t d ll m re ve it's i'm i'd i'll i've you'd you're we'd we'll we're that's there's
    what's let's one two get got gets make makes made use used using thing things way really
    actually basically probably maybe think guess mean kind sort lot lots well okay ok yeah yes
    right just pretty quite something stuff like know say said would'd""".split()
)
#: Single-token hesitations (multi-word ones like "you know" are ordinary stopwords).
FILLERS = frozenset(
    "uh um uhm umm erm er ah ahh eh hmm hm mm mhm huh oh so well okay ok yeah basically "
    "actually literally anyway".split()
)
NEGATORS = frozenset(
    """not no never nothing none neither nor without cannot dont doesnt didnt isnt arent wasnt
    werent wont wouldnt cant couldnt shouldnt hasnt havent hadnt aint neednt mustnt""".split()
)


@dataclass(frozen=True)
class Token:
    """One word of a text: its normalised form and where it sits in the original string."""

    norm: str
    start: int
    end: int


def norm_word(word: str) -> str:
    """Case-fold, NFKC-normalise and drop apostrophes: "Don\u2019t" -> "dont"."""
    w = unicodedata.normalize("NFKC", word).casefold()
    return w.replace("'", "").replace("\u2019", "")


def tokenize(text: str) -> list[Token]:
    """Split `text` into word tokens with their character spans (punctuation is not a token)."""
    return [Token(norm_word(m.group()), m.start(), m.end()) for m in _TOKEN_RE.finditer(text)]


def stem(word: str) -> str:
    """A deliberately light stemmer: enough to match "gradients"/"gradient", "uses"/"use",
    "probabilities"/"probability", "classes"/"class"."""
    w = word
    if len(w) <= 3 or not w.endswith("s") or w.endswith(("ss", "us", "is")):
        return w
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith(("sses", "shes", "ches", "xes", "zes")):
        return w[:-2]
    return w[:-1]


def content_words(text: str) -> list[str]:
    """Stemmed tokens of `text` that are neither stopwords nor fillers."""
    return list(_content_words(text))


@functools.lru_cache(maxsize=8192)
def _content_words(text: str) -> tuple[str, ...]:
    # Cached: the judge asks for the same spans and point texts many times per answer.
    out = []
    for t in tokenize(text):
        if t.norm in STOPWORDS or t.norm in FILLERS:
            continue
        s = stem(t.norm)
        if s not in STOPWORDS:
            out.append(s)
    return tuple(out)


def _find_seq(hay: list[str], needle: list[str], start: int = 0) -> int:
    n = len(needle)
    for i in range(start, len(hay) - n + 1):
        if hay[i : i + n] == needle:
            return i
    return -1


def find_span(transcript: str, quote: str) -> tuple[int, int] | None:
    """Where `quote` occurs in `transcript`, ignoring case, whitespace and punctuation.

    Words must match exactly and in order (no fuzzy matching: text that is not in the transcript
    is never found). An ellipsis in the quote may skip words, each fragment in order. Returns the
    character span in the transcript, or None.
    """
    hay = tokenize(transcript)
    words = [t.norm for t in hay]
    frags = [[t.norm for t in tokenize(f)] for f in _ELLIPSIS_RE.split(quote)]
    frags = [f for f in frags if f]
    if not frags:
        return None
    pos, first, last = 0, -1, -1
    for frag in frags:
        i = _find_seq(words, frag, pos)
        if i < 0:
            return None
        first = i if first < 0 else first
        last = i + len(frag) - 1
        pos = i + len(frag)
    return hay[first].start, hay[last].end


def split_sentences(text: str, max_words: int = 30) -> list[tuple[int, int]]:
    """Sentence spans of `text`; very long unpunctuated runs (common in ASR) are cut into chunks.

    Long sentences are cut at commas/semicolons when possible, else every `max_words` words.
    """
    spans: list[tuple[int, int]] = []
    pos = 0
    for m in _SENT_END_RE.finditer(text):
        spans.append((pos, m.end()))
        pos = m.end()
    spans.append((pos, len(text)))
    out: list[tuple[int, int]] = []
    for s, e in spans:
        s, e = _strip(text, s, e)
        if s >= e or not tokenize(text[s:e]):
            continue
        out.extend(_cut_long(text, s, e, max_words))
    return out


def _strip(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


def _cut_long(text: str, s: int, e: int, max_words: int) -> list[tuple[int, int]]:
    toks = tokenize(text[s:e])
    if len(toks) <= max_words:
        return [(s, e)]
    # Prefer cutting after a comma/semicolon near the middle of each chunk.
    pieces: list[tuple[int, int]] = []
    start_tok = 0
    while len(toks) - start_tok > max_words:
        cut = start_tok + max_words
        for j in range(start_tok + max_words, start_tok + max_words // 2, -1):
            gap = text[s + toks[j - 1].end : s + toks[j].start]
            if any(c in gap for c in ",;:"):
                cut = j
                break
        a, b = _strip(text, s + toks[start_tok].start, s + toks[cut - 1].end)
        pieces.append((a, b))
        start_tok = cut
    pieces.append(_strip(text, s + toks[start_tok].start, e))
    return pieces


_CLAUSE_BREAK_WORDS = frozenset(
    "but because whereas while although though however so which since unless instead".split()
)
_CLAUSE_PUNCT = ",;:()\u2014\u2013"


def clauses(tokens: list[Token], text: str) -> list[list[Token]]:
    """Group tokens into clauses: cut at , ; : ( ) and at conjunctions like "but"/"because"."""
    out: list[list[Token]] = [[]]
    prev_end = tokens[0].start if tokens else 0
    for t in tokens:
        gap = text[prev_end : t.start]
        # A hyphen inside a word ("cross-entropy") is no break; a spaced dash is.
        if out[-1] and (any(c in gap for c in _CLAUSE_PUNCT) or " - " in gap or "--" in gap):
            out.append([])
        if t.norm in _CLAUSE_BREAK_WORDS and out[-1]:
            out.append([])
        out[-1].append(t)
        prev_end = t.end
    return [c for c in out if c]
