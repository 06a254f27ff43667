"""Wiring for `interviewer practice`: open (or resume) the session, build its engines through the
factory (warming up in the background), run the loop, print where everything was saved.

What the command line asked for arrives as a typed `PracticeRequest`; the part that decides how
the session runs (`SessionSettings`) is stored with the session, and `--resume` runs on the stored
settings (devices come from the new command line: they belong to the machine).
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from interviewer.bank.loader import Bank
from interviewer.bank.models import BankEntry
from interviewer.env import Environment
from interviewer.errors import ExitStatus
from interviewer.factory import (
    Warm,
    make_judge,
    make_recorder,
    make_speaker,
    make_transcriber,
)
from interviewer.judge.llm_log import JsonlSink
from interviewer.protocols import SessionJudge
from interviewer.runtime import ENGINE_THREADS, set_engine_threads
from interviewer.session.exchange import session_score
from interviewer.session.loop import Engines, PracticeSession
from interviewer.session.selection import select_questions
from interviewer.session.store import (
    SessionRecord,
    SessionSettings,
    SessionStore,
    new_session_id,
    now_iso,
)
from interviewer.session.timeline import InterviewState
from interviewer.session.ui import Console, stream_is_tty


class PracticeRequest(BaseModel):
    """Everything `interviewer practice` was asked to do."""

    model_config = ConfigDict(extra="forbid")

    settings: SessionSettings = Field(default_factory=SessionSettings)  # stored with the session
    question_ids: list[str] = Field(default_factory=list)
    topic: str | None = None
    difficulty: str | None = None
    count: int = 3
    seed: int | None = None
    drill: bool = False
    input_device: str | None = None
    output_device: str | None = None
    resume: str | None = None  # a session id, folder or "last"
    plan: str | None = None  # mock interview: a plan's name or file (`--plan`)
    loops: list[int] = Field(default_factory=list)  # mock interview: seed loops (`--loop`)
    minutes: float | None = Field(default=None, gt=0)  # the interview's time (`--minutes`)


def _prompt_for(entry: BankEntry) -> str | None:
    """Whisper's initial prompt: the question plus rubric vocabulary (aliases carry jargon)."""
    try:
        from interviewer.asr import build_prompt
    except ImportError:  # ASR extras missing: no vocabulary bias, transcription still works
        return entry.question.text
    terms = [a for p in entry.rubric.points for a in p.aliases]
    return build_prompt(entry.question.text, terms)


def run_practice(req: PracticeRequest, env: Environment, store: SessionStore) -> ExitStatus:
    """Run (or resume) a session, holding its folder lock until the end (`rejudge` of a running
    session would otherwise be overwritten by the session's next save)."""
    with ExitStack() as hold:
        bank = env.load_bank()
        record = _open_record(req, env, store, bank, hold)
        entries = {qid: bank.entries[qid] for qid in record.plan if qid in bank.entries}
        for qid in record.plan:
            if qid not in entries:  # removed from the bank since: the loop skips it
                env.err(f"warning: question {qid!r} is no longer in the bank; skipped")
        engines, judge = build_engines(req, record, store, env)
        session = _session(record, store, engines, env, entries)
        console = session.ui
        env.err(f"session {record.id} → {store.folder(record.id)}")
        record = session.run()
        _close_judge(judge)
        mean = session_score(record, entries)
        console.say(f"\nSession {record.id} {record.status}. Mean score: "
                    + ("–" if mean is None else f"{mean:.0%}"))
        console.say(f"Saved in {store.folder(record.id)}  (replay: interviewer replay "
                    f"{record.id})")
        quit_early = record.status == "interrupted" and not session.quit_requested
        return ExitStatus.INTERRUPTED if quit_early else ExitStatus.OK


def _open_record(req: PracticeRequest, env: Environment, store: SessionStore, bank: Bank,
                 hold: ExitStack) -> SessionRecord:
    """The resumed session (its stored settings win) or a new one with the questions picked."""
    if req.resume:
        sid = store.resolve(req.resume)
        hold.enter_context(store.lock(sid))
        record = store.load(sid)
        record.status = "running"
        env.err(f"resuming {record.id}: {len(record.remaining())} question(s) left")
        return record
    interview = _interview(req, env, store, bank) if req.plan or req.loops else None
    plan = interview.question_ids() if interview else [e.id for e in _pick(req, env, store, bank)]
    record = SessionRecord(id=new_session_id(), created=now_iso(), updated=now_iso(),
                           plan=plan, settings=req.settings, interview=interview)
    store.create(record)
    hold.enter_context(store.lock(record.id))
    return record


def _session(record: SessionRecord, store: SessionStore, engines: Engines, env: Environment,
             entries: dict[str, BankEntry]) -> PracticeSession:
    """The practice loop, or for a mock interview the same loop on the interview clock."""
    args = (env.stdin, env.stdout, env.stderr)
    live = stream_is_tty(env.stderr)
    if record.interview is None:
        return PracticeSession(record, store, engines,
                               Console(*args, interactive=env.stdin_isatty, live=live),
                               max_follow_ups=record.settings.max_follow_ups, entries=entries)
    from interviewer.factory import limit_answer_length
    from interviewer.session.clock import SystemClock
    from interviewer.session.interview import InterviewSession, TimedConsole

    return InterviewSession(record, store, engines,
                            TimedConsole(*args, interactive=env.stdin_isatty, live=live),
                            entries=entries, clock=SystemClock(),
                            limit_recorder=limit_answer_length)


def _interview(req: PracticeRequest, env: Environment, store: SessionStore,
               bank: Bank) -> InterviewState:
    from interviewer.session.interview import plan_interview

    return plan_interview(env.project_root, bank, plan=req.plan, loops=req.loops,
                          minutes=req.minutes, seed=req.seed,
                          drill_order=_drill_order(req, env, store, bank))


def _drill_order(req: PracticeRequest, env: Environment, store: SessionStore,
                 bank: Bank) -> list[str] | None:
    """Question ids with points due for review, most due first (`--drill`); None otherwise."""
    if not req.drill:
        return None
    from interviewer.session.progress import compute_progress

    drill = compute_progress(store.load_all(lambda m: env.err(f"warning: {m}")),
                             bank).drill_order()
    if not drill:
        env.err("nothing is due for drilling yet: picking questions as usual")
    return drill


def _pick(req: PracticeRequest, env: Environment, store: SessionStore,
          bank: Bank) -> list[BankEntry]:
    drill = _drill_order(req, env, store, bank)
    return select_questions(bank, question_ids=req.question_ids, topic=req.topic,
                            difficulty=req.difficulty, count=req.count, seed=req.seed,
                            drill_order=drill)


def build_engines(req: PracticeRequest, record: SessionRecord, store: SessionStore,
                  env: Environment) -> tuple[Engines, Warm[SessionJudge]]:
    """The session's engines from its stored settings, all from the factory; Whisper and the
    judge load on background threads once the first question has started playing. The engines'
    CPU threads are set here, once for the session (`interviewer.runtime`)."""
    s = record.settings
    set_engine_threads(ENGINE_THREADS)
    speaker = make_speaker(no_tts=s.no_tts, voice=s.voice, rate=s.rate,
                           output_device=req.output_device, tts=s.tts,
                           models_dir=env.models_dir)
    record.engines["tts"] = speaker.engine
    gate = speaker.started
    # Every LLM exchange goes straight to the session's llm_calls.jsonl (0600), from any thread.
    # `refine`: an offline LLM reviews in the background after a fast first pass.
    llm_log = JsonlSink(store.folder(record.id) / "llm_calls.jsonl")
    judge = Warm(lambda: make_judge(backend=s.judge, model=s.judge_model, refine=True,
                                    log=llm_log, models_dir=env.models_dir), "judge", after=gate)
    transcriber, recorder = None, None
    if not s.text:
        transcriber = Warm(lambda: make_transcriber(engine=s.asr, model=s.asr_model,
                                                    models_dir=env.models_dir,
                                                    threads=ENGINE_THREADS), "asr", after=gate)
        recorder = make_recorder(input_device=req.input_device, silence_s=s.silence,
                                 max_s=s.max_s, no_answer_s=s.no_answer_timeout,
                                 interactive=env.stdin_isatty,
                                 answers_from=Path(s.answers_from) if s.answers_from else None)
        record.engines["asr"] = f"{s.asr}:{s.asr_model}"
    from interviewer.judge.policy import assess

    engines = Engines(speaker=speaker, recorder=recorder, transcriber=transcriber, judge=judge,
                      assess=assess, prompt_for=_prompt_for)
    return engines, judge


def _close_judge(judge: Warm[SessionJudge]) -> None:
    """Stop a refining judge's background worker (queued LLM work is no longer wanted)."""
    if not judge.ready():
        return
    try:
        built = judge()
    except Exception:  # the judge failed to load: the session already reported it
        return
    built.close(wait=False)


__all__ = ["PracticeRequest", "build_engines", "run_practice"]
