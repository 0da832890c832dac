"""The dependency picture of docs/architecture.md, kept true by the suite.

Every import between the project's modules is read from the source (including imports
inside functions, which hide a dependency without removing it) and checked against the
layers below: a module may import its own layer and the layers beneath it, never one above.
A cycle between any two modules fails too, even inside one layer.
"""

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("hitl_site", "audit", "refunds", "reviews", "analytics", "notifications")

# Lowest first. A module belongs to the first entry whose prefix it starts with.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "kernel",
        (
            "hitl_site.settings",
            "hitl_site.errors",
            "hitl_site.roles",
            "hitl_site.labels",
            "hitl_site.templatetags",
            "hitl_site.admin_mixins",
            "hitl_site.api",
            "hitl_site.openapi",
            "hitl_site.broker",
            "hitl_site.formats",
            "hitl_site.apps",
        ),
    ),
    ("audit", ("audit",)),
    ("refunds", ("refunds",)),
    ("reviews", ("reviews",)),
    ("analytics", ("analytics",)),
    ("notifications", ("notifications",)),  # reads the audit log; nothing below imports it
    ("project", ("hitl_site",)),  # urls, views, navigation, seeding commands
)
MAX_MODULE_LINES = 400


def _is_app_code(path: Path) -> bool:
    parts = path.relative_to(ROOT).parts
    return "tests" not in parts and "migrations" not in parts


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if not _is_app_code(path):
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


MODULES = _modules()


def _owner(dotted: str) -> str | None:
    """The project module an imported name lives in (``a.b.c`` → ``a.b`` if c is a name)."""
    while dotted and dotted not in MODULES:
        dotted = dotted.rpartition(".")[0]
    return dotted or None


def _imports(name: str, path: Path) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:  # `from pkg import module` names the module, not pkg
                submodule = f"{base}.{alias.name}"
                targets.add(submodule if submodule in MODULES else base)
    return {owner for t in targets if (owner := _owner(t)) and owner != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _layer(module: str) -> int:
    for rank, (_, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return rank
    raise AssertionError(f"{module} belongs to no layer: add it to LAYERS")


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_every_module_belongs_to_a_layer():
    for module in MODULES:
        _layer(module)


def test_no_module_imports_a_layer_above_its_own():
    upward = sorted(
        f"{module} ({LAYERS[_layer(module)][0]}) imports {target} ({LAYERS[_layer(target)][0]})"
        for module, targets in GRAPH.items()
        for target in targets
        if _layer(target) > _layer(module)
    )
    assert upward == []


def test_no_import_cycle_between_modules():
    assert _cycles(GRAPH) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_app_dependencies_point_one_way():
    apps: dict[str, set[str]] = defaultdict(set)
    for module, targets in GRAPH.items():
        for target in targets:
            if module.split(".")[0] != target.split(".")[0]:
                apps[module.split(".")[0]].add(target.split(".")[0])
    assert "reviews" not in apps["refunds"]
    assert not ({"refunds", "reviews", "analytics"} & apps["audit"])
    assert "analytics" not in apps["refunds"] | apps["reviews"]
    assert "notifications" not in apps["refunds"] | apps["reviews"] | apps["analytics"]


@pytest.mark.parametrize("package", [*PACKAGES, "bench"])
def test_no_module_outgrows_a_screenful_of_screens(package):
    too_long = {
        str(path.relative_to(ROOT)): lines
        for path in (ROOT / package).rglob("*.py")
        if _is_app_code(path) and (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert too_long == {}
