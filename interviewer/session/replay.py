"""`interviewer replay`: each take with its question, the transcript in step with the audio,
then the verdicts with their evidence."""

from __future__ import annotations

from collections.abc import Callable

from interviewer.env import Environment
from interviewer.errors import UsageError
from interviewer.protocols import Player, Speaker
from interviewer.session.exchange import ExchangeTurn, question_exchanges, targeted_score
from interviewer.session.feedback import summary
from interviewer.session.store import SessionRecord, SessionStore, TakeRecord

BOLD, END = "\033[1m", "\033[0m"


def _words_printer(take: TakeRecord, env: Environment) -> tuple[Callable[[float, float], None],
                                                                 Callable[[], None]]:
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
           player: Player | None, turn: int | None = None,
           speaker: Speaker | None = None) -> None:
    """Print each turn's question (spoken too when a `speaker` is given) and play its takes;
    a follow-up's takes are shown against what it asked, and each question ends with the summary
    of its whole exchange."""
    turns = rec.turns
    if turn is not None:
        if not 1 <= turn <= len(turns):
            raise UsageError(f"--turn {turn}: session {rec.id} has turns 1..{len(turns)}")
        turns = [turns[turn - 1]]
    where = {t.turn.index: (x, t) for x in question_exchanges(rec) for t in x.turns}
    for t in turns:
        env.out(f"\n== {t.index + 1}. {'Question' if t.kind == 'question' else 'Follow-up'}: "
                f"{t.text}")
        if speaker is not None:
            speaker.speak(t.text)
        exchange, xt = where[t.index]
        for take in t.takes:
            if len(t.takes) > 1:
                env.out(f"-- take {take.index + 1}")
            if not _play(rec, store, env, player, take):
                return
            for line in _verdict_lines(xt, take, emph=env.stdout_isatty):
                env.out(line)
        if turn is None and exchange.turns[-1] is xt and (closing := summary(exchange)):
            env.out(closing)


def _play(rec: SessionRecord, store: SessionStore, env: Environment, player: Player | None,
          take: TakeRecord) -> bool:
    """Play a take with its words in step (or print its transcript); False if stopped."""
    if player is not None and take.audio:
        path = store.audio_path(rec, take.audio)
        if path.is_file():
            on_progress, flush = _words_printer(take, env)
            try:
                player.play(path, on_progress=on_progress)
            except KeyboardInterrupt:
                flush()
                env.out("(stopped)")
                return False
            flush()
            return True
    env.out(take.transcript.text if take.transcript else "(no answer)")
    return True


def _verdict_lines(xt: ExchangeTurn, take: TakeRecord, *, emph: bool) -> list[str]:
    j = take.judgement
    if j is None:
        return []
    points = j.points
    if xt.turn.kind == "question":
        head = f"score {j.score:.0%}"
    elif xt.targets:
        points = [p for p in j.points if p.point_id in xt.targets]
        head = f"score on what the follow-up asked {targeted_score(points, xt.targets):.0%}"
    else:
        head = "no score of its own (adds to the question's coverage)"
    lines = [f"{head}  ({j.judge.backend}/{j.judge.model})"]
    for p in points:
        ev = ""
        if p.evidence:
            ev = f'  "{BOLD}{p.evidence}{END}"' if emph else f'  "{p.evidence}"'
        lines.append(f"  [{p.status:^7}] {p.point}{ev}")
    return lines


__all__ = ["replay"]
