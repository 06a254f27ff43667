"""Items 7, 9 and 12: hostile bank files (alias bombs, huge fields and files, invalid UTF-8,
duplicate keys) are refused with one clear line; `bank import` never overwrites earlier drafts
without `--force` and strips terminal control characters."""

from __future__ import annotations

import textwrap

import yaml

from tests.hardening.helpers import MAIN, PRACTICE, Env, error_lines
from tests.session.fakes import Q

QFILE = ("question_bank", "t", "a.yaml")


def _qfile(henv: Env):  # type: ignore[no-untyped-def]
    return henv.root.joinpath(*QFILE)


def test_alias_amplification_is_refused_and_the_cache_stays_small(henv: Env) -> None:
    levels = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    levels += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 7)]
    bomb = "x-anchors:\n" + textwrap.indent("\n".join(levels), "  ") + "\n"
    path = _qfile(henv)
    path.write_text(bomb + textwrap.dedent(Q))  # 9**6 ≈ 530 000 strings once expanded
    r = henv.cli("bank", "list")
    assert r.returncode == 1
    [line] = error_lines(r.stderr)
    assert str(path) in line and "expands to far more data" in line
    cache = henv.home / "bank-parse-cache.json"
    assert not cache.exists() or cache.stat().st_size < 64_000


def test_huge_field_and_huge_file_are_refused(henv: Env) -> None:
    path = _qfile(henv)
    data = yaml.safe_load(textwrap.dedent(Q))
    data["questions"][0]["reference_answer"] = "word " * 10_001
    path.write_text(yaml.safe_dump(data))
    r = henv.cli("bank", "check")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "questions[0].reference_answer: 50005 characters; a field may hold at most" in r.stdout
    path.write_text(textwrap.dedent(Q) + "#" * 3_000_000 + "\n")
    r = henv.cli("bank", "list")
    assert r.returncode == 1
    [line] = error_lines(r.stderr)
    assert str(path) in line and "limited to 2 MiB" in line


def test_invalid_utf8_is_one_line_in_check_list_and_practice(henv: Env) -> None:
    path = _qfile(henv)
    path.write_bytes(textwrap.dedent(Q).encode() + b"# caf\xe9\n")
    line_no = textwrap.dedent(Q).count("\n") + 1
    r = henv.cli("bank", "check")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert f"{path}:{line_no}: not UTF-8 text" in r.stdout
    for args in (("bank", "list"), (*PRACTICE, "--out", str(henv.rec))):
        r = henv.cli(*args, stdin=f"{MAIN}\n")
        assert r.returncode == 1, r.stderr
        [line] = error_lines(r.stderr)
        assert f"{path}:{line_no}: not UTF-8 text" in line


def test_duplicate_keys_are_rejected_with_file_line_and_key(henv: Env) -> None:
    lines = textwrap.dedent(Q).splitlines()
    at = next(i for i, ln in enumerate(lines) if ln.strip().startswith("topic: deep-learning"))
    lines.insert(at + 1, "    topic: classical-ml")
    path = _qfile(henv)
    path.write_text("\n".join(lines) + "\n")
    r = henv.cli("bank", "check")
    assert r.returncode == 1
    assert f"{path}:{at + 2}:5: invalid YAML: duplicate key 'topic'" in r.stdout
    r = henv.cli("bank", "list")
    [line] = error_lines(r.stderr)
    assert "duplicate key 'topic'" in line


DOC = ("Q1. What does dropout do?\x1b[31m\n"
       "Model answer:\n"
       "Dropout zeroes\x00 random units during training. It stops units from co-adapting "
       "\x1b]0;owned\x07too much. It behaves like an ensemble of thinned networks.\n")


def test_bank_import_refuses_to_overwrite_and_strips_control_characters(henv: Env) -> None:
    doc = henv.base / "mine.txt"
    doc.write_text(DOC)
    drafts = henv.base / "drafts"
    r = henv.cli("bank", "import", str(doc), "--out", str(drafts))
    assert r.returncode == 0, r.stderr
    [qfile] = drafts.glob("question_bank/*/imported.yaml")
    text = qfile.read_text()
    assert not any(c in text for c in "\x00\x1b\x07")
    q = yaml.safe_load(text)["questions"][0]
    assert q["text"] == "What does dropout do?" and "owned" not in q["reference_answer"]
    qfile.write_text(text + "# reviewed by hand\n")
    r = henv.cli("bank", "import", str(doc), "--out", str(drafts))
    assert r.returncode == 2
    [line] = error_lines(r.stderr)
    assert "exists" in line and "--force" in line
    assert qfile.read_text().endswith("# reviewed by hand\n")
    r = henv.cli("bank", "import", str(doc), "--out", str(drafts), "--force")
    assert r.returncode == 0, r.stderr
    assert "# reviewed by hand" not in qfile.read_text()
