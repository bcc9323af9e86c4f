"""Exercise checks for the lab notebooks: feedback that teaches, in English or Japanese.

Theory of operation: a notebook exercise stores the student's answer in a variable; the
check cell calls `check(...)`. A right answer prints a short confirmation; a wrong or
missing one raises `LabCheckError` (an AssertionError) whose message says what was
expected and *why* — the explanation is the point, not the red box.
"""
from __future__ import annotations

from typing import Any, Callable, Optional


class LabCheckError(AssertionError):
    """A wrong answer, with an explanation."""


_TEXT = {
    "en": {"missing": "{name}: no answer yet — replace the placeholder (None / ...) with your answer.",
           "wrong": "{name}: you gave {got!r}, expected {expected!r}.",
           "ok": "✓ {name}: correct.",
           "why": "Why: {why}"},
    "ja": {"missing": "{name}: まだ答えがありません。プレースホルダー（None / ...）をあなたの答えに置き換えてください。",
           "wrong": "{name}: あなたの答えは {got!r} ですが、正解は {expected!r} です。",
           "ok": "✓ {name}: 正解です。",
           "why": "理由: {why}"},
}


def _msg(lang: str, key: str, **kw) -> str:
    if lang not in _TEXT:
        raise ValueError(f"lang must be one of {sorted(_TEXT)}, not {lang!r}")
    return _TEXT[lang][key].format(**kw)


def check(name: str, got: Any, expected: Any, why: str = "", lang: str = "en",
          compare: Optional[Callable[[Any, Any], bool]] = None) -> None:
    """Check one answer. ``compare(got, expected)`` overrides equality (e.g. a tolerance)."""
    if got is None or got is Ellipsis:
        # no "why" here: it often contains the answer, and the student has not tried yet
        raise LabCheckError(_msg(lang, "missing", name=name))
    ok = compare(got, expected) if compare else got == expected
    if not ok:
        text = _msg(lang, "wrong", name=name, got=got, expected=expected)
        if why:
            text += "\n" + _msg(lang, "why", why=why)
        raise LabCheckError(text)
    print(_msg(lang, "ok", name=name))


def check_true(name: str, condition: bool, hint: str, lang: str = "en") -> None:
    """Check a property of the answer (``condition``); ``hint`` explains what should hold."""
    if condition is None or not condition:
        raise LabCheckError(f"{name}: {hint}")
    print(_msg(lang, "ok", name=name))
