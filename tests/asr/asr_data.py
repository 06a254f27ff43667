"""Real speech with transcripts for the ASR tests and benchmark, and WER helpers.

Human read speech ships in Debian packages (installed by .ci/install):
- pocketsphinx-testdata: five LibriVox clips (16 kHz) with their `transcription` file;
- codec2-examples: four Harvard sentences read by one speaker (16 kHz).
Technical answers are synthesised with espeak-ng (robotic, so only for plumbing and vocabulary
bias, never for accuracy claims).
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
HARVARD_WAV = Path("/usr/share/codec2/raw/speech_orig_16k.wav")
HARVARD_TEXT = ("The birch canoe slid on the smooth planks. Glue the sheet to the dark blue "
                "background. It's easy to tell the depth of a well. Four hours of steady work "
                "faced us.")

# Technical answers (our own sentences) and the question vocabulary that biases the recogniser.
TECH_ANSWERS = {
    "kl": "The KL divergence measures how one probability distribution differs from a "
          "reference distribution. It is not symmetric, so it is not a true distance.",
    "fsdp": "With FSDP, each GPU holds only a shard of the parameters, gradients and optimizer "
            "states, and gathers the full weights just before each layer runs.",
    "softmax": "The softmax turns a vector of logits into probabilities. Subtracting the "
               "maximum logit first keeps the exponentials from overflowing.",
}
TECH_QUESTION = "Explain the KL divergence, FSDP sharding and a numerically stable softmax."
TECH_TERMS = ["KL divergence", "FSDP", "softmax", "logits", "optimizer states", "shard"]

_WORD_MAP = {"mr": "mister", "mrs": "missus", "dr": "doctor"}


@dataclass(frozen=True)
class Clip:
    name: str
    path: Path
    reference: str


def normalise(text: str) -> str:
    """Lower case, punctuation and hyphens to spaces, a few abbreviations spelled out."""
    words = re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("-", " ")).split()
    return " ".join(_WORD_MAP.get(w, w) for w in words)


def wer(reference: str, hypothesis: str) -> float:
    import jiwer

    ref, hyp = normalise(reference), normalise(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return float(jiwer.wer(ref, hyp))


# --------------------------------------------------------------------------- standard WER
# The strict `normalise` above counts spelling and compounding as errors ("optimisation" vs
# Whisper's "optimization", "pre-trained" vs "pretrained", "FlashAttention" vs "flash
# attention") although a listener heard the word right. The standard measure is how Whisper's
# WER is usually reported, plus insensitivity to compounding:
_BRACKETS = re.compile(r"[()\[\]{}<>]")
_ISATION = re.compile(r"^(\w{3,})isation(s?)$")
#: Most words joined on either side of a compound match ("u net plus plus" = "unet++").
MAX_JOIN = 4


@functools.lru_cache(maxsize=1)
def _whisper_normaliser() -> Callable[[str], str]:
    from whisper.normalizers import EnglishTextNormalizer

    return EnglishTextNormalizer()  # type: ignore[no-any-return]


def normalise_standard(text: str) -> list[str]:
    """Words of `text` under the standard normalisation:

    1. brackets become spaces (questions are written text: "(PTQ)" is said, whereas Whisper's
       normaliser drops bracketed text as an annotation such as "(laughs)");
    2. openai-whisper's `EnglishTextNormalizer`: lower case, punctuation and symbols removed
       (hyphens and slashes become spaces), contractions and numbers standardised ("three" →
       "3"), its British → American spelling list ("optimise" → "optimize"), fillers dropped;
    3. "-isation(s)" → "-ization(s)" for the words that list lacks ("optimisation").
    """
    words = _whisper_normaliser()(_BRACKETS.sub(" ", text)).split()
    return [_ISATION.sub(r"\1ization\2", w) for w in words]


def compound_errors(ref: list[str], hyp: list[str], max_join: int = MAX_JOIN) -> int:
    """Word edit distance (substitutions + deletions + insertions) in which a run of adjacent
    reference words and a run of adjacent hypothesis words that are the same letters once
    joined ("flash attention" / "flashattention", "pre trained" / "pretrained", "ci cd" /
    "cicd") match at no cost: spacing and hyphenation are not errors, a different word is
    ("lda" / "lva", "post training" / "pulse training")."""
    n, m = len(ref), len(hyp)
    d = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        d[i][0] = i
    for j in range(m + 1):
        d[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            best = min(d[i - 1][j] + 1, d[i][j - 1] + 1,
                       d[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]))
            for a in range(1, min(max_join, i) + 1):
                joined = "".join(ref[i - a:i])
                for b in range(1, min(max_join, j) + 1):
                    if a + b > 2 and d[i - a][j - b] < best and joined == "".join(hyp[j - b:j]):
                        best = d[i - a][j - b]
            d[i][j] = best
    return d[n][m]


def wer_standard(reference: str, hypothesis: str) -> float:
    """WER under `normalise_standard` with compound-insensitive matching (`compound_errors`),
    over the normalised reference's word count."""
    ref, hyp = normalise_standard(reference), normalise_standard(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return compound_errors(ref, hyp) / len(ref)


def missing_data() -> str | None:
    """Why the real speech data is unavailable, or None."""
    if not (LIBRIVOX / "transcription").is_file() or not HARVARD_WAV.is_file():
        return ("real speech test data missing: apt-get install pocketsphinx-testdata "
                "codec2-examples (see .ci/install)")
    return None


def real_clips() -> list[Clip]:
    """The five LibriVox clips and the Harvard sentences, with reference transcripts."""
    refs: dict[str, str] = {}
    for line in (LIBRIVOX / "transcription").read_text(encoding="utf-8").splitlines():
        m = re.match(r"<s>\s*(.*?)\s*</s>\s*\((.+)\)", line.strip())
        if m:
            refs[m[2]] = m[1]
    clips = [Clip(p.stem, p, refs[p.stem]) for p in sorted(LIBRIVOX.glob("*.wav"))
             if p.stem in refs]
    clips.append(Clip("harvard", HARVARD_WAV, HARVARD_TEXT))
    return clips


def concat_take(audios: list[np.ndarray], gap_s: float = 1.5, sr: int = 16_000,
                ) -> tuple[np.ndarray, list[float]]:
    """Clips joined by silent gaps (a take with pauses); returns the take and clip offsets."""
    parts: list[np.ndarray] = []
    offsets: list[float] = []
    pos = 0
    gap = np.zeros(int(gap_s * sr), dtype=np.float32)
    for a in audios:
        offsets.append(pos / sr)
        parts.extend([a.astype(np.float32), gap])
        pos += a.shape[0] + gap.shape[0]
    return np.concatenate(parts), offsets


def espeak(text: str, out: Path, *, speed: int = 160) -> Path:
    """Synthesise `text` to a WAV (22.05 kHz mono) with espeak-ng."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    subprocess.run([exe, "-v", "en-us", "-s", str(speed), "-w", str(out), text], check=True,
                   capture_output=True, timeout=60)
    return out
