"""The CTranslate2 → openai-whisper conversion: container reader (synthetic files) and the real
tiny.en conversion checked against CTranslate2 itself."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from interviewer.asr.ct2 import alignment_heads, read_ct2_model, to_whisper_state
from interviewer.errors import DataError
from interviewer.provision import whisper_entry

# ----------------------------------------------------------------- a minimal CT2 writer (tests)
_CODES = {np.dtype(np.float32): 0, np.dtype(np.int8): 1, np.dtype(np.int16): 2,
          np.dtype(np.int32): 3, np.dtype(np.float16): 4}


def _s(text: str) -> bytes:
    raw = text.encode() + b"\0"
    return struct.pack("<H", len(raw)) + raw


def write_ct2(path: Path, variables: dict[str, Any], aliases: dict[str, str] | None = None,
              *, version: int = 6) -> None:
    """Write variables (numpy arrays, or (bf16 raw uint16 array, 'bf16')) in CT2's layout."""
    out = bytearray(struct.pack("<I", version) + _s("WhisperSpec") + struct.pack("<I", 3))
    out += struct.pack("<I", len(variables))
    for name, value in variables.items():
        if isinstance(value, tuple):
            arr, code = value[0], 5
        else:
            arr, code = value, _CODES[value.dtype]
        out += _s(name) + struct.pack("<B", arr.ndim)
        out += b"".join(struct.pack("<I", d) for d in arr.shape)
        data = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        out += struct.pack("<B", code) + struct.pack("<I", len(data)) + data
    aliases = aliases or {}
    out += struct.pack("<I", len(aliases))
    for a, t in aliases.items():
        out += _s(a) + _s(t)
    path.write_bytes(bytes(out))


def test_reader_dtypes_int8_scale_bf16_and_aliases(tmp_path: Path) -> None:
    w = np.array([[10, -20, 30], [4, 8, -12]], dtype=np.int8)
    scale = np.array([10.0, 4.0], dtype=np.float32)  # float = int8 / scale, per row
    bf = np.array([1.5, -2.25], dtype=np.float32)
    bf_raw = (bf.view(np.uint32) >> 16).astype(np.uint16)
    write_ct2(tmp_path / "model.bin", {
        "a/weight": w, "a/weight_scale": scale,
        "b/bias": np.array([0.5, 1.0], dtype=np.float16),
        "c/gamma": (bf_raw, "bf16"), "n/num_heads": np.array(6, dtype=np.int16),
    }, aliases={"d/weight": "a/weight"})
    v = read_ct2_model(tmp_path / "model.bin")
    np.testing.assert_allclose(v["a/weight"], [[1, -2, 3], [1, 2, -3]])
    assert "a/weight_scale" not in v
    np.testing.assert_array_equal(v["b/bias"], [0.5, 1.0])
    np.testing.assert_array_equal(v["c/gamma"], bf)
    np.testing.assert_allclose(v["d/weight"], v["a/weight"])
    assert int(v["n/num_heads"]) == 6


@pytest.mark.parametrize("damage", ["truncate", "version", "garbage"])
def test_reader_rejects_damaged_files(tmp_path: Path, damage: str) -> None:
    p = tmp_path / "model.bin"
    write_ct2(p, {"x/weight": np.ones((4, 4), dtype=np.float32)})
    raw = p.read_bytes()
    if damage == "truncate":
        p.write_bytes(raw[: len(raw) - 20])
    elif damage == "version":
        p.write_bytes(struct.pack("<I", 99) + raw[4:])
    else:
        p.write_bytes(b"\x06\0\0\0" + b"\xff" * 64)
    with pytest.raises(DataError, match="model.bin"):
        read_ct2_model(p)


def test_fused_qkv_split_and_key_bias_dropped() -> None:
    n = 4
    ct2: dict[str, np.ndarray] = {}
    rng = np.random.default_rng(0)
    qkv = rng.standard_normal((3 * n, n)).astype(np.float32)
    ct2["encoder/layer_0/self_attention/linear_0/weight"] = qkv
    ct2["encoder/layer_0/self_attention/linear_0/bias"] = np.arange(3 * n, dtype=np.float32)
    for name in ("self_attention/linear_1", "ffn/linear_0", "ffn/linear_1"):
        ct2[f"encoder/layer_0/{name}/weight"] = np.zeros((n, n), np.float32)
    for name in ("self_attention/layer_norm", "ffn/layer_norm"):
        ct2[f"encoder/layer_0/{name}/gamma"] = np.ones(n, np.float32)
        ct2[f"encoder/layer_0/{name}/beta"] = np.zeros(n, np.float32)
    ct2.update({
        "encoder/conv1/weight": np.zeros((n, 80, 3), np.float32),
        "encoder/conv2/weight": np.zeros((n, n, 3), np.float32),
        "encoder/position_encodings/encodings": np.zeros((10, n), np.float32),
        "encoder/layer_norm/gamma": np.ones(n, np.float32),
        "encoder/layer_norm/beta": np.zeros(n, np.float32),
        "decoder/embeddings/weight": np.zeros((50, n), np.float32),
        "decoder/position_encodings/encodings": np.zeros((7, n), np.float32),
        "decoder/layer_norm/gamma": np.ones(n, np.float32),
        "decoder/layer_norm/beta": np.zeros(n, np.float32),
        "encoder/num_heads": np.array(2, np.int16), "decoder/num_heads": np.array(2, np.int16),
    })
    dims, sd = to_whisper_state(ct2)
    np.testing.assert_array_equal(sd["encoder.blocks.0.attn.query.weight"], qkv[:n])
    np.testing.assert_array_equal(sd["encoder.blocks.0.attn.key.weight"], qkv[n : 2 * n])
    np.testing.assert_array_equal(sd["encoder.blocks.0.attn.value.bias"], np.arange(2 * n, 3 * n))
    assert "encoder.blocks.0.attn.key.bias" not in sd
    assert dims["n_audio_layer"] == 1 and dims["n_text_layer"] == 0
    assert (dims["n_vocab"], dims["n_text_ctx"], dims["n_audio_ctx"]) == (50, 7, 10)


# ----------------------------------------------------------------- the real tiny.en conversion
@pytest.mark.slow
def test_converted_tiny_en_matches_ctranslate2(ow: Any, models_dir: Path,
                                               clip_audio: dict[str, np.ndarray]) -> None:
    """Encoder outputs agree to float precision and greedy decoding gives the same tokens."""
    import ctranslate2
    import torch
    import whisper
    from whisper.tokenizer import get_tokenizer

    entry = whisper_entry("tiny.en")
    ct2_dir = entry.ct2_dir(models_dir)
    assert ct2_dir is not None
    model = ow._model  # the converted checkpoint, as loaded by the adapter
    ref = ctranslate2.models.Whisper(str(ct2_dir), device="cpu", compute_type="float32",
                                     intra_threads=1)
    mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(clip_audio["harvard"]))
    enc_ct2 = np.array(ref.encode(ctranslate2.StorageView.from_array(mel.numpy()[None]),
                                  to_cpu=True))
    with torch.inference_mode():
        enc_ow = model.encoder(mel[None]).numpy()
    assert enc_ow.shape == enc_ct2.shape
    assert np.abs(enc_ow - enc_ct2).max() < 1e-3 * np.abs(enc_ct2).max()

    tok = get_tokenizer(multilingual=False)
    ours = model.decode(mel, whisper.DecodingOptions(without_timestamps=True, fp16=False,
                                                     language="en")).tokens
    theirs = ref.generate(ctranslate2.StorageView.from_array(mel.numpy()[None]),
                          [list(tok.sot_sequence_including_notimestamps)],
                          beam_size=1)[0].sequences_ids[0]
    assert len(ours) > 20
    assert list(ours) == list(theirs)


@pytest.mark.slow
def test_alignment_heads_from_config(ow: Any, models_dir: Path) -> None:
    ct2_dir = whisper_entry("tiny.en").ct2_dir(models_dir)
    assert ct2_dir is not None
    heads = alignment_heads(ct2_dir)
    assert heads  # tiny.en's config lists them
    mask = ow._model.alignment_heads.to_dense()
    assert sorted(map(list, mask.nonzero().tolist())) == sorted(heads)


@pytest.mark.slow
def test_engines_agree_on_a_clip(ow: Any, fw: Any, clip_audio: dict[str, np.ndarray]) -> None:
    """Converted fp32 openai-whisper and int8 faster-whisper read the same words."""
    from asr_data import wer

    a = ow.transcribe(clip_audio["sense_and_sensibility_01_austen_64kb-0870"]).text
    b = fw.transcribe(clip_audio["sense_and_sensibility_01_austen_64kb-0870"]).text
    assert a and wer(a, b) <= 0.1, (a, b)
