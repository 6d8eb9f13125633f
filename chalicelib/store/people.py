"""People and their API keys, admin settings (policy, rota) and templates."""
from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import (
    DoesNotExist,
    PutError,
)

from chalicelib import lazy
from chalicelib.domain.people import ApiKey
from chalicelib.domain.people import Person as DomainPerson
from chalicelib.domain.templates import Template as DomainTemplate
from chalicelib.store._base import (
    _SHARED,
    _UNIT,
    ConditionFailed,
    Write,
    _is_condition_failure,
    _key_ok,
    _shared_get,
    _shared_put,
    get_by_key,
    transact,
)
from chalicelib.store.models import (
    Contact,
    Person,
    Setting,
    Template,
)

rare = lazy.module("chalicelib.store.rare_models")  # ApiKey: staff routes only, not a webhook's cold start

# --- people and keys ----------------------------------------------------------


_PERSON_FIELDS = ("id", "name", "role", "created_at", "phone", "timezone", "language", "key_hash")


def _person(m: Person) -> DomainPerson:
    return DomainPerson(tier=int(m.tier or 1), version=int(m.version) if m.version is not None else None,
                        **{f: getattr(m, f) for f in _PERSON_FIELDS})


def _person_model(p: DomainPerson) -> Person:
    m = Person(tier=p.tier, **{f: getattr(p, f) for f in _PERSON_FIELDS})
    if p.version is not None:
        m.version = p.version  # the save is conditional on it
    return m


def get_person(person_id: str) -> DomainPerson | None:
    m = get_by_key(Person, person_id)
    return _person(m) if m is not None else None


def person_by_phone(phone: str | None) -> DomainPerson | None:
    if not _key_ok(phone):
        return None
    for m in Person.by_phone.query(phone, limit=1):
        return _person(m)
    return None


def list_people(limit: int = 100, cursor: dict | None = None) -> tuple[list[DomainPerson], dict | None]:
    result = Person.all_people.query("person", limit=limit, last_evaluated_key=cursor)
    return [_person(m) for m in result], result.last_evaluated_key


def all_people() -> list[DomainPerson]:
    if "people" not in _UNIT:
        _UNIT["people"] = [_person(m) for m in Person.all_people.query("person")]
    return _UNIT["people"]


def staff_phone_write(phone: str, person_id: str | None) -> Write:
    """Marks a phone number as a staff member's (or no longer): the inbound webhook tells staff
    from customers with the one consistent GetItem of the contact it needs anyway."""
    contact = get_by_key(Contact, phone) or Contact(phone=phone)  # the stored version goes up by one
    action = Contact.person_id.set(person_id) if person_id else Contact.person_id.remove()
    return Write("update", contact, actions=[action], add_version_condition=False, tag="contact")


def create_person(person: DomainPerson, now: datetime) -> DomainPerson:
    """The person, their key (its hash) and their phone's mark as a staff number, in one transaction."""
    _UNIT.pop("people", None)
    key = rare.ApiKey(key_hash=person.key_hash, person_id=person.id, role=person.role, name=person.name,
                      created_at=now)
    transact([Write("put", _person_model(person), Person.id.does_not_exist()),
              Write("put", key, rare.ApiKey.key_hash.does_not_exist())]
             + ([staff_phone_write(person.phone, person.id)] if person.phone else []))
    return person.replace(version=1)


def save_person(person: DomainPerson, before: DomainPerson) -> DomainPerson:
    """Conditional on the version `before` was read at; keeps the key's copies of the role and the
    name, and the phone's owner, in step (ConditionFailed when someone changed the person meanwhile)."""
    _UNIT.pop("people", None)
    writes = [Write("put", _person_model(person.replace(version=before.version)))]
    if person.key_hash and (person.role, person.name) != (before.role, before.name):
        key = get_by_key(rare.ApiKey, person.key_hash)
        if key is not None:
            key.role, key.name = person.role, person.name
            writes.append(Write("put", key))
    old_phone = before.phone
    if old_phone != person.phone:
        if old_phone:
            writes.append(staff_phone_write(old_phone, None))
        if person.phone:
            writes.append(staff_phone_write(person.phone, person.id))
    transact(writes)
    return person.replace(version=(before.version or 0) + 1)


def delete_person(person: DomainPerson) -> None:
    _UNIT.pop("people", None)
    transact([Write("delete", _person_model(person))] + ([Write("delete", rare.ApiKey(key_hash=person.key_hash))]
                                          if person.key_hash else [])
             + ([staff_phone_write(person.phone, None)] if person.phone else []))


def get_api_key(key_hash: str) -> ApiKey | None:
    try:
        m = rare.ApiKey.get(key_hash)
    except DoesNotExist:
        return None
    return ApiKey(key_hash=m.key_hash, person_id=m.person_id, role=m.role, name=m.name)


# --- settings -----------------------------------------------------------------


def setting_known(name: str) -> bool:
    """Whether a setting is in this unit's cache or the process's (no read needed)."""
    return f"setting#{name}" in _UNIT or _shared_get(f"setting#{name}")[0]


def remember_setting(name: str, value: dict | None) -> None:
    """A setting read along with something else (store.get_contact's batch)."""
    _UNIT[f"setting#{name}"] = value
    _shared_put(f"setting#{name}", value)


def get_setting(name: str) -> dict | None:
    key = f"setting#{name}"
    if key not in _UNIT:
        found, value = _shared_get(key)
        if not found:
            try:
                value = Setting.get(name, consistent_read=True).data
            except DoesNotExist:
                value = None
            _shared_put(key, value)
        _UNIT[key] = value
    return _UNIT[key]


def put_setting(name: str, data: dict, now: datetime) -> None:
    """Last writer wins for whole documents (admins replace policy/rota as a unit)."""
    Setting(name=name, data=data, updated_at=now).save(add_version_condition=False)
    _UNIT[f"setting#{name}"] = data
    _shared_put(f"setting#{name}", data)


def setting_write(name: str, change, now: datetime) -> Write:
    """A change of a setting as one write of a transaction, conditional on the version read
    (ConditionFailed tag "setting" when someone changed it meanwhile). Call forget_setting after."""
    try:
        item = Setting.get(name, consistent_read=True)
    except DoesNotExist:
        item = Setting(name=name, data={}, updated_at=now)
    item.data = change(dict(item.data or {}))
    item.updated_at = now
    return Write("put", item, tag="setting")


def forget_setting(name: str) -> None:
    """After a transaction changed it: the next read goes to the table."""
    _UNIT.pop(f"setting#{name}", None)
    _SHARED.pop(f"setting#{name}", None)


def change_setting(name: str, change, now: datetime, retries: int = 5) -> dict:
    """Read-modify-write of a setting, conditional on its version: concurrent
    changes (two admins adding overrides) both land."""
    for _ in range(retries):
        item = setting_write(name, change, now).model
        try:
            item.save()
            _UNIT[f"setting#{name}"] = item.data
            _shared_put(f"setting#{name}", item.data)
            return item.data
        except PutError as exc:
            if not _is_condition_failure(exc):
                raise
    raise ConditionFailed(f"setting {name} is being changed by someone else")


# --- templates ------------------------------------------------------------------


_TEMPLATE_FIELDS = ("id", "name", "body", "created_at", "updated_at", "category")


def _template(m: Template) -> DomainTemplate:
    return DomainTemplate(keywords=tuple(m.keywords or ()), auto=bool(m.auto), bodies=m.bodies or None,
                          version=int(m.version) if m.version is not None else None,
                          **{f: getattr(m, f) for f in _TEMPLATE_FIELDS})


def _template_model(t: DomainTemplate) -> Template:
    m = Template(keywords=list(t.keywords), auto=t.auto, bodies=t.bodies or None,
                 **{f: getattr(t, f) for f in _TEMPLATE_FIELDS})
    if t.version is not None:
        m.version = t.version  # the save is conditional on it
    return m


def all_templates() -> list[DomainTemplate]:
    if "templates" not in _UNIT:
        found, value = _shared_get("templates")
        if not found:
            value = _query_templates()
            _shared_put("templates", value)
        _UNIT["templates"] = value
    return _UNIT["templates"]


def get_template(template_id: str) -> DomainTemplate | None:
    m = get_by_key(Template, template_id)
    return _template(m) if m is not None else None


# The automatic templates' keywords, kept in a setting beside the templates (changed in the same
# transaction as each template): matching a new customer's first message reads it with the
# contact (store.get_contact's batch), not a Query of every template (issue 25). Absent (an
# install from before it), matching queries the templates and writes it.
AUTOMATIC = "automatic"


def _automatic_entries(templates) -> dict:
    return {t.id: {"keywords": list(t.keywords)} for t in templates if t.auto}


def _automatic_change(template: DomainTemplate, removed: bool):
    def change(doc: dict) -> dict:
        if "templates" not in doc:  # the first change since it existed: from every template
            doc["templates"] = _automatic_entries(_query_templates())
        entries = dict(doc["templates"])
        entries.pop(template.id, None)
        if not removed:
            entries.update(_automatic_entries([template]))
        doc["templates"] = entries
        return doc

    return change


def _query_templates() -> list[DomainTemplate]:
    return [_template(m) for m in Template.all_templates.query("template")]


def automatic_templates() -> dict[str, list[str]] | None:
    """The automatic templates' keywords by template id (None: not known without a Query)."""
    doc = get_setting(AUTOMATIC)
    if not doc or "templates" not in doc:
        return None
    return {tid: list(entry.get("keywords") or ()) for tid, entry in doc["templates"].items()}


def remember_automatic(templates: list[DomainTemplate], now: datetime) -> None:
    """Writes the summary from a Query, only if nobody wrote it meanwhile (a template change
    writes it in its own transaction and wins)."""
    item = Setting(name=AUTOMATIC, data={"templates": _automatic_entries(templates)}, updated_at=now)
    try:
        item.save(condition=Setting.name.does_not_exist())
    except PutError as exc:
        if not _is_condition_failure(exc):
            raise
        return
    forget_setting(AUTOMATIC)


def _template_change(write: Write, template: DomainTemplate, removed: bool, now: datetime) -> None:
    """The template's write and the summary's, in one transaction; the summary read again when
    someone else changed it meanwhile (ConditionFailed only for the template's own condition)."""
    _UNIT.pop("templates", None)
    _SHARED.pop("templates", None)
    for _ in range(5):
        try:
            transact([write, setting_write(AUTOMATIC, _automatic_change(template, removed), now)])
        except ConditionFailed as exc:
            if "template" in exc.tags or "setting" not in exc.tags:
                raise ConditionFailed(str(exc), tags={"template"}) from exc
            forget_setting(AUTOMATIC)
            continue
        forget_setting(AUTOMATIC)
        return
    raise ConditionFailed("the automatic templates are being changed by someone else", tags={"setting"})


def save_template(template: DomainTemplate) -> DomainTemplate:
    """A new template (no version: it must not exist yet) or a change, conditional on the version
    read (ConditionFailed when someone changed it meanwhile)."""
    model = _template_model(template)
    condition = Template.id.does_not_exist() if template.version is None else None
    _template_change(Write("put", model, condition, tag="template"), template, False, template.updated_at)
    return template.replace(version=(template.version or 0) + 1)


def delete_template(template: DomainTemplate, now: datetime) -> None:
    """Deletes the template (conditional on the version read)."""
    _template_change(Write("delete", _template_model(template), tag="template"), template, True, now)
