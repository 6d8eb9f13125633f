"""The rota and the policy as admins manage them (validation, storage, views).

The rules themselves are pure (rota.py, tiers.py); this module reads and
writes the stored documents and shapes the answers of the API.
"""
from __future__ import annotations

import copy
import hashlib
import hmac
import re
import secrets
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from chalicelib import config, outbox, settings, store, validate
from chalicelib.domain import rota as rules
from chalicelib.domain import texts
from chalicelib.domain.people import Person
from chalicelib.errors import BadRequest, Conflict, NotFound, Unauthorized
from chalicelib.usecases import shifts, tiers

MAX_SCHEDULE_DAYS = 366


# --- rota ----------------------------------------------------------------------


def put_rota(body: dict, now: datetime) -> dict:
    """Replaces the rota. It takes effect at the next handoff (the current holder keeps the phone
    until then, as an automatic override) unless ``"effective": "now"``; the answer lists the
    next four shifts, and a change of the current or next holder texts the people concerned."""
    validate.unknown_fields(body, {"timezone", "handoff", "shift_days", "members", "start", "effective"})
    effective = body.get("effective", "next_handoff")
    if effective not in ("now", "next_handoff"):
        raise BadRequest("effective", 'must be "now" or "next_handoff" (the default)')
    tz = validate.timezone(body, "timezone")
    handoff = body.get("handoff")
    if not isinstance(handoff, dict):
        raise BadRequest("handoff", 'is required: {"weekday": "friday", "time": "18:00"}', code="missing_field")
    weekday = handoff.get("weekday")
    if not isinstance(weekday, str) or weekday.lower() not in rules.WEEKDAYS:
        raise BadRequest("handoff.weekday", f"must be one of {', '.join(rules.WEEKDAYS)}")
    at = handoff.get("time")
    if not isinstance(at, str) or not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", at):
        raise BadRequest("handoff.time", "must be a local time like 18:00")
    shift_days = validate.integer(body, "shift_days", minimum=1, maximum=28)
    members = body.get("members")
    if not isinstance(members, list) or not members or not all(isinstance(m, str) for m in members):
        raise BadRequest("members", "must be a non-empty list of person ids", code="missing_field")
    if len(members) > 50:
        raise BadRequest("members", "at most 50 members")
    known = {p.id: p for p in store.all_people()}
    for m in members:
        if m not in known:
            raise BadRequest("members", f"{m[:40]!r} is not a person id; see GET /people")
    start_raw = validate.text(body, "start", max_len=10)
    try:
        start = date.fromisoformat(start_raw)
    except ValueError:
        raise BadRequest("start", "must be a date like 2026-11-20") from None
    store.forget_setting("rota")  # decide on the stored rota, not a copy another process cached
    previous = store.get_setting("rota")
    before = rules.from_document(previous) if previous and previous.get("members") else None

    def change(old: dict) -> dict:
        # An earlier change's keep-on is replaced by this change's own (or dropped with "now").
        kept = [o for o in old.get("overrides", []) if o.get("auto") != "rota-change"
                or datetime.fromisoformat(o["end"]) <= now]
        doc = {"timezone": tz, "handoff": {"weekday": weekday.lower(), "time": at}, "shift_days": shift_days,
               "members": members, "start": start.isoformat(), "overrides": kept,
               "ics_secret": old.get("ics_secret") or secrets.token_urlsafe(16),
               "created_at": old.get("created_at") or now.isoformat(), "changed_at": now.isoformat()}
        if before is not None and effective != "now":
            holder = before.holder_at(now)
            if rules.from_document(doc).holder_at(now) != holder:
                doc["overrides"] = doc["overrides"] + [{
                    "id": "o_" + secrets.token_hex(5), "person_id": holder, "start": now.isoformat(),
                    "end": before.boundary(before.shift_index(now) + 1).isoformat(), "created_at": now.isoformat(),
                    "auto": "rota-change"}]
        return doc

    doc = _change_with_notices(change, before, now, known)
    out = rota_json(doc, known)
    out["effective"] = effective
    out["next_shifts"] = _next_shifts(rules.from_document(doc), now, known)
    return out


def _slots(rot: rules.Rotation | None, now: datetime) -> list[tuple[str, datetime, datetime] | None]:
    """(holder, start, end) of the current shift and the next one."""
    if rot is None:
        return [None, None]
    segs = rot.schedule(now, now + timedelta(days=rot.shift_days * 2 + 1))
    return [(s["person_id"], s["start"], s["end"]) for s in segs[:2]] + [None] * (2 - len(segs[:2]))


def _moved(before: rules.Rotation | None, after: rules.Rotation, now: datetime,
           window: tuple[datetime, datetime] | None) -> list[tuple[set, tuple[str, datetime, datetime]]]:
    """Who must hear of a change: (the people whose time on the phone it moves, the new stretch).
    Without a `window` (the rota itself changed) the current and the next shift; with one (an
    override added or removed) every stretch inside it that changed hands."""
    if before is None:
        return []  # a first rota: nothing moved
    if window is None:
        return [({new[0]} | ({old[0]} if old else set()), new)
                for old, new in zip(_slots(before, now), _slots(after, now), strict=True)
                if new is not None and not (old is not None and old[0] == new[0])]
    frm, to = max(window[0], now), window[1]
    if to <= frm:
        return []  # all in the past: a correction, nobody to warn
    old = before.schedule(frm, to)
    out = []
    for seg in after.schedule(frm, to):
        was = {s["person_id"] for s in old if s["start"] < seg["end"] and seg["start"] < s["end"]}
        if was != {seg["person_id"]}:
            out.append((was | {seg["person_id"]}, (seg["person_id"], seg["start"], seg["end"])))
    return out


def _change_with_notices(change, before: rules.Rotation | None, now: datetime, people: dict,
                         window: tuple[datetime, datetime] | None = None, extra: list | None = None) -> dict:
    """The rota's change and the texts it causes — to everyone whose time on the phone it moves, in
    their own zone — in one transaction (retried on a lost race)."""
    for _ in range(3):
        write = store.setting_write("rota", change, now)
        after = rules.from_document(write.model.data)
        items = []
        for who, new in _moved(before, after, now, window):
            for pid in sorted(who):
                person = people.get(pid)
                if person is None or not person.phone:
                    continue
                holder = people.get(new[0])
                reader = ZoneInfo(person.timezone) if person.timezone else after.zone  # their own zone, named
                text = texts.rota_changed(holder.name if holder else new[0], new[1], new[2], reader, person.language)
                items.append(outbox.sms(person.phone, text, purpose="notice", now=now, person_id=pid,
                                        key=f"rota-change#{now.isoformat()}#{new[0]}#{new[1].isoformat()}#{pid}"))
        try:
            store.transact([write] + list(extra or []) + [store.outbox_put(i) for i in items])
        except store.ConditionFailed:
            continue
        store.forget_setting("rota")
        outbox.dispatch([i.id for i in items], now)
        return write.model.data
    raise Conflict("the rota is being changed by someone else; try again", code="rota_busy")


def _next_shifts(rot: rules.Rotation, now: datetime, people: dict) -> list[dict]:
    segs = rot.schedule(max(now, rot.begins_at), max(now, rot.begins_at) + timedelta(days=rot.shift_days * 5 + 1))
    return [{"person_id": s["person_id"], "name": people[s["person_id"]].name if s["person_id"] in people else None,
             "start": _local(s["start"], rot), "end": _local(s["end"], rot), "override": s["override"]}
            for s in segs[:4]]


def _doc() -> dict:
    doc = store.get_setting("rota")
    if not doc:
        raise NotFound("no rota is set up yet; PUT /rota first", code="no_rota")
    return doc


def rota_json(doc: dict | None = None, people: dict | None = None) -> dict:
    doc = doc or _doc()
    people = people if people is not None else {p.id: p for p in store.all_people()}
    warnings = [f"{people[m].name} has no phone number: they cannot be paged" for m in doc["members"]
                if m in people and not people[m].phone]  # LinkedIn oncall's cheap check
    return {"timezone": doc["timezone"], "handoff": doc["handoff"], "shift_days": doc["shift_days"],
            "members": doc["members"], "start": doc["start"], "overrides": doc.get("overrides", []),
            "warnings": warnings, "ics_url": f"{config.public_base_url()}/rota.ics?token={ics_token(doc)}"}


def add_override(body: dict, now: datetime, actor_id: str | None = None) -> dict:
    """An override; one that reaches into the past corrects the shift records it covers (the
    admin's word about who really held the phone, recorded with their id)."""
    validate.unknown_fields(body, {"person_id", "start", "end"})
    person_id = validate.text(body, "person_id", max_len=64)
    if store.get_person(person_id) is None:
        raise BadRequest("person_id", f"no person has the id {person_id!r}")
    start = validate.instant(validate.text(body, "start", max_len=40), "start")
    end = validate.instant(validate.text(body, "end", max_len=40), "end")
    if end <= start:
        raise BadRequest("end", "must be after start")
    if end - start > timedelta(days=MAX_SCHEDULE_DAYS):
        raise BadRequest("end", "an override lasts at most a year")
    _doc()
    override = {"id": "o_" + secrets.token_hex(5), "person_id": person_id,
                "start": start.astimezone(timezone.utc).isoformat(),
                "end": end.astimezone(timezone.utc).isoformat(), "created_at": now.isoformat()}

    def change(doc: dict) -> dict:
        # Old overrides (ended 90+ days ago) are dropped to keep the document small.
        doc["overrides"] = [o for o in doc.get("overrides", [])
                            if datetime.fromisoformat(o["end"]) > now - timedelta(days=90)] + [override]
        return doc

    people = {p.id: p for p in store.all_people()}
    correction = []
    if start < now:  # the past is corrected in the same transaction as the rota (issue 23: never half)
        after = rules.from_document(change(copy.deepcopy(_doc())))
        correction = shifts.correction_writes(person_id, start.astimezone(timezone.utc), end.astimezone(timezone.utc),
                                              actor_id or "admin", now, override_id=override["id"], rot=after)
    _change_with_notices(change, rules.from_document(_doc()), now, people, window=(start, end), extra=correction)
    if start < now:
        override["correction"] = True
    return override


def delete_override(override_id: str, now: datetime) -> None:
    if not any(o["id"] == override_id for o in _doc().get("overrides", [])):
        raise NotFound(f"override {override_id} does not exist", code="override_not_found")

    gone = next(o for o in _doc().get("overrides", []) if o["id"] == override_id)

    def change(doc: dict) -> dict:
        doc["overrides"] = [o for o in doc.get("overrides", []) if o["id"] != override_id]
        return doc

    window = (datetime.fromisoformat(gone["start"]), datetime.fromisoformat(gone["end"]))
    _change_with_notices(change, rules.from_document(_doc()), now, {p.id: p for p in store.all_people()},
                         window=window)


def _person(person_id: str | None, people: dict) -> dict | None:
    if not person_id:
        return None
    p = people.get(person_id)
    return {"id": person_id, "name": p.name if p else None, "phone": p.phone if p else None}


def oncall(at: datetime) -> dict:
    rot = rules.from_document(_doc())
    people = {p.id: p for p in store.all_people()}
    _, start, end = rot.holding_at(at)
    o = rot.override_at(at)
    return {"primary": _person(rot.holder_at(at), people), "backup": _person(rot.backup_at(at), people),
            "shift": {"start": _local(start, rot), "end": _local(end, rot)}, "override": o is not None,
            "at": _local(at, rot)}


def who(now: datetime, reader: Person | None = None) -> str:
    """WHO: who holds the emergency phone and until when — the end of their whole stretch (an
    override's end, not the weekly handoff's), in the reader's own zone, named."""
    lang = reader.language if reader is not None else None
    rot = settings.current_rota()
    if rot is None:
        return texts.no_rota(lang)
    person_id, _, until = rot.holding_at(now)
    holder = store.get_person(person_id)
    zone = ZoneInfo(reader.timezone) if reader is not None and reader.timezone else rot.zone
    return texts.holds_until(holder.name if holder else None, until, zone, lang)


def schedule(frm: datetime, to: datetime, now: datetime | None = None) -> dict:
    """The shifts in [frm, to) (issue 34): the past as it happened (the shift records: who really held
    the phone, whatever the rota says now), the present and the future from the rota. Every shift is
    shown whole, with its real start and end, however the window cuts it (`"recorded"`: from the
    records)."""
    if to <= frm:
        raise BadRequest("to", "must be after from")
    if to - frm > timedelta(days=MAX_SCHEDULE_DAYS):
        raise BadRequest("to", f"the window is at most {MAX_SCHEDULE_DAYS} days")
    now = now or datetime.now(timezone.utc)
    rot = rules.from_document(_doc())
    span = timedelta(days=rot.shift_days + 1)
    segments: list[dict] = []
    if frm <= now:  # the records up to now, the shift being held included
        for s in store.shifts_between(frm, min(to, now + timedelta(microseconds=1))):
            segments.append({"person_id": s.person_id, "start": s.start, "end": s.end, "override": s.how != "rota",
                             "recorded": True})
    if to > now:
        start = max(frm, now)
        coming = [seg for seg in rot.schedule(start - span, to + span) if seg["end"] > start and seg["start"] < to]
        for seg in coming:
            still = segments[-1] if segments else None
            if still is not None and still["end"] is None:
                # The shift being held now: its record's start, the rota's end (or now, if the rota
                # has someone else from now on).
                still["end"] = seg["end"] if seg["person_id"] == still["person_id"] and seg["start"] <= now else now
                if still["end"] != now:
                    continue
            if segments and segments[-1]["end"] and seg["start"] < segments[-1]["end"]:
                seg = {**seg, "start": segments[-1]["end"]}  # the present shift began when the last one ended
            segments.append({**seg, "recorded": False})
    if segments and segments[-1]["end"] is None:  # a window that ends before now: the holder holds on
        held = rot.holding_at(now)
        segments[-1]["end"] = held[2] if held[0] == segments[-1]["person_id"] else now
    items = [{"person_id": s["person_id"], "start": _local(s["start"], rot), "end": _local(s["end"], rot),
              "override": s["override"], "recorded": s["recorded"]} for s in segments]
    return {"items": items, "next": None}


def _local(t: datetime, rot: rules.Rotation) -> str:
    return t.astimezone(rot.zone).isoformat()


def ics_token(doc: dict) -> str:
    return hmac.new(doc["ics_secret"].encode(), b"rota.ics", hashlib.sha256).hexdigest()[:32]


def check_ics_token(token: str | None, principal_ok: bool = False) -> dict:
    """The feed's own token (calendar apps send no headers), or a staff key already checked.
    Anything malformed is the same 401 as a wrong token."""
    doc = _doc()
    if principal_ok:
        return doc
    given = (token or "").encode("utf-8", "surrogatepass")
    if not given or not hmac.compare_digest(given, ics_token(doc).encode()):
        raise Unauthorized("add the calendar token: /rota.ics?token=... (see GET /rota), or a bearer key",
                           code="invalid_token")
    return doc


def rotate_ics_token(now: datetime) -> dict:
    """A new calendar token; the old link stops working at once."""
    _doc()

    def change(doc: dict) -> dict:
        doc["ics_secret"] = secrets.token_urlsafe(16)
        return doc

    doc = store.change_setting("rota", change, now)
    return {"ics_url": f"{config.public_base_url()}/rota.ics?token={ics_token(doc)}"}


def put_policy(body: dict, now: datetime) -> dict:
    validate.unknown_fields(body, {"tiers", "ack_timeout_minutes", "max_page_rounds"})
    raw = body.get("tiers")
    if not isinstance(raw, list) or not raw:
        raise BadRequest("tiers", 'must be a non-empty list like [{"tier": 1, "sla_hours": 20}]',
                         code="missing_field")
    out = []
    for i, t in enumerate(raw):
        if not isinstance(t, dict):
            raise BadRequest(f"tiers[{i}]", 'must be an object like {"tier": 1, "sla_hours": 20}')
        validate.unknown_fields(t, {"tier", "sla_hours", "clock", "timezone"})
        tier = validate.integer(t, "tier", minimum=1, maximum=10)
        sla = t.get("sla_hours", tiers.DEFAULT_SLA_HOURS)
        if isinstance(sla, bool) or not isinstance(sla, (int, float)) or not 0 < sla <= 24 * 30:
            raise BadRequest(f"tiers[{i}].sla_hours", "must be a number of hours between 0 and 720")
        entry = {"tier": tier, "sla_hours": sla,
                 "clock": validate.choice(t, "clock", ("wall", "business"), required=False, default="wall")}
        tz = validate.timezone(t, "timezone", required=False)
        if tz:
            entry["timezone"] = tz
        out.append(entry)
    numbers = [t["tier"] for t in out]
    if sorted(numbers) != list(range(1, len(numbers) + 1)):
        raise BadRequest("tiers", "tiers must be numbered 1, 2, 3, ... without gaps or repeats")
    ack = validate.integer(body, "ack_timeout_minutes", required=False, minimum=1, maximum=240, default=10)
    rounds = validate.integer(body, "max_page_rounds", required=False, minimum=1, maximum=48,
                              default=settings.DEFAULT_MAX_PAGE_ROUNDS)
    doc = {"tiers": sorted(out, key=lambda t: t["tier"]), "ack_timeout_minutes": ack, "max_page_rounds": rounds}
    store.put_setting("policy", doc, now)
    return doc
