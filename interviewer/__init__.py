"""interviewer: a local, private, voice-first mock interviewer for ML interviews."""

__version__ = "0.1.0"
