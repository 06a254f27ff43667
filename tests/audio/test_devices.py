"""Device resolution and the machine description, on given device lists (no sound server)."""

from __future__ import annotations

import pytest

from interviewer.audio.devices import (
    AudioReport,
    DeviceInfo,
    PulseEndpoint,
    ResolvedDevice,
    resolve,
)
from interviewer.errors import AudioDeviceError

USB = DeviceInfo(2, "USB Headset: Audio (hw:1,0)", "ALSA", 1, 2, 48000.0)
HDA = DeviceInfo(1, "HDA Intel PCH: ALC3246 Analog (hw:0,0)", "ALSA", 2, 2, 44100.0)
PULSE = DeviceInfo(3, "pulse", "ALSA", 32, 32, 44100.0)
DEFAULT = DeviceInfo(4, "default", "ALSA", 32, 32, 44100.0, is_default_input=True,
                     is_default_output=True)
HDMI = DeviceInfo(5, "HDA Intel HDMI (hw:0,3)", "ALSA", 0, 8, 48000.0)
DEVICES = [HDA, USB, PULSE, DEFAULT, HDMI]
ENDPOINTS = [
    PulseEndpoint("alsa_input.usb-headset", "USB Headset Mono", "input", is_default=True),
    PulseEndpoint("alsa_output.usb-headset", "USB Headset Analog Stereo", "output"),
    PulseEndpoint("alsa_output.usb-headset.monitor", "Monitor of USB Headset", "input",
                  is_monitor=True),
]


def test_default_device_when_nothing_asked() -> None:
    d = resolve(None, "input", devices=DEVICES, pulse=None)
    assert (d.index, d.name, d.pulse_name) == (4, "default", None)


def test_index_and_name_substring() -> None:
    assert resolve("2", "input", devices=DEVICES, pulse=None).index == 2
    assert resolve(2, "output", devices=DEVICES, pulse=None).index == 2
    assert resolve("usb", "input", devices=DEVICES, pulse=None).index == 2
    assert resolve("hdmi", "output", devices=DEVICES, pulse=None).index == 5
    assert resolve("PULSE", "output", devices=DEVICES, pulse=None).index == 3  # exact wins


def test_output_only_device_is_not_an_input() -> None:
    with pytest.raises(AudioDeviceError, match="#5 does not exist or has no input"):
        resolve("5", "input", devices=DEVICES, pulse=None)
    with pytest.raises(AudioDeviceError, match="no audio input device matches 'hdmi'"):
        resolve("hdmi", "input", devices=DEVICES, pulse=None)


def test_ambiguous_name_lists_the_candidates() -> None:
    with pytest.raises(AudioDeviceError, match="ambiguous") as exc:
        resolve("hda", "output", devices=DEVICES, pulse=None)
    assert "HDMI" in str(exc.value) and "ALC3246" in str(exc.value)


def test_pulse_source_by_name_routes_through_the_pulse_device() -> None:
    d = resolve("headset mono", "input", devices=DEVICES, pulse=ENDPOINTS)
    assert d == ResolvedDevice("input", 3, "pulse:alsa_input.usb-headset",
                               pulse_name="alsa_input.usb-headset")


def test_routed_sets_and_restores_the_pulse_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.setenv("PULSE_SINK", "previous")
    d = ResolvedDevice("output", 3, "pulse:x", pulse_name="x")
    with d.routed():
        assert os.environ["PULSE_SINK"] == "x"
    assert os.environ["PULSE_SINK"] == "previous"


def test_no_device_at_all_says_so() -> None:
    with pytest.raises(AudioDeviceError, match="no audio input device found") as exc:
        resolve(None, "input", devices=[], pulse=None)
    assert "microphone" in (exc.value.hint or "")
    with pytest.raises(AudioDeviceError, match="no audio output device found") as exc:
        resolve("1", "output", devices=[HDA.__class__(0, "mic only", "ALSA", 1, 0, 16000.0)],
                pulse=None)
    assert "--no-tts" in (exc.value.hint or "")


def test_report_without_any_device_is_truthful() -> None:
    r = AudioReport(devices=[], pulse=None, pulse_server=None, has_dev_snd=False)
    ok, line = r.summary("input")
    assert not ok
    assert line.startswith("no audio input device found")
    assert "/dev/snd absent" in line and "no PulseAudio/PipeWire server reachable" in line


def test_report_server_without_portaudio_route_points_at_the_plugin() -> None:
    r = AudioReport(devices=[], pulse=ENDPOINTS, pulse_server="unix:/x", has_dev_snd=False)
    ok, line = r.summary("input")
    assert not ok and "libasound2-plugins" in line


def test_report_names_the_pulse_default_behind_default() -> None:
    r = AudioReport(devices=DEVICES, pulse=ENDPOINTS, pulse_server=None, has_dev_snd=True)
    ok, line = r.summary("input")
    assert ok and "#4 default" in line and "alsa_input.usb-headset" in line
    assert r.count("output") == 5 and r.count("input") == 4
