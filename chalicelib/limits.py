"""The rate limits as a deployment runs them: ``domain.limits`` names them and their rule; this
reads a deployment's overrides and spends them where they are counted."""
from __future__ import annotations

import os
from datetime import datetime

from chalicelib import store
from chalicelib.domain import contacts
from chalicelib.domain.contacts import Contact
from chalicelib.domain.limits import Limit


def allowed(limit: Limit) -> int:
    return int(os.environ.get(limit.override, limit.allowed)) if limit.override else limit.allowed


def take(limit: Limit, subject: str, now: datetime) -> bool:
    """One of `subject`'s allowance in this window (its own table item); False when it is gone."""
    return store.spend(f"{limit.name}#{subject}", allowed(limit), now, limit.per)


def used(limit: Limit, subject: str, now: datetime) -> int:
    """How much of `subject`'s allowance the window containing `now` has used."""
    return store.spent(f"{limit.name}#{subject}", now, limit.per)


def take_write(limit: Limit, subject: str, now: datetime, tag: str = "budget") -> store.Write:
    """take() as one write of a transaction (ConditionFailed tag `tag` when it is gone)."""
    return store.budget_write(f"{limit.name}#{subject}", allowed(limit), now, limit.per, tag=tag)


def take_together(*takes: tuple[Limit, str, datetime]) -> Limit | None:
    """Several allowances spent in one transaction (one round trip), all or none: each is (limit,
    subject, the time that picks its window). The first limit that is gone, else None."""
    try:
        store.transact([store.budget_write(f"{limit.name}#{subject}", allowed(limit), at, limit.per, tag=limit.name)
                        for limit, subject, at in takes])
        return None
    except store.ConditionFailed as exc:
        return next((limit for limit, _, _ in takes if limit.name in exc.tags), takes[0][0])


def take_on_contact(contact: Contact, limit: Limit, now: datetime) -> Contact | None:
    """The contact with one of its own allowance spent (saved with it); None when it is gone."""
    return contacts.spend(contact, limit, allowed(limit), now)


def take_for_number(contact: Contact, limit: Limit, now: datetime) -> bool:
    """One of a phone number's own allowance (saved on its contact, retried on a race); False when
    it is gone: junk gets silence, not a reply loop."""
    for _ in range(3):
        spent = take_on_contact(contact, limit, now)
        if spent is None:
            return False
        try:
            store.save_contact(spent)
            return True
        except store.ConditionFailed:
            contact = store.get_contact(contact.phone)
    return False
