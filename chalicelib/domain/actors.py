"""Who did something: a person, the customer, or the system."""
from __future__ import annotations

from chalicelib.domain.record import Record


class Actor(Record):
    """A person id (with their name), or 'customer' / 'system'."""

    id: str
    name: str = ""

    @property
    def first_name(self) -> str:
        return (self.name or self.id).split()[0]


CUSTOMER = Actor("customer", "Customer")
SYSTEM = Actor("system", "Friday Night")
