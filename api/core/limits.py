"""A hard memory bound per server and worker process.

The sandbox bounds sizes and CPU time, but a script can still allocate a lot in small pieces before
its CPU second is up. With an address-space limit the allocation fails with MemoryError inside the
script, which the sandbox turns into the case's incident; without it the machine would swap or the
kernel would kill a process that serves other cases.
"""
from __future__ import annotations

import resource


def limit_memory(megabytes: int) -> None:
    """Cap this process's address space (0: leave it as it is)."""
    if megabytes <= 0:
        return
    wanted = megabytes * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))
