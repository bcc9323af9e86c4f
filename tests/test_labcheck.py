"""simtcp.labcheck: right answers pass in their equivalent forms; wrong ones fail with
graded feedback that never shows the expected value unless the student asks for it."""
from __future__ import annotations

import errno

import pytest

import simtcp
from simtcp import labcheck
from simtcp.labcheck import LabCheckError, check, check_true
from simtcp.states import State


@pytest.fixture(autouse=True)
def fresh():
    labcheck.reset()
    yield
    labcheck.reset()
    simtcp.set_language("en")


def fails(*args, **kw) -> str:
    with pytest.raises(LabCheckError) as info:
        check(*args, **kw)
    return str(info.value)


@pytest.mark.parametrize("got, expected", [
    (34624, 34624), ("34624", 34624), (" 34624 ", 34624), (34624.0, 34624),
    ("even", "even"), ("Even", "even"), (" EVEN ", "even"),
    ("EACCES", errno.EACCES), (errno.EACCES, "EACCES"), ("errno.EACCES", "EACCES"),
    (PermissionError(errno.EACCES, "x"), "EACCES"), ("eacces", "EACCES"),
    (0.075, 0.07500000000000001), ("0.075", 0.075), (1, 1.0),
    ("TIME_WAIT", State.TIME_WAIT), ("time-wait", State.TIME_WAIT), (State.LISTEN, State.LISTEN),
    ("yes", True), (False, False), ("no", False),
    ([1, 2, 3], [1, 2, 3]), ((1, "2", 3), [1, 2, 3]), (["a", "B"], ("a", "b")),
    ([3, 1, 2], {1, 2, 3}), (("192.168.1.20", "80"), ("192.168.1.20", 80)),
])
def test_equivalent_forms_pass(got, expected, capsys):
    check("x", got, expected)
    assert "✓ x" in capsys.readouterr().out


@pytest.mark.parametrize("got, expected", [
    (34625, 34624), ("15", 16), ("1.64", 2), ("abc", 16), ([1], 16), (object(), 16),
    ("odd", "even"), (16, "even"), ("ENOENT", "EACCES"), (2, errno.EACCES + 1000),
    ("EPERM", errno.EACCES), (0.08, 0.075), ("x", 0.5), (True, 1.5),
    ("LISTEN", State.TIME_WAIT), ("maybe", True), ([1, 2], [1, 2, 3]), ([4, 5, 6], [1, 2, 3]),
    ([1, 2, 3], {1, 2, 4}), ({"a": 1}, [1]), (float("nan"), 3), (float("inf"), 3),
])
def test_wrong_answers_fail_with_labcheckerror_only(got, expected):
    text = fails("x", got, expected, nudge="look here", hint="the rule")
    assert "x:" in text


def test_feedback_is_graded_and_never_reveals_the_value():
    expected = 48152
    first = fails("answer_p", 1000, expected, nudge="the SYN-ACK's ports", hint="swap them")
    assert "the SYN-ACK's ports" in first and "swap them" not in first
    second = fails("answer_p", 1001, expected, nudge="the SYN-ACK's ports", hint="swap them")
    assert "swap them" in second
    third = fails("answer_p", 1002, expected, nudge="the SYN-ACK's ports", hint="swap them")
    assert 'simtcp.labcheck.solution("answer_p")' in third
    for text in (first, second, third):
        assert str(expected) not in text
    assert labcheck.attempts("answer_p") == 3


def test_solution_only_when_asked(capsys):
    with pytest.raises(LabCheckError):
        labcheck.solution("answer_q")           # its check has not run yet
    text = fails("answer_q", None, 4242, nudge="look")
    assert "no answer yet" in text and "4242" not in text
    assert labcheck.solution("answer_q") == 4242
    assert "4242" in capsys.readouterr().out
    assert "4242" in fails("answer_q", 1, 4242, reveal=True)


def test_right_answer_resets_and_explains(capsys):
    fails("a", 1, 2)
    check("a", "2", 2, explain="two, because ...")
    out = capsys.readouterr().out
    assert "✓ a" in out and "two, because" in out
    assert labcheck.attempts("a") == 0


def test_order_only_difference_is_named():
    assert "sorted" in fails("l", [3, 1, 2], [1, 2, 3])
    assert "order" in fails("l", [1, 2, 3], [3, 1, 2])
    assert "sorted" not in fails("l", [1, 2, 4], [1, 2, 3])
    assert "sorted" not in fails("t", (128, 3), (3, 128))      # a record, not a sorted list
    assert "order" in fails("t", (128, 3), (3, 128))


def test_form_messages_do_not_raise_python_errors():
    assert "number" in fails("n", "1.64x", 2)
    assert "fractional" in fails("n", "1.64", 2)
    assert "tolerance" in fails("f", 0.0751, 0.075, tol=1e-6)
    # a custom compare that chokes on the answer is a wrong answer, not a TypeError
    assert "compared" in fails("c", "abc", 5, compare=lambda g, e: g + 1 == e)


def test_check_true_graded():
    with pytest.raises(LabCheckError) as one:
        check_true("t", False, hint="the rule", nudge="look here")
    assert "look here" in str(one.value)
    with pytest.raises(LabCheckError) as two:
        check_true("t", None, hint="the rule", nudge="look here")
    assert "the rule" in str(two.value)
    check_true("t", [1], hint="the rule")


def test_japanese_feedback():
    simtcp.set_language("ja")
    text = fails("x", 1, 2, nudge="ポート")
    assert "まだ正解ではありません" in text and "見るところ: ポート" in text
    assert "正解です" not in text
    assert "not right" in fails("x", 1, 2, lang="en")


def test_experiment_helper_runs_and_leaves_no_trace(capsys):
    ns = {"check": check}
    exec("def _expected():\n    return 6 * 7\n\ncheck('e', '42', _expected)\n", ns)
    assert "✓ e" in capsys.readouterr().out
    assert "_expected" not in ns
    ns = {"check": check}
    with pytest.raises(LabCheckError) as info:
        exec("def _expected():\n    return 1 / 0\n\ncheck('e', 1, _expected)\n", ns)
    assert "could not compute" in str(info.value) and "_expected" not in ns
