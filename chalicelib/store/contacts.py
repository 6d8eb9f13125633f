"""Contacts: a phone number that texts or calls us, its consent, current ticket, reply budgets, and the
name, language and zone the team gave it (issue 38). One GetItem (with the settings a cold process
lacks, one BatchGetItem); every write conditional on the version read."""
from __future__ import annotations

from pynamodb.exceptions import DoesNotExist

from chalicelib.domain.contacts import Contact as DomainContact
from chalicelib.store._base import ConditionFailed, Write, batch_read, transact
from chalicelib.store.models import Contact, Setting
from chalicelib.store.people import remember_setting, setting_known


def _contact(m: Contact) -> DomainContact:
    return DomainContact(phone=m.phone, opted_out=bool(m.opted_out), current_ticket=_int(m.current_ticket),
                         last_ack_at=m.last_ack_at, last_ack_ticket=_int(m.last_ack_ticket), budgets=m.budgets,
                         last_survey_at=m.last_survey_at, person_id=m.person_id, language=m.language,
                         name=m.name, timezone=m.timezone, version=_int(m.version))


def _int(value) -> int | None:
    return int(value) if value is not None else None


def _contact_model(c: DomainContact) -> Contact:
    m = Contact(phone=c.phone, opted_out=c.opted_out, current_ticket=c.current_ticket, last_ack_at=c.last_ack_at,
                last_ack_ticket=c.last_ack_ticket, budgets=c.budgets, last_survey_at=c.last_survey_at,
                person_id=c.person_id, language=c.language, name=c.name, timezone=c.timezone)
    if c.version is not None:
        m.version = c.version
    return m


# The settings a message's handling reads (the tier policy, the rota, the automatic templates'
# keywords): a cold process reads them with the contact, in one round trip (issue 25), not each
# with a read of its own later.
WITH_CONTACT = ("policy", "rota", "automatic")


def get_contact(phone: str) -> DomainContact:
    """The contact (consistent read); a fresh, never-stored one for a new number. The settings in
    WITH_CONTACT that this process has not cached come in the same BatchGetItem."""
    missing = [name for name in WITH_CONTACT if not setting_known(name)]
    if not missing:
        try:
            return _contact(Contact.get(phone, consistent_read=True))
        except DoesNotExist:
            return DomainContact(phone=phone)
    found = batch_read([(Contact, phone)] + [(Setting, name) for name in missing])
    for name in missing:
        item = found[(Setting, name)]
        remember_setting(name, item.data if item is not None else None)
    item = found[(Contact, phone)]
    return _contact(item) if item is not None else DomainContact(phone=phone)


def contact_write(contact: DomainContact) -> Write:
    """The contact as one write of a transaction, conditional on the version it was read at (or on
    not existing yet): of two texts from one number at once, one wins, the other decides again
    (ConditionFailed tag "contact")."""
    return Write("put", _contact_model(contact), tag="contact")


def save_contact(contact: DomainContact) -> DomainContact:
    """Saves the contact alone (conditional on its version, ConditionFailed when it lost a race)."""
    try:
        transact([contact_write(contact)])
    except ConditionFailed as exc:
        raise ConditionFailed(str(exc), tags={"contact"}) from exc
    return contact.replace(version=(contact.version or 0) + 1)
