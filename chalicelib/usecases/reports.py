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

import csv
import html
import io
import re
import statistics
from collections import defaultdict
from datetime import datetime, timedelta, timezone

from chalicelib import expectations, settings, store
from chalicelib.errors import BadRequest
from chalicelib.usecases import shifts

READY_USES, READY_SUCCESS = 5, 0.8  # a manual template this good is ready to automate
FAILING_SUCCESS = 0.5  # an automatic one below this has stopped working


def parse_month(raw: str | None) -> tuple[str, datetime, datetime]:
    if not raw or not re.fullmatch(r"\d{4}-\d{2}", raw):
        raise BadRequest("month", "is required as YYYY-MM, like 2026-11")
    year, month = int(raw[:4]), int(raw[5:])
    if not 1 <= month <= 12 or year < 2000:
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
        evs.sort(key=lambda e: (e.at, e.sk))  # time first: sweeps write events keyed by time
    ticket_map = store.get_tickets(sorted(by_ticket))
    people = {p.id: p for p in store.all_people()}

    person = defaultdict(lambda: {"resolved": 0, "passed_up": 0, "escalated_away": 0, "hours_to_resolve": [],
                                  "survey_yes": 0, "survey_total": 0, "pages_received": 0,
                                  "pages_acknowledged": 0, "minutes_to_ack": []})
    per_channel: dict[str, int] = defaultdict(int)
    sat_channel: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    sat_template: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    template_stats: dict[str, dict] = defaultdict(lambda: {"uses": 0, "tickets": set(), "solved": 0})
    breaches = resolves = repeats = fcr = fcr_base = 0
    comments: list[dict] = []  # what customers wrote after a survey NO, with their tickets

    for ticket_id, evs in by_ticket.items():
        ticket = ticket_map.get(ticket_id)
        channel = ticket.channel if ticket else "unknown"
        paged_at: dict[str, datetime] = {}
        last_template = None
        pending_template = None  # a template answer waiting to see whether the customer writes again
        created = any(e.type == "created" for e in evs)
        messages_in, reopened, resolved_once = 0, False, False
        for e in evs:
            data = e.data or {}
            if e.type == "created":
                per_channel[data.get("channel", channel)] += 1
            elif e.type == "message_in":
                messages_in += 1
                pending_template = None
            elif e.type == "message_out" and data.get("template"):
                last_template = pending_template = data["template"]
                template_stats[last_template]["uses"] += 1
                template_stats[last_template]["tickets"].add(ticket_id)
            elif e.type == "resolved":
                resolves += 1
                if e.actor in people:
                    person[e.actor]["resolved"] += 1
                    if ticket is not None:
                        person[e.actor]["hours_to_resolve"].append((e.at - ticket.created_at).total_seconds() / 3600)
                if pending_template:
                    template_stats[pending_template]["solved"] += 1
                    pending_template = None
                resolved_once = True
            elif e.type == "reopened":
                reopened = True
                repeats += bool(data.get("repeat_contact"))
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
    for pid in held:
        person[pid]  # everyone who held the phone appears
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
        })
    return {
        "month": month,
        "people": rows,
        "overall": {
            "tickets_per_channel": dict(sorted(per_channel.items())),
            "resolved": resolves,
            "repeat_contact_rate": _share(repeats, resolves),
            "first_contact_resolution": _share(fcr, fcr_base),
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


def to_csv(report: dict) -> str:
    """The report's sections one after the other, each a titled table (a blank line between):
    people, overall, templates, survey comments."""
    buf = io.StringIO()
    writer = csv.writer(buf)

    def section(title: str, header: list[str], rows: list[list]) -> None:
        if buf.tell():
            writer.writerow([])
        writer.writerow([f"# {title}"])
        writer.writerow(header)
        writer.writerows(rows)

    people = report["people"]
    header = list(people[0]) if people else ["person_id", "name"]
    section("people", header, [[row.get(k) for k in header] for row in people])
    o = report["overall"]
    overall = [["resolved", o["resolved"]], ["repeat_contact_rate", o["repeat_contact_rate"]],
               ["first_contact_resolution", o["first_contact_resolution"]], ["tier_breaches", o["tier_breaches"]]]
    overall += [[f"tickets_per_channel.{c}", n] for c, n in o["tickets_per_channel"].items()]
    overall += [[f"satisfaction_by_channel.{c}", v] for c, v in o["satisfaction_by_channel"].items()]
    overall += [[f"satisfaction_by_template.{t}", v] for t, v in o["satisfaction_by_template"].items()]
    section("overall", ["measure", "value"], overall)
    header = ["template_id", "name", "auto", "uses", "tickets", "resolved_without_further_message",
              "satisfaction", "ready_to_automate", "automation_failing"]
    section("templates", header, [[row.get(k) for k in header] for row in report["templates"]])
    header = ["ticket_id", "at", "channel", "comment"]
    section("survey comments", header, [[c[k] for k in header] for c in report["survey_comments"]])
    return buf.getvalue()


def _bars(title: str, values: dict[str, float]) -> str:
    if not values:
        return f"<h2>{html.escape(title)}</h2><p>No data.</p>"
    top = max(values.values()) or 1
    height = 28 * len(values) + 10
    bars = []
    for i, (label, value) in enumerate(values.items()):
        width = 300 * value / top
        y = 28 * i + 5
        bars.append(f'<text x="0" y="{y + 15}">{html.escape(label)}</text>'
                    f'<rect x="170" y="{y}" width="{width:.1f}" height="20" fill="#1f5fbf"></rect>'
                    f'<text x="{176 + width:.1f}" y="{y + 15}">{value:g}</text>')
    return (f'<h2>{html.escape(title)}</h2><svg role="img" aria-label="{html.escape(title)}" width="560" '
            f'height="{height}" font-family="sans-serif" font-size="13">{"".join(bars)}</svg>')


def to_html(report: dict) -> str:
    people = report["people"]
    parts = [
        _bars("Resolved per person", {p["name"] or p["person_id"]: p["resolved"] for p in people}),
        _bars("Passed up per person", {p["name"] or p["person_id"]: p["passed_up"] for p in people}),
        _bars("Tickets per channel", report["overall"]["tickets_per_channel"]),
    ]
    o = report["overall"]
    summary = (f"<ul><li>Resolved: {o['resolved']}</li><li>Repeat-contact rate: {o['repeat_contact_rate']}</li>"
               f"<li>First-contact resolution: {o['first_contact_resolution']}</li>"
               f"<li>Tier breaches: {o['tier_breaches']}</li></ul>")
    comments = "".join(f"<li>#{c['ticket_id']} ({html.escape(c['channel'])}): {html.escape(c['comment'])}</li>"
                       for c in report.get("survey_comments", []))
    if comments:
        parts.append(f"<section><h2>What customers said after a survey NO</h2><ul>{comments}</ul></section>")
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Friday Night report "
            f"{html.escape(report['month'])}</title></head><body><main><h1>Report {html.escape(report['month'])}"
            f"</h1>{summary}{''.join(parts)}</main></body></html>")

