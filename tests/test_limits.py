"""The per-process memory bound: a script that allocates in small pieces becomes an incident, not a
swapping or killed server. Run in a child process so the limit does not bind the test runner."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
from api.core.limits import limit_memory
limit_memory(600)
from engine.sandbox import SandboxEnvironment, SandboxError, SandboxLimits
env = SandboxEnvironment(clock=lambda: None, limits=SandboxLimits(cpu_seconds=60))
try:
    env.execute("x = []\\nfor i in range(10**8):\\n    x.append((i, i + 1))", {})
    print("finished")
except SandboxError as err:
    print(err.kind)
print(len(bytearray(10 * 1024 * 1024)))  # the process goes on after the script was stopped
"""


def test_a_memory_hungry_script_stops_with_too_large_and_the_process_lives_on():
    done = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["too_large", str(10 * 1024 * 1024)]
