"""The voice benchmark's question split: held-out ids whose transcripts were read (listed in
benchmarks/data/tts_seen.txt) count as dev, and a held-out sample never contains them."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import tts  # noqa: E402

from interviewer.env import Environment  # noqa: E402


def test_seen_ids_are_bank_ids_and_count_as_dev() -> None:
    bank = {e.id for e in Environment(project_root=ROOT).load_bank()}
    seen = tts.seen_ids()
    assert len(seen) >= 30 and seen <= bank
    assert all(tts.split_of(i) == "dev" for i in seen)


def test_a_held_out_sample_never_contains_a_seen_question() -> None:
    entries = Environment(project_root=ROOT).load_bank()
    seen_texts = {e.question.text for e in entries if e.id in tts.seen_ids()}
    held = tts.pick_questions(len(entries), "heldout")
    assert held and not seen_texts & set(held)
    dev = tts.pick_questions(len(entries), "dev")
    assert seen_texts <= set(dev)
    assert len(held) + len(dev) == len(entries)
