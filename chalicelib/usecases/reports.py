"""The monthly report: who resolved, who handed on, who was satisfied.

Computed only from the month's event items (a Query on the by_month GSI, no
Scan), plus the tickets they belong to and the rota, so a month is
reproducible. Figures:

per person: resolved, passed up (deliberate), escalated away (deadline
expired), median hours to resolve, satisfaction (YES share), pages received
and acknowledged, median minutes to ACK, weekends held, compensation days.
overall: tickets per channel, repeat-contact rate (reopens by customers back
within 7 days / resolves), first-contact resolution (tickets opened and
resolved this month with one customer message and no reopen / those
resolved), satisfaction by channel and by template, tier breaches, and
template effectiveness (uses, share resolved with no further customer
message, YES share) naming templates ready to automate or failing.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import statistics
from collections import defaultdict
from datetime import datetime, timedelta, timezone

from chalicelib import config, expectations, settings, store
from chalicelib.domain.tickets import FINISHED, RESOLVED_EVENT
from chalicelib.errors import BadRequest, Forbidden
from chalicelib.usecases import shifts

READY_USES, READY_SUCCESS = 5, 0.8  # a manual template this good is ready to automate
FAILING_SUCCESS = 0.5  # an automatic one below this has stopped working


def parse_month(raw: str | None) -> tuple[str, datetime, datetime]:
    if not raw or not re.fullmatch(r"\d{4}-\d{2}", raw):
        raise BadRequest("month", "is required as YYYY-MM, like 2026-11")
    year, month = int(raw[:4]), int(raw[5:])
    if not 1 <= month <= 12 or not 2000 <= year <= 2100:
        raise BadRequest("month", f"{raw} is not a month; use YYYY-MM with a month 01-12")
    zone = expectations.zone()  # months as the business lives them, not UTC's
    start = datetime(year, month, 1, tzinfo=zone).astimezone(timezone.utc)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=zone).astimezone(timezone.utc)
    return raw, start, end


def _share(yes: int, total: int) -> float | None:
    return round(yes / total, 3) if total else None


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def monthly(raw_month: str | None, now: datetime) -> dict:
    month, start, end = parse_month(raw_month)
    events = store.events_between(start, end)
    by_ticket: dict[int, list] = defaultdict(list)
    for e in events:
        by_ticket[e.ticket_id].append(e)
    for evs in by_ticket.values():
        evs.sort(key=lambda e: (e.at, e.id))  # time first: sweeps write events keyed by time
    ticket_map = store.get_tickets(sorted(by_ticket))
    people = {p.id: p for p in store.all_people()}

    person = defaultdict(lambda: {"resolved": 0, "passed_up": 0, "escalated_away": 0, "hours_to_resolve": [],
                                  "survey_yes": 0, "survey_total": 0, "pages_received": 0,
                                  "pages_acknowledged": 0, "minutes_to_ack": []})
    per_channel: dict[str, int] = defaultdict(int)
    sat_channel: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    sat_template: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    template_stats: dict[str, dict] = defaultdict(lambda: {"uses": 0, "tickets": set(), "solved": 0})
    # The same per language of the customer (issue 24): a template can work in German and not in French.
    by_language: dict[tuple[str, str], dict] = defaultdict(lambda: {"uses": 0, "solved": 0})
    breaches = fcr = fcr_base = 0
    resolved_tickets: set[int] = set()  # resolved this month, and resolved (or closed) still
    resolved_any: set[int] = set()  # resolved at some point this month
    repeat_tickets: set[int] = set()  # the customer came back: a message after a resolve, or a survey NO
    comments: list[dict] = []  # what customers wrote after a survey NO, with their tickets

    for ticket_id, evs in by_ticket.items():
        ticket = ticket_map.get(ticket_id)
        channel = ticket.channel if ticket else "unknown"
        lang = expectations.language(ticket) if ticket else "unknown"
        paged_at: dict[str, datetime] = {}
        last_template = None
        pending_template = None  # a template answer waiting to see whether the customer writes again
        created = any(e.type == "created" for e in evs)
        messages_in, reopened, resolved_once = 0, False, False
        credited = None  # the template credited with solving this ticket without a further message
        for e in evs:
            data = e.data or {}
            if e.type == "created":
                per_channel[data.get("channel", channel)] += 1
            elif e.type == "message_in":
                messages_in += 1
                pending_template = None
            elif e.type == "thanked":
                messages_in -= 1  # "Great, thanks" after a resolve is no second contact
            elif e.type == "message_out" and data.get("template"):
                last_template = pending_template = data["template"]
                template_stats[last_template]["uses"] += 1
                template_stats[last_template]["tickets"].add(ticket_id)
                by_language[(last_template, lang)]["uses"] += 1
            elif e.type == RESOLVED_EVENT:
                resolved_any.add(ticket_id)
                if ticket is not None and ticket.status in FINISHED:
                    resolved_tickets.add(ticket_id)
                if e.actor in people:
                    person[e.actor]["resolved"] += 1  # resolves (work done): a ticket resolved twice counts twice
                    if ticket is not None:
                        person[e.actor]["hours_to_resolve"].append((e.at - ticket.created_at).total_seconds() / 3600)
                if pending_template:
                    template_stats[pending_template]["solved"] += 1
                    by_language[(pending_template, lang)]["solved"] += 1
                    credited, pending_template = pending_template, None
                resolved_once = True
            elif e.type == "reopened":
                reopened = True
                if data.get("repeat_contact") or e.actor == "customer":  # a survey NO is one too
                    repeat_tickets.add(ticket_id)
            elif e.type == "passed_up" and e.actor in people:
                person[e.actor]["passed_up"] += 1
            elif e.type == "escalated" and data.get("previous_owner") in people:
                person[data["previous_owner"]]["escalated_away"] += 1
            elif e.type == "breach":
                breaches += 1
            elif e.type == "paged" and data.get("to") in people:
                person[data["to"]]["pages_received"] += 1
                paged_at.setdefault(data["to"], e.at)
            elif e.type == "acked" and e.actor in paged_at:
                person[e.actor]["pages_acknowledged"] += 1
                person[e.actor]["minutes_to_ack"].append((e.at - paged_at.pop(e.actor)).total_seconds() / 60)
            elif e.type == "survey_comment" and data.get("comment"):
                comments.append({"ticket_id": ticket_id, "at": e.at.isoformat(), "channel": channel,
                                 "comment": data["comment"]})
            elif e.type == "survey_answered":
                yes = data.get("answer") == "yes"
                if not yes and credited:  # the customer says it did not solve it: no success
                    template_stats[credited]["solved"] -= 1
                    by_language[(credited, lang)]["solved"] -= 1
                    credited = None
                who = data.get("resolved_by")
                if who in people:
                    person[who]["survey_total"] += 1
                    person[who]["survey_yes"] += yes
                sat_channel[channel][0] += yes
                sat_channel[channel][1] += 1
                template = data.get("template") or last_template
                if template:
                    sat_template[template][0] += yes
                    sat_template[template][1] += 1
        if created and resolved_once:  # first-contact resolution, per ticket opened this month
            fcr_base += 1
            fcr += messages_in <= 1 and not reopened

    held = _holding(start, end, now)
    for pid in [*people, *held]:
        person[pid]  # everyone on the team appears, zeros included (month-end accountability), and
        # everyone who held the phone (a person removed since)
    templates = {t.id: t for t in store.all_templates()}
    rows = []
    for pid, p in sorted(person.items(), key=lambda kv: (people[kv[0]].name if kv[0] in people else kv[0])):
        weeks, weekends = held.get(pid, (0.0, 0))
        rows.append({
            "person_id": pid, "name": people[pid].name if pid in people else None,
            "resolved": p["resolved"], "passed_up": p["passed_up"], "escalated_away": p["escalated_away"],
            "median_hours_to_resolve": _median(p["hours_to_resolve"]),
            "satisfaction": _share(p["survey_yes"], p["survey_total"]), "survey_answers": p["survey_total"],
            "pages_received": p["pages_received"], "pages_acknowledged": p["pages_acknowledged"],
            "median_minutes_to_ack": _median(p["minutes_to_ack"]),
            "weekends_held": weekends, "weeks_held": round(weeks, 2), "compensation_days": int(weeks + 0.5),
            "hours_held": round(weeks * 7 * 24, 1),  # an evening on the phone is 4.5 h, not "0.0 weeks"
        })
    effectiveness = []
    for tid, st in sorted(template_stats.items()):
        t = templates.get(tid)
        success = _share(st["solved"], st["uses"])
        proven = st["uses"] >= READY_USES
        yes, total = sat_template.get(tid, [0, 0])
        effectiveness.append({
            "template_id": tid, "name": t.name if t else None, "auto": bool(t.auto) if t else False,
            "uses": st["uses"], "tickets": len(st["tickets"]), "resolved_without_further_message": success,
            "satisfaction": _share(yes, total),
            "ready_to_automate": bool(t and not t.auto and proven and (success or 0) >= READY_SUCCESS),
            "automation_failing": bool(t and t.auto and proven and (success or 0) < FAILING_SUCCESS),
            "by_language": {lang: {"uses": n["uses"],
                                   "resolved_without_further_message": _share(n["solved"], n["uses"])}
                            for (template, lang), n in sorted(by_language.items()) if template == tid},
        })
    return {
        "month": month,
        "people": rows,
        "overall": {
            "tickets_per_channel": dict(sorted(per_channel.items())),
            "resolved": len(resolved_tickets),
            "resolved_this_month": len(resolved_any),  # resolved at some point, reopened since or not
            "repeat_contact_rate": _share(len(repeat_tickets & resolved_any), len(resolved_any)),
            "repeat_contacts": len(repeat_tickets & resolved_any),  # of resolved_this_month
            "first_contact_resolution": _share(fcr, fcr_base),
            "first_contact_resolved": fcr, "first_contact_tickets": fcr_base,
            "satisfaction_by_channel": {c: _share(y, n) for c, (y, n) in sorted(sat_channel.items())},
            "satisfaction_by_template": {(templates[t].name if t in templates else t): _share(y, n)
                                         for t, (y, n) in sorted(sat_template.items())},
            "tier_breaches": breaches,
        },
        "templates": effectiveness,
        "templates_ready_to_automate": [e["name"] for e in effectiveness if e["ready_to_automate"]],
        "automations_failing": [e["name"] for e in effectiveness if e["automation_failing"]],
        "survey_comments": sorted(comments, key=lambda c: c["at"]),
    }


def _holding(start: datetime, end: datetime, now: datetime) -> dict[str, tuple[float, int]]:
    """{person: (weeks held, weekends held)} in [start, end) from the shift records (what happened)."""
    rot = settings.current_rota()
    rows = shifts.held(start, end, now, rot.zone if rot else expectations.zone())
    return {pid: (r["seconds"] / timedelta(days=7).total_seconds(), r["weekends"]) for pid, r in rows.items()}


# --- the signed link and the page ------------------------------------------------------

LINK_TTL = timedelta(minutes=15)


def _link_key(now: datetime) -> bytes:
    doc = store.get_setting("signing") or {}
    if not doc.get("report_key"):
        doc = store.change_setting("signing", lambda d: d if d.get("report_key") else
                                   dict(d, report_key=secrets.token_urlsafe(32)), now)
    return doc["report_key"].encode()


def _sign(month: str, expires: int, now: datetime) -> str:
    return hmac.new(_link_key(now), f"monthly.html|{month}|{expires}".encode(), hashlib.sha256).hexdigest()


def html_link(month: str, now: datetime) -> str:
    """A link a browser can open for LINK_TTL without a bearer header (an admin's phone)."""
    expires = int((now + LINK_TTL).timestamp())
    return (f"{config.public_base_url()}/reports/monthly.html?month={month}&expires={expires}"
            f"&sig={_sign(month, expires, now)}")


def check_link(q: dict, now: datetime) -> None:
    month, expires, sig = q.get("month") or "", q.get("expires") or "", q.get("sig") or ""
    if not re.fullmatch(r"[0-9]{1,12}", expires) or not hmac.compare_digest(
            sig.encode("utf-8", "surrogatepass"), _sign(month, int(expires), now).encode()):
        raise Forbidden("this report link is not valid; open the report again to get a new one",
                        code="invalid_link")
    if int(expires) < now.timestamp():
        raise Forbidden("this report link has expired (links last 15 minutes); open the report again",
                        code="link_expired")
