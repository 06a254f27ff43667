"""The neural voice: a Piper (VITS) voice run with onnxruntime, phonemes from libespeak-ng.

text → sentences and clauses → IPA phonemes (espeak-ng) → ids (the voice's `phoneme_id_map`,
as Piper does: BOS "^", pad "_" after every phoneme, EOS "$") → onnxruntime → 22.05 kHz audio,
made as it is played: the voice, split into encoder and decoder when installed
(`split_voice`), runs its encoder once per sentence and its decoder a window of ~0.7 s at a
time (the first ~0.4 s), so a sentence starts playing after its encoder and first window, and
the decoder's memory is a window's, not a whole sentence's.

Why not the `piper-tts` runtime: it (and `phonemizer`) is GPL-3.0 and this package is MIT; the
runtime part Piper needs is small and lives here. Phonemes come from libespeak-ng through ctypes
(`espeak_TextToPhonemes`): measured 0.4 ms for a three-sentence question against ~18 ms per call
of the `espeak-ng --ipa` CLI, whose output also loses the punctuation Piper feeds to the model.
libespeak-ng is the same library pyttsx3 drives in this process, so its calls share
`speaker._LOCK`, and it is initialised once, through pyttsx3 (a second initialisation hangs
pyttsx3's next engine).

Technical terms are respelled or spelled letter by letter before phonemes are made
(`interviewer.audio.lexicon`: "GloVe" → "glove", "AUC" → A-U-C); the text shown is unchanged.
`INTERVIEWER_TTS_LEXICON=off` turns that off (the benchmark's baseline).

onnxruntime writes telemetry/device files under the home directory on import unless
ORT_DISABLE_TELEMETRY=1: set before the import. One intra-op thread: the other core records and
transcribes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import re
import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from interviewer.audio import lexicon
from interviewer.audio.speaker import _LOCK, PlayingSpeaker, Rendering, VoiceInfo
from interviewer.errors import DataError, EngineUnavailable, ModelNotInstalled, UsageError

VOICE_NAME = "en_US-joe-medium"
#: `--rate` (words per minute, espeak's scale) at which the voice keeps its own pace
#: (length_scale 1), so `--rate` means the same for both engines. Measured on 20 bank questions:
#: the voice gives 173 words per minute of audio, espeak-ng at --rate 175 gives 170.5.
NATURAL_WPM = 178
#: Peak level never exceeded (−1 dBFS): the model's output peaks at ±1.0, and a sample at full
#: scale clips once the sound server resamples it.
CEILING = 0.89
_MIN_LENGTH_SCALE, _MAX_LENGTH_SCALE = 0.5, 2.0

BOS, EOS, PAD = "^", "$", "_"
_SENTENCE_END = ".?!"
# Clause punctuation Piper passes to the model, followed by a space (as piper-phonemize does).
_CLAUSE_END = ",;:"
# Abbreviations whose period does not end a sentence.
_ABBREVIATIONS = {"e.g.", "i.e.", "vs.", "etc.", "cf.", "approx.", "dr.", "mr.", "mrs.", "ms.",
                  "prof.", "fig.", "eq.", "no.", "al."}
#: Set to "off" (or "0") to phonemise technical terms as espeak-ng guesses them.
LEXICON_ENV = "INTERVIEWER_TTS_LEXICON"
#: Benchmark/tuning knob: "pace=1.1,noise_scale=0.5,noise_w=0.6,sentence_silence=0.2"
#: overrides the `Delivery` defaults below (unknown keys are a usage error).
DELIVERY_ENV = "INTERVIEWER_TTS_PIPER"
_SPLIT = re.compile(r"(?<=[.?!,;:])[\"')\]”’]*\s+")
_LANG_FLAG = re.compile(r"\([a-z]{2,3}(?:-[a-z0-9]+)?\)")


# --------------------------------------------------------------------------- voice config
class _Audio(BaseModel):
    sample_rate: int = Field(gt=0)


class _Espeak(BaseModel):
    voice: str


class _Inference(BaseModel):
    noise_scale: float = 0.667
    length_scale: float = 1.0
    noise_w: float = 0.8


@dataclass(frozen=True)
class Delivery:
    """How the voice speaks on top of its config (`.onnx.json` "inference"). The defaults
    change nothing: slower or faster speech, less sampling noise and silence between sentences
    were measured on dev questions (`benchmarks/tts.py --direct`) and none lowered tiny.en's
    WER beyond the noise (README, "Voice").

    pace: multiplies the config's length_scale (> 1 is slower); `--rate` scales on top of it.
    noise_scale, noise_w: the VITS sampling noise of the audio and of the phoneme durations
    (None: the config's values, 0.667 and 0.8 for this voice).
    sentence_silence_s: silence after each sentence but the last.
    first_break: split a long first sentence at a phrase break (`speakable_chunks`): 1 yes,
    0 no. It makes a voice that decodes whole sentences play sooner; a split voice does not
    need it, but without it tiny.en's WER was no better (60 dev questions × 2: +0.006 ± 0.008
    standard WER), so the break stays.
    """

    pace: float = 1.0
    noise_scale: float | None = None
    noise_w: float | None = None
    sentence_silence_s: float = 0.0
    first_break: float = 1.0

    @classmethod
    def from_env(cls) -> Delivery:
        """The defaults, overridden by $INTERVIEWER_TTS_PIPER ("key=value,...")."""
        spec = os.environ.get(DELIVERY_ENV, "").strip()
        return cls.parse(spec) if spec else cls()

    @classmethod
    def parse(cls, spec: str) -> Delivery:
        """`spec` as "pace=1.1,noise_scale=0.5,noise_w=0.6,sentence_silence=0.2,first_break=0"."""
        keys = {"pace": "pace", "noise_scale": "noise_scale", "noise_w": "noise_w",
                "sentence_silence": "sentence_silence_s", "first_break": "first_break"}
        values: dict[str, float] = {}
        for item in filter(None, (i.strip() for i in spec.split(","))):
            key, _, value = item.partition("=")
            if key.strip() not in keys:
                raise UsageError(f"{DELIVERY_ENV}: unknown setting {key.strip()!r}",
                                 hint="pace, noise_scale, noise_w, sentence_silence, "
                                      "first_break")
            try:
                values[keys[key.strip()]] = float(value)
            except ValueError:
                raise UsageError(f"{DELIVERY_ENV}: {item!r} is not key=number") from None
        if values.get("pace", 1.0) <= 0 or values.get("sentence_silence_s", 0.0) < 0:
            raise UsageError(f"{DELIVERY_ENV}: pace must be > 0 and silence >= 0")
        return cls(**values)


class VoiceConfig(BaseModel):
    """The fields of a Piper `.onnx.json` this runtime uses (others are ignored)."""

    model_config = ConfigDict(extra="ignore")

    audio: _Audio
    espeak: _Espeak
    inference: _Inference = Field(default_factory=_Inference)
    phoneme_type: str = "espeak"
    num_speakers: int = 1
    phoneme_id_map: dict[str, list[int]]

    @classmethod
    def load(cls, path: Path) -> VoiceConfig:
        """Read and validate a voice config; DataError naming the file otherwise."""
        try:
            cfg = cls.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, ValidationError) as exc:
            raise DataError(f"{path}: not a usable Piper voice config: {exc}") from exc
        if cfg.phoneme_type != "espeak":
            raise DataError(f"{path}: phoneme_type {cfg.phoneme_type!r} (only espeak is supported)")
        missing = [s for s in (BOS, EOS, PAD) if s not in cfg.phoneme_id_map]
        if missing:
            raise DataError(f"{path}: phoneme_id_map lacks {', '.join(missing)}")
        return cfg


# --------------------------------------------------------------------------- text → phonemes
def split_sentences(text: str) -> list[list[str]]:
    """Sentences, each a list of clauses keeping their final punctuation.

    A period after a known abbreviation ("e.g.") or inside a number ("1.5") does not end a
    sentence; the last clause gets a period if it has no final punctuation (the voice was
    trained on punctuated sentences and ends them with a falling tone).
    """
    sentences: list[list[str]] = []
    current: list[str] = []
    pending = ""  # text ending in an abbreviation: joined to what follows
    for part in _SPLIT.split(" ".join(text.split())):
        part = f"{pending} {part}".strip() if pending else part.strip()
        pending = ""
        if not part:
            continue
        tail = part.rstrip("\"')]”’")
        if tail.rsplit(" ", 1)[-1].lower() in _ABBREVIATIONS:
            pending = part
            continue
        current.append(part)
        if tail[-1:] in _SENTENCE_END:
            sentences.append(current)
            current = []
    if pending:
        current.append(pending)
    if current:
        sentences.append(current)
    if sentences and sentences[-1][-1].rstrip("\"')]”’")[-1:] not in _SENTENCE_END + _CLAUSE_END:
        sentences[-1][-1] += "."
    return sentences


#: A voice that decodes whole sentences synthesises the first alone before anything plays;
#: VITS takes ~0.08 s per second of speech here, so a long one is split to keep the first
#: sample within ~0.3 s (`Delivery.first_break`).
FIRST_CHUNK_MAX_WORDS = 9
# Words a spoken phrase break may precede when a long first sentence has no punctuation to
# split at.
_BREAK_BEFORE = {"and", "or", "but", "when", "where", "which", "that", "how", "why", "if",
                 "with", "for", "to", "in", "on", "of", "between", "from", "while", "because"}


def speakable_chunks(text: str) -> list[list[str]]:
    """`split_sentences`, with a long first sentence split at a phrase break (its first
    clause, else before a conjunction or preposition), marked with a comma."""
    sentences = split_sentences(text)
    if not sentences:
        return sentences
    first, rest = sentences[0], sentences[1:]
    words = " ".join(first).split()
    if len(words) <= FIRST_CHUNK_MAX_WORDS:
        return sentences
    head_words = len(first[0].split())
    if len(first) > 1 and 3 <= head_words <= FIRST_CHUNK_MAX_WORDS + 3:
        return [first[:1], first[1:], *rest]
    cut = next((i for i in range(min(FIRST_CHUNK_MAX_WORDS, len(words) - 3), 3, -1)
                if words[i].lower().strip("\"'(") in _BREAK_BEFORE), None)
    if cut is None:
        return sentences
    return [[" ".join(words[:cut]) + ","], [" ".join(words[cut:])], *rest]


class Espeak:
    """IPA phonemes from libespeak-ng through ctypes (the same library pyttsx3 uses)."""

    _IPA = 0x02  # espeakPHONEMES_IPA
    _CHARS_UTF8 = 1
    _initialised = False

    def __init__(self, voice: str) -> None:
        self.voice = voice.encode()
        name = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
        try:
            lib = ctypes.CDLL(name)
        except OSError as exc:
            raise EngineUnavailable(f"libespeak-ng is not installed ({exc})",
                                    hint="apt-get install libespeak-ng1, or use --tts pyttsx3"
                                         " / --no-tts") from exc
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p,
                                          ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int,
                                              ctypes.c_int]
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        self._lib = lib

    def _ensure_initialised(self) -> None:
        """Initialise libespeak-ng once per process (the caller holds _LOCK).

        pyttsx3 initialises the library when its first engine is built and never again; a
        second initialisation by anyone else makes pyttsx3's next engine hang (measured). So
        the library is initialised through pyttsx3 when it is there, by us only when it is not.
        """
        if Espeak._initialised or _pyttsx3_initialised():
            Espeak._initialised = True
            return
        from interviewer.audio.speaker import _drop_engine, _new_engine

        try:
            _drop_engine(_new_engine())
        except EngineUnavailable:  # no pyttsx3: nobody else will initialise the library
            if self._lib.espeak_Initialize(2, 0, None, 0) == -1:  # AUDIO_OUTPUT_SYNCHRONOUS
                raise EngineUnavailable("libespeak-ng could not be initialised",
                                        hint="is espeak-ng-data installed? (apt-get install "
                                             "espeak-ng-data)") from None
        Espeak._initialised = True

    def phonemes(self, clause: str) -> str:
        """IPA for one clause (espeak may split it further: the pieces are joined by spaces)."""
        buf = ctypes.create_string_buffer(clause.encode("utf-8"))
        ptr = ctypes.c_void_p(ctypes.addressof(buf))
        pieces: list[str] = []
        with _LOCK:
            self._ensure_initialised()
            if self._lib.espeak_SetVoiceByName(self.voice) != 0:
                raise EngineUnavailable(f"espeak-ng has no voice {self.voice.decode()!r}",
                                        hint="apt-get install espeak-ng-data")
            while ptr.value:
                out = self._lib.espeak_TextToPhonemes(ctypes.byref(ptr), self._CHARS_UTF8,
                                                      self._IPA)
                if out:
                    pieces.append(out.decode("utf-8", errors="replace"))
        # Piper decomposes (NFD) and drops espeak's language-switch flags such as "(fr)".
        ipa = _LANG_FLAG.sub("", unicodedata.normalize("NFD", " ".join(pieces)))
        return " ".join(ipa.split())


def _pyttsx3_initialised() -> bool:
    import sys

    driver = sys.modules.get("pyttsx3.drivers.espeak")
    return bool(getattr(getattr(driver, "EspeakDriver", None), "_moduleInitialized", False))


def lexicon_enabled() -> bool:
    """Whether technical terms go through the lexicon ($INTERVIEWER_TTS_LEXICON, default on)."""
    return os.environ.get(LEXICON_ENV, "on").strip().lower() not in ("off", "0", "no", "false")


#: Plural "s" after a spelled term: "s" after F ("ɛf"), "ɪz" after a sibilant letter name.
_PLURAL_IPA = {"F": "s", "S": "ɪz", "X": "ɪz", "H": "ɪz"}


def clause_phonemes(espeak: Espeak, clause: str, *, use_lexicon: bool = True) -> str:
    """IPA for one clause; with the lexicon, respelled terms and spelled acronyms.

    A spelled term is phonemised on its own, written "A.U.C.": espeak-ng reads that as one
    abbreviation in any surroundings (in a sentence, "AUC or ROC" comes out "awk or rock").
    """
    if not use_lexicon:
        return espeak.phonemes(clause)
    segs = lexicon.segments(clause)
    parts = []
    for i, seg in enumerate(segs):
        if isinstance(seg, str):
            following = segs[i + 1] if i + 1 < len(segs) else None
            assert not isinstance(following, str)  # text segments never touch
            ipa = _text_phonemes(espeak, seg, following)
        else:
            ipa = _spelled_phonemes(espeak, seg.letters)
            if seg.plural:
                ipa += _PLURAL_IPA.get(seg.letters[-1], "z")
        if ipa:
            parts.append(ipa)
    return " ".join(parts)


def _spelled_phonemes(espeak: Espeak, letters: str) -> str:
    return espeak.phonemes(lexicon.spell(letters))


def _text_phonemes(espeak: Espeak, text: str, following: lexicon.Spelled | None) -> str:
    """IPA of the text before a spelled term, phonemised with the term after it and the
    term's own phonemes cut off: alone, "a" is the letter "ˈeɪ" and "the" is "ðə"; before
    "A.U.C." they are "ɐ" and "ðɪ"."""
    if not text.strip():  # "+" is said "plus", so only blank text is skipped
        return ""
    if following is not None:
        term = _spelled_phonemes(espeak, following.letters)
        both = espeak.phonemes(f"{text.rstrip()} {lexicon.spell(following.letters)}")
        if both.endswith(term) and len(both) > len(term):
            return both[:-len(term)].rstrip()
    return espeak.phonemes(text)


def sentence_phonemes(espeak: Espeak, clauses: list[str], *, use_lexicon: bool = True) -> str:
    """A sentence's phonemes with its punctuation, as piper-phonemize builds them."""
    out: list[str] = []
    for clause in clauses:
        ipa = clause_phonemes(espeak, clause, use_lexicon=use_lexicon)
        mark = clause.rstrip("\"')]”’")[-1:]
        if mark in _SENTENCE_END:
            out.append(ipa + mark)
        elif mark in _CLAUSE_END:
            out.append(ipa + mark + " ")
        else:
            out.append(ipa + " ")
    return "".join(out).strip()


def phoneme_ids(phonemes: str, id_map: dict[str, list[int]]) -> list[int]:
    """BOS, then each known phoneme followed by the pad, then EOS (unknown ones are dropped)."""
    pad = id_map[PAD]
    ids = [*id_map[BOS], *pad]
    for ph in phonemes:
        if ph in id_map:
            ids.extend(id_map[ph])
            ids.extend(pad)
    ids.extend(id_map[EOS])
    return ids


# --------------------------------------------------------------------------- the model
def length_scale_for(rate_wpm: int | None, base: float = 1.0) -> float:
    """Piper's length scale for a rate in words per minute (None: the voice's own pace)."""
    if rate_wpm is None:
        return base
    if rate_wpm <= 0:
        raise UsageError(f"--rate {rate_wpm}: words per minute must be positive")
    return float(np.clip(base * NATURAL_WPM / rate_wpm, _MIN_LENGTH_SCALE, _MAX_LENGTH_SCALE))


def apply_volume(audio: np.ndarray, volume: float) -> np.ndarray:
    """Scale by `volume` (0..1], never past CEILING. A Piper voice ends in tanh (|audio| ≤ 1),
    so one gain, min(volume, CEILING), bounds every piece alike: a gain chosen per piece would
    change the loudness between the pieces of one sentence. The clip guards other voices."""
    gain = min(volume, CEILING)
    return np.clip(audio * gain, -CEILING, CEILING).astype(np.float32, copy=False)


# --------------------------------------------------------------------------- split decoding
#: Latent frames decoded first (~0.37 s of audio at 256 samples a frame): the first sample of a
#: sentence waits for the encoder and this window only.
FIRST_WINDOW = 32
#: Latent frames per later window (~0.74 s of audio). Measured on 3 long questions spoken
#: twice (peak RSS over the process before the voice; synthesis time of the 3): 32 frames
#: +111 MB, 1.94 s; 64 +118 MB, 1.63 s; 96 +121 MB, 1.52 s; 128 +135 MB, 1.52 s; 256 +172 MB.
WINDOW = 64
#: Latent frames decoded on each side of a window and thrown away: the decoder's receptive
#: field. Measured on this voice against decoding the whole sentence at once: the largest
#: sample difference is 0.014 with 4 frames, 7e-4 with 8, 4e-7 with 16 (output peaks at 1.0).
DECODER_CONTEXT = 16
#: The node that starts Piper's (VITS) decoder; its input is the decoder's latent input.
_DECODER_START = "/dec/conv_pre/Conv"


def decode_windows(frames: int) -> list[tuple[int, int]]:
    """[lo, hi) latent frame ranges that tile `frames`: FIRST_WINDOW, then WINDOW at a time."""
    out, lo = [], 0
    while lo < frames:
        hi = min(frames, lo + (FIRST_WINDOW if lo == 0 else WINDOW))
        out.append((lo, hi))
        lo = hi
    return out


def split_voice(model: Path, dest: Path) -> None:
    """Write `model`'s encoder (text → latent, every random draw included) and decoder
    (latent → audio) as two ONNX files in `dest`, 0600. Needs the `onnx` package, so it runs
    when the voice is installed, never when it is loaded. DataError if the graph has no Piper
    decoder."""
    try:
        import onnx
        import onnx.shape_inference
        import onnx.utils
    except ImportError as exc:
        raise EngineUnavailable("the onnx package is needed to split the voice",
                                hint="pip install onnx") from exc
    from interviewer.fsutil import write_private

    # Shape inference first: the extracted graphs' new inputs and outputs need their types.
    proto = onnx.shape_inference.infer_shapes(onnx.load(str(model)))
    start = next((n for n in proto.graph.node if n.name == _DECODER_START), None)
    if start is None:
        raise DataError(f"{model}: no node {_DECODER_START} (not a Piper VITS voice?)")
    latent = start.input[0]
    inputs = [i.name for i in proto.graph.input]
    extractor = onnx.utils.Extractor(proto)
    dest.mkdir(parents=True, exist_ok=True)
    for name, ins, outs in (("encoder", inputs, [latent]), ("decoder", [latent], ["output"])):
        part = extractor.extract_model(ins, outs)
        onnx.checker.check_model(part)
        write_private(dest / f"{name}.onnx", part.SerializeToString())


@dataclass(frozen=True)
class VoiceFiles:
    """A Piper voice on disk: the ONNX model and its config."""

    model: Path
    config: Path

    @property
    def name(self) -> str:
        return self.model.name.removesuffix(".onnx")

    @property
    def parts_dir(self) -> Path:
        """Where `split_voice` puts the voice's encoder and decoder (beside the model)."""
        return self.model.with_name(self.name + ".parts")

    def parts(self) -> tuple[Path, Path] | None:
        """(encoder, decoder) when the voice has been split, else None (whole sentences)."""
        enc, dec = self.parts_dir / "encoder.onnx", self.parts_dir / "decoder.onnx"
        return (enc, dec) if enc.is_file() and dec.is_file() else None


class PiperVoice:
    """A loaded voice. A split voice (`split_voice`) runs its encoder once per sentence and its
    decoder window by window, so a sentence's first audio exists after its first window and
    the decoder's activations stay the size of a window, not of the sentence; an unsplit voice
    synthesises each sentence in one onnxruntime call."""

    def __init__(self, files: VoiceFiles) -> None:
        self.files = files
        self.config = VoiceConfig.load(files.config)
        self.sample_rate = self.config.audio.sample_rate
        self.espeak = Espeak(self.config.espeak.voice)
        parts = files.parts()
        self._session = _onnx_session(parts[0] if parts else files.model)
        self._decoder = _onnx_session(parts[1]) if parts else None
        self._latent_name = self._decoder.get_inputs()[0].name if self._decoder else ""
        # One tiny synthesis at load: onnxruntime's first run allocates and initialises its
        # kernels, which would otherwise delay the first question's first sample. A split
        # voice also learns from it how many audio samples one latent frame makes.
        self._hop = self._warm_up()

    def _warm_up(self) -> int:
        (out,) = self._session.run(None, self._feeds("ə.", 1.0, Delivery()))[:1]
        if self._decoder is None:
            return 0
        latent = np.asarray(out, dtype=np.float32)
        return int(self._decode(latent).size // latent.shape[-1])

    @property
    def split(self) -> bool:
        """Whether sentences are decoded window by window."""
        return self._decoder is not None

    def sentences(self, text: str, delivery: Delivery | None = None) -> list[str]:
        """The phoneme string of each sentence of `text` (the first maybe split: `Delivery`)."""
        use_lexicon = lexicon_enabled()
        brk = (delivery or Delivery()).first_break
        chunks = speakable_chunks(text) if brk else split_sentences(text)
        return [sentence_phonemes(self.espeak, clauses, use_lexicon=use_lexicon)
                for clauses in chunks]

    def _feeds(self, phonemes: str, length_scale: float, d: Delivery) -> dict[str, Any]:
        ids = phoneme_ids(phonemes, self.config.phoneme_id_map)
        inf = self.config.inference
        noise_scale = inf.noise_scale if d.noise_scale is None else d.noise_scale
        noise_w = inf.noise_w if d.noise_w is None else d.noise_w
        feeds: dict[str, Any] = {
            "input": np.array([ids], dtype=np.int64),
            "input_lengths": np.array([len(ids)], dtype=np.int64),
            "scales": np.array([noise_scale, length_scale, noise_w], dtype=np.float32),
        }
        if self.config.num_speakers > 1:
            feeds["sid"] = np.array([0], dtype=np.int64)
        return feeds

    def sentence_audio(self, phonemes: str, length_scale: float,
                       delivery: Delivery | None = None) -> Iterator[np.ndarray]:
        """float32 mono audio for one sentence's phonemes, as the model produces it, in pieces
        made when asked for (one piece for an unsplit voice)."""
        feeds = self._feeds(phonemes, length_scale, delivery or Delivery())
        (out,) = self._session.run(None, feeds)[:1]
        if self._decoder is None:
            yield np.asarray(out, dtype=np.float32).reshape(-1)
            return
        latent = np.asarray(out, dtype=np.float32)
        for lo, hi in decode_windows(latent.shape[-1]):
            a, b = max(0, lo - DECODER_CONTEXT), min(latent.shape[-1], hi + DECODER_CONTEXT)
            audio = self._decode(latent[..., a:b])
            yield audio[(lo - a) * self._hop:(hi - a) * self._hop]

    def _decode(self, latent: np.ndarray) -> np.ndarray:
        assert self._decoder is not None
        (audio,) = self._decoder.run(None, {self._latent_name: latent})[:1]
        return np.asarray(audio, dtype=np.float32).reshape(-1)

    def synthesize_sentence(self, phonemes: str, length_scale: float,
                            delivery: Delivery | None = None) -> np.ndarray:
        """float32 mono audio for one sentence's phonemes, whole."""
        return np.concatenate(list(self.sentence_audio(phonemes, length_scale, delivery)))

    def length_scale(self, rate_wpm: int | None, delivery: Delivery) -> float:
        """Piper's length scale: the config's, times the delivery's pace, times `--rate`'s."""
        return length_scale_for(rate_wpm, self.config.inference.length_scale * delivery.pace)

    def stream(self, text: str, *, length_scale: float, volume: float,
               delivery: Delivery | None = None) -> Iterator[np.ndarray]:
        """Audio of `text`, in pieces synthesised when the next is asked for (a sentence, or a
        window of one for a split voice); the delivery's silence follows each sentence but the
        last."""
        d = delivery or Delivery()
        chunks = self.sentences(text, d)
        gap = np.zeros(round(d.sentence_silence_s * self.sample_rate), dtype=np.float32)
        for i, phonemes in enumerate(chunks):
            for piece in self.sentence_audio(phonemes, length_scale, d):
                yield apply_volume(piece, volume)
            if gap.size and i + 1 < len(chunks) and phonemes[-1:] in _SENTENCE_END:
                yield gap


def _onnx_session(model: Path) -> Any:
    os.environ["ORT_DISABLE_TELEMETRY"] = "1"  # before the import: it writes under ~ on import
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise EngineUnavailable("onnxruntime is not installed",
                                hint="pip install onnxruntime, or use --tts pyttsx3") from exc
    opts = ort.SessionOptions()
    # One thread: the other core records and transcribes while a question is spoken.
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # Graph optimisations buy nothing for this model (measured: same RTF 0.07–0.08) but cost
    # 0.18 s of load time and ~45 MB of peak RSS, and load time delays the first question.
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.log_severity_level = 3
    # No memory-pattern planning: patterns are planned per input shape and every sentence has
    # its own length. Measured (load + 10 dev questions, peak RSS over the process before the
    # voice, 2 runs each, idle machine): 217-228 MB as before, 200-202 MB without patterns;
    # without the CPU arena too 250-271 MB, without the arena alone 311-337 MB (glibc's malloc
    # keeps more than the arena), so the arena stays.
    opts.enable_mem_pattern = False
    try:
        return ort.InferenceSession(str(model), sess_options=opts,
                                    providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
        raise DataError(f"{model}: onnxruntime cannot load the voice: {exc}") from exc


# --------------------------------------------------------------------------- finding voices
def installed_voices(models_dir: Path) -> list[VoiceFiles]:
    """Piper voices installed under `models_dir` (`interviewer models install voice`)."""
    folder = models_dir / "voices"
    if not folder.is_dir():
        return []
    return [VoiceFiles(m, m.with_name(m.name + ".json")) for m in sorted(folder.glob("*.onnx"))
            if m.with_name(m.name + ".json").is_file()]


def list_voices(models_dir: Path) -> list[VoiceInfo]:
    """The installed Piper voices, described like pyttsx3's (`interviewer voices`)."""
    out = []
    for files in installed_voices(models_dir):
        lang = files.name.split("-", 1)[0].replace("_", "-").lower()
        out.append(VoiceInfo(id=files.name, name=f"{files.name} (Piper neural voice)",
                             languages=(lang,), gender=None, engine="piper"))
    return out


def find_voice(models_dir: Path, spec: str | None = None) -> VoiceFiles:
    """The voice `spec` names (full name or its speaker part, e.g. "joe"); default: the first."""
    voices = installed_voices(models_dir)
    if not voices:
        raise ModelNotInstalled("the Piper voice is not installed",
                                hint="run: interviewer models install voice (or use --tts "
                                     "pyttsx3)")
    if spec is None:
        preferred = [v for v in voices if v.name == VOICE_NAME]
        return (preferred or voices)[0]
    low = spec.strip().lower()
    for v in voices:
        if low in (v.name.lower(), *v.name.lower().split("-")[1:2]):
            return v
    raise UsageError(f"no Piper voice matches {spec!r}",
                     hint="installed: " + ", ".join(v.name for v in voices))


TTS_ENGINES = ("piper", "pyttsx3")


def choose_tts(tts: str | None, voice: str | None, models_dir: Path) -> str:
    """The engine to use: `tts` when given; else Piper when its voice is installed and `voice`
    (if any) names a Piper voice; else pyttsx3 (espeak-ng). Never loads a model."""
    if tts is not None:
        if tts not in TTS_ENGINES:
            raise UsageError(f"unknown TTS engine {tts!r}", hint="piper or pyttsx3")
        return tts
    voices = installed_voices(models_dir)
    if not voices:
        return "pyttsx3"
    if voice is None:
        return "piper"
    try:
        find_voice(models_dir, voice)
    except UsageError:  # e.g. --voice en-gb: an espeak voice, so the engine that has it
        return "pyttsx3"
    return "piper"


# --------------------------------------------------------------------------- the Speaker
_VOICES: dict[Path, PiperVoice] = {}
_VOICES_LOCK = threading.Lock()


def load_voice(files: VoiceFiles) -> PiperVoice:
    """The loaded voice for these files (loaded once per process)."""
    with _VOICES_LOCK:
        voice = _VOICES.get(files.model)
        if voice is None:
            voice = _VOICES[files.model] = PiperVoice(files)
        return voice


class PiperSpeaker(PlayingSpeaker):
    """Speaker protocol: the Piper neural voice, played sentence by sentence as synthesised.

    The voice starts loading on a background thread when the speaker is built, so the model is
    ready (or nearly) by the time the first question is asked.
    """

    engine = "piper"

    def __init__(self, device: str | int | None = None, *, models_dir: Path,
                 voice: str | None = None, rate: int | None = None, volume: float = 1.0,
                 preload: bool = True, fallback: PlayingSpeaker | None = None) -> None:
        super().__init__(device)
        # The default voice (no --tts) falls back to this speaker if the installed voice cannot
        # be loaded (a damaged file, onnxruntime missing): a session still asks its questions.
        self.fallback = fallback
        self.fallback_reason: str | None = None
        if not 0.0 < volume <= 1.0:
            raise UsageError(f"volume {volume}: must be in (0, 1]")
        self.files = find_voice(models_dir, voice)  # fails now, not at the first question
        self.rate = rate
        self.volume = volume
        length_scale_for(rate)  # a bad rate is a usage error now
        self.delivery = Delivery.from_env()  # a bad $INTERVIEWER_TTS_PIPER is one too
        self._loaded: PiperVoice | None = None
        self._load_error: BaseException | None = None
        self._load_done = threading.Event()
        self._loading = preload
        self._start_lock = threading.Lock()
        if preload:
            threading.Thread(target=self._load, daemon=True, name="piper-load").start()

    def _load(self) -> None:
        try:
            self._loaded = load_voice(self.files)
        except BaseException as exc:  # re-raised where the voice is needed
            self._load_error = exc
        finally:
            self._load_done.set()

    def voice(self) -> PiperVoice:
        """The loaded voice (waits for the background load; loads now if none was started)."""
        with self._start_lock:
            start, self._loading = not self._loading, True
        if start:
            self._load()
        self._load_done.wait()
        if self._load_error is not None:
            raise self._load_error
        assert self._loaded is not None
        return self._loaded

    def _render(self, text: str) -> Rendering:
        if not text.strip():
            raise UsageError("nothing to say: the text is empty")
        try:
            voice = self.voice()
        except (DataError, EngineUnavailable) as exc:
            if self.fallback is None:
                raise
            if self.fallback_reason is None:
                self.fallback_reason = exc.message
                self.engine = self.fallback.engine  # what really speaks from now on
            return self.fallback._render(text)
        d = self.delivery
        return Rendering(voice.sample_rate,
                         voice.stream(text, length_scale=voice.length_scale(self.rate, d),
                                      volume=self.volume, delivery=d))


def synthesize(text: str, *, models_dir: Path, voice: str | None = None,
               rate: int | None = None, volume: float = 1.0) -> tuple[np.ndarray, int]:
    """The whole of `text` in the Piper voice: (float32 mono audio, sample rate)."""
    speaker = PiperSpeaker(models_dir=models_dir, voice=voice, rate=rate, volume=volume,
                           preload=False)
    rendering = speaker._render(text)
    pieces = list(rendering.pieces)
    return np.concatenate(pieces) if pieces else np.zeros(0, np.float32), rendering.sample_rate
