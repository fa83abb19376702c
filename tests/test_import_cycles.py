"""No import cycles among the modules of app/, navigation/ and hardware/.

A cycle makes import order matter (a half-initialised module raises AttributeError or
ImportError depending on who is imported first) and hides what depends on what. The graph is
built statically with ``ast`` from every ``import`` in a module, including imports inside
functions and under ``if TYPE_CHECKING:`` (a lazy or type-only import still ties the two
modules together; breaking the cycle means moving the shared part, not hiding the import).
Cycles are the strongly connected components of that graph (Tarjan's algorithm).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "navigation", "hardware")

def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Installed dotted module name (``tmsnav.<folder>...``) -> file, for every .py file of the
    three packages (pyproject maps the folders app/, navigation/, hardware/ to ``tmsnav.*``)."""
    mods: dict[str, Path] = {}
    for pkg in PACKAGES:
        for path in sorted((root / pkg).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join(("tmsnav",) + parts)] = path
    return mods


def _known_prefix(name: str, mods: dict[str, Path]) -> str | None:
    """The longest prefix of ``name`` that is one of our modules (None for third-party)."""
    while name and name not in mods:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(mods: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the modules of ours it imports (anywhere in its body)."""
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = mod.split(".") if is_package else mod.split(".")[:-1]
                    anchor = anchor[:len(anchor) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                # "from pkg import name": name may be a submodule or an attribute of pkg
                targets = [f"{base}.{alias.name}" for alias in node.names]
            for target in targets:
                dep = _known_prefix(target, mods)
                if dep is not None and dep != mod:
                    graph[mod].add(dep)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative-safe depth)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(graph) + 100))
    try:
        for v in sorted(graph):
            if v not in index:
                visit(v)
    finally:
        sys.setrecursionlimit(limit)
    return found


def test_no_import_cycles():
    """Zero cycles, no exceptions (the last ones, surfaces <-> surface_cache/surface_io and
    sample_head <-> mni_registration/template_brain, were broken by the package split)."""
    found = cycles(import_graph(module_files()))
    assert not found, "import cycles: " + "; ".join(" <-> ".join(sorted(c)) for c in found)


def test_the_cycle_finder_sees_lazy_type_only_and_relative_imports(tmp_path):
    """The checker itself: a cycle hidden in a function, under TYPE_CHECKING, or through
    ``from . import x`` is found (the three ways the cycles of this tree were written)."""
    pkg = tmp_path / "navigation"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from . import b\n")
    (pkg / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                              "    from .a import f\n")
    (pkg / "sub" / "c.py").write_text("from ..d import x\n")
    (pkg / "d.py").write_text("import tmsnav.navigation.sub.c\nimport numpy\n")
    (pkg / "e.py").write_text("from .a import f\n")  # depends on the cycle, not part of it
    for other in ("app", "hardware"):
        (tmp_path / other).mkdir()
    found = cycles(import_graph(module_files(tmp_path)))
    assert sorted(sorted(c) for c in found) == [["tmsnav.navigation.a", "tmsnav.navigation.b"],
                                                ["tmsnav.navigation.d", "tmsnav.navigation.sub.c"]]


def test_the_process_bridge_touches_no_private_member_of_acquisition():
    """hardware/acquisition/process.py drives its parent only through the public BridgeHost
    methods (it used to write five private members of Acquisition and import it back)."""
    path = ROOT / "hardware" / "acquisition" / "process.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    private = sorted({f"{ast.unparse(node.value)}.{node.attr}" for node in ast.walk(tree)
                      if isinstance(node, ast.Attribute) and node.attr.startswith("_")
                      and not node.attr.startswith("__")})
    assert private == []


def test_hardware_imports_only_the_pure_transform_math_from_navigation():
    """hardware may use tmsnav.navigation.transforms (numpy/scipy only) and nothing else of navigation
    or app; and tmsnav.navigation.transforms itself imports nothing of ours, so it stays pure."""
    graph = import_graph(module_files())
    wrong = sorted(f"{mod} -> {dep}" for mod, deps in graph.items() if mod.startswith("tmsnav.hardware")
                   for dep in deps
                   if dep.startswith("tmsnav.app") or (dep.startswith("tmsnav.navigation")
                                                and dep != "tmsnav.navigation.transforms"))
    assert wrong == []
    assert graph["tmsnav.navigation.transforms"] == set()
