"""Oracle: the real iptables (1.8.9, nf_tables) in a private network namespace prints the same
``-S``, ``-L`` and ``iptables-save`` text and the same errors as simtcp's rule engine.

The namespace is created and deleted by the test; only iptables runs in it (no traffic).
Needs root, iproute2 and iptables; skips with a reason elsewhere.
"""
import shlex

import pytest
from netns import namespaces, requires

from simtcp.iptables import IptablesError, Netfilter

pytestmark = requires("iptables")

RULES = [
    "-A INPUT -p tcp --dport 22 -j ACCEPT",
    "-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
    "-A INPUT -m state --state NEW -j ACCEPT",
    "-A INPUT -s 10.0.0.0/8 ! -d 192.168.1.1 -i eth0 -p udp --sport 1000:2000 -j DROP",
    "-A INPUT -p tcp -m multiport --dports 80,443,8000:8080 -j ACCEPT",
    "-A INPUT -p tcp --syn -j LOG --log-prefix 'SYN: '",
    "-A INPUT -p tcp --tcp-flags SYN,ACK SYN -j REJECT --reject-with tcp-reset",
    "-A INPUT -p icmp -j REJECT",
    "-A INPUT -p tcp -j REJECT --reject-with icmp-host-unreachable",
    "-A INPUT -m limit --limit 10/s --limit-burst 20 -j ACCEPT",
    "-A INPUT -m limit -j ACCEPT",
    "-A INPUT -m hashlimit --hashlimit-above 10/sec --hashlimit-burst 5 --hashlimit-mode "
    "srcip --hashlimit-name syn -j DROP",
    "-A INPUT -m hashlimit --hashlimit-upto 5/s --hashlimit-burst 10 --hashlimit-mode "
    "srcip,dstport --hashlimit-name y --hashlimit-htable-expire 60000 "
    "--hashlimit-htable-max 100 -j ACCEPT",
    # the command's default expire is one period of the typed unit (libxt_hashlimit.c)
    "-A INPUT -m hashlimit --hashlimit-upto 3/min --hashlimit-name m -j ACCEPT",
    "-A INPUT -m hashlimit --hashlimit-upto 3/min --hashlimit-name m2 "
    "--hashlimit-htable-expire 60000 -j ACCEPT",
    "-A INPUT -m hashlimit --hashlimit-upto 3/sec --hashlimit-name m3 "
    "--hashlimit-htable-expire 10000 -j ACCEPT",
    "-A INPUT -m hashlimit --hashlimit-upto 120/min --hashlimit-name m4 -j ACCEPT",
    "-A INPUT -m recent --set --name knock",
    "-A INPUT -m recent --rcheck --seconds 60 --hitcount 4 --name knock -j DROP",
    "-A INPUT -m recent --update --seconds 30 --reap --name k --rdest -j DROP",
    "-A INPUT -m recent ! --rcheck --name x -j ACCEPT",
    "-N MYCHAIN",
    "-A MYCHAIN -j RETURN",
    "-A INPUT -j MYCHAIN",
    "-A INPUT -g MYCHAIN",
    "-P FORWARD DROP",
    "-A INPUT -p tcp ! --dport 22 -j ACCEPT",
    "-A INPUT ! -p tcp -j ACCEPT",
    "-A INPUT -p tcp ! --syn -j ACCEPT",
    "-A INPUT -p udp --dport 53:60 -j ACCEPT",
    "-A INPUT -p tcp --sport 1024:65535 --dport 22 --tcp-flags ALL SYN,ACK -j ACCEPT",
    "-A INPUT -p tcp -m conntrack --ctstate NEW --dport 22 -j ACCEPT",
    "-A INPUT -p icmp --icmp-type echo-request -j ACCEPT",
    "-A INPUT -p icmp --icmp-type 3/4 -j ACCEPT",
    "-A INPUT -p icmp ! --icmp-type 8 -j ACCEPT",
    "-A INPUT -m conntrack ! --ctstate NEW -j ACCEPT",
    "-A INPUT -m conntrack --ctstate NEW,RELATED,ESTABLISHED,INVALID -j DROP",
    "-A INPUT -p tcp -m multiport ! --dports 80,443 -j ACCEPT",
    "-A INPUT -p tcp -m multiport --sports 80,443 -j ACCEPT",
    "-A INPUT -j REJECT --reject-with icmp-net-unreachable",
    "-A INPUT -j REJECT --reject-with icmp-admin-prohibited",
    "-A INPUT -s 1.2.3.5/24 -j DROP",
    "-A INPUT ! -s 10.0.0.0/8 ! -i eth0 -j ACCEPT",
    "-A INPUT -p 6 -j DROP",
    "-A INPUT -p tcp --dport 22 -j LOG --log-prefix 'ssh ' --log-level 6",
    "-A INPUT -j LOG",
    "-A OUTPUT -o eth1 -p udp -j ACCEPT",
    "-I INPUT 2 -s 192.168.0.0/16 -j ACCEPT",
    "-R INPUT 3 -p tcp --dport 25 -j DROP",
    "-D INPUT 5",
    "-D INPUT -p icmp -j REJECT",
    "-t nat -A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination 192.168.0.10:80",
    "-t nat -A PREROUTING -p tcp --dport 443 -j DNAT --to 192.168.0.11",
    "-t nat -A PREROUTING -p tcp --dport 80 -j REDIRECT --to-ports 3128",
    "-t nat -A OUTPUT -p tcp --dport 80 -j REDIRECT --to-ports 3128-3130 --random",
    "-t nat -A POSTROUTING -o eth1 -j MASQUERADE",
    "-t nat -A POSTROUTING -o eth1 -j MASQUERADE --random",
    "-t nat -A POSTROUTING -p tcp -o eth1 -j MASQUERADE --to-ports 1024-2000 --random-fully",
    "-t nat -A POSTROUTING -s 192.168.0.0/24 -j SNAT --to-source 203.0.113.1",
    "-t nat -A POSTROUTING -p tcp -j SNAT --to-source 203.0.113.1:1000-2000 --random",
    "-t nat -N MYNAT",
    "-t nat -A PREROUTING -j MYNAT",
]

BAD = [
    "-A INPUT -p tcp --dprot 22 -j ACCEPT",
    "-A INPUT -p tcp --dport 22 -j ACCPT",
    "-A INPUT -p tcp --dport abc -j ACCEPT",
    "-A INPUT -p tcp --dport 70000 -j ACCEPT",
    "-A INPUT --dport 22 -j ACCEPT",
    "-A FOO -j ACCEPT",
    "-D INPUT -p tcp --dport 99 -j ACCEPT",
    "-D INPUT 500",
    "-R INPUT 500 -j ACCEPT",
    "-D FORWARD 1",
    "-P MYCHAIN DROP",
    "-P INPUT FOO",
    "-N INPUT",
    "-X INPUT",
    "-X MYCHAIN",
    "-A INPUT -s 300.1.1.1 -j DROP",
    "-A INPUT -s 1.2.3.4/33 -j DROP",
    "-t foo -L",
    "-A INPUT -m conntrack --ctstate FOO -j DROP",
    "-A INPUT -j DNAT --to-destination 1.2.3.4",
    "-t nat -A INPUT -j DNAT --to-destination 1.2.3.4",
    "-t nat -A PREROUTING -j DNAT",
    "-A INPUT -j REJECT --reject-with foo",
    "-A INPUT -j REJECT --reject-with tcp-reset",
    "-I INPUT 500 -j ACCEPT",
    "-I INPUT 0 -j ACCEPT",
    "-A INPUT -p foo -j DROP",
    "-A INPUT -m foo -j DROP",
    "-L NOPE",
    "-A INPUT -m limit --limit 0/s -j DROP",
    "-A INPUT -m limit --limit abc -j DROP",
    "-A INPUT -p tcp --tcp-flags FOO SYN -j DROP",
    "-A INPUT -m multiport --dports 80 -j DROP",
    "-A INPUT -p tcp --dport 22:10 -j ACCEPT",
    "-A INPUT -m hashlimit --hashlimit-above 10/s -j DROP",
    "-A INPUT -i eth0 -o eth1 -j ACCEPT",
    "-A OUTPUT -i eth0 -j ACCEPT",
    "-t nat -A POSTROUTING -i eth0 -j ACCEPT",
    "-A INPUT extra",
    "-A INPUT -p tcp --dport 22 --dport 23 -j ACCEPT",
    "-A INPUT -j ACCEPT -j DROP",
    "-A INPUT -s",
    "-N -bad",
    "-N ACCEPT",
    "-t nat -A POSTROUTING -o eth1 -j MASQUERADE --to-ports 1024-2000",
    "-A MYCHAIN -j INPUT",
]


def _netns_run(commands):
    with namespaces("ipt") as ns:
        ns.iptables_or_skip("ipt", "-S")
        out = []
        for cmd in commands:
            argv = shlex.split(cmd) if cmd.startswith("iptables") else \
                ["iptables"] + shlex.split(cmd)
            run = ns.exec("ipt", *argv, check=False, timeout=20)
            out.append((run.returncode, run.stdout, run.stderr))
        return out


def _sim(nf, cmd):
    try:
        if cmd.startswith("iptables-save"):
            return 0, nf.save(), ""
        return 0, nf.iptables(cmd), ""
    except IptablesError as e:
        return e.status, "", str(e) + "\n"


VIEWS = ["-L -v", "-t nat -L", "-S", "-L -n -v --line-numbers", "-L -n", "-L INPUT -n -v -x", "-t nat -L -n -v",
         "-t nat -S", "-S INPUT 3", "-L INPUT 2 -n -v", "iptables-save"]


def _strip_dates(text):
    return "\n".join(l for l in text.splitlines() if not l.startswith("# "))


def test_listings_and_save_match_real_iptables():
    real = _netns_run(RULES + VIEWS)
    nf = Netfilter()
    sim = [_sim(nf, c) for c in RULES + VIEWS]
    for cmd, r, s in zip(RULES + VIEWS, real, sim):
        assert r[0] == 0, (cmd, r)
        assert s[0] == 0, (cmd, s)
        assert _strip_dates(s[1]) == _strip_dates(r[1]), cmd


def test_errors_match_real_iptables_and_change_nothing():
    setup = ["-N MYCHAIN", "-A MYCHAIN -j ACCEPT", "-A INPUT -j MYCHAIN"]
    real = _netns_run(setup + BAD + ["iptables-save"])
    nf = Netfilter()
    for c in setup:
        nf.iptables(c)
    before = nf.save()
    for cmd, r in zip(BAD, real[len(setup):]):
        s = _sim(nf, cmd)
        assert (s[0], s[2]) == (r[0], r[2]), cmd
        assert nf.save() == before, cmd
    assert _strip_dates(nf.save()) == _strip_dates(real[-1][1])


def test_restore_matches_real_iptables_restore(tmp_path):
    good = ("*filter\n:INPUT DROP [0:0]\n:NEWC - [0:0]\n-A INPUT -p tcp --dport 80 -j NEWC\n"
            "-A NEWC -j ACCEPT\nCOMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\n"
            "-A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination 192.168.0.10:80\n"
            "COMMIT\n")
    bad = [good.replace("--dport 80", "--dprot 80"),
           "*filter\n-A INPUT -j NOPE\nCOMMIT\n",
           "*filter\n-A INPUT -j ACCEPT\n",
           "*foo\nCOMMIT\n"]
    files = []
    for k, text in enumerate([good] + bad):
        path = tmp_path / f"r{k}.txt"
        path.write_text(text)
        files.append(path)
    real = _netns_run([f"iptables-restore {f}" for f in files] + ["iptables-save"])
    nf = Netfilter()
    nf.restore(good)
    saved = nf.save()
    for text, r in zip(bad, real[1:]):
        with pytest.raises(IptablesError) as e:
            nf.restore(text)
        assert (e.value.status, str(e.value) + "\n") == (r[0], r[2])
        assert nf.save() == saved            # atomic: nothing of a bad input applied
    assert _strip_dates(saved) == _strip_dates(real[-1][1])
