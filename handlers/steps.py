"""Conversations as declared step tables, in the spirit of python-telegram-bot's ConversationHandler.

A `Flow` has an entry (its start command, and `start()` for handlers that recognise the intent),
states (`Step`s, in order: each declares its prompt, its parser/validator and when it is needed),
fallbacks (commands answered mid-form, after which the step is asked again), a confirmation (a
numbered summary) and a timeout (the conversation row's expiry). The state lives in the
conversation table (`core/conversation.py`), so any worker can take the next message.

Written once here for every flow:
- one normalisation of the resident's text (`normalize`: full width, trailing punctuation that
  voice recognition adds — "取消。" cancels everywhere);
- cancel, back (`上一步`, a history of steps), edit (`修改 N` on the summary), restart (`重来`),
  help (`帮助` / `？`: the step again), expiry (told once, then the message is handled anew);
- choices answered by number, by label or by the words a resident would use (`Option.words`);
- a question asked mid-form (`looks_like_question`) answered through the matcher, then the step
  asked again.

The next step is the first step that is needed and not yet answered, so edits and branches
(for example delivery depends on the form) need no extra wiring: a parser that invalidates a later
answer just removes it.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from content.answering import respond
from handlers.context import Context, Reply
from handlers.router import command_text, dispatch, flow

CONFIRM = "confirm"
DONE = "done"

CANCEL_WORDS = frozenset({"取消", "算了", "退出", "不要了", "不弄了", "不填了", "不办了", "作废", "放弃"})
BACK_WORDS = frozenset({"上一步", "返回", "上一个", "返回上一步", "退回", "回上一步", "后退"})
HELP_WORDS = frozenset({"帮助", "怎么填", "怎么弄", "?", "？", ""})
EDIT_WORDS = frozenset({"修改", "更改", "改", "改一下"})
RESTART_WORDS = frozenset({"重来", "重新写", "重新填", "重填", "从头来"})
CONFIRM_WORDS = frozenset({"确认", "确定", "提交", "确认提交", "是", "对", "好", "好的", "没问题", "可以", "1"})
EDIT_RE = re.compile(r"(?:修改|更改|改)\s*第?\s*(\d{1,2}|[一二两三四五六七八九十])\s*(?:项|条|个)?")
_TRAILING = "。.!！~～、，, \u3000"
_QUESTION = re.compile(
    r"[?？]\s*$|(?:吗|呢|嘛)\s*$|怎么|咋|什么|啥|多少|哪里|哪儿|哪个|哪些|为什么|为啥|能不能|可不可以|是不是|"
    r"要不要|有没有|多久|多长时间|几天")


def normalize(text: str) -> str:
    """The one normalisation of a resident's reply: half width, trimmed, no trailing punctuation
    (voice recognition ends sentences with "。"), runs of spaces as one."""
    text = unicodedata.normalize("NFKC", text or "").strip()
    text = re.sub(r"\s+", " ", text)
    return text.rstrip(_TRAILING) or text


def is_cancel(text: str) -> bool:
    return normalize(text) in CANCEL_WORDS


def looks_like_question(text: str) -> bool:
    """A question rather than an answer: "要带户口本吗？", "邮寄要钱不" is not caught, which is fine —
    it is only used where the step's own parser did not accept the text (or for `ask_first` steps)."""
    return bool(_QUESTION.search(unicodedata.normalize("NFKC", text or "").strip()))


class Invalid(ValueError):
    """An answer the resident must correct; str(exc) is the friendly message."""


@dataclass(frozen=True)
class Goto:
    """Returned by a parser to go to a sub-step (for example "其他证件" → which document)."""

    step: str


# --------------------------------------------------------------------------- choices
_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_NUMBER = re.compile(r"(?:回复|选|选择|看|要)?\s*第?\s*([0-9]{1,2}|[一二两三四五六七八九十])\s*(?:个|号|项|条|种)?")

def parse_number(text: str) -> int | None:
    """'2', '２', '回复2', '第二个' → 2; anything else → None."""
    text = unicodedata.normalize("NFKC", text).strip().rstrip("。.!！ ")
    m = _NUMBER.fullmatch(text)
    if not m:
        return None
    token = m.group(1)
    return int(token) if token.isdigit() else _CN_DIGITS[token]


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    words: tuple[str, ...] = ()        # what residents say for it, besides the number and the label


_CN = {"一": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def cn_number(text: str) -> int | None:
    """'7', '七', '十五', '二十', '三十一', '两' → the number (up to 99); anything else → None."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    m = re.fullmatch(r"([一二两三四五六七八九])?(十)?([一二三四五六七八九])?", text)
    if not text or not m:
        return None
    tens, ten, ones = m.groups()
    if ten:
        return (_CN[tens] if tens else 1) * 10 + (_CN[ones] if ones else 0)
    if tens and not ones:
        return _CN[tens]
    return None


def choose(text: str, options: Sequence[Option]) -> str | None:
    """The option meant by `text`: its number ('2', '第二个', '二'), its label, or one of its words.
    Ambiguous or unknown → None."""
    t = normalize(text)
    if not t:
        return None
    n = parse_number(t)
    if n is not None:
        return options[n - 1].value if 1 <= n <= len(options) else None
    for opt in options:
        if t == opt.label or t in opt.words:
            return opt.value
    hits = {opt.value for opt in options
            if (len(t) >= 2 and t in opt.label) or opt.label in t or any(w in t for w in opt.words if len(w) >= 2)}
    return hits.pop() if len(hits) == 1 else None


def numbered(options: Iterable[Option | str]) -> str:
    return "\n".join(f"{i}. {o.label if isinstance(o, Option) else o}" for i, o in enumerate(options, 1))


def choice_error(options: Sequence[Option]) -> str:
    said = "、".join(f"“{o.label}”" for o in options[:3])
    return f"请回复 1 到 {len(options)} 之间的数字，或者直接说{said}。"


def parse_days(text: str, most: int = 60) -> int:
    """'7', '七天', '一周', '两个星期', '半个月', '不要' → days; refuses anything else."""
    t = normalize(text).replace("个", "").replace("星期", "周").replace("礼拜", "周")
    if t in ("不要", "不用", "不需要", "无", "没有", "不公示", "不要公示期", "零", "0天"):
        return 0
    if t in ("半月", "半个月"):
        return 15
    m = re.fullmatch(r"(.+?)(天|日|周|月)?", t)
    n = cn_number(m.group(1)) if m else None
    if m is None or n is None:
        raise Invalid(f"请回复天数，比如 7 或“七天”“一周”；不需要公示期回复 0。（0 到 {most} 天）")
    days = n * {"周": 7, "月": 30}.get(m.group(2) or "", 1)
    if not 0 <= days <= most:
        raise Invalid(f"公示期要在 0 到 {most} 天之间，比如 7。")
    return days


# --------------------------------------------------------------------------- steps and flows
Prompt = Callable[[Context, dict], str]
Parser = Callable[[Context, str, dict], "Goto | None"]


@dataclass
class Step:
    prompt: Prompt
    parse: Parser
    needed: Callable[[dict], bool] = lambda d: True
    answered: Callable[[dict], bool] | None = None   # default: data[key] is set
    key: str | None = None
    ask_first: bool = False        # a question could pass the parser (names): check for one first

    def is_answered(self, d: dict) -> bool:
        if self.answered is not None:
            return self.answered(d)
        return bool(d.get(self.key)) if self.key else False


def choice_step(key: str, head: str, options: Callable[[dict], Sequence[Option]] | Sequence[Option], *,
                after: Callable[[dict, str], None] | None = None, **kw: object) -> Step:
    """A step answered by picking one of `options` (by number, label or a resident's word)."""
    def opts(d: dict) -> Sequence[Option]:
        return options(d) if callable(options) else options

    def prompt(_ctx: Context, d: dict) -> str:
        return f"{head}回复数字：\n{numbered(opts(d))}"

    def parse(_ctx: Context, text: str, d: dict) -> None:
        got = choose(text, opts(d))
        if got is None:
            raise Invalid(choice_error(opts(d)))
        if after is not None:
            after(d, got)
        d[key] = got

    return Step(prompt, parse, key=key, **kw)  # type: ignore[arg-type]


@dataclass
class Fallback:
    """A command answered in the middle of a flow; the current step is asked again after it."""

    pattern: re.Pattern[str]
    handler: Callable[[Context, re.Match[str]], object]


@dataclass
class Flow:
    name: str
    steps: dict[str, Step]
    finish: Callable[[Context, dict], object]            # on 确认 (or when the last step is answered)
    intro: str = ""                                      # said before the first prompt
    start_pattern: re.Pattern[str] | None = None         # the entry command (also recognised mid-flow)
    confirm: Prompt | None = None                        # the summary; None: finish without asking
    summary: Callable[[Context, dict], list[tuple[str, str]]] | None = None  # (step, label) numbered as shown
    fallbacks: list[Fallback] = field(default_factory=list)
    entry: Callable[[Context, str], object] | None = None   # the start command's handler (prefix → reply)
    hint: str = "（发“上一步”返回，发“取消”退出）"
    doing: str = "填写"                                   # "您正在{doing}…"
    thing: str = "表"                                     # "您之前的{thing}…", "您的{thing}还在填写中"
    cancelled: str = "已取消，您填写的内容没有保存。"
    expired_tail: str = "已经作废，内容没有保存。"
    restart_hint: str = ""
    confirm_retry: str = "请回复“确认”提交，或“修改 序号”修改某项，或“取消”放弃。"
    confirm_words: frozenset[str] = CONFIRM_WORDS
    cancel_words: frozenset[str] = CANCEL_WORDS
    bare_edit_restarts: bool = False                     # "修改" alone: start over (else ask which line)
    keep_on_restart: tuple[str, ...] = ()
    errors: tuple[type[Exception], ...] = ()             # service errors shown to the resident as is

    def __post_init__(self) -> None:
        flow(self.name)(self.handle)

    # -- entry
    def start(self, ctx: Context, data: dict | None = None, prefix: str = "") -> str:
        d = {"_hist": [], **(data or {})}
        first = self.next_step(d)
        text = self.prompt(ctx, first, d)
        ctx.start_flow(self.name, first, d)
        return prefix + (self.intro + "\n\n" if self.intro else "") + text

    # -- the table
    def next_step(self, d: dict) -> str:
        for name, step in self.steps.items():
            if step.needed(d) and not step.is_answered(d):
                return name
        return CONFIRM if self.confirm is not None else DONE

    def prompt(self, ctx: Context, step: str, d: dict) -> str:
        if step == CONFIRM:
            assert self.confirm is not None
            return self.confirm(ctx, d)
        return self.steps[step].prompt(ctx, d)

    def _go(self, ctx: Context, step: str, d: dict, push: str | None, prefix: str = "") -> object:
        if step == DONE:
            return self.finish(ctx, d)
        hist = list(d.get("_hist", []))
        if push:
            hist.append(push)
        d["_hist"] = hist[-30:]
        text = self.prompt(ctx, step, d)      # a prompt may fill in data (a preview), so first
        ctx.set_step(step, d)
        return prefix + text

    def _restart(self, ctx: Context, d: dict, prefix: str = "") -> object:
        kept = {k: d[k] for k in self.keep_on_restart if k in d}
        return self.start(ctx, kept, prefix=prefix)

    def _again(self, ctx: Context, step: str, d: dict, head: str) -> Reply:
        """`head` (an answer to something else), then the current step asked again."""
        ctx.set_step(step, ctx.state.data if ctx.state else d)  # still here: the idle clock restarts
        tail = f"——您的{self.thing}还在填写中——\n{self.prompt(ctx, step, d)}"
        return Reply(f"{head}\n\n{tail}")

    def _answer_question(self, ctx: Context, step: str, d: dict) -> Reply | None:
        outcome = respond(ctx.session, ctx.text, ctx.village, openid=ctx.openid, record=False)
        if outcome.result.kind != "answer":
            return None
        parts = outcome.parts
        again = self._again(ctx, step, d, parts[-1])
        return again if len(parts) == 1 else Reply(parts[0], [*parts[1:-1], again.text])

    # -- one message
    def handle(self, ctx: Context) -> object:
        state = ctx.state
        assert state is not None
        word = normalize(ctx.text)
        if state.expired:
            return self._expired(ctx, word)
        d = dict(state.data)
        step = state.step
        if word in self.cancel_words:
            ctx.end_flow()
            return self.cancelled
        if word in BACK_WORDS:
            hist = list(d.get("_hist", []))
            if not hist:
                return "已经是第一步了。\n" + self.prompt(ctx, step, d)
            previous = hist.pop()
            d["_hist"] = hist
            text = self.prompt(ctx, previous, d)
            ctx.set_step(previous, d)
            return "好的，回到上一步。\n" + text
        if word in HELP_WORDS:
            return f"您正在{self.doing}{self.hint}。\n" + self.prompt(ctx, step, d)
        if word in RESTART_WORDS and step == CONFIRM:
            return self._restart(ctx, d, prefix="好的，从头来。\n")
        if self.start_pattern is not None and self.start_pattern.fullmatch(command_text(ctx.text)):
            return f"您正在{self.doing}，接着回答就行。\n" + self.prompt(ctx, step, d)
        for fb in self.fallbacks:
            m = fb.pattern.fullmatch(command_text(ctx.text))
            if m:
                got = fb.handler(ctx, m)
                got = got if isinstance(got, Reply) else Reply(str(got))
                again = self._again(ctx, step, d, "").text.strip()
                if got.followups:
                    return Reply(got.text, got.followups + [again])
                return Reply(f"{got.text}\n\n{again}")
        if step == CONFIRM:
            return self._confirm(ctx, word, d)
        return self._answer(ctx, step, d)

    def _answer(self, ctx: Context, step: str, d: dict) -> object:
        spec = self.steps.get(step)
        if spec is None:                      # a step this version no longer has: start it over
            return self._restart(ctx, d)
        if spec.ask_first and looks_like_question(ctx.text):
            answered = self._answer_question(ctx, step, d)
            if answered is not None:
                return answered
        refusals: tuple[type[Exception], ...] = (Invalid, *self.errors)
        try:
            result = spec.parse(ctx, ctx.text, d)
        except refusals as exc:
            if looks_like_question(ctx.text):
                answered = self._answer_question(ctx, step, d)
                if answered is not None:
                    return answered
            assert ctx.state is not None
            ctx.set_step(step, ctx.state.data)  # still here: the idle clock restarts
            return f"{exc}{self.hint}"
        if isinstance(result, Goto):
            return self._go(ctx, result.step, d, push=step)
        return self._go(ctx, self.next_step(d), d, push=step)

    def _confirm(self, ctx: Context, word: str, d: dict) -> object:
        m = EDIT_RE.fullmatch(word)
        if m and self.summary is not None:
            lines = self.summary(ctx, d)
            n = cn_number(m.group(1)) or 0
            if not 1 <= n <= len(lines):
                return f"没有第{n}项，请回复 1 到 {len(lines)} 之间的序号，比如“修改 2”。"
            target, label = lines[n - 1]
            return self._go(ctx, target, d, push=CONFIRM, prefix=f"好的，修改“{label}”。\n")
        if word in EDIT_WORDS:
            if self.bare_edit_restarts or self.summary is None:
                return self._restart(ctx, d)
            return "请回复要修改的序号，比如“修改 2”。"
        if word in self.confirm_words:
            following = self.next_step(d)
            if following != CONFIRM:  # should not happen; never finish an incomplete form
                return self._go(ctx, following, d, push=None)
            return self.finish(ctx, d)
        return self.confirm_retry

    def _expired(self, ctx: Context, word: str) -> object:
        """Told once; the message itself is then handled as if no flow were active."""
        ctx.end_flow()
        notice = (f"您之前的{self.thing}超过{ctx.config.conversation_ttl_minutes}分钟没有回复，"
                  f"{self.expired_tail}\n")
        if word in self.cancel_words:
            return notice.strip()
        if self.start_pattern is not None and self.start_pattern.fullmatch(command_text(ctx.text)):
            if self.entry is not None:
                return self.entry(ctx, notice + "\n")
            return self.start(ctx, prefix=notice + "\n")
        rest = dispatch(ctx)
        tail = rest.text or self.restart_hint
        return Reply(notice + tail, rest.followups)
