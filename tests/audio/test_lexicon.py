"""The Piper voice's pronunciation lexicon: what technical terms become before phonemes are made,
what must stay as written, the phonemes it gives with the real libespeak-ng, and that every
all-capitals token of the bank has a decided pronunciation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from interviewer.audio import lexicon as lx
from interviewer.audio import piper_speaker as ps

ROOT = Path(__file__).resolve().parents[2]

# Written → what espeak-ng is given ("A.U.C." = spelled letter by letter, see lexicon.spoken).
SAID = [
    ("How do Word2Vec, GloVe and BERT embeddings differ?",
     "How do Word2Vec, glove and Bert embeddings differ?"),
    ("Plot the ROC curve and report its AUC", "Plot the R.O.C. curve and report its A.U.C."),
    ("AUC or ROC?", "A.U.C. or R.O.C.?"),
    ("PR-AUC", "P.R.A.U.C."),  # the hyphen would be read "minus" after a spelled term
    ("a CI/CD setup", "a C.I.C.D. setup"),  # and the slash "slash"
    ("two LLMs on GPU-0", "two L.L.M's on G.P.U.0"),
    ("BERT's tokenizer", "Bert's tokenizer"),
    ("NaNs and FLOPs", "nans and flops"),
    ("ReLU, PReLU, SiLU, SwiGLU and tanh", "ray-loo, P ray-loo, sigh-loo, swig-loo and tanch"),
    ("Tanh saturates.", "Tanch saturates."),
    ("ReLUs and ReLU-like units", "ray-loos and ray-loo-like units"),
    ("LoRA vs QLoRA", "lora vs Q lora"),
    ("RoPE, ALiBi and YaRN", "rope, alibi and yarn"),
    ("ZeRO-3 with NCCL", "zero-3 with nickel"),
    ("export to ONNX", "export to onyx"),
    ("GANs, RAG and the GIL", "G.A.N's, rag and the gill"),
    ("WGAN and Graph-RAG", "W G.A.N. and graph rag"),
    ("IoU, GIoU and mAP", "I.O.U., G.I.O.U. and M.A.P."),
    ("RoIAlign", "R.O.I. align"),
    ("an A/B test", "an A.B. test"),
    ("a MoE layer", "a M.O.E. layer"),
    ("3x3 and 1x1 convolutions", "3 by 3 and 1 by 1 convolutions"),
    ("a learning rate of 1e-4", "a learning rate of 1 e minus 4"),
    ("YOLOv8 or YOLOX", "YOLO v8 or YOLO X"),
    ("INT8 weights in VRAM", "int eight weights in V ram"),
    ("Stochastic rounding, stochastic depth and contrastive loss",
     "Stowkastic rounding, stowkastic depth and kuntrastive loss"),
    ("SimCLR", "Sim C.L.R."),
]

# Written forms said right by espeak-ng as they are, or ordinary words: never changed.
UNCHANGED = [
    "She lost a glove in the snow.",  # lower case: the word, not the embedding
    "Glove factories, rope bridges, zero risk, spare ram and a rag.",
    "Use Adam with softmax outputs in PyTorch.",
    "word2vec, ResNet-50, DataLoader and LayerNorm",
    "CUDA kernels, JSON output, SHAP values and ROUGE scores",
    "It's RLHF'd.",  # an apostrophe + letter is part of the token
    "the mean absolute percentage error (MAPE)",
    "He wrote 2x faster code in 2.5 hours.",
]


@pytest.mark.parametrize(("written", "said"), SAID)
def test_technical_terms_are_respelled_or_spelled(written: str, said: str) -> None:
    assert lx.spoken(written) == said


@pytest.mark.parametrize("written", UNCHANGED)
def test_ordinary_words_and_known_terms_are_left_alone(written: str) -> None:
    assert lx.spoken(written) == written


def test_only_whole_tokens_match() -> None:
    """Keys inside longer tokens are not matched; a spelled plural keeps its letters."""
    segs = lx.segments("CIFAR-10, OpenAI-compatible APIs are not CI, sMAPE is not MAP")
    assert [s for s in segs if isinstance(s, lx.Spelled)] == [
        lx.Spelled("API", plural=True), lx.Spelled("CI"), lx.Spelled("MAP")]
    assert "".join(s for s in segs if isinstance(s, str)).startswith("CIFAR-10, OpenAI-compatible")


def test_the_table_is_consistent() -> None:
    """A written form has one decision, spelled forms are letters, respellings differ."""
    spelled, respelled = lx.SPELLED | set(lx.SPELLED_MIXED), set(lx.RESPELLED)
    assert not spelled & respelled and not lx.LEFT_TO_ESPEAK & (spelled | respelled)
    assert all(re.fullmatch(r"[A-Z]{2,6}", w) for w in lx.SPELLED)
    assert all(re.fullmatch(r"[A-Z]+", v) for v in lx.SPELLED_MIXED.values())
    assert all(v != k for k, v in lx.RESPELLED.items())


# --------------------------------------------------------------------------- with espeak-ng
@pytest.fixture(scope="module")
def espeak() -> ps.Espeak:
    return ps.Espeak("en-us")


def test_phonemes_follow_the_lexicon(espeak: ps.Espeak) -> None:
    """What the voice is given: GloVe as the word "glove", AUC and ROC spelled even where
    espeak-ng alone reads them as the words "awk" and "rock"."""
    glove = ps.clause_phonemes(espeak, "GloVe embeddings")
    assert glove.startswith("ɡlˈʌv ") and "vˈiː" not in glove
    assert ps.clause_phonemes(espeak, "GloVe embeddings", use_lexicon=False).startswith("ɡlˈoʊ")
    spelled = ps.clause_phonemes(espeak, "AUC or ROC")
    assert spelled == "ˌeɪjˌuːsˈiː ɔːɹ ˌɑːɹɹˌoʊsˈiː"
    assert ps.clause_phonemes(espeak, "AUC or ROC", use_lexicon=False) == "ˈɔːk ɔːɹ ɹˈɑːk"
    # Plurals of spelled terms: "z", "s" after F, "ɪz" after a sibilant letter name.
    assert ps.clause_phonemes(espeak, "GPUs").endswith("jˈuːz")
    assert ps.clause_phonemes(espeak, "FFNs").endswith("ˈɛnz")
    assert ps.clause_phonemes(espeak, "RLHF's").endswith("ˈɛfs")
    assert ps.clause_phonemes(espeak, "TP+FN") == "tˌiːpˈiː plˈʌs ˌɛfˈɛn"
    # Words before a spelled term keep their sentence forms: "a" is not the letter "ˈeɪ".
    assert ps.clause_phonemes(espeak, "What is a GPU") == "wˌʌt ɪz ɐ dʒˌiːpˌiːjˈuː"
    assert ps.clause_phonemes(espeak, "a CI/CD setup") == "ɐ sˌiːˈaɪ sˌiːdˈiː sˈɛɾʌp"


def test_sentence_punctuation_survives_the_lexicon(espeak: ps.Espeak) -> None:
    got = ps.sentence_phonemes(espeak, ["Explain GloVe,", "then the AUC."])
    assert got == "ɛksplˈeɪn ɡlˈʌv, ðˈɛn ðɪ ˌeɪjˌuːsˈiː."


def test_the_switch_turns_the_lexicon_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ps.LEXICON_ENV, raising=False)
    assert ps.lexicon_enabled()
    for off in ("off", "0", "OFF "):
        monkeypatch.setenv(ps.LEXICON_ENV, off)
        assert not ps.lexicon_enabled()


# --------------------------------------------------------------------------- the whole bank
def _bank_texts() -> Iterator[str]:
    skip = {"id", "question_id", "targets", "sources", "topic", "difficulty", "kind"}

    def walk(node: object) -> Iterator[str]:
        if isinstance(node, str):
            yield node
        elif isinstance(node, dict):
            for key, value in node.items():
                if key not in skip:
                    yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    for folder in ("question_bank", "rubrics"):
        for path in sorted((ROOT / folder).rglob("*.yaml")):
            yield from walk(yaml.safe_load(path.read_text(encoding="utf-8")))


_CAPS = re.compile(r"(?<![A-Za-z0-9])([A-Z]{2,6})((?:'s|s'|s)?)(?![A-Za-z0-9])")


def test_every_all_capitals_token_of_the_bank_is_decided() -> None:
    """A new acronym in the bank fails here until it is spelled, respelled or left to
    espeak-ng on purpose (interviewer/audio/lexicon.py)."""
    decided = lx.SPELLED | set(lx.RESPELLED) | lx.LEFT_TO_ESPEAK
    seen, undecided = set(), set()
    for text in _bank_texts():
        for m in _CAPS.finditer(text):
            seen.add(m[1])
            if m[1] not in decided and m[0] not in decided:
                undecided.add(m[0])
    assert len(seen) > 200  # the bank was read
    assert not undecided, sorted(undecided)


def test_every_phoneme_of_the_bank_is_in_the_voices_map(espeak: ps.Espeak,
                                                         tmp_path: Path) -> None:
    """All questions and follow-ups through the lexicon give phonemes the voice knows."""
    from interviewer import provision
    from interviewer.env import Environment

    provision.get("voice").install(tmp_path)
    id_map = ps.VoiceConfig.load(ps.find_voice(tmp_path).config).phoneme_id_map
    texts = [t for e in Environment(project_root=ROOT).load_bank()
             for t in (e.question.text, *e.rubric.all_follow_ups())]
    assert len(texts) > 500
    unknown: dict[str, str] = {}
    for text in texts:
        for clauses in ps.speakable_chunks(text):
            for ph in set(ps.sentence_phonemes(espeak, clauses)) - set(id_map):
                unknown.setdefault(ph, text)
    assert not unknown, unknown
