"""A customer's number as pure rules: one acknowledgement per burst, the hour's allowance of
automatic replies, the survey pointer. No DynamoDB, milliseconds."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain import contacts, limits
from chalicelib.domain.contacts import Contact

pytestmark = pytest.mark.pure
NOW = datetime(2026, 11, 20, 21, 5, tzinfo=timezone.utc)
PHONE = "+4915112345678"


def test_one_acknowledgement_per_burst_but_always_for_a_new_urgency():
    c, send = contacts.wrote_on(Contact(PHONE), 7, NOW, finished=False, newly_urgent=False, allowed=5)
    assert send and c.current_ticket == 7 and c.last_ack_at == NOW
    c2, send = contacts.wrote_on(c, 7, NOW + timedelta(minutes=3), finished=False, newly_urgent=False, allowed=5)
    assert not send and c2.last_ack_at == NOW  # the same burst: quiet
    _, send = contacts.wrote_on(c, 7, NOW + timedelta(minutes=3), finished=False, newly_urgent=True, allowed=5)
    assert send  # URGENT changes what the customer may expect: they hear it
    _, send = contacts.wrote_on(c, 7, NOW + contacts.BURST, finished=False, newly_urgent=False, allowed=5)
    assert send


def test_nothing_is_acknowledged_for_a_thank_you_or_a_number_that_opted_out():
    assert contacts.wrote_on(Contact(PHONE), 7, NOW, finished=True, newly_urgent=False, allowed=5)[1] is False
    assert contacts.wrote_on(Contact(PHONE, opted_out=True), 7, NOW, finished=False, newly_urgent=True,
                             allowed=5)[1] is False


def test_the_allowance_is_per_window_and_kept_on_the_contact():
    c = Contact(PHONE)
    for _ in range(3):
        c = contacts.spend(c, limits.SORRY, 3, NOW)
    assert contacts.spend(c, limits.SORRY, 3, NOW + timedelta(minutes=50)) is None
    assert contacts.spend(c, limits.AUTO_REPLIES, 3, NOW) is not None  # each limit counts alone
    assert contacts.spend(c, limits.SORRY, 3, NOW + timedelta(hours=1)) is not None  # a new window


def test_a_survey_points_a_contact_without_a_ticket_at_the_resolved_one():
    assert contacts.surveyed(Contact(PHONE), 7, NOW).current_ticket == 7
    assert contacts.surveyed(Contact(PHONE, current_ticket=9), 7, NOW).current_ticket == 9
