from hypothesis import given, strategies as st

from simtcp.seq import Seq, seq_max, seq_min

u32 = st.integers(min_value=0, max_value=2**32 - 1)


def test_addition_wraps_modulo_2_32():
    assert Seq(2**32 - 1) + 1 == 0
    assert int(Seq(2**32 - 10) + 20) == 10
    assert int(Seq(5) - 10) == 2**32 - 5


def test_comparison_across_the_wrap_uses_signed_difference():
    a, b = Seq(0xFFFFFFF0), Seq(0x00000005)
    assert b > a and a < b            # 5 is "after" 0xFFFFFFF0 in sequence space
    assert int(b) < int(a)            # ... although the raw integer is smaller
    assert b - a == 21 and a - b == -21
    assert seq_max(a, b) == b and seq_min(a, b) == a


def test_between_is_half_open_and_wraps():
    assert Seq(2).between(Seq(2**32 - 3), Seq(10))
    assert not Seq(10).between(Seq(2**32 - 3), Seq(10))
    assert not Seq(7).between(Seq(7), Seq(7))


@given(u32, st.integers(min_value=1, max_value=2**31 - 1))
def test_adding_less_than_half_the_space_is_always_after(a, n):
    assert Seq(a) + n > Seq(a)
    assert (Seq(a) + n) - Seq(a) == n


@given(u32)
def test_seq_is_hashable_and_equal_to_its_int(a):
    assert Seq(a) == a and hash(Seq(a)) == hash(a)
    assert {Seq(a): 1}[a] == 1
