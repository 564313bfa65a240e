"""No import cycles among fastnn's modules, counting the imports inside functions too.

An import inside a function hides a cycle from Python (it runs after both modules have
loaded) but not from a reader: two modules that need each other are one job split in two.
The graph is read from the source (every ``import fastnn…`` and ``from fastnn… import``
anywhere in a module), so the test sees what the import system only sees at run time.
"""
import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"fastnn": ROOT / "fastnn", "fastnn.kernels": ROOT / "kernels"}


def modules():
    """{module name: source path} for fastnn and fastnn.kernels, subpackages included."""
    found = {}
    for package, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((package, *parts))] = path
    return found


def imported(tree, known):
    """The fastnn modules a module's syntax tree imports, wherever the import statement is."""
    targets = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from fastnn.kernels import driver` imports a module, `… import LINEAR` its package
            names = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in known
                     else node.module for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:  # `import fastnn.kernels.x.y`: the module
                name = name.rpartition(".")[0]
            if name:
                targets.add(name)
    return targets


def import_graph():
    known = modules()
    return {name: imported(ast.parse(path.read_text()), known) - {name}
            for name, path in known.items()}


def find_cycle(graph):
    """One cycle of `graph` as a list of modules (the first repeated at the end), or None."""
    done, path = set(), []

    def visit(name):
        if name in path:
            return path[path.index(name):] + [name]
        if name in done:
            return None
        path.append(name)
        for target in sorted(graph[name]):
            cycle = visit(target)
            if cycle:
                return cycle
        path.pop()
        done.add(name)
        return None

    for name in sorted(graph):
        cycle = visit(name)
        if cycle:
            return cycle
    return None


def test_the_modules_import_each_other_without_a_cycle():
    graph = import_graph()
    assert {"fastnn", "fastnn.model", "fastnn.kernels.driver"} <= set(graph)
    assert "fastnn.kernels.driver" in graph["fastnn.epoch"]  # the graph sees the imports
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " → ".join(cycle)


def test_the_cycle_finder_finds_one_through_a_function_level_import():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    tree = ast.parse("def f():\n    from fastnn.model import Sequential\n")
    assert imported(tree, {"fastnn", "fastnn.model"}) == {"fastnn.model"}


@pytest.mark.parametrize("name", sorted(modules()))
def test_every_module_imports(name):
    if name.endswith("__main__"):
        pytest.skip("runs the command line")
    importlib.import_module(name)
