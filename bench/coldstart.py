"""Cold start of the webhook path: importing what an inbound SMS needs, in fresh interpreters.

Compared with importing what the app cannot do without (chalice + pynamodb), as
Lambda runs it: the deployment package carries bytecode (`make package` adds
unchecked-hash pycs, since /var/task is read-only and Python would otherwise
compile every module at every cold start), so our modules are measured compiled
the same way, like the dependencies pip compiled on install. The figure from
source, what Lambda paid before, is printed beside it.

Wall-clock time on a shared 2-core machine swings by ±20 %, so each figure is the
median and the minimum of interleaved fresh interpreters, and — where valgrind
is installed — the instructions executed (deterministic with a fixed hash seed).

    python -m bench.coldstart [runs]
    python -m bench.coldstart --package dist/deployment.zip [runs]   (after `make package`)
"""
from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from scripts.package import precompile

ROOT = Path(__file__).resolve().parent.parent
BASE = "import chalice, pynamodb.models, pynamodb.transactions"
WEBHOOK = ("import app, chalicelib.channels.sms, chalicelib.store.tickets, chalicelib.store.people, "
           "chalicelib.store.delivery")
TARGET = 1.1  # issue 14: the webhook path within 1.1x of chalice + pynamodb


def _env(**extra: str) -> dict:
    """This environment without Python settings, plus the interpreter settings the Lambda gets
    (.chalice/config.json: PYTHONTZPATH spares zoneinfo reading sysconfig's build data)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    deployed = {k: v for k, v in config["environment_variables"].items() if k.startswith("PYTHON")}
    return {**env, **deployed, "PYTHONHASHSEED": "0", **extra}


def _split(cwd: Path, env: dict, *, alone: bool = False) -> tuple[float, float]:
    """One fresh interpreter: chalice + pynamodb, then the rest of the webhook path, each timed (ms).

    Both parts run in the same process, so a slow spell of the shared machine slows both alike:
    the ratio is steadier than comparing separate interpreters (whose speed swings by ±20 % here).
    With `alone`, the interpreter sees no site-packages: only what `cwd` holds (an unpacked zip).
    """
    code = (f"import time; t0 = time.perf_counter(); {BASE}; t1 = time.perf_counter(); {WEBHOOK}; "
            "t2 = time.perf_counter(); print((t1 - t0) * 1000, (t2 - t1) * 1000)")
    if alone:
        code = f"import sys; sys.path.insert(0, {str(cwd)!r}); " + code
    out = subprocess.run([sys.executable, *(["-S"] if alone else []), "-c", code], cwd=cwd, env=env,
                         capture_output=True, text=True, check=True).stdout.split()
    return float(out[-2]), float(out[-1])


def _instructions(code: str, cwd: Path, env: dict) -> int | None:
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None
    code = f"import os; {code}; os._exit(0)"  # the imports only: not the interpreter's teardown
    run = subprocess.run([valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c", code],
                         cwd=cwd, env=env, capture_output=True, text=True)
    for line in run.stderr.splitlines():
        if "Collected :" in line:
            return int(line.rsplit(":", 1)[1].strip())
    return None


def _copy(into: Path, *, bytecode: bool) -> Path:
    """app.py and chalicelib, with their bytecode as in the deployment package, or without any."""
    into.mkdir()
    shutil.copy2(ROOT / "app.py", into / "app.py")
    shutil.copytree(ROOT / "chalicelib", into / "chalicelib", ignore=shutil.ignore_patterns("__pycache__"))
    if bytecode:
        precompile(into)
    return into


def measure(runs: int = 15) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        deployed, plain = _copy(Path(tmp) / "deployed", bytecode=True), _copy(Path(tmp) / "source", bytecode=False)
        compiled, source = _env(), _env(PYTHONDONTWRITEBYTECODE="1")
        splits: dict[str, list[tuple[float, float]]] = {"deployed": [], "source": []}
        for _ in range(runs):  # interleaved
            splits["deployed"].append(_split(deployed, compiled))
            splits["source"].append(_split(plain, source))
        loaded = subprocess.run([sys.executable, "-c", "import sys, app; print(*(m in sys.modules for m in ("
                                 "'twilio.rest', 'requests', 'phonenumbers', 'aws_lambda_powertools', 'pydantic')))"],
                                cwd=deployed, env=compiled, capture_output=True, text=True, check=True).stdout.split()
        counts = {"start": _instructions("pass", deployed, compiled),
                  "base": _instructions(BASE, deployed, compiled),
                  "webhook": _instructions(WEBHOOK, deployed, compiled)}
    names = ("twilio.rest", "requests", "phonenumbers", "Powertools", "pydantic")
    return {"splits": splits, "counts": counts, "runs": runs, "loaded": dict(zip(names, loaded, strict=True))}


def report(result: dict) -> str:
    c = result["counts"]

    def line(label: str, splits: list[tuple[float, float]]) -> str:
        ratios = [1 + ours / base for base, ours in splits]
        q1, _, q3 = statistics.quantiles(ratios, n=4)
        base = statistics.median(b for b, _ in splits)
        ours = statistics.median(o for _, o in splits)
        return (f"  {label}: chalice + pynamodb {base:.0f} ms, then the rest of the path {ours:.0f} ms: "
                f"{statistics.median(ratios):.3f}x (quartiles {q1:.3f}-{q3:.3f})")

    lines = [f"Cold start, webhook path (`{WEBHOOK[7:]}`) against chalice + pynamodb "
             f"(median of {result['runs']} fresh interpreters, both parts timed in each):",
             line("as deployed (bytecode; app.py keeps the cyclic collector off for the cold start)",
                  result["splits"]["deployed"]),
             line("from source (no bytecode: what every Lambda cold start paid before)", result["splits"]["source"])]
    lines.append("  loaded by `import app`: " + ", ".join(f"{k} {v}" for k, v in result["loaded"].items())
                 + " (each is imported where it is first needed)")
    if None not in c.values():
        base, hook = c["base"] - c["start"], c["webhook"] - c["start"]
        lines.append(f"  instructions executed by the imports (valgrind, deterministic): {hook / 1e6:.0f} M vs "
                     f"{base / 1e6:.0f} M = {hook / base:.3f}x (target {TARGET}x)")
    else:
        lines.append("  instructions: valgrind not installed, not measured")
    return "\n".join(lines)


def package(zip_path: Path, runs: int = 9) -> str:
    """The unpacked deployment package as Lambda runs it (its own dependencies, no site-packages),
    with the bytecode `make package` adds and without it (what each cold start paid before)."""
    import zipfile

    with tempfile.TemporaryDirectory() as tmp:
        with_pyc, without = Path(tmp) / "with", Path(tmp) / "without"
        with zipfile.ZipFile(zip_path) as zf:
            zf.extractall(with_pyc)
            zf.extractall(without, members=[n for n in zf.namelist() if not n.endswith(".pyc")])
        env = _env(PYTHONDONTWRITEBYTECODE="1")  # /var/task is read-only

        splits: dict[str, list[tuple[float, float]]] = {"with": [], "without": []}
        for _ in range(runs):
            splits["with"].append(_split(with_pyc, env, alone=True))
            splits["without"].append(_split(without, env, alone=True))
    total = {k: statistics.median(b + o for b, o in v) for k, v in splits.items()}
    ratio = {k: statistics.median(1 + o / b for b, o in v) for k, v in splits.items()}
    return (f"Unpacked {zip_path} ({runs} fresh interpreters each, median): the webhook path's imports take "
            f"{total['without']:.0f} ms without bytecode, {total['with']:.0f} ms with it; "
            f"{ratio['without']:.2f}x → {ratio['with']:.3f}x chalice + pynamodb")

def main() -> int:
    args = sys.argv[1:]
    if args[:1] == ["--package"]:
        print(package(Path(args[1]), int(args[2]) if len(args) > 2 else 9))
        return 0
    runs = int(args[0]) if args else 15
    print(report(measure(runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
