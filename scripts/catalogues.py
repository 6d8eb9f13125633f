"""`make catalogues`: the customer texts' gettext catalogues, with Babel.

1. Extracts every text the code marks (translate, translate_ctx, N_, C_) into chalicelib/locale/customers.pot.
2. Updates each language's customers.po from it (new texts appear untranslated, gone ones obsolete).
3. Compiles each .po into the .mo that the Lambda reads (stdlib gettext, no Babel on that path).

tests/test_words.py fails when the .pot, a .po or a .mo is behind the code.
"""
from __future__ import annotations

import io
import json
import sys
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "chalicelib" / "locale"
POT = LOCALE / "customers.pot"
KEYWORDS = {"translate": (2,), "translate_ctx": ((2, "c"), 3), "N_": (1,), "C_": ((1, "c"), 2)}


CONSOLE = ROOT / "chalicelib" / "channels" / "console"
CONSOLE_WORDS = CONSOLE / "words.json"  # the console's texts (context "console"), for the page to hand over


class _ShellTexts(HTMLParser):
    """The texts console.html marks for translation: an element's text (data-t), an aria-label
    (data-t-label)."""

    def __init__(self):
        super().__init__()
        self.found: list[tuple[int, str]] = []
        self._open = False

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        self._open = "data-t" in names
        if "data-t-label" in names:
            self.found.append((self.getpos()[0], names["aria-label"]))

    def handle_data(self, data):
        if self._open and data.strip():
            self.found.append((self.getpos()[0], data.strip()))
        self._open = False


def console_texts() -> list[tuple[str, int, str]]:
    """(file, line, text) of every console text: the script's tr("…") calls and the shell's marks."""
    out = [(f"chalicelib/channels/console/{filename}", lineno, message) for filename, lineno, message, _, _ in
           extract_from_dir(str(CONSOLE), method_map=[("**.js", "javascript")], keywords={"tr": None},
                            options_map={"**.js": {"parse_template_string": "true"}})]
    shell = _ShellTexts()
    shell.feed((CONSOLE / "console.html").read_text(encoding="utf-8"))
    out += [("chalicelib/channels/console/console.html", line, text) for line, text in shell.found]
    return out


def console_words() -> bytes:
    return (json.dumps(sorted({text for _, _, text in console_texts()}), ensure_ascii=False, indent=0) + "\n").encode()


def extract() -> Catalog:
    catalog = Catalog(project="Friday Night", version="1.2", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
            str(ROOT / "chalicelib"), method_map=[("**.py", "python")], keywords=KEYWORDS,
            comment_tags=("sms:", "note:"), strip_comment_tags=True):
        catalog.add(message, locations=[(f"chalicelib/{filename}", lineno)], auto_comments=comments,
                    context=context)
    for filename, lineno, text in console_texts():
        catalog.add(text, locations=[(filename, lineno)], context="console")
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
    CONSOLE_WORDS.write_bytes(console_words())
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
