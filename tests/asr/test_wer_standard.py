"""The standard WER measure of the voice benchmark (`asr_data.wer_standard`): Whisper's own
English normaliser plus compound-insensitive matching; the strict `wer` is unchanged."""

from __future__ import annotations

import pytest
from asr_data import compound_errors, normalise_standard, wer, wer_standard


@pytest.mark.parametrize(("written", "heard"), [
    ("Explain the optimisation.", "Explain the optimization."),  # British vs American
    ("regularised weights", "regularized weights"),
    ("a pre-trained model", "a pretrained model"),  # hyphen vs one word
    ("Explain FlashAttention.", "Explain flash attention."),  # one word vs two
    ("CI/CD pipelines", "CICD pipelines"),
    ("AllReduce", "all-reduce"),
    ("quantization (PTQ)", "quantization PTQ"),  # brackets are said, not annotations
    ("Why? Explain.", "why, explain"),  # punctuation and case
    ("three layers", "3 layers"),  # numbers standardised
    ("What's a GAN?", "What is a GAN?"),  # contractions
])
def test_spelling_compounding_and_punctuation_are_not_errors(written: str, heard: str) -> None:
    assert wer_standard(written, heard) == 0.0


@pytest.mark.parametrize(("written", "heard", "errors"), [
    ("Compare PCA and LDA.", "Compare PCA and LVA.", 1),
    ("post-training quantization", "pulse training quantization", 1),
    ("decision tree", "decision to re", 2),  # a substitution and an insertion
    ("sharded optimizer states", "charted optimizer states", 1),
    ("byte-pair encoding", "bike bearing coding", 3),
    ("flash attention", "flesh attention", 1),  # joining only forgives identical letters
])
def test_different_words_stay_errors(written: str, heard: str, errors: int) -> None:
    ref = normalise_standard(written)
    assert compound_errors(ref, normalise_standard(heard)) == errors
    assert wer_standard(written, heard) == pytest.approx(errors / len(ref))


def test_compound_matching_is_plain_edit_distance_without_compounds() -> None:
    assert compound_errors(["a", "b", "c"], ["a", "c"]) == 1
    assert compound_errors(["a", "b"], ["a", "b", "c"]) == 1
    assert compound_errors(["a", "b"], ["ab"]) == 0
    assert compound_errors(["ab", "c"], ["a", "bc"]) == 0  # same letters, re-spaced
    assert compound_errors([], ["x"]) == 1
    assert wer_standard("", "") == 0.0 and wer_standard("", "noise") == 1.0


def test_the_strict_measure_is_unchanged() -> None:
    """`wer` (used by the ASR tests and benchmark) still counts spelling and compounding."""
    assert wer("Explain the optimisation.", "Explain the optimization.") == pytest.approx(1 / 3)
    assert wer("a pre-trained model", "a pretrained model") == pytest.approx(2 / 4)
    assert wer("Hello, world!", "hello world") == 0.0
