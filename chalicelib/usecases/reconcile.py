"""Nothing missed: Twilio's own logs, read back, for webhooks that never ran.

If API Gateway or the Lambda was down, a deploy was broken, or a request died
before its first write, Twilio still received the SMS or the call. Every few
minutes this reads Twilio's Messages list (inbound, To our support number)
and Calls list (To the emergency line) since a stored high-water mark, with
an overlap, and hands every sid nobody claimed to the use case its webhook
would have run. Claims by sid make webhook and reconciliation idempotent
with each other, whichever comes first. What the webhook would have answered
in TwiML goes out through the outbox instead (nobody is waiting on a
request). A missed call becomes an urgent voice ticket and pages.

The SMS door's own handling is handed in by the door that runs the sweep (`Inbound`: the channel's
webhook and its empty answer): nothing below the doors imports a channel (issue 35).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from xml.etree import ElementTree

from chalicelib import config, metrics, notify, outbox, phones, store
from chalicelib.effects import Effects
from chalicelib.logs import logger, mask_phone
from chalicelib.usecases import tickets

OVERLAP = timedelta(minutes=10)  # Twilio's list can show a message a little after it arrived
FIRST_LOOK = timedelta(hours=1)  # with no mark yet, look this far back
MISSED = {"no-answer", "busy", "failed", "canceled"}
MARK = "reconcile"


@dataclass(frozen=True)
class Inbound:
    """What the SMS door does with a text (its webhook: params, sid, now → TwiML) and its empty answer."""

    sms: Callable[[dict, str, datetime], str]
    nothing: str


def sweep(now: datetime, inbound: Inbound) -> dict:
    """Reads Twilio's logs since the mark; returns what it handed on (for /status and tests)."""
    if not config.twilio_enabled():
        return {"messages": 0, "calls": 0, "skipped": "no Twilio credentials (local stage)"}
    mark_doc = store.get_setting(MARK) or {}
    since = _mark(mark_doc, now)
    found = {"messages": 0, "calls": 0}
    messages, calls = notify.inbound_since(since - OVERLAP)
    # Which sids a webhook (or an earlier run) already handled: read in batches, not one by one.
    claimed = store.claims_existing([f"sms#{m['sid']}" for m in messages]
                                    + [f"call#{c['sid']}" for c in calls if c.get("status") in MISSED])
    messages = [m for m in messages if f"sms#{m['sid']}" not in claimed]
    calls = [c for c in calls if c.get("status") in MISSED and f"call#{c['sid']}" not in claimed]
    for m in sorted(messages, key=lambda m: m["at"]):
        try:
            found["messages"] += _message(m, now, inbound)
        except Exception:  # noqa: BLE001 - one message never stops the others; the next run retries it
            logger.exception("reconciling a message failed", extra={"sid": m["sid"]})
            return _keep(found, since, now, complete=False)
    for c in sorted(calls, key=lambda c: c["at"]):
        try:
            found["calls"] += _call(c, now, inbound)
        except Exception:  # noqa: BLE001
            logger.exception("reconciling a call failed", extra={"sid": c["sid"]})
            return _keep(found, since, now, complete=False)
    return _keep(found, since, now, complete=True)


def _mark(doc: dict, now: datetime) -> datetime:
    raw = doc.get("until")
    return datetime.fromisoformat(raw) if raw else now - FIRST_LOOK


def _keep(found: dict, since: datetime, now: datetime, complete: bool) -> dict:
    """Moves the high-water mark only over what was read completely (else the next run reads it again)."""
    if complete:
        store.put_setting(MARK, {"until": now.isoformat(), "at": now.isoformat(), **found}, now)
    if found["messages"] or found["calls"]:
        logger.warning("reconciled from Twilio's logs", extra=found)
        metrics.count("ReconciledMessages", found["messages"])
        metrics.count("ReconciledCalls", found["calls"])
    return {**found, "until": (now if complete else since).isoformat()}


def _message(m: dict, now: datetime, inbound: Inbound) -> int:
    key = f"sms#{m['sid']}"
    if store.claim_exists(key):  # unclaimed in the batch read: a late webhook may have come since
        return 0
    params = {"MessageSid": m["sid"], "From": m["from"], "To": m["to"], "Body": m["body"],
              "NumMedia": str(m.get("num_media") or 0)}
    twiml = inbound.sms(params, m["sid"], now)
    # Nobody waits on this request: the TwiML answer goes out by REST, and a late webhook
    # for the same sid gets an empty answer (the customer hears us once).
    texts = [el.text or "" for el in ElementTree.fromstring(twiml).iter("Message")]
    phone = phones.normalize(m["from"])
    if texts and phone:
        items = [outbox.sms(phone, text, purpose="reply", now=now, key=f"reconciled#{m['sid']}#{i}")
                 for i, text in enumerate(texts)]
        try:
            store.transact([store.outbox_put(i) for i in items])
        except store.ConditionFailed:
            pass  # queued by an earlier run
        outbox.dispatch([i.id for i in items], now)
    store.set_claim_result(key, inbound.nothing)
    logger.info("message reconciled", extra={"from": mask_phone(m["from"]), "sid": m["sid"]})
    return 1


def _call(c: dict, now: datetime, inbound: Inbound) -> int:
    key = f"call#{c['sid']}"
    if store.claim_exists(key):
        return 0
    caller = phones.normalize(c.get("from") or "")
    at = c["at"].astimezone(now.tzinfo) if c.get("at") else now
    text = f"(missed call at {at.strftime('%H:%M')} UTC: it never reached us, nobody spoke to the caller)"
    fx = Effects()
    try:
        tickets.open_ticket(channel="voice", now=now, contact=caller, contact_key=f"phone#{caller}" if caller else None,
                            text=text, priority="urgent", provider_id=c["sid"], claim_key=key,
                            page_reason="missed call", fx=fx, answer=lambda t: inbound.nothing)
    except store.AlreadyDone:
        return 0
    fx.dispatch(now)
    logger.info("missed call reconciled", extra={"from": mask_phone(caller), "sid": c["sid"]})
    return 1
