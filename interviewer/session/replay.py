"""`interviewer replay`: each take with its question, the transcript in step with the audio,
then the verdicts with their evidence."""

from __future__ import annotations

from interviewer.env import Environment
from interviewer.errors import UsageError
from interviewer.protocols import Player
from interviewer.session.store import SessionRecord, SessionStore, TakeRecord

BOLD, END = "\033[1m", "\033[0m"


def _words_printer(take: TakeRecord, env: Environment):  # type: ignore[no-untyped-def]
    """A progress callback printing each word once the audio reaches it."""
    words = take.transcript.words if take.transcript else []
    state = {"i": 0}

    def on_progress(pos: float, total: float) -> None:
        while state["i"] < len(words) and words[state["i"]].start <= pos:
            env.stdout.write(words[state["i"]].word.strip() + " ")
            env.stdout.flush()
            state["i"] += 1

    def flush() -> None:
        on_progress(float("inf"), 0.0)
        env.out()

    return on_progress, flush


def replay(rec: SessionRecord, store: SessionStore, env: Environment, *,
           player: Player | None, turn: int | None = None) -> None:
    turns = rec.turns
    if turn is not None:
        if not 1 <= turn <= len(turns):
            raise UsageError(f"--turn {turn}: session {rec.id} has turns 1..{len(turns)}")
        turns = [turns[turn - 1]]
    emph = env.stdout_isatty
    for t in turns:
        env.out(f"\n== {t.index + 1}. {'Question' if t.kind == 'question' else 'Follow-up'}: "
                f"{t.text}")
        for take in t.takes:
            if len(t.takes) > 1:
                env.out(f"-- take {take.index + 1}")
            played = False
            if player is not None and take.audio:
                path = store.audio_path(rec, take.audio)
                if path.is_file():
                    on_progress, flush = _words_printer(take, env)
                    try:
                        player.play(path, on_progress=on_progress)
                    except KeyboardInterrupt:
                        flush()
                        env.out("(stopped)")
                        return
                    flush()
                    played = True
            if not played:
                text = take.transcript.text if take.transcript else "(no answer)"
                env.out(text)
            j = take.judgement
            if j is None:
                continue
            env.out(f"score {j.score:.0%}  ({j.judge.backend}/{j.judge.model})")
            for p in j.points:
                ev = ""
                if p.evidence:
                    ev = f'  "{BOLD}{p.evidence}{END}"' if emph else f'  "{p.evidence}"'
                env.out(f"  [{p.status:^7}] {p.point}{ev}")


__all__ = ["replay"]
