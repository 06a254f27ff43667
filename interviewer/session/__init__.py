"""Practice sessions: the interview loop, crash-safe storage, metrics, reports, progress."""
