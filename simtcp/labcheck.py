"""Exercise checks for the lab notebooks: feedback that teaches without giving the answer away.

Theory of operation: a notebook exercise stores the student's answer in a variable; the
check cell is ONE call, ``check("answer_x", answer_x, <expected, computed from the
simulation>, nudge=..., hint=...)``, so the check leaves nothing (no ``expected``) in the
student's namespace. labcheck keeps what it needs in this module:

* feedback is graded per exercise name: the first wrong answer gets the ``nudge`` (what
  to look at), every later wrong answer the stronger ``hint`` (the rule to apply). Neither
  contains the value; the value is shown only when the student asks for it —
  ``solution("answer_x")`` after running the check, or ``check(..., reveal=True)``.
  ``explain`` is shown after a correct answer (it may name the value then).
* equivalent forms are accepted: ``"34624"`` for 34624, ``"Even"`` for "even", errno names
  and numbers (``"EACCES"``, ``13``, ``errno.EACCES``), state names (``"TIME_WAIT"`` for
  ``State.TIME_WAIT``), "yes"/"no" for booleans, floats within a tolerance; a list with the
  right values in the wrong order is told "must be sorted" (or "order matters").
* a check that needs an experiment to know the answer defines ``def _expected(): ...`` in
  the check cell and passes the function itself as ``expected``: labcheck calls it and then
  deletes it from the notebook's namespace;
* it never raises anything but `LabCheckError` (an AssertionError): a comparison that fails
  in Python (``"1.64" < 2``) becomes a message about the form of the answer.

Texts follow `simtcp.set_language` unless a check passes ``lang=``.
"""
from __future__ import annotations

import enum
import errno as _errno
import math
import types
from numbers import Integral, Real
from typing import Any, Callable, Dict, Optional

from .lang import add_catalogue, language, tr

__all__ = ["LabCheckError", "check", "check_true", "solution", "attempts", "reset"]


class LabCheckError(AssertionError):
    """The answer is missing or wrong; the message says what to look at (never the value)."""


_MISSING = object()
_attempts: Dict[str, int] = {}          # wrong answers so far, per exercise name
_expected: Dict[str, Any] = {}          # the value of each exercise's last check, for solution()

add_catalogue({
    "labcheck.missing": {"ja": "{name}: まだ答えがありません。プレースホルダー（None / ...）を"
                               "あなたの答えに置き換えてから、このセルをもう一度実行してください。"},
    "labcheck.wrong": {"ja": "{name}: まだ正解ではありません（{n} 回目）。"},
    "labcheck.ok": {"ja": "✓ {name}: 正解です。"},
    "labcheck.look": {"ja": "見るところ: {text}"},
    "labcheck.hint": {"ja": "ヒント: {text}"},
    "labcheck.why": {"ja": "理由: {text}"},
    "labcheck.ask": {"ja": "どうしても分からなければ simtcp.labcheck.solution(\"{name}\") で答えを表示できます。"},
    "labcheck.reveal": {"ja": "答え: {value!r}"},
    "labcheck.no_check_yet": {"ja": "{name}: まだこの演習のチェックセルが実行されていません。"
                                    "先にチェックセルを実行してください。"},
    "labcheck.form.number": {"ja": "答えは数値（{kind}）です。{got_kind} の {got!r} は数値として"
                                   "読めません。"},
    "labcheck.form.integer": {"ja": "答えは整数です。{got!r} には小数部があります。"},
    "labcheck.form.bool": {"ja": "答えは True か False です。"},
    "labcheck.form.sequence": {"ja": "答えは値の並び（list）です。{got_kind} ではありません。"},
    "labcheck.form.length": {"ja": "要素の数が違います: {n} 個の値が必要です。"},
    "labcheck.form.sorted": {"ja": "値はそろっていますが、小さい順に並べる必要があります。"},
    "labcheck.form.order": {"ja": "値はそろっていますが、並び順が違います。順序に意味があります。"},
    "labcheck.form.close": {"ja": "近い値ですが、許容誤差（±{tol:g}）の外です。丸め方と単位を確認して"
                                  "ください。"},
    "labcheck.form.text": {"ja": "答えは文字列（str）です。"},
    "labcheck.form.compare": {"ja": "この答えは正解と比べられない形です（{got_kind}）。"},
    "labcheck.broken": {"ja": "{name}: このチェックは正解を計算できませんでした（{error}）。"
                              "実習を最初から実行し直してください。"},
    "labcheck.condition": {"ja": "{name}: 条件が満たされていません。"},
})


# ---------------------------------------------------------------- equivalent forms
def _kind(value: Any) -> str:
    return type(value).__name__


def _norm_word(text: str) -> str:
    """Case, surrounding blanks and the -/_/space spelling of names do not matter."""
    return " ".join(str(text).strip().lower().replace("_", " ").replace("-", " ").split())


def _as_number(got: Any) -> Any:
    if isinstance(got, bool):
        return None
    if isinstance(got, Real):
        return got
    if isinstance(got, str):
        try:
            return int(got.strip().replace("_", ""))
        except ValueError:
            try:
                return float(got.strip())
            except ValueError:
                return None
    return None


def _errno_number(value: Any) -> Optional[int]:
    """errno.EACCES, 13, "EACCES", "errno.EACCES", PermissionError(13, ...) -> 13."""
    if isinstance(value, OSError):
        return value.errno
    if isinstance(value, Integral) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        name = value.strip().upper()
        if name.startswith("ERRNO."):
            name = name[6:]
        return getattr(_errno, name, None) if name.startswith("E") else _as_number(name)
    return None


def _is_errno_name(value: Any) -> bool:
    return isinstance(value, str) and value.strip().upper() in _errno.errorcode.values()


class _Mismatch(Exception):
    """Internal: the answer is wrong; ``form`` says why in words that never hold the value."""

    def __init__(self, form: str = "") -> None:
        super().__init__(form)
        self.form = form


def _same(got: Any, expected: Any, tol: float) -> None:
    """Return if ``got`` is an accepted form of ``expected``; raise _Mismatch otherwise."""
    if isinstance(expected, enum.Enum):
        if got is expected:
            return
        words = {_norm_word(expected.name), _norm_word(str(expected))}
        if isinstance(expected.value, (str, int)):
            words.add(_norm_word(expected.value))
        cand = got.name if isinstance(got, enum.Enum) else got
        if isinstance(cand, (str, int)) and _norm_word(cand) in words:
            return
        raise _Mismatch()
    if _is_errno_name(expected) or isinstance(got, OSError):
        if _errno_number(got) is not None and _errno_number(got) == _errno_number(expected):
            return
        raise _Mismatch()
    if isinstance(expected, bool):
        if isinstance(got, str):
            got = {"true": True, "yes": True, "false": False, "no": False}.get(_norm_word(got), got)
        if isinstance(got, (bool, Integral)) and got in (0, 1):
            if bool(got) == expected:
                return
            raise _Mismatch()
        raise _Mismatch(tr("labcheck.form.bool", "The answer is True or False."))
    if isinstance(expected, Integral):
        if _is_errno_name(got):                      # "EACCES" for errno.EACCES
            if _errno_number(got) == expected:
                return
            raise _Mismatch()
        num = _as_number(got)
        if num is None:
            raise _Mismatch(tr("labcheck.form.number", "The answer is a number ({kind}); "
                               "{got_kind} {got!r} cannot be read as one.", kind="int",
                               got_kind=_kind(got), got=got))
        if isinstance(num, float) and not (math.isfinite(num) and num == int(num)):
            raise _Mismatch(tr("labcheck.form.integer", "The answer is a whole number; "
                               "{got!r} has a fractional part.", got=got))
        if num == expected:
            return
        raise _Mismatch()
    if isinstance(expected, Real):
        num = _as_number(got)
        if num is None:
            raise _Mismatch(tr("labcheck.form.number", "The answer is a number ({kind}); "
                               "{got_kind} {got!r} cannot be read as one.", kind="float",
                               got_kind=_kind(got), got=got))
        if math.isclose(num, expected, rel_tol=tol, abs_tol=tol * 1e-3):
            return
        if math.isclose(num, expected, rel_tol=0.05):
            raise _Mismatch(tr("labcheck.form.close", "Close, but outside the tolerance "
                               "(±{tol:g}, relative); check your rounding and units.", tol=tol))
        raise _Mismatch()
    if isinstance(expected, str):
        if isinstance(got, (str, enum.Enum)):
            cand = got.name if isinstance(got, enum.Enum) else got
            if _norm_word(cand) == _norm_word(expected):
                return
            raise _Mismatch()
        raise _Mismatch(tr("labcheck.form.text", "The answer is a text (str)."))
    if isinstance(expected, (set, frozenset)):
        if not isinstance(got, (set, frozenset, list, tuple)):
            raise _Mismatch(tr("labcheck.form.sequence", "The answer is a collection of "
                               "values (a list), not {got_kind}.", got_kind=_kind(got)))
        if len(set(map(_key, got))) == len(got) and set(map(_key, got)) == set(map(_key, expected)):
            return
        raise _Mismatch()
    if isinstance(expected, (list, tuple)):
        if not isinstance(got, (list, tuple)):
            raise _Mismatch(tr("labcheck.form.sequence", "The answer is a collection of "
                               "values (a list), not {got_kind}.", got_kind=_kind(got)))
        if len(got) != len(expected):
            raise _Mismatch(tr("labcheck.form.length", "Wrong number of values: {n} are "
                               "needed.", n=len(expected)))
        try:
            for g, e in zip(got, expected):
                _same(g, e, tol)
            return
        except _Mismatch:
            pass
        if _permutation(got, expected, tol):
            # a tuple is a record (each place means something); a list of 3+ values that
            # happens to be in ascending order is taken as "sorted" on purpose
            if (isinstance(expected, list) and len(expected) >= 3
                    and list(expected) == sorted(expected, key=_key)):
                raise _Mismatch(tr("labcheck.form.sorted", "The values are right, but they "
                                   "must be sorted (smallest first)."))
            raise _Mismatch(tr("labcheck.form.order", "The values are right, but not their "
                               "order; the order matters here."))
        raise _Mismatch()
    try:
        if bool(got == expected):
            return
    except Exception:
        raise _Mismatch(tr("labcheck.form.compare", "This answer cannot be compared with the "
                           "expected kind of value ({got_kind}).", got_kind=_kind(got))) from None
    raise _Mismatch()


def _key(value: Any) -> Any:
    """A sort/set key that puts equivalent forms together ("80" and 80, "LISTEN" and listen)."""
    num = _as_number(value) if not isinstance(value, bool) else None
    if num is not None:
        return (0, num)
    if isinstance(value, enum.Enum):
        return (1, _norm_word(value.name))
    if isinstance(value, str):
        return (1, _norm_word(value))
    return (2, repr(value))


def _permutation(got, expected, tol: float) -> bool:
    left = list(got)
    for e in expected:
        for i, g in enumerate(left):
            try:
                _same(g, e, tol)
            except _Mismatch:
                continue
            del left[i]
            break
        else:
            return False
    return not left


# --------------------------------------------------------------------- the checks
def check(name: str, got: Any, expected: Any, why: str = "", lang: Optional[str] = None,
          compare: Optional[Callable[[Any, Any], bool]] = None, *, nudge: str = "",
          hint: str = "", explain: str = "", tol: float = 1e-6, reveal: bool = False) -> None:
    """Check the answer ``got`` to exercise ``name`` against ``expected``.

    ``expected`` may be a zero-argument function (defined in the check cell, name starting
    with ``_``): it is called for the value and removed from the notebook's namespace.
    ``nudge``: what to look at, shown with the first wrong (or missing) answer;
    ``hint`` (older notebooks: ``why``): the rule, shown from the second wrong answer on;
    ``explain``: shown after a correct answer; ``tol``: relative tolerance for floats;
    ``compare(got, expected) -> bool`` replaces the built-in comparison; ``reveal=True``
    shows the expected value in the feedback. Prints a ✓ line when right, raises
    `LabCheckError` otherwise — and nothing else, whatever ``got`` is.
    """
    lang = language(lang)
    hint = hint or why
    if isinstance(expected, types.FunctionType):
        expected = _run_experiment(expected, name, lang)
    _expected[name] = expected
    if got is None or got is Ellipsis:
        lines = [tr("labcheck.missing", "{name}: no answer yet — replace the placeholder "
                    "(None / ...) with your answer, then run this cell again.", lang=lang,
                    name=name)]
        if nudge:
            lines.append(tr("labcheck.look", "Look at: {text}", lang=lang, text=nudge))
        _fail(lines, name, expected, reveal, lang)
    form = ""
    try:
        if compare is not None:
            ok = bool(compare(got, expected))
        else:
            _same(got, expected, tol)
            ok = True
    except _Mismatch as m:
        ok, form = False, m.form
    except Exception as exc:          # a custom compare that chokes on the student's answer
        ok, form = False, tr("labcheck.form.compare", "This answer cannot be compared with "
                             "the expected kind of value ({got_kind}).", lang=lang,
                             got_kind=_kind(got))
        del exc
    if ok:
        _attempts.pop(name, None)
        print(tr("labcheck.ok", "✓ {name}: correct.", lang=lang, name=name))
        if explain:
            print(tr("labcheck.why", "Why: {text}", lang=lang, text=explain))
        return
    n = _attempts[name] = _attempts.get(name, 0) + 1
    lines = [tr("labcheck.wrong", "{name}: not right yet (attempt {n}).", lang=lang,
                name=name, n=n)]
    if form:
        lines.append(form)
    if n == 1 or not hint:
        if nudge:
            lines.append(tr("labcheck.look", "Look at: {text}", lang=lang, text=nudge))
        elif hint and n == 1:
            lines.append(tr("labcheck.hint", "Hint: {text}", lang=lang, text=hint))
    else:
        lines.append(tr("labcheck.hint", "Hint: {text}", lang=lang, text=hint))
    if n >= 3:
        lines.append(tr("labcheck.ask", "Stuck? simtcp.labcheck.solution(\"{name}\") shows the "
                        "answer.", lang=lang, name=name))
    _fail(lines, name, expected, reveal, lang)


def _run_experiment(fn: types.FunctionType, name: str, lang: str) -> Any:
    """Call the check cell's zero-argument helper, then remove it from the notebook's
    namespace (its module globals), so the check cell leaves nothing behind."""
    try:
        return fn()
    except Exception as exc:          # the lab's own experiment failed: say so, clearly
        raise LabCheckError(tr("labcheck.broken", "{name}: this check could not compute the "
                               "expected answer ({error}); re-run the lab from the top.",
                               lang=lang, name=name, error=type(exc).__name__)) from None
    finally:
        if fn.__name__.startswith("_") and fn.__globals__.get(fn.__name__) is fn:
            del fn.__globals__[fn.__name__]


def _fail(lines, name: str, expected: Any, reveal: bool, lang: str) -> None:
    if reveal:
        lines.append(tr("labcheck.reveal", "Answer: {value!r}", lang=lang, value=expected))
    raise LabCheckError("\n".join(lines))


def check_true(name: str, condition: Any, hint: str, lang: Optional[str] = None, *,
               nudge: str = "", explain: str = "") -> None:
    """Check a property of the answer (``condition`` is true when the answer is right).

    ``nudge`` is shown with the first failure, ``hint`` with later ones (or always, when
    there is no nudge). There is no value to reveal: ``solution(name)`` says so.
    """
    lang = language(lang)
    _expected.pop(name, None)
    try:
        ok = condition is not None and bool(condition)
    except Exception:
        ok = False
    if ok:
        _attempts.pop(name, None)
        print(tr("labcheck.ok", "✓ {name}: correct.", lang=lang, name=name))
        if explain:
            print(tr("labcheck.why", "Why: {text}", lang=lang, text=explain))
        return
    n = _attempts[name] = _attempts.get(name, 0) + 1
    text = nudge if (n == 1 and nudge) else hint
    raise LabCheckError(tr("labcheck.condition", "{name}: the condition does not hold yet.",
                           lang=lang, name=name) + "\n"
                        + tr("labcheck.hint", "Hint: {text}", lang=lang, text=text))


def solution(name: str, lang: Optional[str] = None) -> Any:
    """Show (print) and return the expected answer of exercise ``name`` — only when asked.

    The check cell computes the value, so run it once first.
    """
    lang = language(lang)
    if name not in _expected:
        raise LabCheckError(tr("labcheck.no_check_yet", "{name}: the check cell of this "
                               "exercise has not run yet; run it first.", lang=lang, name=name))
    value = _expected[name]
    print(tr("labcheck.reveal", "Answer: {value!r}", lang=lang, value=value))
    return value


def attempts(name: str) -> int:
    """How many wrong answers exercise ``name`` has had since its last correct one."""
    return _attempts.get(name, 0)


def reset() -> None:
    """Forget attempts and recorded answers (a fresh start, e.g. between test runs)."""
    _attempts.clear()
    _expected.clear()
