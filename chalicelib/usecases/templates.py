"""Templates: canned answers personalised with {first_name}, {ticket}, {agent}, {eta}.

Templates marked `auto` answer a matching first message by themselves
(keywords, whole words, any case); the answer is recorded as automated and
the ticket stays open for a human unless the customer replies YES.
"""
from __future__ import annotations

import re
import secrets
import string
from datetime import datetime

from chalicelib import expectations, store, validate
from chalicelib.domain import words
from chalicelib.domain.templates import Template
from chalicelib.domain.texts import segments  # noqa: F401 - the counter, re-exported
from chalicelib.domain.tickets import PHONE_CHANNELS, Ticket
from chalicelib.domain.words import translate, translate_ctx
from chalicelib.errors import BadRequest, Conflict, NotFound
from chalicelib.usecases import contacts

PLACEHOLDERS = {"first_name", "ticket", "agent", "eta"}
_ETA_AFTER_A_PREPOSITION = re.compile(r"\b(?:by|until|before)\s+(?=\{eta\})", re.IGNORECASE)
FIELDS = {"name", "body", "category", "keywords", "auto", "bodies"}


def confirm_line(ticket: Ticket) -> str:
    """Under an automatic answer: how to say it solved it, in the customer's language."""
    lang = expectations.language(ticket)
    yes = translate_ctx(lang, "keyword", "YES").split(",")[0].strip()
    return translate(lang, "Reply {yes} if this solved it, or tell us more and a person will take over. "
                           "(ticket #{ticket})", yes=yes, ticket=ticket.id)


def _check_body(body: str) -> None:
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(body) if name is not None}
    except ValueError:
        raise BadRequest("body", "has an unmatched { or }; write {{ or }} for a literal brace") from None
    unknown = sorted(names - PLACEHOLDERS)
    if unknown:
        raise BadRequest("body", f"unknown placeholder {{{unknown[0]}}}; use {', '.join(sorted(PLACEHOLDERS))}")
    if _ETA_AFTER_A_PREPOSITION.search(body):
        raise BadRequest("body", "{eta} is a whole phrase ('by Mon 09:00 CET', or 'shortly' in business hours): "
                                 "write 'we will answer {eta}', not 'by {eta}'")


def _fields(body: dict, template: Template | None) -> dict:
    """The fields the body sets (all of name and body for a new template), checked."""
    out: dict = {}
    if "name" in body or template is None:
        name = validate.text(body, "name", max_len=40)
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name):
            raise BadRequest("name", "use lower-case letters, digits, - and _ (staff type it as /name)")
        out["name"] = name
    if "body" in body or template is None:
        out["body"] = validate.text(body, "body", max_len=1600)
        _check_body(out["body"])
    if "bodies" in body:
        out["bodies"] = _bodies(body["bodies"])
    if "category" in body:
        out["category"] = validate.text(body, "category", required=False, max_len=40)
    if "keywords" in body:
        kw = body["keywords"]
        if not isinstance(kw, list) or not all(isinstance(k, str) and k.strip() for k in kw) or len(kw) > 30:
            raise BadRequest("keywords", "must be a list of at most 30 non-empty words")
        out["keywords"] = tuple(k.strip().lower() for k in kw)
    if "auto" in body:
        if not isinstance(body["auto"], bool):
            raise BadRequest("auto", "must be true or false")
        out["auto"] = body["auto"]
    auto = out.get("auto", template.auto if template else False)
    if auto and not out.get("keywords", template.keywords if template else ()):
        raise BadRequest("keywords", "an automatic template needs keywords to match first messages")
    return out


def _bodies(value) -> dict | None:
    """{"de": "...", "fr": "..."}: a body per language we write (API v1.2), each checked as `body`."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadRequest("bodies", 'must be an object of language to body, like {"de": "Hallo {first_name}"}')
    out = {}
    for lang, text in value.items():
        if words.supported(lang) != lang:
            raise BadRequest("bodies", f"{str(lang)[:10]!r} is not a language we write: use one of "
                                       f"{', '.join(words.LANGUAGES)}")
        out[lang] = validate.text({"bodies": text}, "bodies", max_len=1600)
        _check_body(out[lang])
    return out or None


def create(body: dict, now: datetime) -> Template:
    validate.unknown_fields(body, FIELDS)
    template = Template(id="t_" + secrets.token_hex(5), created_at=now, updated_at=now, **_fields(body, None))
    if any(t.name == template.name for t in store.all_templates()):
        raise Conflict(f"name: a template called {template.name!r} exists already", code="name_taken")
    return store.save_template(template)


def get(template_id: str) -> Template:
    template = store.get_template(template_id)
    if template is None:
        raise NotFound(f"template {template_id} does not exist", code="template_not_found")
    return template


def update(template_id: str, body: dict, now: datetime) -> Template:
    validate.unknown_fields(body, FIELDS)
    before = get(template_id)
    template = before.replace(updated_at=now, **_fields(body, before))
    if any(t.name == template.name and t.id != template.id for t in store.all_templates()):
        raise Conflict(f"name: a template called {template.name!r} exists already", code="name_taken")
    try:
        return store.save_template(template)
    except store.ConditionFailed:
        raise Conflict("the template was changed meanwhile; fetch it and try again", code="template_busy") from None


def delete(template_id: str, now: datetime) -> None:
    store.delete_template(get(template_id), now)


def by_name(name: str) -> Template | None:
    name = name.strip().lstrip("/").lower()
    return next((t for t in store.all_templates() if t.name == name), None)


def find(ref: str) -> Template | None:
    """A template by its id, or by its name as staff type it (``address`` or ``/address``)."""
    ref = ref.strip()
    return next((t for t in store.all_templates() if t.id == ref), None) or by_name(ref)


SAMPLE = {"first_name": "Alexandra", "ticket": "1234", "agent": "Ana", "eta": "by Mon 09:00 CET"}


def _sample(body: str) -> str:
    """The body as a typical customer would receive it: what the segment count is about."""
    return body.format(**SAMPLE)


_NAMELESS = re.compile(r"[ \t]?\{first_name\}")


def render(template: Template, ticket: Ticket, agent_name: str, now: datetime) -> str:
    """The template as this customer reads it: the body in their language when it has one, its
    placeholders in their language and zone."""
    lang = expectations.language(ticket)
    # With no name, the language's own word ("Hi there"), or none: a language whose catalogue says "-"
    # leaves the placeholder out with the space before it ("Hallo, ...", never "Hallo zusammen" to one
    # person: issue 38).
    name = ticket.customer_name or (contacts.name_of(ticket.customer_contact)  # the team named them since
                                    if ticket.channel in PHONE_CHANNELS else None)
    first = ((name or "").split() or [None])[0] or translate_ctx(lang, "template", "there")
    eta = (translate_ctx(lang, "template", "shortly") if expectations.is_business_hours(now)
           else translate_ctx(lang, "template", "by {when}",
                              when=expectations.when(now, expectations.customer_zone(ticket), lang)))
    # {ticket} is the bare number (contract v1.1): "ticket #{ticket}" must not read "##5". {eta} is
    # a phrase of its own: a template stored before that rule reads "by {eta}", never "by by".
    body = _ETA_AFTER_A_PREPOSITION.sub("", (template.bodies or {}).get(lang) or template.body)
    if first == "-":
        body, first = _NAMELESS.sub("", body), ""
    agent = agent_name.split()[0] if agent_name else translate_ctx(lang, "template", "the team")
    return body.format(first_name=first, ticket=str(ticket.id), agent=agent, eta=eta)


def match(text: str, now: datetime) -> Template | None:
    """The automatic template whose keywords a first message contains (whole words). The keywords
    come from the automatic templates' summary (read with the contact); the template itself is read
    only when one matches."""
    known = store.automatic_templates()
    if known is None:  # an install from before the summary: every template, and the summary written
        every = store.all_templates()
        store.remember_automatic(every, now)
        known = {t.id: list(t.keywords) for t in every if t.auto}
    best = _best(text, known)
    return store.get_template(best) if best is not None else None


def _best(text: str, known: dict[str, list[str]]) -> str | None:
    """The id whose keywords the text contains most often (the first of a tie, by id)."""
    words = set(re.findall(r"[\w']+", (text or "").lower()))
    best, hits = None, 0
    for tid, keywords in sorted(known.items()):
        n = sum(1 for k in keywords if (k in words if " " not in k else k in text.lower()))
        if n > hits:
            best, hits = tid, n
    return best


def list_json() -> dict:
    return {"items": [template_json(t) for t in sorted(store.all_templates(), key=lambda t: t.name)], "next": None}


def template_json(t: Template) -> dict:
    return {"id": t.id, "name": t.name, "body": t.body, "category": t.category, "keywords": list(t.keywords or []),
            "auto": bool(t.auto), "sms": segments(_sample(t.body)), "bodies": dict(t.bodies or {}),
            "created_at": t.created_at.isoformat(),
            "updated_at": t.updated_at.isoformat()}
