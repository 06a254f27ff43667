"""Real speech with transcripts for the ASR tests and benchmark, and WER helpers.

Human read speech ships in Debian packages (installed by .ci/install):
- pocketsphinx-testdata: five LibriVox clips (16 kHz) with their `transcription` file;
- codec2-examples: four Harvard sentences read by one speaker (16 kHz).
Technical answers are synthesised with espeak-ng (robotic, so only for plumbing and vocabulary
bias, never for accuracy claims).
"""

from __future__ import annotations

import re
import shutil
import subprocess
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
