"""Recorder pieces that need no device: 48 kHz → 16 kHz decimation, Enter polling, the meter."""

from __future__ import annotations

import io
import os

import numpy as np

from interviewer.audio.recorder import LevelMeter, SoundDeviceRecorder, _Decimator


def test_decimator_keeps_speech_band_and_removes_aliases_across_blocks() -> None:
    sr_in = 48_000
    t = np.arange(sr_in) / sr_in
    tone = 0.5 * np.sin(2 * np.pi * 1000 * t)  # in band: kept
    alias = 0.3 * np.sin(2 * np.pi * 15_000 * t)  # above 8 kHz: would fold to 1 kHz if kept
    pcm = np.round((tone + alias) * 32767).astype(np.int16)
    dec = _Decimator(3)
    # Odd block sizes: the phase must carry over between blocks.
    out = np.concatenate([dec(pcm[i : i + 1021]) for i in range(0, pcm.shape[0], 1021)])
    assert out.dtype == np.int16 and out.shape[0] == 16_000
    y = out[2000:].astype(np.float64) / 32767  # skip the filter's start-up
    delay = (_Decimator(3).taps.shape[0] - 1) // 2 / sr_in  # linear-phase FIR group delay
    expected = 0.5 * np.sin(2 * np.pi * 1000 * (np.arange(2000, 16_000) / 16_000 - delay))
    assert np.max(np.abs(y - expected)) < 0.01


def test_enter_and_eof_are_read_from_the_stdin_fd() -> None:
    r, w = os.pipe()
    rec = SoundDeviceRecorder(enter_ends=True, meter=False)
    try:
        assert rec._poll_user(r) is None  # nothing typed
        os.write(w, b"abc")
        assert rec._poll_user(r) is None  # typing without Enter does not end the take
        os.write(w, b"\n")
        assert rec._poll_user(r) == "enter"
        os.close(w)
        w = -1
        assert rec._poll_user(r) == "eof"
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)
    rec.stop.set()
    assert rec._poll_user(None) == "interrupted"


def test_level_meter_draws_one_overwriting_line() -> None:
    buf = io.StringIO()
    meter = LevelMeter(buf, hint="Enter = done", interval=0.0)
    meter.update(1.25, np.full(800, 0.1, dtype=np.float32), True)
    meter.update(1.30, np.zeros(800, dtype=np.float32), False)
    meter.clear()
    text = buf.getvalue()
    assert text.count("\r\x1b[2K") == 3
    assert "1.2 s" in text and "-20.0 dB" in text and "speech" in text
    assert "-100.0 dB" in text  # digital silence hits the floor, not -inf


def test_endpoint_options_override_the_config() -> None:
    rec = SoundDeviceRecorder(silence_s=4.0, max_s=99.0, no_answer_s=7.0, enter_ends=False,
                              meter=False)
    assert (rec.config.silence_s, rec.config.max_s, rec.config.no_answer_s) == (4.0, 99.0, 7.0)
    assert rec.config.frame_s == 0.03
