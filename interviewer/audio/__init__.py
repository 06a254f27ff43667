"""Audio: speaking (TTS), recording with end-of-answer detection, playback, devices."""
