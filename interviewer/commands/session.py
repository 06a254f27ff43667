"""`interviewer practice|sessions|rejudge|replay|report|progress|export`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from interviewer.audio.endpoint import DEFAULT_MAX_S, DEFAULT_NO_ANSWER_S, DEFAULT_SILENCE_S
from interviewer.env import Environment
from interviewer.errors import ExitStatus, UsageError
from interviewer.fsutil import write_private
from interviewer.judge import BACKENDS, JUDGE_HELP

if TYPE_CHECKING:  # the session package loads lazily (fast `--help`)
    from interviewer.bank.loader import Bank
    from interviewer.session.progress import Progress
    from interviewer.session.run import PracticeRequest
    from interviewer.session.store import SessionStore


def register(sub: Any) -> None:
    """Add practice, sessions, rejudge, replay, report, progress and export."""
    _add_practice(sub)
    _add_records(sub)


def _add_practice(sub: Any) -> None:
    p = sub.add_parser("practice", help="run a spoken practice session (the main job)")
    p.add_argument("--topic")
    p.add_argument("--question", action="append", default=[], metavar="ID",
                   help="ask this question (repeatable)")
    p.add_argument("--count", type=int, default=3, help="questions to ask (default 3)")
    p.add_argument("--difficulty", choices=["easy", "medium", "hard"])
    p.add_argument("--drill", action="store_true", help="weakest points first (spaced repetition)")
    p.add_argument("--seed", type=int)
    p.add_argument("--max-follow-ups", type=int, default=1)
    p.add_argument("--silence", type=float, default=DEFAULT_SILENCE_S,
                   help="seconds of silence after speech that end an answer "
                        f"(default {DEFAULT_SILENCE_S:g}: people pause to think)")
    p.add_argument("--max", dest="max_s", type=float, default=DEFAULT_MAX_S,
                   help=f"maximum answer length in seconds (default {DEFAULT_MAX_S:g})")
    p.add_argument("--no-answer-timeout", type=float, default=DEFAULT_NO_ANSWER_S,
                   help="end the take as 'no answer' if no speech starts within this many "
                        f"seconds (default {DEFAULT_NO_ANSWER_S:g})")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--text", action="store_true", help="type answers instead of speaking")
    mode.add_argument("--answers-from", type=Path, metavar="DIR",
                      help="WAV files in place of the microphone, in name order")
    _add_engine_args(p)
    p.add_argument("--out", type=Path, help="recordings root (default ./recordings)")
    p.add_argument("--resume", metavar="SESSION", help="continue a stopped session")
    _add_interview_args(p)
    p.set_defaults(func=cmd_practice)


def _add_interview_args(p: argparse.ArgumentParser) -> None:
    mock = p.add_mutually_exclusive_group()
    mock.add_argument("--loop", metavar="N|all",
                      help="a timed mock-interview loop of the seed document (1-8, or all): "
                           "the prompt, then every one of its follow-ups")
    mock.add_argument("--plan", metavar="NAME|FILE",
                      help="a whole timed mock interview from a plan (shipped: ml-engineer-45, "
                           "llm-engineer-30, seed-loops; or your own YAML file)")
    p.add_argument("--minutes", type=float,
                   help="the interview's time; every answer budget is scaled to fit")


def _add_engine_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-tts", action="store_true", help="print questions instead of speaking")
    p.add_argument("--input-device")
    p.add_argument("--output-device")
    p.add_argument("--tts", choices=["piper", "pyttsx3"],
                   help="question voice (default: the Piper neural voice when installed, "
                        "else pyttsx3/espeak-ng)")
    p.add_argument("--voice", help="voice id or name (see `interviewer voices`)")
    p.add_argument("--rate", type=int, help="words per minute")
    p.add_argument("--asr", default="faster-whisper", choices=["openai-whisper", "faster-whisper"],
                   help="speech recogniser (default faster-whisper: same accuracy, ~2x faster)")
    p.add_argument("--asr-model", default="tiny.en")
    p.add_argument("--judge", default="auto", choices=BACKENDS,
                   help=JUDGE_HELP + "; llama-cpp/fused (offline LLM) review each answer in "
                        "the background")
    p.add_argument("--judge-model")


def _add_records(sub: Any) -> None:
    s = sub.add_parser("sessions", help="list recorded sessions")
    s.add_argument("--format", choices=["table", "json"], default="table")
    s.add_argument("--out", type=Path)
    s.set_defaults(func=cmd_sessions)

    r = sub.add_parser("rejudge", help="judge stored transcripts again, keeping old judgements")
    r.add_argument("session")
    r.add_argument("--backend", default="auto", choices=BACKENDS, help=JUDGE_HELP)
    r.add_argument("--model")
    r.add_argument("--out", type=Path)
    r.set_defaults(func=cmd_rejudge)

    rp = sub.add_parser("replay", help="play takes with transcript and verdicts")
    rp.add_argument("session", help="session id, folder or 'last'")
    rp.add_argument("--turn", type=int, help="only this turn (1-based)")
    rp.add_argument("--no-audio", action="store_true")
    rp.add_argument("--output-device")
    rp.add_argument("--tts", choices=["piper", "pyttsx3"],
                    help="also speak each question with this voice before its takes")
    rp.add_argument("--out", type=Path)
    rp.set_defaults(func=cmd_replay)

    rep = sub.add_parser("report", help="write a session report")
    rep.add_argument("session")
    rep.add_argument("--format", choices=["md", "html", "json"], default="md")
    rep.add_argument("--output", "-o", type=Path, help="file to write (default stdout)")
    rep.add_argument("--out", type=Path)
    rep.set_defaults(func=cmd_report)

    pg = sub.add_parser("progress", help="scores over time and points due for drilling")
    pg.add_argument("--format", choices=["table", "json"], default="table")
    pg.add_argument("--out", type=Path)
    pg.set_defaults(func=cmd_progress)

    ex = sub.add_parser("export", help="export missed points")
    ex.add_argument("--anki", type=Path, required=True, metavar="FILE",
                    help="write missed points as Anki cards (tab-separated import file)")
    ex.add_argument("--out", type=Path)
    ex.set_defaults(func=cmd_export)


def _store(args: argparse.Namespace, env: Environment) -> SessionStore:
    from interviewer.session.store import SessionStore

    if getattr(args, "out", None):
        env.recordings_root = args.out
    return SessionStore(env.recordings)


def cmd_practice(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from interviewer.session.run import run_practice

    store = _store(args, env)
    if store.root.is_dir() and store.root_exposed():  # never chmod-ed: it is not ours
        env.err(f"warning: {store.root} is readable by other users (each session folder "
                "inside is still private, 0700)")
    return run_practice(practice_request(args), env, store)


def practice_request(args: argparse.Namespace) -> PracticeRequest:
    """The typed request of `interviewer practice` (its settings are stored with the session)."""
    from interviewer.session.interview import parse_loops
    from interviewer.session.run import PracticeRequest
    from interviewer.session.store import SessionSettings

    settings = SessionSettings(
        max_follow_ups=args.max_follow_ups, silence=args.silence, max_s=args.max_s,
        no_answer_timeout=args.no_answer_timeout, text=args.text,
        answers_from=str(args.answers_from) if args.answers_from else None,
        no_tts=args.no_tts, tts=args.tts, voice=args.voice, rate=args.rate, asr=args.asr,
        asr_model=args.asr_model, judge=args.judge, judge_model=args.judge_model)
    return PracticeRequest(settings=settings, question_ids=args.question, topic=args.topic,
                           difficulty=args.difficulty, count=args.count, seed=args.seed,
                           drill=args.drill, input_device=args.input_device,
                           output_device=args.output_device, resume=args.resume,
                           plan=args.plan, loops=parse_loops(args.loop) if args.loop else [],
                           minutes=_minutes(args.minutes))


def _minutes(value: float | None) -> float | None:
    if value is not None and not 0 < value <= 240:
        raise UsageError(f"--minutes {value:g}: give a time between 0 and 240 minutes")
    return value


def cmd_sessions(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from interviewer.session.exchange import session_score

    store = _store(args, env)
    rows: list[dict[str, Any]] = []
    for sid in store.ids():
        try:
            rec = store.load(sid)
        except Exception as exc:  # one broken folder must not hide the others
            rows.append({"id": sid, "error": str(exc)})
            continue
        rows.append({"id": rec.id, "date": rec.created, "status": rec.status,
                     "questions": len(rec.main_turns()), "turns": len(rec.turns),
                     "mean_score": session_score(rec)})
    if args.format == "json":
        env.out(json.dumps(rows, indent=2))
        return ExitStatus.OK
    if not rows:
        env.err(f"no sessions under {store.root}")
    for r in rows:
        if "error" in r:
            env.out(f"{r['id']}  ERROR {r['error']}")
            continue
        ms = "–" if r["mean_score"] is None else f"{r['mean_score']:.0%}"
        env.out(f"{r['id']}  {r['date']}  {r['status']:<11} {r['questions']} question(s)  "
                f"mean {ms}")
    return ExitStatus.OK


def cmd_rejudge(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from interviewer.factory import make_judge
    from interviewer.judge.llm_log import JsonlSink
    from interviewer.judge.policy import assess
    from interviewer.session.rejudge import rejudge

    store = _store(args, env)
    sid = store.resolve(args.session)
    with store.lock(sid):  # a running session would overwrite the new verdicts
        rec = store.load(sid)
        bank = env.load_bank()
        judge = make_judge(backend=args.backend, model=args.model, models_dir=env.models_dir,
                           log=JsonlSink(store.folder(rec.id) / "llm_calls.jsonl"))
        env.err(f"judge: {judge.info.backend} ({judge.info.model})"
                + (f" — {judge.info.note}" if judge.info.note else ""))
        result = rejudge(rec, bank.entries, judge, assess, after_each=store.save)
    for qid in result.skipped_questions:
        env.err(f"warning: question {qid!r} is no longer in the bank; skipped (its stored "
                "verdicts are kept)")
    for i, q in enumerate(result.questions, 1):
        env.out(f"question {i} ({q.question_id}): {_pct(q.after)} (was {_pct(q.before)})")
    env.err(f"re-judged {result.judged} answer(s) in {rec.id}")
    return ExitStatus.OK


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.0%}"


def cmd_replay(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from interviewer.session.replay import replay

    store = _store(args, env)
    rec = store.load(args.session)
    player = speaker = None
    if not args.no_audio:
        from interviewer.factory import make_player

        player = make_player(output_device=args.output_device)
        if args.tts:
            from interviewer.factory import make_speaker

            speaker = make_speaker(no_tts=False, output_device=args.output_device,
                                   tts=args.tts, models_dir=env.models_dir)
    replay(rec, store, env, player=player, turn=args.turn, speaker=speaker)
    return ExitStatus.OK


def cmd_report(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from interviewer.session.report import render

    store = _store(args, env)
    rec = store.load(args.session)
    try:
        bank = env.load_bank()
    except Exception:  # a report must still render if the bank has moved on
        bank = None
    text = render(rec, store, args.format, bank)
    if args.output:
        write_private(args.output, text)  # a report quotes the user's answers: 0600
        env.err(f"wrote {args.output}")
    else:
        env.out(text)
    return ExitStatus.OK


def _progress(args: argparse.Namespace, env: Environment) -> tuple[Progress, Bank]:
    from interviewer.session.progress import compute_progress

    store = _store(args, env)
    records = store.load_all(lambda msg: env.err(f"warning: {msg}"))
    bank = env.load_bank()
    return compute_progress(records, bank), bank


def cmd_progress(args: argparse.Namespace, env: Environment) -> ExitStatus:
    prog, _ = _progress(args, env)
    due = prog.due_points()
    if args.format == "json":
        env.out(json.dumps({
            "topics": {t: [{"date": d, "score": s} for d, s in v]
                       for t, v in prog.topic_scores.items()},
            "points": [{"question_id": p.question_id, "point_id": p.point_id, "point": p.point,
                        "box": p.box, "history": p.history,
                        "due": p.due.isoformat() if p.due else None}
                       for p in prog.points.values()],
            "due": [f"{p.question_id}/{p.point_id}" for p in due],
            "delivery": prog.delivery}, indent=2, default=str))
        return ExitStatus.OK
    if not prog.topic_scores:
        env.out("No judged answers yet: run `interviewer practice`.")
        return ExitStatus.OK
    env.out(f"{'topic':<24} {'answers':>7} {'mean':>6} {'last':>6}")
    for topic, scores in sorted(prog.topic_scores.items()):
        vals = [s for _, s in scores]
        env.out(f"{topic:<24} {len(vals):>7} {sum(vals) / len(vals):>6.0%} {vals[-1]:>6.0%}")
    env.out(f"\n{len(due)} point(s) due for drilling (`interviewer practice --drill`):")
    for p in due[:15]:
        env.out(f"  {p.question_id}: {p.point}")
    if prog.delivery:
        wpm = [float(str(d["words_per_minute"])) for d in prog.delivery
               if d.get("words_per_minute")]
        fpm = [float(str(d["fillers_per_minute"])) for d in prog.delivery
               if d.get("fillers_per_minute") is not None]
        if wpm:
            env.out(f"\ndelivery: {sum(wpm) / len(wpm):.0f} wpm on average"
                    + (f", {sum(fpm) / len(fpm):.1f} fillers/min" if fpm else ""))
    return ExitStatus.OK


def cmd_export(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from interviewer.session.progress import anki_rows

    prog, bank = _progress(args, env)
    rows = anki_rows(prog, bank)
    if not rows:
        raise UsageError("no missed points to export yet")
    lines = ["#separator:tab", "#html:true"] + [
        f"{f.replace(chr(9), ' ')}\t{b.replace(chr(9), ' ')}" for f, b in rows]
    write_private(args.anki, "\n".join(lines) + "\n")
    env.out(f"wrote {len(rows)} card(s) to {args.anki}")
    return ExitStatus.OK
