"""The matcher each process answers from, rebuilt when the content in the database changes.

Building takes a few hundred milliseconds, asking takes about a millisecond, so each process keeps
one built matcher per database and checks the one-row ContentVersion counter at most every
CHECK_EVERY_SECONDS (and at once after a content change committed in this process): an import in
any process (or the admin panel) reaches every worker within that time, without a restart and
without any worker-to-worker messaging.
"""
from __future__ import annotations

import ctypes
import gc
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache

from sqlalchemy import bindparam, event
from sqlalchemy.engine import URL, Engine
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, select

from content.matcher import Doc, Matcher, MatchResult
from content.notice_docs import published_notice_docs
from core.db import run, session_scope
from core.models.catalog import CatalogItem, ContentVersion, ServiceGuide, Synonym

log = logging.getLogger("content.index")
_SPLIT = re.compile(r"[、,，;；/|\s]+")


@dataclass
class _Built:
    version: int
    matcher: Matcher
    by_key: dict[str, Doc]
    seconds: float = 0.0          # how long the build took
    # Items and guides read back for answers (see item_row), dropped with this index.
    rows: dict[str, CatalogItem | ServiceGuide] = field(default_factory=dict)


_cache: dict[str, _Built] = {}
# glibc's malloc_trim (absent elsewhere, e.g. musl): see return_freed_memory
_MALLOC_TRIM = getattr(ctypes.CDLL(None), "malloc_trim", None)
_lock = threading.Lock()
# A rebuild slower than this runs in the background while questions get the previous index, so
# a large catalog never holds a resident's reply past WeChat's 5 seconds. A county catalog of a few
# hundred items builds in about half a second (more on a busy host) and is rebuilt in line, so the
# next question after an edit already sees it; 50,000 items take 15 s and go to the background.
BACKGROUND_AFTER_SECONDS = 2.5
# How stale a worker's view of the content version may be: one one-row query per this interval per
# worker, instead of one per message. A change committed in this process is seen at once.
CHECK_EVERY_SECONDS = 0.3
_checked_at: dict[str, float] = {}     # url → time.monotonic() of the last version check
_seen_generation: dict[str, int] = {}  # url → _generation at that check
_generation = 0                        # content changes committed in this process


@event.listens_for(OrmSession, "after_commit")
def _content_committed(session: OrmSession) -> None:
    """bump_content_version marks its session; once that commits, the next question re-checks."""
    global _generation
    if session.info.pop("content_changed", False):
        _generation += 1


def _check_due(url: str) -> bool:
    return (_seen_generation.get(url) != _generation
            or time.monotonic() - _checked_at.get(url, float("-inf")) >= CHECK_EVERY_SECONDS)


def _mark_checked(url: str, generation: int) -> None:
    _checked_at[url] = time.monotonic()
    _seen_generation[url] = generation


_VERSION = select(ContentVersion.version).where(ContentVersion.id == 1)


def content_version(session: Session) -> int:
    row = session.exec(_VERSION).first()
    return int(row or 0)


def _keywords(text: str, shared: dict | None = None) -> tuple[str, ...]:
    words = tuple(dict.fromkeys(w for w in _SPLIT.split(text or "") if w))
    if shared is None:
        return words
    words = tuple(shared.setdefault(w, w) for w in words)
    return shared.setdefault(words, words)


def catalog_doc(item: CatalogItem, shared: dict | None = None) -> Doc:
    """The whole item: name (+ optional aliases), 一级事项 and 领域, content, and the other elements.
    `shared`: one object per repeated 领域, 一级事项 and alias (see load_docs)."""
    more = " ".join(x for x in (item.time_limit, item.subject, item.channel, item.method, item.basis) if x)
    domain, head = item.domain, item.level1
    if shared is not None:
        domain, head = shared.setdefault(domain, domain), shared.setdefault(head, head)
    return Doc(key=f"catalog:{item.id}", type="catalog", title=item.name, domain=domain,
               keywords=_keywords(item.keywords, shared), body=item.content, head=head, more=more)


def guide_doc(guide: ServiceGuide, shared: dict | None = None) -> Doc:
    """The whole guide: name, whom and what it is for, then how (materials, steps, place, fees)."""
    more = " ".join(x for x in (guide.materials, guide.process, guide.time_limit, guide.location, guide.fee) if x)
    domain = guide.domain if shared is None else shared.setdefault(guide.domain, guide.domain)
    return Doc(key=f"guide:{guide.id}", type="guide", title=guide.name, domain=domain,
               keywords=_keywords(guide.keywords, shared), body=f"{guide.target} {guide.conditions} {guide.faq}",
               more=more)


def synonym_groups(session: Session) -> list[list[str]]:
    return [s.term_list for s in session.exec(select(Synonym).order_by(Synonym.id)).all()]  # type: ignore[arg-type]


def load_docs(session: Session) -> list[Doc]:
    # in batches: 50,000 rows as ORM objects at once are ~100 MB of small objects that, freed,
    # leave holes between the index's own and keep a worker's memory up
    # Villages' copies of one standard item repeat its 领域, 一级事项 and aliases: one object each
    # from the start, so the duplicates die at once rather than after the build, between survivors.
    batches = {"yield_per": 1000}
    shared: dict = {}
    docs = [catalog_doc(c, shared) for c in session.exec(
        select(CatalogItem).order_by(CatalogItem.id).execution_options(**batches))]  # type: ignore[arg-type]
    docs += [guide_doc(g, shared) for g in session.exec(
        select(ServiceGuide).order_by(ServiceGuide.id).execution_options(**batches))]  # type: ignore[arg-type]
    docs += published_notice_docs(session)
    return docs


def build(session: Session) -> Matcher:
    t0 = time.perf_counter()
    docs = load_docs(session)
    matcher = Matcher.build(docs, synonym_groups(session))
    log.info("matcher built: %d docs in %.0f ms", len(docs), (time.perf_counter() - t0) * 1000)
    return matcher


@lru_cache(maxsize=16)
def _rendered(url: URL) -> str:
    return url.render_as_string(hide_password=False)


def _url(session: Session) -> str:
    """The key of the session's database in this process (rendered once per URL: a message asks
    for it several times)."""
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    return _rendered(engine.url)


def return_freed_memory() -> None:
    """Hand the memory a build freed back to the system. A build allocates far more scratch
    (rows, texts, gram counters, growing arrays) than the index it keeps, and glibc keeps freed
    memory for reuse: at 50,000 documents ~70 MB of a worker's RSS was scratch already freed."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def _rebuild(url: str) -> _Built:
    """Build from the database's current content (caller holds _lock)."""
    t0 = time.perf_counter()
    gc.unfreeze()                     # what the last build froze is collectable again (see below)
    with session_scope(url, readonly=True) as fresh:
        version = content_version(fresh)
        matcher = build(fresh)
    built = _Built(version, matcher, {i.doc.key: i.doc for i in matcher.docs}, time.perf_counter() - t0)
    _cache[url] = built               # the previous index (if any) is freed here
    return_freed_memory()
    # The index, the modules and everything else alive now stay alive until the next build: moved
    # out of the collector's sight, a full collection no longer walks them. Without this, a worker
    # with 20,000 items paused every thread for ~150 ms about once per 3,000 messages (the p99 of a
    # busy hour). The index holds no reference cycles (it is freed by reference counting), and
    # anything frozen that becomes cyclic garbage is collected after the next build's unfreeze.
    gc.freeze()
    return built


def _rebuild_in_background(url: str) -> None:
    try:
        _rebuild(url)
    except Exception:  # noqa: BLE001 - keep answering from the old index; the next question retries
        log.exception("matcher rebuild failed")
    finally:
        _lock.release()


def get_matcher(session: Session) -> Matcher:
    """The matcher for this session's database, rebuilt if the content version moved on.

    The rebuild reads through its own read-only session, so it never holds the caller's write
    transaction (on SQLite: the database's write lock); while one thread rebuilds, the others keep
    answering from the previous index; a slow rebuild (a large catalog) runs in the background.
    """
    url = _url(session)
    built = _cache.get(url)
    if built is not None and not _check_due(url):
        return built.matcher
    generation = _generation
    version = content_version(session)
    _mark_checked(url, generation)
    if built is not None and built.version == version:
        return built.matcher
    if built is None:
        with _lock:
            built = _cache.get(url)
            if built is None or built.version != version:
                built = _rebuild(url)
            return built.matcher
    if not _lock.acquire(blocking=False):
        return built.matcher                      # someone is rebuilding right now
    if built.seconds > BACKGROUND_AFTER_SECONDS:
        threading.Thread(target=_rebuild_in_background, args=(url,), daemon=True,
                         name="matcher-rebuild").start()   # releases _lock when done
        return built.matcher
    try:
        return _rebuild(url).matcher
    finally:
        _lock.release()


def refresh(engine: Engine) -> None:
    """Bring this process's index up to date through a read-only session of its own, if a check is
    due; the webhook calls it before it opens a message's write transaction, so a rebuild never
    runs while that transaction holds SQLite's write lock."""
    url = _rendered(engine.url)
    if url in _cache and not _check_due(url):
        return
    with session_scope(url, readonly=True) as session:
        get_matcher(session)


def warm_up(url: str) -> bool:
    """Build this process's index now (before the first question); False if the database has no
    content tables yet (a worker started before `init-db`), in which case the first question builds."""
    from sqlalchemy.exc import SQLAlchemyError


    try:
        with session_scope(url, readonly=True) as session:
            get_matcher(session)
        return True
    except SQLAlchemyError as exc:
        log.warning("matcher warm-up skipped: %s", exc.__class__.__name__)
        return False


def warm_up_in_background(url: str) -> threading.Thread:
    """Warm up without delaying the worker's start: questions arriving meanwhile wait on the lock."""
    thread = threading.Thread(target=warm_up, args=(url,), daemon=True, name="matcher-warmup")
    thread.start()
    return thread


_prefetched = threading.local()   # (matcher, (question, village, limit), result) of this thread


def prefetch(session: Session, question: str, village: str | None, limit: int = 4) -> None:
    """Match now, through a read-only session, so that the message's write transaction (on SQLite
    the database's one write lock) only looks the result up (see `match`)."""
    matcher = get_matcher(session)
    _prefetched.value = (matcher, (question, village, limit), matcher.match(question, village=village, limit=limit))


def match(session: Session, question: str, village: str | None, limit: int = 4) -> MatchResult:
    """The matcher's result for a question: the prefetched one if it was made by the current index
    for the same question and village (the matcher is deterministic), else computed now."""
    matcher = get_matcher(session)
    memo = getattr(_prefetched, "value", None)
    _prefetched.value = None
    if memo is not None and memo[0] is matcher and memo[1] == (question, village, limit):
        return memo[2]
    return matcher.match(question, village=village, limit=limit)


def doc_by_key(session: Session, key: str) -> Doc | None:
    """A document of the current index by its key (what a numbered choice refers to)."""
    get_matcher(session)
    built = _cache.get(_url(session))
    return built.by_key.get(key) if built else None


# How many answered items and guides a worker keeps read (see item_row): questions cluster on few
# items, and at ~1 KB each this bounds the cache to about a megabyte per worker.
ROWS_KEPT = 1000
_MODELS: dict[str, type[CatalogItem] | type[ServiceGuide]] = {"catalog": CatalogItem, "guide": ServiceGuide}
_ROW_BY_ID = {kind: select(model.__table__).where(  # type: ignore[union-attr]
    model.__table__.c.id == bindparam("b_id")) for kind, model in _MODELS.items()}  # type: ignore[union-attr]


def item_row(session: Session, key: str) -> CatalogItem | ServiceGuide | None:
    """The catalog item or guide behind a document key ("catalog:12", "guide:3"), as of the index
    the process answers from; None if there is none.

    Kept with that index, so a question about an item asked before is answered without reading it
    again (a `session.get` cost more than composing the answer, and on PostgreSQL a round trip):
    every change to items or guides bumps the content version, and a new version replaces the index
    and these copies with it (within CHECK_EVERY_SECONDS; the matching is no fresher than that). The
    copies are detached objects that nothing writes to; they are shared by the worker's threads."""
    kind, _, ident = key.partition(":")
    model = _MODELS.get(kind)
    if model is None or not ident.isdigit():
        return None
    get_matcher(session)
    built = _cache.get(_url(session))
    row = built.rows.get(key) if built is not None else None
    if row is None:
        found = run(session, _ROW_BY_ID[kind], {"b_id": int(ident)}).first()
        if found is None:
            return None
        row = model(**found._mapping)
        if built is not None:
            if len(built.rows) >= ROWS_KEPT:
                built.rows.clear()
            built.rows[key] = row
    return row


def clear_cache() -> None:
    _cache.clear()
    _checked_at.clear()
    _seen_generation.clear()
