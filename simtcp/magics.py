"""Jupyter magics that make a notebook cell feel like a terminal on a simulated host.

    %load_ext simtcp
    %sim client nmap -sS -p 20-25 192.168.1.20      # one command on host "client"
    %%sim server                                    # a cell: one command per line
    ss -tlnp
    iptables -L -n

The host is found by name among the `Network` objects in the notebook's variables (write
``net.client`` when several networks have a host of that name). Output is the command's
text, exactly what ``host.sh(...)`` returns; a non-zero exit status is shown after it.
"""
from __future__ import annotations

from typing import List, Tuple

from .shell import run


class SimMagicError(ValueError):
    """The magic could not tell which host to run on; the message says why."""


def _find_host(namespace: dict, spec: str):
    from .sim import Network
    var, _, name = spec.rpartition(".")
    nets: List[Tuple[str, Network]] = [(k, v) for k, v in namespace.items()
                                       if isinstance(v, Network) and not k.startswith("_")]
    if var:
        net = namespace.get(var)
        if not isinstance(net, Network):
            raise SimMagicError(f"%sim: {var!r} is not a simtcp Network in this notebook")
        nets = [(var, net)]
    owners = [(k, n) for k, n in nets if name in n.nodes]
    if not owners:
        known = sorted({h for _, n in nets for h in n.nodes})
        raise SimMagicError(f"%sim: no host named {name!r} in this notebook's networks"
                            + (f" (hosts: {', '.join(known)})" if known else
                               " (create one with simtcp.Network(); net.add_host(...))"))
    if len({id(n) for _, n in owners}) > 1:
        names = ", ".join(f"{k}.{name}" for k, _ in owners)
        raise SimMagicError(f"%sim: several networks have a host {name!r}; write one of: {names}")
    return owners[0][1].nodes[name]


def _show(out) -> None:
    text = str(out)
    if text:
        print(text)
    if getattr(out, "status", 0):
        print(f"[exit status {out.status}]")


def load_ipython_extension(ipython) -> None:
    from IPython.core.magic import register_line_cell_magic

    @register_line_cell_magic
    def sim(line, cell=None):
        spec, _, command = line.strip().partition(" ")
        if not spec:
            raise SimMagicError("usage: %sim HOST COMMAND …   or   %%sim HOST (then one "
                                "command per line)")
        host = _find_host(ipython.user_ns, spec)
        if cell is None:
            _show(run(host, command))
            return
        for text in cell.splitlines():
            if text.strip() and not text.lstrip().startswith("#"):
                print(f"{host.name}$ {text.strip()}")
                _show(run(host, text))
