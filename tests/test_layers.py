"""The layering of the artkit package, checked from the source with ``ast``.

Dependencies point one way: cli -> api -> (render, train, eval) -> core. Library
code never imports ``artkit.cli`` (only the CLI itself, the plugin loader that
attaches commands, ``python -m artkit`` and ``artkit.testing.run_cli`` do), and the
modules' top-level imports form no cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "artkit"

#: Modules that may import artkit.cli anywhere.
CLI_IMPORTERS = {"artkit.plugins", "artkit.__main__"}
#: (module, function) pairs that may import artkit.cli lazily inside the function:
#: ``run_cli`` exists to run the command line in-process for tests, so it must.
CLI_IMPORTING_FUNCTIONS = {("artkit.testing", "run_cli")}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "__pycache__" not in path.parts:
            found[module_name(path)] = path
    return found


MODULES = modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imported(module: str, path: Path, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The artkit modules an import statement loads (submodules named in ``from X import y`` too)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = _resolve(module, path, node)
        names = [base]
        for alias in node.names:
            if f"{base}.{alias.name}" in MODULES:
                names.append(f"{base}.{alias.name}")
    out = []
    for name in names:
        if name != "artkit" and not name.startswith("artkit."):
            continue
        # importing a.b.c runs a/__init__ and a/b/__init__ first
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            candidate = ".".join(parts[:i])
            if candidate in MODULES and candidate != module and candidate not in out:
                out.append(candidate)
    return out


def walk_imports(
    tree: ast.AST, *, top_level_only: bool
) -> Iterator[tuple[ast.Import | ast.ImportFrom, str | None]]:
    """Import statements with the name of the function they are in (None: module level).

    With ``top_level_only``, imports inside functions and ``if TYPE_CHECKING:``
    blocks are skipped: they do not run when the module is imported.
    """

    def visit(node: ast.AST, function: str | None) -> Iterator[Any]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                yield child, function
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                if not top_level_only:
                    name = getattr(child, "name", "<lambda>")
                    yield from visit(child, function or name)
            elif isinstance(child, ast.If) and _is_type_checking(child):
                if not top_level_only:
                    yield from visit(child, function)
            else:
                yield from visit(child, function)

    yield from visit(tree, None)


def _parsed(path: Path) -> ast.AST:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def test_the_walker_sees_the_imports_it_should() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "import artkit.errors\n"
        "if TYPE_CHECKING:\n    from artkit import cli\n"
        "def f():\n    from artkit.cli import main\n"
    )
    tree = ast.parse(source)
    top = [
        imported("artkit.x", PACKAGE / "x.py", n)
        for n, _ in walk_imports(tree, top_level_only=True)
    ]
    assert top == [[], ["artkit", "artkit.errors"]]
    every = [
        (imported("artkit.x", PACKAGE / "x.py", n), fn)
        for n, fn in walk_imports(tree, top_level_only=False)
    ]
    assert (["artkit", "artkit.cli"], None) in every  # the TYPE_CHECKING one
    assert (["artkit", "artkit.cli"], "f") in every


def test_library_code_never_imports_the_cli() -> None:
    offenders = []
    for module, path in MODULES.items():
        if module == "artkit.cli" or module.startswith("artkit.cli.") or module in CLI_IMPORTERS:
            continue
        for node, function in walk_imports(_parsed(path), top_level_only=False):
            if "artkit.cli" not in imported(module, path, node):
                continue
            if (module, function) in CLI_IMPORTING_FUNCTIONS:
                continue
            where = f"{function}()" if function else "module level"
            offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} ({where})")
    assert not offenders, "library code imports artkit.cli:\n" + "\n".join(offenders)


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module, path in MODULES.items():
        for node, _ in walk_imports(_parsed(path), top_level_only=True):
            graph[module].update(imported(module, path, node))
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def connect(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return sorted(found)


def test_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [["a", "b", "c"]]


def test_no_import_cycles_among_artkit_modules() -> None:
    found = cycles(import_graph())
    assert not found, "top-level import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


def _raw_names(module: str, path: Path, node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    return [_resolve(module, path, node)]


#: the one module that may name plugin packages: it loads them from entry points
#: (by the names pyproject.toml lists, never by an import statement)
PLUGIN_LOADER = "artkit.plugins"


def test_the_core_never_imports_a_plugin_package() -> None:
    """Built-ins are plugins: nothing under artkit/ imports artkit_* (anywhere, lazily included)."""
    offenders = []
    for module, path in MODULES.items():
        if module == PLUGIN_LOADER:
            continue
        for node, function in walk_imports(_parsed(path), top_level_only=False):
            for name in _raw_names(module, path, node):
                if name.startswith("artkit_"):
                    where = f"{function}()" if function else "module level"
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {name} ({where})")
    assert not offenders, "the core imports plugin packages:\n" + "\n".join(offenders)


def test_no_import_cycles_inside_the_built_in_plugins() -> None:
    for package in sorted((ROOT / "plugins").glob("artkit_*")):
        paths = {
            ".".join(p.relative_to(ROOT / "plugins").with_suffix("").parts).removesuffix(
                ".__init__"
            ): p
            for p in package.rglob("*.py")
        }
        graph: dict[str, set[str]] = {m: set() for m in paths}
        for module, path in paths.items():
            for node, _ in walk_imports(_parsed(path), top_level_only=True):
                if isinstance(node, ast.ImportFrom) and node.level:
                    base = (
                        module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                    )
                    base = base[: len(base) - (node.level - 1)]
                    names = [".".join([*base, node.module] if node.module else base)]
                    names += [f"{names[0]}.{a.name}" for a in node.names]
                else:
                    names = _raw_names(module, path, node)
                    if isinstance(node, ast.ImportFrom):
                        names += [f"{names[0]}.{a.name}" for a in node.names]
                graph[module].update(n for n in names if n in paths and n != module)
        found = cycles(graph)
        assert not found, f"{package.name}: import cycles: {found}"
