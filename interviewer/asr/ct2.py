"""Convert a CTranslate2 Whisper model directory into an openai-whisper checkpoint.

Registry packages ship Whisper weights only in CTranslate2 (faster-whisper) format; openai-whisper
loads a torch file `{"dims": {...}, "model_state_dict": {...}}`. This module reads the CT2
`model.bin` (a simple little-endian container of named tensors), renames/splits the tensors to
whisper's module names and derives the dimensions from tensor shapes. The word-alignment heads are
taken from the directory's `config.json` and stored in the checkpoint under `alignment_heads`
(whisper only sets them for hub checkpoints it knows by name, so the loader applies them).

Only numpy is needed to read; torch is imported only to save the result.
"""

from __future__ import annotations

import json
import os
import re
import struct
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from interviewer.errors import DataError

# CT2 dtype codes → numpy dtypes (bf16 is widened by hand below).
_DTYPES: dict[int, Any] = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
_BF16 = 5


def _read(fp: BinaryIO, fmt: str) -> Any:
    size = struct.calcsize(fmt)
    data = fp.read(size)
    if len(data) != size:
        raise EOFError("truncated model.bin")
    return struct.unpack("<" + fmt, data)[0]


def _read_str(fp: BinaryIO) -> str:
    n = _read(fp, "H")  # length includes the trailing NUL
    raw = fp.read(n)
    if len(raw) != n:
        raise EOFError("truncated model.bin")
    return raw[:-1].decode("utf-8")


def read_ct2_model(path: Path) -> dict[str, np.ndarray]:
    """Read every variable of a CT2 `model.bin` as float32/int arrays, aliases resolved.

    int8 weights are dequantised with their per-row `weight_scale` (float = int8 / scale);
    aliases (e.g. the output projection sharing the token embedding) resolve to the result.
    """
    try:
        with open(path, "rb") as fp:
            version = _read(fp, "I")
            if not 1 <= version <= 6:
                raise DataError(f"{path}: unsupported CTranslate2 model version {version}")
            _read_str(fp)  # spec name, e.g. "WhisperSpec"
            if version >= 3:
                _read(fp, "I")  # spec revision
            raw: dict[str, np.ndarray] = {}
            aliases: dict[str, str] = {}
            for _ in range(_read(fp, "I")):
                name = _read_str(fp)
                rank = _read(fp, "B")
                shape = tuple(_read(fp, "I") for _ in range(rank))
                dtype = _read(fp, "B")
                nbytes = _read(fp, "I")
                buf = fp.read(nbytes)
                if len(buf) != nbytes:
                    raise EOFError("truncated model.bin")
                if dtype == _BF16:
                    # bf16 is the top half of a float32.
                    arr = (np.frombuffer(buf, "<u2").astype(np.uint32) << 16).view(np.float32)
                elif dtype in _DTYPES:
                    arr = np.frombuffer(buf, np.dtype(_DTYPES[dtype]).newbyteorder("<"))
                else:
                    raise DataError(f"{path}: unknown tensor dtype {dtype} for {name}")
                raw[name] = arr.reshape(shape)
            if version >= 5:
                for _ in range(_read(fp, "I")):
                    alias, target = _read_str(fp), _read_str(fp)
                    aliases[alias] = target
    except (OSError, EOFError, struct.error, ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a readable CTranslate2 model ({exc})") from exc

    out: dict[str, np.ndarray] = {}
    for name, arr in raw.items():
        if name.endswith("_scale"):
            continue
        scale = raw.get(name + "_scale")
        if arr.dtype == np.int8 and scale is not None:
            arr = arr.astype(np.float32) / scale.astype(np.float32).reshape(-1, 1)
        out[name] = arr
    for alias, target in aliases.items():  # after dequantising: the scale is the target's
        if target not in out:
            raise DataError(f"{path}: alias {alias} points to missing variable {target}")
        out[alias] = out[target]
    return out


def _split(arr: np.ndarray, parts: int) -> list[np.ndarray]:
    return list(np.split(arr, parts, axis=0))


class _StateMap:
    """Copies CT2 variables into an openai-whisper state dict under whisper's names."""

    def __init__(self, ct2: dict[str, np.ndarray]) -> None:
        self.ct2 = ct2
        self.sd: dict[str, np.ndarray] = {}

    def ln(self, src: str, dst: str) -> None:
        self.sd[dst + ".weight"] = self.ct2[src + "/gamma"]
        self.sd[dst + ".bias"] = self.ct2[src + "/beta"]

    def lin(self, src: str, dst: str) -> None:
        self.sd[dst + ".weight"] = self.ct2[src + "/weight"]
        if src + "/bias" in self.ct2:
            self.sd[dst + ".bias"] = self.ct2[src + "/bias"]

    def qkv(self, src: str, dst: str, names: list[str]) -> None:
        # Fused projections, concatenated along the output dimension. Whisper's key has no bias
        # (CT2 stores a zero one), so its bias part is dropped.
        ws = _split(self.ct2[src + "/weight"], len(names))
        bs: list[np.ndarray | None] = (
            list(_split(self.ct2[src + "/bias"], len(names))) if src + "/bias" in self.ct2
            else [None] * len(ws))
        for n, w, b in zip(names, ws, bs, strict=True):
            self.sd[f"{dst}.{n}.weight"] = w
            if b is not None and n != "key":
                self.sd[f"{dst}.{n}.bias"] = b

    def encoder_block(self, i: int) -> None:
        s, d = f"encoder/layer_{i}", f"encoder.blocks.{i}"
        self.qkv(f"{s}/self_attention/linear_0", f"{d}.attn", ["query", "key", "value"])
        self.lin(f"{s}/self_attention/linear_1", f"{d}.attn.out")
        self.ln(f"{s}/self_attention/layer_norm", f"{d}.attn_ln")
        self.lin(f"{s}/ffn/linear_0", f"{d}.mlp.0")
        self.lin(f"{s}/ffn/linear_1", f"{d}.mlp.2")
        self.ln(f"{s}/ffn/layer_norm", f"{d}.mlp_ln")

    def decoder_block(self, i: int) -> None:
        s, d = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        self.qkv(f"{s}/self_attention/linear_0", f"{d}.attn", ["query", "key", "value"])
        self.lin(f"{s}/self_attention/linear_1", f"{d}.attn.out")
        self.ln(f"{s}/self_attention/layer_norm", f"{d}.attn_ln")
        self.lin(f"{s}/attention/linear_0", f"{d}.cross_attn.query")
        self.qkv(f"{s}/attention/linear_1", f"{d}.cross_attn", ["key", "value"])
        self.lin(f"{s}/attention/linear_2", f"{d}.cross_attn.out")
        self.ln(f"{s}/attention/layer_norm", f"{d}.cross_attn_ln")
        self.lin(f"{s}/ffn/linear_0", f"{d}.mlp.0")
        self.lin(f"{s}/ffn/linear_1", f"{d}.mlp.2")
        self.ln(f"{s}/ffn/layer_norm", f"{d}.mlp_ln")

    def ends(self) -> None:
        """The convolutions, embeddings and final layer norms around the blocks."""
        self.lin("encoder/conv1", "encoder.conv1")
        self.lin("encoder/conv2", "encoder.conv2")
        self.sd["encoder.positional_embedding"] = self.ct2["encoder/position_encodings/encodings"]
        self.ln("encoder/layer_norm", "encoder.ln_post")
        self.sd["decoder.token_embedding.weight"] = self.ct2["decoder/embeddings/weight"]
        self.sd["decoder.positional_embedding"] = self.ct2["decoder/position_encodings/encodings"]
        self.ln("decoder/layer_norm", "decoder.ln")


def _layer_counts(ct2: dict[str, np.ndarray]) -> dict[str, int]:
    layer_re = re.compile(r"^(encoder|decoder)/layer_(\d+)/")
    n_layers = {"encoder": 0, "decoder": 0}
    for name in ct2:
        m = layer_re.match(name)
        if m:
            n_layers[m[1]] = max(n_layers[m[1]], int(m[2]) + 1)
    return n_layers


def _whisper_dims(ct2: dict[str, np.ndarray], sd: dict[str, np.ndarray],
                  n_layers: dict[str, int]) -> dict[str, int]:
    conv1 = sd["encoder.conv1.weight"]  # (n_state, n_mels, 3)
    emb = sd["decoder.token_embedding.weight"]  # (n_vocab, n_state)
    return {
        "n_mels": int(conv1.shape[1]),
        "n_audio_ctx": int(sd["encoder.positional_embedding"].shape[0]),
        "n_audio_state": int(conv1.shape[0]),
        "n_audio_head": int(np.asarray(ct2["encoder/num_heads"]).reshape(-1)[0]),
        "n_audio_layer": n_layers["encoder"],
        "n_vocab": int(emb.shape[0]),
        "n_text_ctx": int(sd["decoder.positional_embedding"].shape[0]),
        "n_text_state": int(emb.shape[1]),
        "n_text_head": int(np.asarray(ct2["decoder/num_heads"]).reshape(-1)[0]),
        "n_text_layer": n_layers["decoder"],
    }


def to_whisper_state(ct2: dict[str, np.ndarray]) -> tuple[dict[str, int], dict[str, np.ndarray]]:
    """Map CT2 variable names to openai-whisper's; return (dims, state_dict as arrays)."""
    n_layers = _layer_counts(ct2)
    state = _StateMap(ct2)
    for i in range(n_layers["encoder"]):
        state.encoder_block(i)
    for i in range(n_layers["decoder"]):
        state.decoder_block(i)
    state.ends()
    return _whisper_dims(ct2, state.sd, n_layers), state.sd


def alignment_heads(model_dir: Path) -> list[list[int]]:
    """The (decoder layer, head) pairs used for word timestamps, from `config.json`."""
    cfg_path = model_dir / "config.json"
    try:
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
        return [[int(a), int(b)] for a, b in cfg.get("alignment_heads", [])]
    except (OSError, ValueError, TypeError) as exc:
        raise DataError(f"{cfg_path}: unreadable model config ({exc})") from exc


def convert(model_dir: Path, out_path: Path) -> dict[str, int]:
    """Convert the CT2 directory `model_dir` into a whisper checkpoint at `out_path`; return dims.

    Written to a temporary name and renamed, so an interrupted conversion never leaves a
    half-written checkpoint that would later be taken as installed.
    """
    import torch

    try:
        dims, sd = to_whisper_state(read_ct2_model(model_dir / "model.bin"))
    except KeyError as exc:
        raise DataError(f"{model_dir}: not a Whisper CTranslate2 model (missing {exc})") from exc
    state = {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in sd.items()}
    ckpt = {"dims": dims, "model_state_dict": state, "alignment_heads": alignment_heads(model_dir)}
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f"{out_path.name}.{os.getpid()}.partial")
    torch.save(ckpt, tmp)
    tmp.replace(out_path)
    return dims
