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


ENGINE_CHILD = """
from api.core.limits import limit_memory
limit_memory(700)
from engine import runtime, steps
from engine.definitions import SourceFile, build_parser
from engine.registry import LoadedSpec
from tests.bpmn_support import bpmn, flow
script = "x = []\\nwhile True:\\n    x.append('a' * 1000 + str(len(x)))"
body = ('<bpmn:startEvent id="start"/><bpmn:scriptTask id="work"><bpmn:script>' + script
        + '</bpmn:script></bpmn:scriptTask><bpmn:endEvent id="end"/>' + flow(("start", "work"), ("work", "end")))
parser = build_parser([bpmn(body, "p_grow")])
loaded = LoadedSpec(parser.get_spec("p_grow"), parser.get_subprocess_specs("p_grow"), {}, 1)
engine = runtime.script_engine()
engine.environment.limits = type(engine.environment.limits)(cpu_seconds=60)
workflow, incident = steps.begin(loaded, engine, {})
print(incident["element_id"], incident["kind"], len(runtime.dump(workflow)) < 20000)
print(len(bytearray(10 * 1024 * 1024)))
"""


def test_a_script_that_exhausts_memory_is_an_incident_and_the_state_stays_small():
    # The case's state is saved after the incident: the grown list must not be in it.
    done = subprocess.run([sys.executable, "-c", ENGINE_CHILD], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["work", "too_large", "True", str(10 * 1024 * 1024)]
