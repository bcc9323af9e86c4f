from hypothesis import given, strategies as st

from simtcp.seq import MASK, Seq, after, before, seq_max, seq_min, unwrap, wire

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


# ------------------------------------------------- unwrapped numbers inside a connection
def linux_before(a: int, b: int) -> bool:
    """include/net/tcp.h before(): (s32)(seq1 - seq2) < 0, on 32-bit values."""
    d = (a - b) & 0xFFFFFFFF
    return (d - 2**32 if d >= 2**31 else d) < 0


@given(u32, st.integers(min_value=0, max_value=2**40))
def test_unwrap_is_the_nearest_value_with_those_low_32_bits(x, ref):
    u = unwrap(x, ref)
    assert u & MASK == x and wire(u) == x and type(wire(u)) is int   # a header field
    assert ref - 2**31 <= u < ref + 2**31


@given(u32, st.integers(min_value=0, max_value=2**40))
def test_comparing_with_the_reference_gives_linux_before_and_after(x, ref):
    """For every 32-bit field: u < ref is Linux's before(x, ref); u > ref is after(x, ref)
    except at exactly 2**31, where Linux says both before and after (seq.py docstring)."""
    u = unwrap(x, ref)
    r32 = ref & MASK
    assert (u < ref) == linux_before(x, r32) == before(x, r32) == before(u, ref)
    if (x - r32) & MASK != 2**31:
        assert (u > ref) == linux_before(r32, x) == after(x, r32)
    else:
        assert u < ref and linux_before(x, r32) and linux_before(r32, x)


@given(u32, st.integers(min_value=0, max_value=2**40), st.integers(0, 2**30),
       st.integers(-2**30, 2**30))
def test_a_second_reference_within_a_window_agrees_for_values_within_the_rest(x, ref, w, d):
    """Compared with another TCB value r (|r - ref| <= w), the unwrapped field orders as
    Linux's before() whenever it lies less than 2**31 - w from its own reference."""
    if abs(d) > w:
        return
    u, r = unwrap(x, ref), ref + d
    if abs(u - ref) < 2**31 - w:
        assert (u < r) == linux_before(x, r & MASK)
