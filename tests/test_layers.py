"""The house plan: layers that only point down, and no import cycle between modules.

settings → core plumbing → identity (users, companies, rights, the policy, the actor) → domains → review → app.
Within the domains, questionnaires may use products; products, faq and questionnaires never use review or app.
An import placed inside a function to dodge a loop is refused too: it hides the loop instead of removing it.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from tests.conftest import ROOT

PACKAGE = ROOT / "convergence"

# Lowest first; a module may import from its own layer or any layer listed before it.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("settings", ("convergence.settings",)),
    ("core", ("convergence.core", "convergence.migrate")),
    ("identity", ("convergence.identity", "convergence.accounts", "convergence.companies")),
    ("products", ("convergence.products",)),
    ("faq", ("convergence.faq",)),
    ("questionnaires", ("convergence.questionnaires",)),
    ("referencing", ("convergence.referencing", "convergence.catalogue")),
    ("attestations", ("convergence.attestations",)),
    ("roadmap", ("convergence.roadmap",)),
    ("review", ("convergence.review",)),
    ("publications", ("convergence.publications",)),
    ("notifications", ("convergence.notifications",)),
    ("app", ("convergence.home", "convergence.fixtures", "convergence.simulation", "convergence.backup",
             "convergence.models", "convergence.routes", "convergence.app", "convergence.cli",
             "convergence")),
]


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> int:
    best, best_length = -1, -1
    for index, (_name, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_length:
                best, best_length = index, len(prefix)
    assert best >= 0, f"{module} belongs to no layer: add it to LAYERS"
    return best


def _imports() -> dict[str, list[tuple[str, int, bool]]]:
    """module → [(imported convergence module, line, inside a function)]."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    found: dict[str, list[tuple[str, int, bool]]] = defaultdict(list)
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        nested = {id(node) for fn in ast.walk(tree) if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
                  for node in ast.walk(fn)}
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # `from convergence.x import y` may name a module y: count the deepest module that exists.
                targets = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in modules else node.module
                           for alias in node.names]
            for target in targets:
                if target.startswith("convergence") and target != module:
                    found[module].append((target, node.lineno, id(node) in nested))
    return found


def test_layers_only_point_down():
    upward = [f"{module}:{line} imports {target} ({LAYERS[_layer(target)][0]} is above "
              f"{LAYERS[_layer(module)][0]})"
              for module, imports in _imports().items() for target, line, _nested in imports
              if _layer(target) > _layer(module)]
    assert upward == []


# The command line imports lazily to start fast: those imports dodge no loop (nothing imports the cli).
LAZY_IMPORTS_ALLOWED = ("convergence.cli",)


def test_no_import_hides_inside_a_function():
    hidden = [f"{module}:{line} imports {target} inside a function"
              for module, imports in _imports().items() for target, line, nested in imports
              if nested and module not in LAZY_IMPORTS_ALLOWED]
    assert hidden == []


def test_no_import_cycle_between_modules():
    graph = {module: {target for target, _line, _nested in imports} for module, imports in _imports().items()}
    # Tarjan's strongly connected components: any component of more than one module is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in graph.get(node, ()):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert cycles == []
