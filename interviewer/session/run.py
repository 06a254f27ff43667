"""Wiring for `interviewer practice`: pick questions, build engines (warming up in the
background), run the loop, print where everything was saved."""

from __future__ import annotations

import argparse
from contextlib import ExitStack
from typing import Any

from interviewer.bank.models import BankEntry
from interviewer.env import Environment
from interviewer.errors import ExitStatus
from interviewer.factory import Warm, make_judge, make_recorder, make_speaker, make_transcriber
from interviewer.judge.llm_log import JsonlSink
from interviewer.session.loop import Engines, PracticeSession
from interviewer.session.selection import select_questions
from interviewer.session.store import SessionRecord, SessionStore, new_session_id, now_iso
from interviewer.session.ui import Console, stream_is_tty

#: Settings stored with a session so `--resume` continues it the same way.
_KEPT = ("max_follow_ups", "silence", "max_s", "no_answer_timeout", "text", "answers_from",
         "no_tts", "asr", "asr_model", "judge", "judge_model", "voice", "rate")


def _prompt_for(entry: BankEntry) -> str | None:
    """Whisper's initial prompt: the question plus rubric vocabulary (aliases carry jargon)."""
    try:
        from interviewer.asr import build_prompt
    except ImportError:  # ASR extras missing: no vocabulary bias, transcription still works
        return entry.question.text
    terms = [a for p in entry.rubric.points for a in p.aliases]
    return build_prompt(entry.question.text, terms)


def run_practice(args: argparse.Namespace, env: Environment, store: SessionStore) -> ExitStatus:
    """Run (or resume) a session, holding its folder lock until the end (`rejudge` of a running
    session would otherwise be overwritten by the session's next save)."""
    with ExitStack() as hold:
        return _run_practice(args, env, store, hold)


def _run_practice(args: argparse.Namespace, env: Environment, store: SessionStore,
                  hold: ExitStack) -> ExitStatus:
    bank = env.load_bank()
    if args.resume:
        sid = store.resolve(args.resume)
        hold.enter_context(store.lock(sid))
        record = store.load(sid)
        for k, v in record.settings.items():
            if k in _KEPT:
                setattr(args, k, v if k != "answers_from" or v is None else __import__(
                    "pathlib").Path(v))
        record.status = "running"
        env.err(f"resuming {record.id}: {len(record.remaining())} question(s) left")
    else:
        drill = None
        if args.drill:
            from interviewer.session.progress import compute_progress

            drill = compute_progress(store.load_all(lambda m: env.err(f"warning: {m}")),
                                     bank).drill_order()
            if not drill:
                env.err("nothing is due for drilling yet: picking questions as usual")
        picked = select_questions(bank, question_ids=args.question, topic=args.topic,
                                  difficulty=args.difficulty, count=args.count, seed=args.seed,
                                  drill_order=drill)
        settings: dict[str, Any] = {k: getattr(args, k) for k in _KEPT}
        settings["answers_from"] = str(args.answers_from) if args.answers_from else None
        record = SessionRecord(id=new_session_id(), created=now_iso(), updated=now_iso(),
                               plan=[e.id for e in picked], settings=settings)
        store.create(record)
        hold.enter_context(store.lock(record.id))
    entries = {qid: bank.entries[qid] for qid in record.plan if qid in bank.entries}
    for qid in record.plan:
        if qid not in entries:  # removed from the bank since: the loop skips it
            env.err(f"warning: question {qid!r} is no longer in the bank; skipped")

    console = Console(env.stdin, env.stdout, env.stderr, interactive=env.stdin_isatty,
                      live=stream_is_tty(env.stderr))
    speaker = make_speaker(no_tts=args.no_tts, voice=args.voice, rate=args.rate,
                           output_device=args.output_device)
    record.engines["tts"] = "print" if args.no_tts else "pyttsx3"
    # Engines load on background threads once the first question has started playing.
    gate = getattr(speaker, "started", None)
    # `refine`: with the offline LLM, the follow-up comes from a fast first pass and the LLM's
    # verdicts are stored when ready (see judge/refine.py).
    # Every LLM exchange goes straight to the session's llm_calls.jsonl (0600), from any thread.
    llm_log = JsonlSink(store.folder(record.id) / "llm_calls.jsonl")
    judge = Warm(lambda: make_judge(backend=args.judge, model=args.judge_model, refine=True,
                                    log=llm_log), "judge", after=gate)
    transcriber = None
    recorder = None
    if not args.text:
        transcriber = Warm(lambda: make_transcriber(engine=args.asr, model=args.asr_model,
                                                    models_dir=env.models_dir), "asr",
                           after=gate)
        recorder = make_recorder(input_device=args.input_device, silence_s=args.silence,
                                 max_s=args.max_s, no_answer_s=args.no_answer_timeout,
                                 interactive=env.stdin_isatty, answers_from=args.answers_from)
        record.engines["asr"] = f"{args.asr}:{args.asr_model}"

    from interviewer.judge.policy import assess

    engines = Engines(speaker=speaker, recorder=recorder, transcriber=transcriber, judge=judge,
                      assess=assess, prompt_for=_prompt_for)
    session = PracticeSession(record, store, engines, console,
                              max_follow_ups=args.max_follow_ups, entries=entries)
    env.err(f"session {record.id} → {store.folder(record.id)}")
    record = session.run()
    _close_judge(judge)
    mean = record.mean_score()
    console.say(f"\nSession {record.id} {record.status}. Mean score: "
                + ("–" if mean is None else f"{mean:.0%}"))
    console.say(f"Saved in {store.folder(record.id)}  (replay: interviewer replay {record.id})")
    return ExitStatus.INTERRUPTED if record.status == "interrupted" and not session_quit(
        session) else ExitStatus.OK


def _close_judge(judge: Warm[Any]) -> None:
    """Stop a refining judge's background worker (queued LLM work is no longer wanted)."""
    if not judge.ready():
        return
    try:
        close = getattr(judge(), "close", None)
    except Exception:  # the judge failed to load: the session already reported it
        return
    if callable(close):
        close(wait=False)


def session_quit(session: PracticeSession) -> bool:
    """True when the candidate chose to quit (a normal end), not Ctrl-C."""
    return bool(getattr(session, "_quit", False))
