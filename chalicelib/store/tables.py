"""Every table: creation (local mode, tests), schemas for the package template, connections."""
from __future__ import annotations

from pynamodb.models import Model

from chalicelib.store._base import clear_shared
from chalicelib.store.models import (
    Contact,
    Counter,
    IdempotencyKey,
    Limit,
    Outbound,
    OutboxItem,
    Page,
    Person,
    Setting,
    Template,
    Ticket,
    TicketItem,
)
from chalicelib.store.rare_models import ApiKey, ChatSession, Shift, SignIn

MODELS: list[type[Model]] = [Counter, Ticket, TicketItem, Person, ApiKey, IdempotencyKey, Setting, Contact,
                             Outbound, Page, ChatSession, Limit, Template, OutboxItem, Shift, SignIn]
TTL_ATTRIBUTES = {IdempotencyKey: "expires_at", Outbound: "expires_at", ChatSession: "expires_at",
                  Limit: "expires_at", OutboxItem: "expires_at", SignIn: "expires_at"}


# --- tables -------------------------------------------------------------------


def create_tables() -> None:
    """Create every table the app needs; idempotent."""
    clear_shared()
    for model in MODELS:
        if not model.exists():
            # PynamoDB also enables TTL on the model's TTLAttribute.
            model.create_table(wait=True, billing_mode="PAY_PER_REQUEST")


def table_schemas() -> dict[str, dict]:
    """CreateTable-shaped schemas of every model, for the package template."""
    out = {}
    for model in MODELS:
        schema = model._get_schema()
        out[model.Meta.base] = {
            "schema": schema,
            "ttl": TTL_ATTRIBUTES.get(model),
        }
    return out
