"""The ladder as a Mermaid state diagram, drawn from the TRANSITIONS the machine runs (never by hand).

`python -m workflows.diagram` rewrites docs/state-diagram.mmd; a test fails when the file is stale.
"""
from __future__ import annotations

from pathlib import Path

from workflows.issuing import REQUIRES_ISSUED
from workflows.ladder import TRANSITIONS, TRIGGERS
from workflows.states import FINAL_STATES, State

#: Short names of the letters a step waits for (workflows.issuing.REQUIRES_ISSUED).
_LETTER_SHORT = {"opinion": "意见书", "recommendation": "建议书", "payment_demand": "催缴通知书",
                 "payment_order": "支付令申请书", "listing_request": "提请函"}

DIAGRAM_PATH = Path(__file__).resolve().parent.parent / "docs" / "state-diagram.mmd"

#: Facts a case may record in any state before the listing request: one note instead of a loop on every state.
NOTED = ("record_obstruction", "record_bargaining_request", "record_bargaining_answer")


def _edges(noted: bool = True) -> list[tuple[State, State, str]]:
    """(source, dest, label) for every transition, internal ones as loops; guards in brackets. noted=False leaves
    out the NOTED steps (the Mermaid file writes them once, as a note)."""
    edges = []
    for transition in TRANSITIONS:
        if not noted and transition["trigger"] in NOTED:
            continue
        spec = TRIGGERS[transition["trigger"]]
        guards = [g.label for g in transition.get("conditions", [])]
        sources = transition["source"]
        for source in sources if isinstance(sources, list) else [sources]:
            letter = REQUIRES_ISSUED.get((source, transition["trigger"]))
            conditions = ([f"{_LETTER_SHORT[letter]}已签发"] if letter else []) + guards
            label = spec.label + (f"〔{'，'.join(conditions)}〕" if conditions else "")
            edges.append((source, transition["dest"] or source, label))
    return edges


def _notes() -> list[str]:
    """The NOTED steps, once each, with their guard and the states where they may be taken."""
    noted = [t for t in TRANSITIONS if t["trigger"] in NOTED]
    if not noted:
        return []
    sources = noted[0]["source"]
    where = "、".join(s.label for s in sources)
    lines = [f"    note right of {State.REGISTERED.value}", f"        在{where}时可记录（案件状态不变）："]
    for transition in noted:
        guards = [g.label for g in transition.get("conditions", [])]
        lines.append(f"        {TRIGGERS[transition['trigger']].label}" + (f"〔{'，'.join(guards)}〕" if guards else ""))
    lines.append("    end note")
    return lines


def mermaid() -> str:
    """The state diagram in Mermaid syntax, states named by value and labelled in Chinese."""
    lines = ["---", "title: 工会劳动法律监督执法阶梯", "---", "stateDiagram-v2"]
    lines += [f'    state "{state.label}" as {state.value}' for state in State]
    lines.append(f"    [*] --> {State.REGISTERED.value}")
    lines += [f"    {source.value} --> {dest.value} : {label}" for source, dest, label in _edges(noted=False)]
    lines += _notes()
    # RECTIFIED closes the case unless the enterprise was listed, when credit repair follows.
    lines.append(f"    {State.RECTIFIED.value} --> [*] : 未纳入信用档案即结案")
    lines += [f"    {state.value} --> [*]" for state in State if state in FINAL_STATES]
    lines.append("    classDef exit fill:#eef5ee,stroke:#5a8a5a")
    exits = [State.RECTIFIED, State.WITHDRAWN, State.CREDIT_REPAIRED]
    lines.append(f"    class {','.join(state.value for state in exits)} exit")
    return "\n".join(lines) + "\n"


def write(path: Path = DIAGRAM_PATH) -> Path:
    """Write mermaid() to `path` (docs/state-diagram.mmd by default)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(mermaid(), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(write())
