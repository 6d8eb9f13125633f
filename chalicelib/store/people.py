"""People and their API keys, admin settings (policy, rota) and templates."""
from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import (
    DoesNotExist,
    PutError,
)

from chalicelib import lazy
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


def get_person(person_id: str) -> Person | None:
    return get_by_key(Person, person_id)


def person_by_phone(phone: str | None) -> Person | None:
    if not _key_ok(phone):
        return None
    for p in Person.by_phone.query(phone, limit=1):
        return p
    return None


def list_people(limit: int = 100, cursor: dict | None = None) -> tuple[list[Person], dict | None]:
    result = Person.all_people.query("person", limit=limit, last_evaluated_key=cursor)
    return list(result), result.last_evaluated_key


def all_people() -> list[Person]:
    if "people" not in _UNIT:
        _UNIT["people"] = list(Person.all_people.query("person"))
    return _UNIT["people"]


def staff_phone_write(phone: str, person_id: str | None) -> Write:
    """Marks a phone number as a staff member's (or no longer): the inbound webhook tells staff
    from customers with the one consistent GetItem of the contact it needs anyway."""
    contact = get_by_key(Contact, phone) or Contact(phone=phone)  # the stored version goes up by one
    action = Contact.person_id.set(person_id) if person_id else Contact.person_id.remove()
    return Write("update", contact, actions=[action], add_version_condition=False, tag="contact")


def create_person(person: Person, key: rare.ApiKey) -> None:
    _UNIT.pop("people", None)
    transact([Write("put", person, Person.id.does_not_exist()),
              Write("put", key, rare.ApiKey.key_hash.does_not_exist())]
             + ([staff_phone_write(person.phone, person.id)] if person.phone else []))


def save_person(person: Person, key: rare.ApiKey | None = None, old_phone: str | None = None) -> None:
    """Conditional on the person's version; keeps the key's role and the phone's owner in step."""
    _UNIT.pop("people", None)
    writes = [Write("put", person)] + ([Write("put", key)] if key is not None else [])
    if old_phone != person.phone:
        if old_phone:
            writes.append(staff_phone_write(old_phone, None))
        if person.phone:
            writes.append(staff_phone_write(person.phone, person.id))
    transact(writes)


def delete_person(person: Person) -> None:
    _UNIT.pop("people", None)
    transact([Write("delete", person)] + ([Write("delete", rare.ApiKey(key_hash=person.key_hash))]
                                          if person.key_hash else [])
             + ([staff_phone_write(person.phone, None)] if person.phone else []))


def get_api_key(key_hash: str) -> rare.ApiKey | None:
    try:
        return rare.ApiKey.get(key_hash)
    except DoesNotExist:
        return None


# --- settings -----------------------------------------------------------------


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


def all_templates() -> list[Template]:
    if "templates" not in _UNIT:
        found, value = _shared_get("templates")
        if not found:
            value = list(Template.all_templates.query("template"))
            _shared_put("templates", value)
        _UNIT["templates"] = value
    return _UNIT["templates"]


def get_template(template_id: str) -> Template | None:
    return get_by_key(Template, template_id)


def save_template(template: Template, new: bool = False) -> None:
    _UNIT.pop("templates", None)
    _SHARED.pop("templates", None)
    try:
        template.save(condition=Template.id.does_not_exist() if new else None)
    except PutError as exc:
        if _is_condition_failure(exc):
            raise ConditionFailed(str(exc)) from exc
        raise


def delete_template(template: Template) -> None:
    _UNIT.pop("templates", None)
    _SHARED.pop("templates", None)
    template.delete()
