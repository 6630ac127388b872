"""No module of helpers/ uses another package's private names (issue 42, item 6).

A name that starts with one underscore (`_seed_run`, `_Stepper`) is private to its package: a module may import it,
or read it as `module._name`, only from a module of its own package (the same folder). `ruff check` flags private
imports from outside helpers/ (rule PLC2701, pyproject.toml) but not those inside the first-party package itself,
e.g. `from ..ch1.measures import _evaluate` in chapter 5: this test checks those, by reading the source (no import).
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _folder(root: Path, dotted: str) -> Path:
    return root.joinpath(*dotted.split("."))


def _is_module(root: Path, dotted: str) -> bool:
    return _folder(root, dotted).with_suffix(".py").is_file() or (_folder(root, dotted) / "__init__.py").is_file()


def _package_of(root: Path, dotted: str) -> str:
    """The package (folder) of module `dotted`: itself for a package's __init__, its parent for a file."""
    return dotted if (_folder(root, dotted) / "__init__.py").is_file() else dotted.rpartition(".")[0]


def _absolute(root: Path, path: Path, node: ast.ImportFrom) -> str:
    """The dotted module a `from ... import` reads, its relative dots resolved against `path`."""
    if not node.level:
        return node.module or ""
    here = list(path.relative_to(root).parent.parts)  # a module's relative imports start from its package
    base = here[: len(here) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def offences(path: Path, root: Path = ROOT) -> list[str]:
    """`file:line: what` for each private name of another package that the module at `path` imports or reads."""
    tree = ast.parse(path.read_text(), filename=str(path))
    mine = ".".join(path.relative_to(root).parent.parts)
    where = path.relative_to(root)
    found: list[str] = []
    modules: dict[str, str] = {}  # local name -> the first-party module it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = _absolute(root, path, node)
            if source.split(".")[0] != "helpers":
                continue
            for alias in node.names:
                if _is_module(root, f"{source}.{alias.name}"):  # `from . import data`: binds a module
                    modules[alias.asname or alias.name] = f"{source}.{alias.name}"
                elif _private(alias.name) and _package_of(root, source) != mine:
                    found.append(f"{where}:{node.lineno}: imports {alias.name} from {source}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "helpers" and alias.asname:
                    modules[alias.asname] = alias.name
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and _private(node.attr) and isinstance(node.value, ast.Name)
                and node.value.id in modules and _package_of(root, modules[node.value.id]) != mine):
            found.append(f"{where}:{node.lineno}: reads {node.value.id}.{node.attr} of {modules[node.value.id]}")
    return found


def test_no_private_names_across_packages():
    found = [o for path in sorted((ROOT / "helpers").rglob("*.py")) for o in offences(path)]
    assert not found, ("private names used outside their package (make them public, or move the code):\n"
                       + "\n".join(found))


def test_the_check_finds_both_forms(tmp_path):
    """The checker itself: a cross-package import and attribute read are found, same-package ones are not."""
    pkg = tmp_path / "helpers"
    for sub in ("a", "b"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
        (pkg / sub / "m.py").write_text("_x = 1\n")
    (pkg / "__init__.py").write_text("")
    (pkg / "a" / "n.py").write_text("from .m import _x\nfrom . import m as mine\nmine._x\n"
                                    "from ..b.m import _x as y\nfrom ..b import m\nm._x\n")
    got = [o.split(": ", 1)[1] for o in offences(pkg / "a" / "n.py", tmp_path)]
    assert got == ["imports _x from helpers.b.m", "reads m._x of helpers.b.m"]
