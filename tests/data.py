"""Names and numbers the stories share (no side effects: safe to import anywhere)."""
from datetime import datetime, timezone

ADMIN_KEY = "test-admin-key"
# Friday 2026-11-20, 22:00 in Berlin: the moment the product is built for.
FRIDAY_NIGHT = datetime(2026, 11, 20, 21, 0, tzinfo=timezone.utc)
ANA, BEN, CHLOE = "+4915100000001", "+4915100000002", "+4915100000003"
CUSTOMER = "+4917712345678"


def owner_phone(api, ticket_id: int) -> str:
    """The phone of the person who owns a ticket (owners are chosen by open tickets, then by id)."""
    owner = api.get(f"/tickets/{ticket_id}").json_body["owner"]
    return api.get(f"/people/{owner}").json_body["phone"]
