"""`make catalogues`: the customer texts' gettext catalogues, with Babel.

1. Extracts every text the code marks (translate, translate_ctx, N_, C_) into chalicelib/locale/customers.pot.
2. Updates each language's customers.po from it (new texts appear untranslated, gone ones obsolete).
3. Compiles each .po into the .mo that the Lambda reads (stdlib gettext, no Babel on that path).

tests/test_words.py fails when the .pot, a .po or a .mo is behind the code.
"""
from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "chalicelib" / "locale"
POT = LOCALE / "customers.pot"
KEYWORDS = {"translate": (2,), "translate_ctx": ((2, "c"), 3), "N_": (1,), "C_": ((1, "c"), 2)}


def extract() -> Catalog:
    catalog = Catalog(project="Friday Night", version="1.2", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
            str(ROOT / "chalicelib"), method_map=[("**.py", "python")], keywords=KEYWORDS,
            comment_tags=("sms:", "note:"), strip_comment_tags=True):
        catalog.add(message, locations=[(f"chalicelib/{filename}", lineno)], auto_comments=comments,
                    context=context)
    return catalog


def po_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, width=100, omit_header=False, sort_output=True, no_location=True)
    return out.getvalue()


def mo_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def languages() -> list[str]:
    from chalicelib.domain.words import LANGUAGES, SOURCE

    return [lang for lang in LANGUAGES if lang != SOURCE]


def po_path(lang: str) -> Path:
    return LOCALE / lang / "LC_MESSAGES" / "customers.po"


def updated(lang: str, template: Catalog) -> Catalog:
    path = po_path(lang)
    if path.exists():
        with path.open("rb") as fh:
            catalog = read_po(fh, locale=lang)
    else:
        catalog = Catalog(locale=lang, project="Friday Night", version="1.2", charset="utf-8")
    catalog.update(template, no_fuzzy_matching=True)
    catalog.obsolete.clear()
    return catalog


def main() -> int:
    template = extract()
    POT.parent.mkdir(parents=True, exist_ok=True)
    POT.write_bytes(po_bytes(template))
    for lang in languages():
        catalog = updated(lang, template)
        po_path(lang).parent.mkdir(parents=True, exist_ok=True)
        po_path(lang).write_bytes(po_bytes(catalog))
        po_path(lang).with_suffix(".mo").write_bytes(mo_bytes(catalog))
        missing = [m.id for m in catalog if m.id and not m.string]
        print(f"{lang}: {len(catalog) - 1} texts, {len(missing)} untranslated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
