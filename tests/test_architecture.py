"""The shape of DESIGN.md, checked: a pure domain, no import cycle, no import dodging one."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIB = ROOT / "chalicelib"
FORBIDDEN_IN_DOMAIN = ("chalicelib.store", "chalicelib.channels", "chalicelib.notify", "chalicelib.outbox",
                       "pynamodb", "boto3", "botocore", "twilio")


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(LIB.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _is_lazy(node: ast.AST) -> bool:
    """lazy.module("chalicelib.x"): an import made on first use (chalicelib/lazy.py)."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "module"
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "lazy")


def _imports(path: Path, known: set[str]) -> list[tuple[str, bool]]:
    """(imported chalicelib module, at module level?) for every import in the file."""
    tree = ast.parse(path.read_text())
    top = {id(node) for node in tree.body}
    top |= {id(node.value) for node in tree.body if isinstance(node, ast.Assign)}
    found = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        if _is_lazy(node):
            names = [node.args[0].value]  # lazy.module("chalicelib.x"): an import, made on first use
        for name in names:
            if name in known:
                found.append((name, id(node) in top))
            elif any(name.startswith(p) for p in FORBIDDEN_IN_DOMAIN):
                found.append((name, id(node) in top))
    return found


def test_the_domain_imports_no_store_channel_notify_pynamodb_boto_or_twilio():
    modules = _modules()
    for name, path in modules.items():
        if not name.startswith("chalicelib.domain"):
            continue
        for imported, _ in _imports(path, set(modules)):
            assert not imported.startswith(FORBIDDEN_IN_DOMAIN), f"{name} imports {imported}"
            if imported.startswith("chalicelib."):
                assert imported.startswith("chalicelib.domain"), f"{name} imports {imported}"


def test_no_import_cycle_and_no_function_local_import_dodging_one():
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges = set()
        for imported, at_top in _imports(path, set(modules)):
            if imported.startswith("chalicelib"):
                assert at_top, f"{name} imports {imported} inside a function: move it up, or fix the cycle"
                if imported != name and not name.startswith(imported + "."):
                    edges.add(imported)
        graph[name] = edges
    # Tarjan-free: a DFS that reports the first cycle it walks into.
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if nxt == "chalicelib" or nxt not in graph:
                continue
            if state.get(nxt) == 1:
                cycle = trail[trail.index(nxt):] + [nxt] if nxt in trail else [node, nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for name in graph:
        if name not in state:
            visit(name, [name])


def test_every_module_imports_alone_in_a_fresh_interpreter():
    names = [n for n in _modules() if n != "chalicelib"]
    code = ("import importlib, subprocess, sys\n"
            "bad = []\n"
            "for name in sys.argv[1:]:\n"
            "    r = subprocess.run([sys.executable, '-c', f'import {name}'], capture_output=True, text=True)\n"
            "    if r.returncode:\n"
            "        bad.append((name, r.stderr.strip().splitlines()[-1:]))\n"
            "print(bad)\n"
            "sys.exit(1 if bad else 0)\n")
    r = subprocess.run([sys.executable, "-c", code, *names], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_store_package_resolves_every_name_of_its_repositories():
    """store/__init__.py maps names to submodules (imported on first use): the map must be whole,
    and it exports no private name."""
    from chalicelib import store

    defined = {}
    for module in ("_base", "models", "rare_models", "tables", "tickets", "people", "delivery", "shifts"):
        tree = ast.parse((LIB / "store" / f"{module}.py").read_text())
        for node in tree.body:
            names = []
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names = [node.name]
            elif isinstance(node, ast.Assign) and not _is_lazy(node.value):  # a lazy module is not a name of store
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names = [node.target.id]
            for name in names:
                if not name.startswith("_"):
                    defined.setdefault(name, module)
    assert store._WHERE == defined
