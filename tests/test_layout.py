"""The house's layout: one package per stage, imports going down only, no import cycle, small modules.

Every import counts, also one inside a function or under ``TYPE_CHECKING``: the layering is about
what a module may know of, not only about what it loads first.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import ROOT

PACKAGE = ROOT / "digest"

#: The floors, lowest first: a module may import its own floor and those below, never one above.
FLOORS: tuple[tuple[str, ...], ...] = (
    ("digest", "digest.models", "digest.errors", "digest.files", "digest.cron", "digest.weekly", "digest.tokens",
     "digest.subscribers", "digest.config"),
    ("digest.store",),
    ("digest.listings",),
    ("digest.ranking",),
    ("digest.site",),
    ("digest.mail",),
    ("digest.pipeline",),
    ("digest.schedule",),
    ("digest.web",),
    ("digest.cli",),
    ("digest.__main__",),
)  # fmt: skip
STAGES = ("config", "store", "listings", "ranking", "site", "mail", "schedule", "web", "cli")
MAX_TOP_LEVEL_MODULES = 10
MAX_LINES = 330


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES: dict[str, Path] = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported(name: str, path: Path) -> Iterator[tuple[str, int]]:
    """The project modules that the module ``name`` imports anywhere, with the line of each import."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                yield target, node.lineno


GRAPH: dict[str, set[str]] = {name: {target for target, _ in imported(name, path)} for name, path in MODULES.items()}


def floor(name: str) -> int:
    for level, prefixes in enumerate(FLOORS):
        if any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes):
            return level
    raise AssertionError(f"{name} stands on no floor: add it to FLOORS in {Path(__file__).name}")


def test_every_module_stands_on_a_floor() -> None:
    for name in MODULES:
        floor(name)


def test_imports_go_down_only() -> None:
    upward = [
        f"{name}:{line} imports {target}"
        for name, path in MODULES.items()
        for target, line in imported(name, path)
        if floor(target) > floor(name)
    ]
    assert not upward, "imports running back up:\n" + "\n".join(upward)


def test_no_import_cycle() -> None:
    """Tarjan's strongly connected components: any with two modules or more is a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(GRAPH[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for name in sorted(GRAPH):
        if name not in index:
            visit(name)
    assert not cycles, f"import cycles: {cycles}"


def test_few_modules_at_the_top() -> None:
    top = [path.name for path in PACKAGE.glob("*.py") if path.name not in ("__init__.py", "__main__.py")]
    assert len(top) <= MAX_TOP_LEVEL_MODULES, sorted(top)


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_is_a_package_that_says_what_it_does(stage: str) -> None:
    init = PACKAGE / stage / "__init__.py"
    assert init.exists(), f"digest/{stage}/ is not a package"
    docstring = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
    assert docstring and "import" in docstring, f"digest/{stage}/__init__.py must say what it may import"


def test_no_module_is_too_long() -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for path in MODULES.values()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"split these by responsibility (at most {MAX_LINES} lines): {long}"
