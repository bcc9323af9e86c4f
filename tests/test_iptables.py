"""The iptables rule engine on its own (sans-IO): traversal semantics, stateful matches,
LOG lines, atomic changes, and a property test that iptables-save round trips behave the same.
"""
import pytest
from hypothesis import given, settings, strategies as st

from simtcp.fwmatch import CtState, PacketView
from simtcp.fwtarget import NatKind, RejectWith
from simtcp.iptables import IptablesError, Netfilter, Verdict

SYN = 0x02


def tcp(src="10.0.0.5", dst="192.168.1.1", sport=40000, dport=22, flags=SYN, **kw):
    return PacketView(src, dst, 6, sport, dport, flags, **kw)


def udp(src="10.0.0.5", dst="192.168.1.1", sport=5353, dport=53, **kw):
    return PacketView(src, dst, 17, sport, dport, **kw)


def nf_with(*commands):
    nf = Netfilter()
    for c in commands:
        nf.iptables(c)
    return nf


def test_first_terminal_verdict_wins_and_counts():
    nf = nf_with("-A INPUT -p tcp --dport 22 -j ACCEPT", "-A INPUT -p tcp -j DROP",
                 "-A INPUT -j REJECT")
    v = nf.traverse("filter", "INPUT", tcp(length=60), 0.0)
    assert (v.verdict, v.chain, v.rulenum) == (Verdict.ACCEPT, "INPUT", 1)
    v = nf.traverse("filter", "INPUT", tcp(dport=80, length=60), 0.0)
    assert (v.verdict, v.rulenum) == (Verdict.DROP, 2)
    v = nf.traverse("filter", "INPUT", udp(length=50), 0.0)
    assert (v.verdict, v.rulenum) == (Verdict.REJECT, 3)
    assert v.target.with_ is RejectWith.PORT_UNREACHABLE
    rules = nf.tables["filter"].chains["INPUT"].rules
    assert [r.counters for r in rules] == [[1, 60], [1, 60], [1, 50]]


def test_policy_applies_at_the_end_of_builtin_chains_only():
    nf = nf_with("-P INPUT DROP", "-N USER", "-A USER -p udp -j ACCEPT", "-A INPUT -j USER")
    v = nf.traverse("filter", "INPUT", tcp(), 0.0)
    assert v.verdict is Verdict.DROP and v.by_policy and v.chain == "INPUT"
    assert nf.tables["filter"].chains["INPUT"].policy_counters == [1, 40]
    assert nf.traverse("filter", "INPUT", udp(), 0.0).verdict is Verdict.ACCEPT


def test_return_and_goto():
    nf = nf_with("-N A", "-N B", "-A A -p tcp -j RETURN", "-A A -j DROP",
                 "-A INPUT -j A", "-A INPUT -p tcp -j REJECT",
                 "-A B -p tcp -j RETURN", "-A FORWARD -g B", "-A FORWARD -j DROP")
    # -j A: RETURN comes back to INPUT rule 2
    v = nf.traverse("filter", "INPUT", tcp(), 0.0, record=True)
    assert (v.verdict, v.chain, v.rulenum) == (Verdict.REJECT, "INPUT", 2)
    assert [(s.chain, s.rulenum, s.matched) for s in v.walk] == [
        ("INPUT", 1, True), ("A", 1, True), ("INPUT", 2, True)]
    assert nf.traverse("filter", "INPUT", udp(), 0.0).rulenum == 2       # A's DROP
    # -g B: RETURN from B returns past FORWARD altogether (to the policy)
    v = nf.traverse("filter", "FORWARD", tcp(), 0.0)
    assert v.by_policy and v.verdict is Verdict.ACCEPT


def test_return_in_builtin_chain_applies_policy():
    nf = nf_with("-P OUTPUT DROP", "-A OUTPUT -p tcp -j RETURN", "-A OUTPUT -j ACCEPT")
    assert nf.traverse("filter", "OUTPUT", tcp(), 0.0).by_policy
    assert nf.traverse("filter", "OUTPUT", udp(), 0.0).verdict is Verdict.ACCEPT


def test_address_interface_and_inversion_matching():
    nf = nf_with("-A FORWARD -s 10.0.0.0/8 ! -d 10.1.0.0/16 -i eth+ ! -o eth0 -j ACCEPT")
    hit = dict(in_iface="eth1", out_iface="eth2")
    assert nf.traverse("filter", "FORWARD", tcp(dst="8.8.8.8", **hit), 0).rulenum == 1
    assert nf.traverse("filter", "FORWARD", tcp(dst="10.1.2.3", **hit), 0).by_policy
    assert nf.traverse("filter", "FORWARD", tcp(src="11.0.0.1", dst="8.8.8.8", **hit),
                       0).by_policy
    assert nf.traverse("filter", "FORWARD", tcp(dst="8.8.8.8", in_iface="eth1",
                                                out_iface="eth0"), 0).by_policy
    assert nf.traverse("filter", "FORWARD", tcp(dst="8.8.8.8", in_iface="wlan0",
                                                out_iface="eth2"), 0).by_policy


def test_ports_multiport_flags_and_states():
    nf = nf_with("-A INPUT -p tcp -m multiport --dports 80,443,8000:8080 -j ACCEPT",
                 "-A INPUT -p tcp ! --syn -m conntrack --ctstate ESTABLISHED -j ACCEPT",
                 "-A INPUT -p udp --sport 1000:2000 -j ACCEPT",
                 "-A INPUT -p tcp --tcp-flags ALL NONE -j DROP",
                 "-P INPUT DROP")
    for port in (80, 443, 8000, 8042, 8080):
        assert nf.traverse("filter", "INPUT", tcp(dport=port), 0).rulenum == 1
    assert nf.traverse("filter", "INPUT", tcp(dport=8081), 0).by_policy
    est = tcp(dport=9, flags=0x10, ctstate=CtState.ESTABLISHED)
    assert nf.traverse("filter", "INPUT", est, 0).rulenum == 2
    assert nf.traverse("filter", "INPUT", tcp(dport=9, flags=0x10,
                                              ctstate=CtState.NEW), 0).by_policy
    assert nf.traverse("filter", "INPUT", tcp(dport=9, ctstate=CtState.ESTABLISHED),
                       0).by_policy                                     # a SYN: --syn
    assert nf.traverse("filter", "INPUT", udp(sport=1500), 0).rulenum == 3
    assert nf.traverse("filter", "INPUT", tcp(dport=9, flags=0), 0).rulenum == 4


def test_no_conntrack_entry_is_seen_as_invalid():
    nf = nf_with("-A INPUT -m state --state INVALID -j DROP")
    assert nf.traverse("filter", "INPUT", tcp(), 0).rulenum == 1
    assert nf.traverse("filter", "INPUT", tcp(ctstate=CtState.NEW), 0).by_policy


def test_limit_is_a_token_bucket_per_rule():
    nf = nf_with("-A INPUT -m limit --limit 2/s --limit-burst 3 -j ACCEPT", "-P INPUT DROP")
    got = [nf.traverse("filter", "INPUT", tcp(), 0.0).verdict for _ in range(4)]
    assert got == [Verdict.ACCEPT] * 3 + [Verdict.DROP]
    assert nf.traverse("filter", "INPUT", tcp(), 0.5).verdict is Verdict.ACCEPT
    assert nf.traverse("filter", "INPUT", tcp(), 0.5).verdict is Verdict.DROP


def test_hashlimit_per_source_and_table_full_hotdrop():
    nf = nf_with("-A INPUT -m hashlimit --hashlimit-above 1/s --hashlimit-burst 2 "
                 "--hashlimit-mode srcip --hashlimit-name h --hashlimit-htable-max 2 -j DROP")
    a = [nf.traverse("filter", "INPUT", tcp(src="1.1.1.1"), 0).verdict for _ in range(3)]
    assert a == [Verdict.ACCEPT, Verdict.ACCEPT, Verdict.DROP]
    assert nf.traverse("filter", "INPUT", tcp(src="2.2.2.2"), 0).verdict is Verdict.ACCEPT
    v = nf.traverse("filter", "INPUT", tcp(src="3.3.3.3"), 0)             # table full
    assert v.verdict is Verdict.DROP and v.hotdrop


def test_recent_knock_like_sequence():
    nf = nf_with("-A INPUT -p tcp --dport 22 -m recent --rcheck --seconds 10 --name k "
                 "-j ACCEPT", "-A INPUT -p tcp --dport 1234 -m recent --set --name k -j DROP",
                 "-A INPUT -p tcp --dport 22 -j DROP")
    assert nf.traverse("filter", "INPUT", tcp(), 0).rulenum == 3
    assert nf.traverse("filter", "INPUT", tcp(dport=1234), 1).rulenum == 2
    assert nf.traverse("filter", "INPUT", tcp(), 5).rulenum == 1
    assert nf.traverse("filter", "INPUT", tcp(src="10.0.0.6"), 5).rulenum == 3
    assert nf.traverse("filter", "INPUT", tcp(), 11.5).rulenum == 3      # too old
    assert nf.recent_lists["k"].stamps("10.0.0.5") == [1]


def test_recent_hitcount_update_and_remove():
    nf = nf_with("-A INPUT -m recent --update --seconds 60 --hitcount 3 --name s -j DROP",
                 "-A INPUT -m recent --set --name s -j ACCEPT")
    verdicts = [nf.traverse("filter", "INPUT", tcp(), t).verdict for t in range(5)]
    assert verdicts == [Verdict.ACCEPT] * 3 + [Verdict.DROP] * 2
    nf.iptables("-I INPUT -m recent --remove --name s -j ACCEPT")
    nf.traverse("filter", "INPUT", tcp(), 6)
    assert "10.0.0.5" not in nf.recent_lists["s"].entries


def test_log_line_in_kernel_format_and_traversal_continues():
    nf = nf_with("-A INPUT -p tcp --syn -j LOG --log-prefix 'IN-SYN: '",
                 "-A INPUT -j ACCEPT")
    v = nf.traverse("filter", "INPUT", tcp(sport=51000, in_iface="eth0", length=60, ttl=64,
                                           ident=4321, window=64240), 1.25)
    assert v.verdict is Verdict.ACCEPT and v.rulenum == 2
    assert nf.kernel_log[0].text == (
        "IN-SYN: IN=eth0 OUT= SRC=10.0.0.5 DST=192.168.1.1 LEN=60 TOS=0x00 PREC=0x00 "
        "TTL=64 ID=4321 DF PROTO=TCP SPT=51000 DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0 ")
    assert nf.dmesg().startswith("[    1.250000] IN-SYN: IN=eth0")


def test_nat_targets_give_a_nat_verdict():
    nf = nf_with("-t nat -A PREROUTING -p tcp --dport 8080 -j DNAT "
                 "--to-destination 192.168.0.10:80")
    v = nf.traverse("nat", "PREROUTING", tcp(dport=8080), 0)
    assert v.verdict is Verdict.NAT and v.target.kind is NatKind.DNAT
    assert v.target.range.text() == "192.168.0.10:80"


@pytest.mark.parametrize("cmd", [
    "-A INPUT -p tcp --dport 22 -j ACCPT",
    "-A INPUT -j REJECT --reject-with tcp-reset",
    "-t mangle -A PREROUTING -j ACCEPT",
    "-A INPUT -m owner --uid-owner 0 -j ACCEPT",
    "-A INPUT -f -j DROP",
])
def test_refused_commands_change_nothing(cmd):
    nf = nf_with("-A INPUT -p tcp --dport 22 -j ACCEPT")
    before = nf.save()
    with pytest.raises(IptablesError):
        nf.iptables(cmd)
    assert nf.save() == before


def test_jump_loop_is_refused():
    nf = nf_with("-N A", "-N B", "-A A -j B", "-A INPUT -j A")
    with pytest.raises(IptablesError, match="Too many links") as e:
        nf.iptables("-A B -j A")
    assert e.value.status == 4
    assert nf.tables["filter"].chains["B"].rules == []


# ---------------------------------------------------------------------------- property test

PORTS = st.sampled_from([22, 53, 80, 443, 8080, 1000, 2000, 40000])
NETS = st.sampled_from([("10.0.0.0", 8), ("10.0.0.5", 32), ("192.168.0.0", 16),
                        ("0.0.0.0", 1)])
TARGETS = st.sampled_from(["ACCEPT", "DROP", "REJECT", "RETURN", "LOG", "USER", None])


@st.composite
def rules(draw):
    r = {"proto": draw(st.sampled_from([None, "tcp", "udp"])),
         "src": draw(st.none() | NETS), "src_inv": draw(st.booleans()),
         "state": draw(st.none() | st.sampled_from(["NEW", "ESTABLISHED", "INVALID"])),
         "target": draw(TARGETS)}
    if r["proto"]:
        r["dport"] = draw(st.none() | st.tuples(PORTS, PORTS).map(sorted))
        r["dport_inv"] = draw(st.booleans())
    return r


def render(chain, r):
    parts = [f"-A {chain}"]
    if r["src"]:
        parts.append(f"{'! ' if r['src_inv'] else ''}-s {r['src'][0]}/{r['src'][1]}")
    if r["proto"]:
        parts.append(f"-p {r['proto']}")
        if r.get("dport"):
            lo, hi = r["dport"]
            parts.append(f"{'! ' if r['dport_inv'] else ''}--dport {lo}:{hi}")
    if r["state"]:
        parts.append(f"-m conntrack --ctstate {r['state']}")
    if r["target"]:
        parts.append(f"-j {r['target']}")
    return " ".join(parts)


def ref_match(r, p):
    """An independent statement of what each generated rule matches."""
    from ipaddress import ip_address, ip_network
    if r["src"]:
        inside = ip_address(p.src) in ip_network(f"{r['src'][0]}/{r['src'][1]}")
        if inside == r["src_inv"]:
            return False
    if r["proto"]:
        if p.proto != {"tcp": 6, "udp": 17}[r["proto"]]:
            return False
        if r.get("dport"):
            lo, hi = r["dport"]
            if (lo <= p.dport <= hi) == r["dport_inv"]:
                return False
    if r["state"] and (p.ctstate or CtState.INVALID).value != r["state"]:
        return False
    return True


def ref_verdict(input_rules, user_rules, policy, p):
    """First terminal verdict wins; RETURN/end of USER comes back; policy at the end."""
    def run(rs):
        for r in rs:
            if not ref_match(r, p) or r["target"] in (None, "LOG"):
                continue
            if r["target"] == "RETURN":
                return "RETURN"
            if r["target"] == "USER":
                sub = run(user_rules)
                if sub not in ("RETURN", None):
                    return sub
                continue
            return r["target"]
        return None
    out = run(input_rules)
    return policy if out in (None, "RETURN") else out


PACKETS = st.builds(
    lambda proto, src, dport, state: PacketView(src, "192.168.1.1", proto, 1234, dport,
                                                 0x10, ctstate=state),
    st.sampled_from([6, 17]), st.sampled_from(["10.0.0.5", "10.9.9.9", "192.168.3.3",
                                                "172.16.0.1"]),
    PORTS, st.none() | st.sampled_from(list(CtState)[:4]))


@settings(max_examples=60, deadline=None)
@given(st.lists(rules(), max_size=8),
       st.lists(rules().filter(lambda r: r["target"] != "USER"), max_size=4),
       st.sampled_from(["ACCEPT", "DROP"]), st.lists(PACKETS, min_size=1, max_size=10))
def test_save_round_trip_behaves_identically(input_rules, user_rules, policy, packets):
    a = Netfilter()
    a.iptables("-N USER")
    a.iptables(f"-P INPUT {policy}")
    for r in user_rules:
        a.iptables(render("USER", r))
    for r in input_rules:
        a.iptables(render("INPUT", r))
    b = Netfilter()
    b.restore(a.save())
    assert b.save() == a.save()
    for p in packets:
        va = a.traverse("filter", "INPUT", p, 0.0)
        vb = b.traverse("filter", "INPUT", p, 0.0)
        assert (va.verdict, va.chain, va.rulenum) == (vb.verdict, vb.chain, vb.rulenum)
        assert va.verdict.value == ref_verdict(input_rules, user_rules, policy, p)
