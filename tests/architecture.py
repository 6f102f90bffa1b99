"""Reads a source tree with `ast` (never importing it): its modules, their imports, their sizes.

`Codebase.load(src)` takes the directory that holds the top-level package (`src` for lfp, a
`tmp_path` in the self-checks), so the rules in tests/unit/test_architecture.py can be tried on
a small fake tree as well as on the real one.
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

Function = ast.FunctionDef | ast.AsyncFunctionDef


def matches(module: str, pattern: str) -> bool:
    """`lfp.x` names that module and everything under it, `lfp.x.__init__` only the package
    itself; `*` is a wildcard (`*.routes`: every module named routes, and what is under it)."""
    if pattern.endswith(".__init__"):
        return fnmatchcase(module, pattern.removesuffix(".__init__"))
    return fnmatchcase(module, pattern) or fnmatchcase(module, pattern + ".*")


def matches_any(module: str, patterns: Iterable[str]) -> bool:
    return any(matches(module, pattern) for pattern in patterns)


@dataclass(frozen=True)
class Module:
    name: str  # dotted, e.g. "lfp.files.routes"; a package is named after its __init__.py
    path: Path  # as shown in reports: relative to the parent of the source directory
    is_package: bool
    tree: ast.Module = field(repr=False)
    line_count: int


@dataclass(frozen=True)
class Import:
    importer: Module
    target: str  # the module depended on: "lfp.a.b" for `from lfp.a import b` if b is a module
    line: int
    lazy: bool  # inside a function body, so it only runs when that function is called
    typing_only: bool = False  # under `if TYPE_CHECKING:`: never runs, only mypy reads it

    @property
    def where(self) -> str:
        return f"{self.importer.path}:{self.line}"

    def describe(self) -> str:
        lazily = " (inside a function)" if self.lazy else ""
        lazily = " (for type checking only)" if self.typing_only else lazily
        return f"{self.where}: {self.importer.name} imports {self.target}{lazily}"


@dataclass(frozen=True)
class Codebase:
    modules: Mapping[str, Module]
    imports: tuple[Import, ...]

    def __repr__(self) -> str:
        return f"<Codebase of {len(self.modules)} modules, {len(self.imports)} imports>"

    @classmethod
    def load(cls, src: Path, package: str, exclude: Iterable[str] = ()) -> Codebase:
        """Every module of `package` under `src`, except those matching an `exclude` pattern."""
        excluded = tuple(exclude)
        modules: dict[str, Module] = {}
        for path in sorted((src / package).rglob("*.py")):
            module = _read_module(src, path)
            if matches_any(module.name, excluded):
                continue
            # With both lfp/x.py and lfp/x/__init__.py (mid-move), Python imports the package.
            if module.name not in modules or module.is_package:
                modules[module.name] = module
        imports = tuple(
            found for module in modules.values() for found in _imports_of(module, modules)
        )
        return cls(modules, imports)

    def imports_between(self, modules: Iterable[str]) -> list[Import]:
        """The imports from one of these modules to another one of them."""
        inside = set(modules)
        return [
            found
            for found in self.imports
            if found.importer.name in inside and found.target in inside
            if found.importer.name != found.target
        ]

    def graph(self) -> dict[str, set[str]]:
        """Module -> the modules of this codebase that it imports (itself left out)."""
        graph: dict[str, set[str]] = {name: set() for name in self.modules}
        for found in self.imports_between(self.modules):
            graph[found.importer.name].add(found.target)
        return graph

    def functions(self) -> Iterator[tuple[Module, str, Function]]:
        """Every function and method, nested ones too, with a dotted name like `Class.method`."""
        for module in self.modules.values():
            yield from _functions_in(module, module.tree, prefix="")


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module, as sorted lists."""
    reach = {node: _reachable(graph, node) for node in graph}
    components = {
        frozenset({node} | {other for other in reach[node] if node in reach[other]})
        for node in graph
    }
    return sorted(sorted(component) for component in components if len(component) > 1)


def shortest_cycle(graph: Mapping[str, set[str]], start: str) -> list[str]:
    """One shortest path start -> ... -> start, or [] if start lies on no cycle."""
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in sorted(graph[node]):
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [*reversed(path), start]
            if nxt not in came_from:
                came_from[nxt] = node
                queue.append(nxt)
    return []


def _reachable(graph: Mapping[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    stack = list(graph[start])
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack.extend(graph[node])
    return seen


def _read_module(src: Path, path: Path) -> Module:
    parts = list(path.relative_to(src).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts.pop()
    source = path.read_text(encoding="utf-8")
    return Module(
        name=".".join(parts),
        path=path.relative_to(src.parent),
        is_package=is_package,
        tree=ast.parse(source, filename=str(path)),
        line_count=len(source.splitlines()),
    )


def _imports_of(module: Module, known: Mapping[str, Module]) -> Iterator[Import]:
    """Every `import` statement, at any depth (functions, `if TYPE_CHECKING:`, `try:`...)."""
    statements = sorted(_import_statements(module.tree), key=lambda node: node.lineno)
    lazy = {
        node
        for function in ast.walk(module.tree)
        if isinstance(function, Function)
        for node in _import_statements(function)
    }
    typing_only = {
        node
        for block in ast.walk(module.tree)
        if isinstance(block, ast.If) and _is_type_checking(block.test)
        for statement in block.body
        for node in _import_statements(statement)
    }
    for node in statements:
        for target in dict.fromkeys(_targets(module, node, known)):  # once per statement
            yield Import(
                module, target, node.lineno, lazy=node in lazy, typing_only=node in typing_only
            )


def _is_type_checking(test: ast.expr) -> bool:
    """Whether an `if` tests `TYPE_CHECKING` (or `typing.TYPE_CHECKING`)."""
    name = test.attr if isinstance(test, ast.Attribute) else getattr(test, "id", None)
    return name == "TYPE_CHECKING"


def _import_statements(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    return (node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom))


def _targets(
    module: Module, node: ast.Import | ast.ImportFrom, known: Mapping[str, Module]
) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = _absolute(module, node)
    # `from lfp.a import b` depends on the module lfp.a.b if there is one, else on lfp.a.
    return [
        f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names
    ]


def _absolute(module: Module, node: ast.ImportFrom) -> str:
    """The absolute module name of `from <node.module> import ...`, relative imports resolved."""
    if node.level == 0:
        return node.module or ""
    package = module.name.split(".") if module.is_package else module.name.split(".")[:-1]
    base = package[: max(0, len(package) - (node.level - 1))]
    return ".".join([*base, node.module] if node.module else base)


def _functions_in(
    module: Module, node: ast.AST, prefix: str
) -> Iterator[tuple[Module, str, Function]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, Function):
            yield module, prefix + child.name, child
            yield from _functions_in(module, child, prefix + child.name + ".")
        elif isinstance(child, ast.ClassDef):
            yield from _functions_in(module, child, prefix + child.name + ".")
        else:
            yield from _functions_in(module, child, prefix)
