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


def test_nothing_below_the_doors_imports_a_channel():
    """Issue 35: use cases and the domain get what a channel does handed in by the door (the reconcile
    sweep gets the SMS door's handling as reconcile.Inbound), they never import chalicelib.channels."""
    modules = _modules()
    found = [f"{name} imports {imported}" for name, path in modules.items()
             if name.startswith(("chalicelib.usecases", "chalicelib.domain"))
             for imported, _ in _imports(path, set(modules)) if imported.startswith("chalicelib.channels")]
    assert not found, found


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
    # Models stay inside: the package exports functions and domain values (models.py and
    # rare_models.py define nothing else; MODELS and TTL_ATTRIBUTES are lists of them, Table their base).
    for module in ("_base", "tables", "tickets", "contacts", "people", "delivery", "shifts", "signin"):
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
                if not name.startswith("_") and name not in ("MODELS", "TTL_ATTRIBUTES", "Table"):
                    defined.setdefault(name, module)
    assert store._WHERE == defined


# --- the ticket's rules in one place: models stay in store/, statuses in domain/ ----------------

STORE = LIB / "store"
STATUSES = {"open", "pending", "resolved", "closed"}


def _model_classes() -> tuple[set[str], set[str]]:
    """(model and index class names, their attribute names) from store/models.py and rare_models.py."""
    classes, attrs = set(), set()
    for name in ("models.py", "rare_models.py"):
        for node in ast.parse((STORE / name).read_text()).body:
            if isinstance(node, ast.ClassDef) and any(getattr(b, "id", None) in ("Model", "GlobalSecondaryIndex")
                                                      for b in node.bases):
                classes.add(node.name)
                attrs |= {t.id for n in node.body if isinstance(n, ast.Assign) for t in n.targets
                          if isinstance(t, ast.Name) and t.id != "Meta"}
    return classes, attrs


def _own_names(tree: ast.Module) -> set[str]:
    """Classes a module defines and names it imports from the domain."""
    names = {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
    for n in tree.body:
        if isinstance(n, ast.ImportFrom) and n.module and n.module.startswith("chalicelib.domain"):
            names |= {a.asname or a.name for a in n.names}
    return names


def _outside_store() -> list[Path]:
    return [ROOT / "app.py"] + [p for p in sorted(LIB.rglob("*.py")) if STORE not in p.parents]


def test_no_model_is_named_built_or_changed_outside_the_store():
    """DESIGN.md: the store is the only code that knows the tables. Outside it no model class is
    imported or named (so none is built), and no model attribute is assigned: the store hands out
    domain values (immutable Records), and takes them back."""
    classes, attrs = _model_classes()
    tables = ("chalicelib.store.models", "chalicelib.store.rare_models", "chalicelib.store.tables")
    # Objects outside the store whose attributes happen to share a model field's name.
    not_models = {"self", "response", "ack"}
    found = []
    for path in _outside_store():
        rel = path.relative_to(ROOT)
        tree = ast.parse(path.read_text())
        own = _own_names(tree)  # a domain value or a schema of the same name is not the model
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("chalicelib.store"):
                if node.module in tables:
                    found.append(f"{rel}:{node.lineno} imports {node.module}")
                found += [f"{rel}:{node.lineno} imports the model {a.name}" for a in node.names if a.name in classes]
            if isinstance(node, ast.Attribute) and node.attr in classes and isinstance(node.value, ast.Name) \
                    and node.value.id == "store":
                found.append(f"{rel}:{node.lineno} names store.{node.attr}")
            if isinstance(node, ast.Name) and node.id in classes and node.id not in own:
                found.append(f"{rel}:{node.lineno} names the model {node.id}")
            targets = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
                targets = [node.target]
            for target in targets:
                for t in (target.elts if isinstance(target, ast.Tuple) else [target]):
                    if isinstance(t, ast.Attribute) and t.attr in attrs and isinstance(t.value, ast.Name) \
                            and t.value.id not in not_models:
                        found.append(f"{rel}:{node.lineno} assigns {ast.unparse(t)}")
    assert not found, "\n".join(found)


def test_the_store_hands_out_domain_values_not_models():
    """Every public function of the repositories says what it returns, and it is never a model."""
    classes, _ = _model_classes()
    found = []
    for path in sorted(STORE.glob("*.py")):
        if path.name in ("models.py", "rare_models.py", "memory.py"):
            continue
        tree = ast.parse(path.read_text())
        models = classes - _own_names(tree)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                if node.returns is None:
                    found.append(f"{path.name}: {node.name} has no return annotation")
                elif {n.id for n in ast.walk(node.returns) if isinstance(n, ast.Name)} & models:
                    found.append(f"{path.name}: {node.name} returns {ast.unparse(node.returns)}")
    assert not found, "\n".join(found)


def test_ticket_statuses_are_spelled_out_only_in_the_domain():
    """The status sets ("open or pending", "resolved or closed") live in domain/ once: a comparison,
    a set or a Literal of status words elsewhere is a second copy of a rule."""
    found = []
    for path in sorted(LIB.rglob("*.py")) + [ROOT / "app.py"]:
        if LIB / "domain" in path.parents:
            continue
        rel = path.relative_to(ROOT)
        for node in ast.walk(ast.parse(path.read_text())):
            values = []
            if isinstance(node, ast.Compare):
                values = [node.left, *node.comparators]
                values += [e for c in node.comparators if isinstance(c, (ast.Tuple, ast.List, ast.Set)) for e in c.elts]
            elif isinstance(node, (ast.Tuple, ast.List, ast.Set)):
                values = list(node.elts)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "is_in":
                values = list(node.args)
            words = [v.value for v in values if isinstance(v, ast.Constant) and v.value in STATUSES]
            if words and (isinstance(node, ast.Compare) or len(words) > 1 or isinstance(node, ast.Call)):
                found.append(f"{rel}:{node.lineno} {', '.join(words)}")
    assert not found, "\n".join(found)


def test_modules_fit_and_the_front_door_stays_small():
    """Issue 35: no module of chalicelib over 400 lines (split by what changes together), and app.py
    keeps the app, the middleware, the doors' registration and the schedules only (under 200)."""
    too_long = {str(p.relative_to(ROOT)): n for p in sorted(LIB.rglob("*.py"))
                if (n := len(p.read_text().splitlines())) > 400}
    assert not too_long, too_long
    assert len((ROOT / "app.py").read_text().splitlines()) < 200
