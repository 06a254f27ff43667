"""Sessions through the real CLI with real engines: `--text` and `--answers-from` sessions,
then sessions / report (HTML checked in headless Chromium) / replay / progress / export /
rejudge on what they stored."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from interviewer.judge.text import find_span

QID = "which-distribution-new-value"
ANSWER = ("I would fit a distribution to each array and compare the likelihood of the new value "
          "under each one. If one source is much more common I multiply by the prior, so I "
          "compare posteriors rather than raw likelihoods.")
FOLLOW = ("If the family is unknown I would use a kernel density estimate instead of assuming "
          "a Gaussian.")


def cli(*args: str, stdin: str = "", env: dict[str, str] | None = None,
        timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "interviewer", *args], input=stdin,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def only_session(root: Path) -> dict:  # type: ignore[type-arg]
    [folder] = [p for p in root.iterdir() if p.is_dir()]
    return json.loads((folder / "session.json").read_text())


def check_verdicts(take: dict) -> None:  # type: ignore[type-arg]
    text = take["transcript"]["text"]
    j = take["judgements"][-1]
    credited = [p for p in j["points"] if p["status"] != "missing"]
    assert credited, "a correct answer must earn some credit"
    for p in credited:
        assert p["evidence"] and find_span(text, p["evidence"]) is not None


@pytest.fixture(scope="module")
def text_session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("rec")
    r = cli("practice", "--text", "--no-tts", "--question", QID, "--judge", "embedded",
            "--max-follow-ups", "1", "--out", str(root), stdin=f"{ANSWER}\n{FOLLOW}\n")
    assert r.returncode == 0, r.stderr
    return root


def test_text_session_stores_verified_judgement(text_session: Path) -> None:
    s = only_session(text_session)
    assert s["status"] == "completed" and s["schema_version"] == 2
    main, follow = s["turns"]
    assert main["question_id"] == QID and follow["kind"] == "follow_up"
    assert main["takes"][0]["typed_answer"] == ANSWER
    check_verdicts(main["takes"][0])
    assert follow["text"] in s["asked_follow_ups"]
    folder = next(p for p in text_session.iterdir() if p.is_dir())
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    assert oct((folder / "session.json").stat().st_mode & 0o777) == "0o600"


def test_listing_progress_export_and_rejudge(text_session: Path, tmp_path: Path) -> None:
    out = str(text_session)
    rows = json.loads(cli("sessions", "--format", "json", "--out", out).stdout)
    assert len(rows) == 1 and rows[0]["questions"] == 1 and rows[0]["status"] == "completed"
    prog = json.loads(cli("progress", "--format", "json", "--out", out).stdout)
    assert any(p["question_id"] == QID for p in prog["points"])
    anki = tmp_path / "cards.txt"
    r = cli("export", "--anki", str(anki), "--out", out)
    assert r.returncode == 0, r.stderr
    lines = anki.read_text().splitlines()
    assert lines[0] == "#separator:tab" and all("\t" in ln for ln in lines[2:]) and lines[2:]
    r = cli("rejudge", "last", "--backend", "embedded", "--out", out)
    assert r.returncode == 0, r.stderr
    take = only_session(text_session)["turns"][0]["takes"][0]
    assert len(take["judgements"]) == 2  # the earlier judgement is kept


def test_session_refs_outside_root_are_refused(text_session: Path) -> None:
    for ref in ("../../etc", "/etc", "20990101-000000-zzzz"):
        r = cli("replay", ref, "--no-audio", "--out", str(text_session))
        assert r.returncode == 2, (ref, r.stdout)
        assert r.stderr.startswith("interviewer: error:")


OOM = "fit-larger-llm-training-out-of-memory"
OOM_FIRST = ("First I would lower the per-device batch size and use gradient accumulation so the "
             "effective batch size stays the same. Second, mixed precision: bf16 activations and "
             "matmuls roughly halve activation memory. Third, activation checkpointing: keep only "
             "some activations and recompute the rest in the backward pass.")
# Answers the follow-up ("Why does Adam consume so much memory?") and covers the rest too.
OOM_FOLLOW = ("Adam keeps two fp32 moments per parameter, so I would shard the optimizer states "
              "across the data-parallel ranks instead of replicating them. With fully sharded data "
              "parallel the parameters and gradients are sharded too and gathered per layer on "
              "demand. Also activations grow with context length, so shorter sequences or "
              "FlashAttention reduce memory.")


def test_the_follow_up_completes_the_question_exchange(tmp_path: Path) -> None:
    r = cli("practice", "--text", "--no-tts", "--question", OOM, "--judge", "embedded",
            "--max-follow-ups", "1", "--out", str(tmp_path), stdin=f"{OOM_FIRST}\n{OOM_FOLLOW}\n")
    assert r.returncode == 0, r.stderr
    rep = cli("report", "last", "--format", "json", "--out", str(tmp_path))
    assert rep.returncode == 0, rep.stderr
    report = json.loads(rep.stdout)
    [q] = report["questions"]
    assert q["question_id"] == OOM and q["score"] >= 0.85 and report["score"] == q["score"]
    main, follow = q["turns"]
    assert main["kind"] == "question" and len(main["targets"]) == len(q["points"]) == 6
    # The follow-up is judged on what it asked only, and it got that fully.
    assert follow == {"kind": "follow_up", "text": "Why does Adam consume so much memory?",
                      "targets": ["optimizer-state-sharding"], "score": 1.0,
                      "answer_s": None, "budget_s": None}  # typed, no interview clock
    earned = {p["id"]: p["turn"] for p in q["points"]}
    assert earned["batch-grad-accumulation"] == earned["mixed-precision"] == 0
    assert earned["activation-checkpointing"] == 0  # said again later: the first turn keeps it
    assert earned["optimizer-state-sharding"] == 1
    for p in q["points"]:
        if p["turn"] is not None:
            answer = (OOM_FIRST, OOM_FOLLOW)[p["turn"]]
            assert find_span(answer, p["evidence"]) is not None, p
    # What the candidate was told: the follow-up's own score, then the exchange's summary.
    assert "On what the follow-up asked: 100%." in r.stdout
    assert "Missed: lower batch size" not in r.stdout.split("Follow-up:")[1]
    assert "over the question and its follow-up" in r.stdout
    md = cli("report", "last", "--format", "md", "--out", str(tmp_path)).stdout
    assert "| mixed precision | covered | turn 1 (question) |" in md
    assert "| optimizer state sharding | covered | turn 2 (follow-up 1) |" in md


def test_a_version_1_session_replays_and_reports(tmp_path: Path) -> None:
    root = tmp_path / "rec"
    shutil.copytree(Path(__file__).parent / "data" / "v1", root)
    r = cli("replay", "last", "--no-audio", "--out", str(root))
    assert r.returncode == 0, r.stderr
    assert "KDE fallback" in r.stdout and "over the question and its follow-up" in r.stdout
    report = json.loads(cli("report", "last", "--format", "json", "--out", str(root)).stdout)
    [q] = report["questions"]
    # A v1 turn stored no targets: they are resolved from the bank (the authored follow-up's).
    assert q["turns"][1]["targets"] == ["likelihood-comparison", "gaussian-plug-in"]
    assert q["turns"][1]["score"] == 0.0  # its answer covered neither
    assert {p["id"]: p["turn"] for p in q["points"]}["kde-fallback"] == 1
    html_out = tmp_path / "r.html"
    r = cli("report", "last", "--format", "html", "-o", str(html_out), "--out", str(root))
    assert r.returncode == 0, r.stderr
    assert "earned in" in html_out.read_text()
    rows = json.loads(cli("sessions", "--format", "json", "--out", str(root)).stdout)
    assert rows[0]["mean_score"] == report["score"]


@pytest.fixture(scope="module")
def wav_session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not shutil.which("espeak-ng"):
        pytest.skip("espeak-ng not installed (run .ci/install)")
    answers = tmp_path_factory.mktemp("answers")
    for i, text in enumerate((ANSWER, FOLLOW)):
        subprocess.run(["espeak-ng", "-s", "150", "-w", str(answers / f"{i}.wav"), text],
                       check=True)
    root = tmp_path_factory.mktemp("rec")
    r = cli("practice", "--answers-from", str(answers), "--no-tts", "--question", QID,
            "--judge", "embedded", "--max-follow-ups", "1", "--out", str(root))
    assert r.returncode == 0, r.stderr
    return root


def test_answers_from_session_transcribes_and_measures(wav_session: Path) -> None:
    s = only_session(wav_session)
    main, follow = s["turns"]
    take = main["takes"][0]
    folder = next(p for p in wav_session.iterdir() if p.is_dir())
    assert (folder / take["audio"]).is_file() and (folder / follow["takes"][0]["audio"]).is_file()
    words = take["transcript"]["words"]
    assert len(words) > 20 and words[0]["start"] < words[-1]["end"]
    assert "likelihood" in take["transcript"]["text"].lower()
    m = take["metrics"]
    assert 100 < m["words_per_minute"] < 220 and m["time_to_first_word_s"] < 1.5
    check_verdicts(take)
    assert s["engines"]["asr"].startswith(("faster-whisper", "openai-whisper"))


def test_html_report_renders_with_playable_audio(wav_session: Path, tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium not installed (run .ci/install)")
    html = tmp_path / "report.html"
    r = cli("report", "last", "--format", "html", "-o", str(html), "--out", str(wav_session))
    assert r.returncode == 0, r.stderr
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([chromium, *flags, "--virtual-time-budget=10000", "--dump-dom",
                          html.as_uri()], capture_output=True, text=True, timeout=120).stdout
    assert dom.count("<audio") == 2
    # The page's script stamps each <audio> once Chromium decoded its metadata.
    assert dom.count('data-duration="') == 2 and 'data-error="1"' not in dom
    assert "<mark>" in dom  # credited evidence highlighted in the transcript
    shot = tmp_path / "report.png"
    subprocess.run([chromium, *flags, f"--screenshot={shot}", "--window-size=1200,1400",
                    html.as_uri()], capture_output=True, timeout=120)
    assert shot.is_file() and shot.stat().st_size > 10_000
    md = cli("report", "last", "--format", "md", "--out", str(wav_session)).stdout
    assert "Reference answer" in md and "[covered]" in md
