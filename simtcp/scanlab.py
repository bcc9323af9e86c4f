"""Deterministic scanning scenarios that the scan figures, labs and tests share.

Theory of operation: each function builds a fresh two-host `Network` (scanner 192.168.1.10,
target 192.168.1.20, 10 ms apart), gives the target its services and firewall, runs one
scan with simtcp's nmap (`simtcp.tools.nmap.scan`) and returns the network with the scan's
report, so the trace can be drawn as a ladder and the report as a port-state map. The
ports are chosen so each picture shows one idea: an open and a closed port for the SYN
scan and for FIN/NULL/Xmas; a port the stateful firewall lets through and one it drops for
the ACK scan; a mix of every state for the map.
"""
from __future__ import annotations

from typing import List, Tuple

from .sim import Network
from .tools.nmap import ScanReport, scan

SCANNER_IP, TARGET_IP = "192.168.1.10", "192.168.1.20"

# the classic stateful host firewall: answers to its own traffic, ssh, then DROP
STATEFUL_RULES = ("-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
                  "-A INPUT -p tcp --dport 22 -j ACCEPT",
                  "-P INPUT DROP")


def _pair(seed: int, services=("ssh",), rules=()) -> Tuple[Network, object, object]:
    net = Network(seed=seed)
    scanner = net.add_host("scanner", SCANNER_IP)
    target = net.add_host("target", TARGET_IP)
    net.add_link(scanner, target, delay=0.010)
    for kind in services:
        target.start_service(kind)
    for rule in rules:
        target.iptables(rule)
    return net, scanner, target


def syn_scan(seed: int = 1) -> Tuple[Network, ScanReport]:
    """``nmap -sS -Pn -p 22,23``: SYN → SYN-ACK → the scanner's kernel RST for the open
    port 22; SYN → RST for the closed port 23."""
    net, scanner, _ = _pair(seed)
    report = scan(scanner, ["-sS", "-Pn", "-p", "22,23", TARGET_IP])
    net.run(until=net.now + 0.05)
    return net, report


def stealth_scans(seed: int = 1) -> Tuple[Network, List[ScanReport]]:
    """``nmap -sF``, ``-sN`` and ``-sX`` against the open port 22 and the closed port 23:
    the closed port answers RST (RFC 9293 §3.10.7.1), the open one stays silent (§3.10.7.2:
    a segment without SYN, RST or ACK is dropped), so nmap retries once and says
    open|filtered."""
    net, scanner, _ = _pair(seed)
    reports = [scan(scanner, [kind, "-Pn", "-p", "22,23", TARGET_IP])
               for kind in ("-sF", "-sN", "-sX")]
    return net, reports


def ack_scan_stateful(seed: int = 1) -> Tuple[Network, ScanReport]:
    """``nmap -sA -p 22,80`` against `STATEFUL_RULES`: the ACK to 22 passes the rule for
    ssh and the kernel answers RST (unfiltered); the ACK to 80 meets the DROP policy —
    no answer to it or its retry (filtered)."""
    net, scanner, _ = _pair(seed, rules=STATEFUL_RULES)
    report = scan(scanner, ["-sA", "-Pn", "-p", "22,80", TARGET_IP])
    return net, report


MAP_TCP_PORTS = "20-25,53,80,110,143,443,445,993,995,3306,3389,5900,8080"


def scanned_host(seed: int = 1) -> Tuple[Network, ScanReport]:
    """A server with ssh, smtp, http, mysql and vnc behind a firewall that drops telnet and
    SMB, rejects MySQL from outside and resets 8080: ``nmap -sS -Pn -sU`` over common
    TCP ports and UDP 53, 67, 123, 161 (a DNS server answers on 53)."""
    rules = ("-A INPUT -p tcp --dport 23 -j DROP",
             "-A INPUT -p tcp --dport 445 -j DROP",
             "-A INPUT -p tcp --dport 3306 -j REJECT",
             "-A INPUT -p tcp --dport 8080 -j REJECT --reject-with tcp-reset",
             "-A INPUT -p udp --dport 161 -j DROP")
    net, scanner, target = _pair(seed, services=("ssh", "smtp", "http", "mysql", "vnc"),
                                 rules=rules)
    target.start_service("dns", records={"www.example.com": "192.0.2.10"})
    report = scan(scanner, ["-sS", "-sU", "-Pn", "-T4", "-p",
                            f"T:{MAP_TCP_PORTS},U:53,67,123,161", TARGET_IP])
    return net, report
