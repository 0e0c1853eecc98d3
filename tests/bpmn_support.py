"""Small BPMN documents written in a test: one process, its flows and a lane."""
from __future__ import annotations

from engine.definitions import SourceFile


def bpmn(body: str, process_id: str = "p", lanes: str | None = None, extra: str = "") -> SourceFile:
    lanes = lanes if lanes is not None else ""
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="http://t">
{extra}
<bpmn:process id="{process_id}" isExecutable="true">
{lanes}
{body}
</bpmn:process>
</bpmn:definitions>"""
    return SourceFile(f"{process_id}.bpmn", xml.encode())


def flow(*pairs: tuple[str, str], conditions: dict[str, str] | None = None) -> str:
    out = []
    for i, (a, b) in enumerate(pairs):
        cond = (conditions or {}).get(f"{a}->{b}")
        inner = f"<bpmn:conditionExpression>{cond}</bpmn:conditionExpression>" if cond else ""
        out.append(f'<bpmn:sequenceFlow id="f{i}_{a}_{b}" sourceRef="{a}" targetRef="{b}">{inner}</bpmn:sequenceFlow>')
    return "\n".join(out)


def lane(name: str, *refs: str) -> str:
    nodes = "".join(f"<bpmn:flowNodeRef>{r}</bpmn:flowNodeRef>" for r in refs)
    return f'<bpmn:laneSet id="ls"><bpmn:lane id="l1" name="{name}">{nodes}</bpmn:lane></bpmn:laneSet>'
