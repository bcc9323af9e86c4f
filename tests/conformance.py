"""packetdrill conformance: the scripts of tests/packetdrill/ against the kernel and simtcp.

Each script runs on two back ends: the real Linux kernel (tests/packetdrill_kernel.py, in a
private network namespace this module creates and deletes; wall-clock time) and a simulated
Linux host (`simtcp.packetdrill`, virtual time). The kernel is the ground truth: a script it
fails is a wrong script. simtcp must pass every script the kernel passes; the ones it is
known not to pass yet are listed in KNOWN_GAPS with the Linux behaviour that is missing
(issue 11) — tests/test_packetdrill.py marks them xfail(strict=True), so fixing one turns
the test red until its entry here is removed.

Scripts whose first lines contain ``// conformance: long`` wait for long timers (RTO backoff,
TIME-WAIT, persist); `make test` runs them on simtcp only (virtual time costs nothing) and
`make conformance` (or SIMTCP_CONFORMANCE_LONG=1) also on the kernel.

``python tests/conformance.py`` prints the table and the totals.
"""
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = HERE / "packetdrill"
ROOT = HERE.parent

# script -> the Linux behaviour simtcp lacks (owner: the fidelity work of issue 11)
KNOWN_GAPS: dict = {}


def scripts():
    return sorted(SCRIPTS.glob("*.pkt"))


def is_long(path: Path) -> bool:
    head = path.read_text().splitlines()[:5]
    return any(line.strip() == "// conformance: long" for line in head)


def category(path: Path) -> str:
    return path.name.split("-", 1)[0]


INFRA = ("runner error", "cannot enter a private namespace")


def kernel_unavailable() -> str:
    """Why the kernel back end cannot run here ("" when it can)."""
    if os.geteuid() != 0:
        return "needs root"
    if not shutil.which("ip"):
        return "needs iproute2 (ip)"
    if not os.path.exists("/dev/net/tun"):
        return "needs /dev/net/tun"
    return ""


def kernel_verdicts(paths, jobs: int = 6) -> dict:
    """Run the scripts on the real kernel; name -> verdict dict. Raises RuntimeError when
    no namespace can be made."""
    ns = f"simtcp-pd-{uuid.uuid4().hex[:8]}"
    made = subprocess.run(["ip", "netns", "add", ns], capture_output=True, timeout=10)
    if made.returncode:
        raise RuntimeError(f"cannot create a network namespace: {made.stderr.decode().strip()}")
    try:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        longest = sum(30 if is_long(p) else 5 for p in paths) / max(1, jobs) + 120
        run = subprocess.run(["ip", "netns", "exec", ns, sys.executable,
                              str(HERE / "packetdrill_kernel.py"), "--jobs", str(jobs),
                              *map(str, paths)], capture_output=True, text=True,
                             timeout=longest, env=env)
        if run.returncode:
            raise RuntimeError(f"kernel runner failed: {run.stderr[-2000:]}")
        out = {}
        for line in run.stdout.splitlines():
            d = json.loads(line)
            out[d["script"]] = d
        broken = [d["message"] for d in out.values() if d["message"].startswith(INFRA)]
        if out and len(broken) == len(out):       # the machine, not the scripts
            raise RuntimeError(f"the kernel back end cannot run here: {broken[0]}")
        return out
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10)


def simtcp_verdict(path: Path):
    from simtcp import packetdrill
    return packetdrill.run_file(path)


def table(rows) -> str:
    """rows: (script, kernel verdict text, simtcp verdict text)."""
    w = max([len("script")] + [len(r[0]) for r in rows])
    lines = [f"{'script':<{w}}  {'kernel':<7}  simtcp", "-" * (w + 30)]
    lines += [f"{a:<{w}}  {b:<7}  {c}" for a, b, c in rows]
    return "\n".join(lines)


def main() -> int:
    paths = scripts()
    why = kernel_unavailable()
    kernel = {}
    if why:
        print(f"kernel back end skipped: {why}")
    else:
        kernel = kernel_verdicts(paths)
    rows, per_cat, bad = [], {}, []
    for p in paths:
        v = simtcp_verdict(p)
        k = kernel.get(p.name)
        ktext = "-" if k is None else ("pass" if k["passed"] else "FAIL")
        stext = "pass" if v.passed else ("xfail" if p.name in KNOWN_GAPS else "FAIL")
        rows.append((p.name, ktext, stext))
        c = per_cat.setdefault(category(p), [0, 0, 0])
        c[0] += 1
        if k is not None and k["passed"]:
            c[1] += 1
            c[2] += v.passed
        if k is not None and not k["passed"]:
            bad.append(f"{p.name}: the kernel fails it (line {k['line']}: {k['message']})")
        if not v.passed and p.name not in KNOWN_GAPS:
            bad.append(f"{p.name}: simtcp {v}")
        if v.passed and p.name in KNOWN_GAPS:
            bad.append(f"{p.name}: simtcp passes now; remove it from KNOWN_GAPS")
    print(table(rows))
    print()
    print(f"{'category':<12} scripts  kernel-pass  simtcp-matches")
    for cat, (n, kp, sp) in sorted(per_cat.items()):
        print(f"{cat:<12} {n:>7}  {kp:>11}  {sp:>14}")
    kp = sum(c[1] for c in per_cat.values())
    sp = sum(c[2] for c in per_cat.values())
    print(f"\nsimtcp matches the kernel in {sp} of {kp} scripts the kernel passes "
          f"({len(paths)} scripts)")
    for line in bad:
        print("!", line)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
