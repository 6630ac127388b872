"""The import structure of ``helpers/`` (docs/architecture.md, *The dependency rule*): no import circle among its
modules, the ground floor (``registry``, ``provenance``) imports nothing above it, and nothing below the runner
imports it. Imports are read from the source (module level and inside functions alike), not executed."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted((ROOT / "helpers").rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        out[".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)] = path
    return out


def _graph() -> dict[str, set[str]]:
    """``{module: the helpers modules it imports}``; ``from . import x`` counts as importing the module ``x``."""
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = here[: len(here) - node.level + 1] if node.level else []
                src = ".".join(base + ([node.module] if node.module else []))
                graph[name] |= {f"{src}.{a.name}" if f"{src}.{a.name}" in mods else src for a in node.names}
            elif isinstance(node, ast.Import):
                graph[name] |= {a.name for a in node.names}
    return {m: {t for t in targets if t in mods and t != m} for m, targets in graph.items()}


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while not comp or comp[-1] != v:
                comp.append(stack.pop())
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_circle_among_the_helpers_modules():
    assert _circles(_graph()) == []


def test_the_ground_floor_and_the_layers_below_the_runner_do_not_import_upwards():
    graph = _graph()
    assert graph["helpers.registry"] == set()
    assert graph["helpers.provenance"] <= {"helpers.registry"}
    assert {m for m, targets in graph.items() if "helpers.runner" in targets} <= {"helpers.chapters", "helpers.__main__"}
    below = ("store", "partfile", "locks", "checkpoint", "parts", "evidence", "records", "lookup", "local", "cluster")
    for m in below:
        assert not graph[f"helpers.{m}"] & {"helpers.runner", "helpers.chapters", "helpers.__main__"}, m



def _chapter_violations(graph: dict[str, set[str]]) -> list[str]:
    """Imports that break the chapters' rule: a module inside another chapter (not its package), or a chapter's
    claims / views importing the chapter's compute."""
    out = []
    for m, targets in graph.items():
        if not m.startswith("helpers.experiments.ch"):
            continue
        mine = ".".join(m.split(".")[:3])
        out += [f"{m} -> {t}" for t in sorted(targets)
                if t.startswith("helpers.experiments.ch") and not t.startswith(mine) and t.count(".") > 2]
        if m.split(".")[-1] in ("claims", "views"):
            out += [f"{m} -> {t}" for t in sorted(targets)
                    if t in {f"{mine}.{c}" for c in ("parts", "runs", "sweeps", "models", "train")}]
    return out


def test_a_chapter_reads_another_chapter_only_through_its_public_face():
    """Chapter 5 borrows from chapters 1–4 only what their packages export (``from ..ch2 import InvariantNet``),
    never a module inside them (``..ch2.train``); a chapter's claims and views import nothing of its compute
    (``parts``, ``runs``, ``sweeps``, ``models``, ``train``): they read stored results through ``results``. The rule
    fails on a made-up graph that breaks it."""
    assert _chapter_violations(_graph()) == []
    bad = {"helpers.experiments.ch5.zoo": {"helpers.experiments.ch2.train", "helpers.experiments.ch2"},
           "helpers.experiments.ch3.views": {"helpers.experiments.ch3.runs", "helpers.experiments.ch3.results"}}
    assert _chapter_violations(bad) == ["helpers.experiments.ch5.zoo -> helpers.experiments.ch2.train",
                                        "helpers.experiments.ch3.views -> helpers.experiments.ch3.runs"]
