"""Typed reasons and events (simtcp.reasons): members, display text, and the counters and
views that decide on members, never on words."""
import enum

import pytest

import simtcp
from simtcp.link import DropMatching
from simtcp.reasons import (DemuxRule, DropReason, EventKind, Reason, SendCause, StateCause,
                            as_reason, words)
from simtcp.segment import Flags
from simtcp.viz import i18n

FAMILIES = (DropReason, SendCause, StateCause, EventKind, DemuxRule)


def test_members_are_strings_with_a_stable_machine_value_and_display_text():
    seen = set()
    for family in FAMILIES:
        assert issubclass(family, enum.StrEnum) and issubclass(family, Reason)
        for m in family:
            assert isinstance(m, str) and m == m.value and str(m) == m.value
            assert m.value.isidentifier() and m.value == m.value.lower()   # a machine name
            assert m.english and m.text == m.english          # English is the default
            assert (family, m.value) not in seen
            seen.add((family, m.value))
    assert DropReason("no_route") is DropReason.NO_ROUTE


def test_catalogue_entries_agree_with_the_members():
    """A reason's figure text comes from the catalogue under "reason.<value>"; its English
    must be the member's own words (one wording, not two)."""
    members = {m.key: m for family in FAMILIES for m in family}
    keys = [k for k in i18n.CATALOGUE if k.startswith("reason.")]
    assert keys
    for key in keys:
        assert key in members, f"{key} names no member"
        assert i18n.CATALOGUE[key]["en"] == members[key].english
    for m in DropReason:                       # every drop reason speaks Japanese in figures
        assert i18n.has(m.key) and m.label("ja") == i18n.t(m.key, "ja")


def test_words_never_become_reasons():
    assert as_reason("link_loss") is DropReason.LINK_LOSS
    with pytest.raises(ValueError, match="DropReason.LINK_LOSS"):
        as_reason("link loss")
    with pytest.raises(ValueError):
        DropMatching(lambda p: True, reason="lost on the way")
    net = simtcp.Network(seed=1)
    with pytest.raises(TypeError, match="DropReason"):
        net.drop("x", 1, None, "no route to host")


def test_flags_mark_what_counters_count():
    retrans = {m for m in SendCause if m.retransmission}
    assert retrans == {SendCause.SYN_RETRANSMISSION, SendCause.SYNACK_RETRANSMISSION,
                       SendCause.DUPLICATE_SYN, SendCause.RETRANSMISSION,
                       SendCause.FAST_RETRANSMIT, SendCause.FAST_RETRANSMIT_PARTIAL,
                       SendCause.TAIL_LOSS_PROBE,        # tcp_send_loss_probe retransmits
                       SendCause.RACK_RETRANSMIT}        # tcp_xmit_retransmit_queue()
    assert not SendCause.TIME_WAIT_FIN.retransmission
    assert {m for m in DropReason if m.tcp_error} == {
        DropReason.BAD_TCP_CHECKSUM, DropReason.BAD_TCP_DATA_OFFSET}
    assert words(EventKind.RTO, retry=2, next_rto=4.0) == \
        "retransmission timeout: retry 2, next RTO 4 s"


def _lost_last_ack(early_retrans=3):
    """The client closes first; its ACK of the server's FIN is lost, so the server
    retransmits the FIN and the client, in TIME-WAIT, ACKs it again. By default (Linux's
    tcp_early_retrans=3) the retransmission is a tail loss probe, which fires in place of
    the RTO; with 0 it is the retransmission timeout."""
    net = simtcp.Network(seed=3)
    client = net.add_host("client", "192.168.1.10")
    server = net.add_host("server", "192.168.1.20")
    server.sysctl["net.ipv4.tcp_early_retrans"] = early_retrans
    link = net.add_link(client, server, delay=0.010)
    srv = server.socket(); srv.bind(("0.0.0.0", 80)); srv.listen()
    cli = client.socket(); cli.connect(("192.168.1.20", 80))
    conn, _ = srv.accept()
    cli.close()
    conn.recv(10)
    net.run(until=net.now + 0.05)
    link.add_middlebox(DropMatching(
        lambda p: p.src == "192.168.1.10" and p.segment.flags == Flags.ACK,
        reason=DropReason.LINK_LOSS))
    conn.close()
    net.run()
    return net, client, server


def test_time_wait_ack_for_a_retransmitted_fin_is_not_a_retransmission():
    """Linux answers a retransmitted FIN in TIME-WAIT from tcp_timewait_state_process() via
    tcp_v4_timewait_ack(), which does not count in RetransSegs; the server's FIN
    retransmission (tcp_retransmit_skb) does."""
    net, client, server = _lost_last_ack()
    causes = [r.reason for r in net.trace if r.kind == "send" and r.host == "client"]
    assert SendCause.TIME_WAIT_FIN in causes
    assert client.counters["RetransSegs"] == 0
    server_sends = [r.reason for r in net.trace if r.kind == "send" and r.host == "server"]
    assert server.counters["RetransSegs"] == sum(c.retransmission for c in server_sends) >= 1
    assert net.trace.drop_reasons() == {DropReason.LINK_LOSS: 1}


def test_trace_shows_words_in_the_current_language():
    net, client, server = _lost_last_ack(early_retrans=0)
    text = str(net.trace)
    assert "[retransmitted FIN in TIME-WAIT: ACK, restart 2MSL]" in text
    assert "[link loss]" in text and "link_loss" not in text
    assert "✗ link loss" in net.trace.log()
    rto = [r for r in net.trace if r.what is EventKind.RTO]
    assert rto and rto[0].what_text.startswith("retransmission timeout: retry 1, next RTO ")
