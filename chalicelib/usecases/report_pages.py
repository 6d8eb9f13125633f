"""The monthly report for people: a spreadsheet's CSV and a page for a phone (the figures come from
usecases/reports.py; nothing here computes one)."""
from __future__ import annotations

import csv
import html
import io


def _cell(value):
    """A cell a spreadsheet shows as text: what a customer or a person typed that begins like a
    formula (=, +, -, @, a tab or a carriage return; OWASP's CSV injection advice) gets a leading
    apostrophe, so `=HYPERLINK(...)` in a survey comment never runs in the admin's spreadsheet."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


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
        writer.writerows([[_cell(v) for v in row] for row in rows])

    people = report["people"]
    header = list(people[0]) if people else ["person_id", "name"]
    section("people", header, [[row.get(k) for k in header] for row in people])
    o = report["overall"]
    overall = [["resolved", o["resolved"]], ["resolved_this_month", o["resolved_this_month"]],
               ["repeat_contact_rate", o["repeat_contact_rate"]], ["repeat_contacts", o["repeat_contacts"]],
               ["first_contact_resolution", o["first_contact_resolution"]],
               ["first_contact_resolved", o["first_contact_resolved"]],
               ["first_contact_tickets", o["first_contact_tickets"]], ["tier_breaches", o["tier_breaches"]]]
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


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f} %"


def _bars(title: str, values: dict[str, float], fmt=lambda v: f"{v:g}") -> str:
    """A horizontal bar chart that scales to the screen (viewBox, width 100%)."""
    if not values:
        return f"<h3>{html.escape(title)}</h3><p>No data.</p>"
    top = max(values.values()) or 1
    height = 28 * len(values) + 10
    bars = []
    for i, (label, value) in enumerate(values.items()):
        width = 200 * (value or 0) / top
        y = 28 * i + 5
        bars.append(f'<text x="0" y="{y + 15}">{html.escape(str(label)[:18])}</text>'
                    f'<rect x="130" y="{y}" width="{width:.1f}" height="20" fill="#1f5fbf"></rect>'
                    f'<text x="{136 + width:.1f}" y="{y + 15}">{html.escape(fmt(value))}</text>')
    return (f'<h3>{html.escape(title)}</h3><svg role="img" aria-label="{html.escape(title)}" '
            f'viewBox="0 0 400 {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
            f'font-family="sans-serif" font-size="13">{"".join(bars)}</svg>')


def _table(header: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    # Each cell names its column (data-label): on a phone a row becomes a card of "label value" lines.
    body = "".join("<tr>" + "".join(f'<td data-label="{html.escape(h)}">{html.escape(str(c))}</td>'
                                    for h, c in zip(header, r, strict=True)) + "</tr>" for r in rows)
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


_STYLE = ("body{font-family:system-ui,sans-serif;margin:0;padding:1rem;max-width:48rem;margin:auto;color:#111}"
          "h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ccc}"
          "h3{font-size:1rem}svg{max-width:100%;height:auto;display:block}"
          ".scroll{overflow-x:auto}table{border-collapse:collapse;font-size:.9rem}"
          "td,th{padding:.25rem .5rem;border-bottom:1px solid #eee;text-align:left}"
          "ul{padding-left:1.2rem}"
          # A phone (issue 21: the tables ran off the right edge): each row a card, each cell a line.
          "@media (max-width:40rem){table,thead,tbody,tr,th,td{display:block;width:100%;box-sizing:border-box}"
          "thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}"
          "tr{border:1px solid #ddd;border-radius:.4rem;margin:.5rem 0;padding:.25rem 0}"
          "td{display:flex;justify-content:space-between;gap:1rem;border:0;box-sizing:border-box}"
          "td::before{content:attr(data-label);font-weight:600;text-align:left}}")


def _held(row: dict) -> str:
    """Time on call as a person reads it: hours under a week, weeks from one on."""
    hours = row.get("hours_held") or 0
    return f"{hours:g} h" if hours < 168 else f"{row['weeks_held']:g} weeks"


def to_html(report: dict) -> str:
    """The report for people: readable on a phone, rates as percentages, every section of the JSON."""
    people = report["people"]
    o = report["overall"]
    name = {p["person_id"]: p["name"] or p["person_id"] for p in people}
    parts = [
        "<section><h2>Overview</h2><ul>"
        f"<li>Resolved: {o['resolved']} (tickets resolved this month and still resolved; "
        f"{o['resolved_this_month']} were resolved at some point this month)</li>"
        f"<li>Repeat contacts: {_pct(o['repeat_contact_rate'])}: {o['repeat_contacts']} of the "
        f"{o['resolved_this_month']} tickets resolved this month came back (a new message after the resolve, "
        "or a survey NO; a thank-you does not count)</li>"
        f"<li>First-contact resolution: {_pct(o['first_contact_resolution'])}: {o['first_contact_resolved']} of "
        f"the {o['first_contact_tickets']} tickets opened and resolved this month were solved after one message "
        "from the customer and never reopened</li>"
        f"<li>Tier breaches: {o['tier_breaches']}</li></ul>"
        + _bars("Tickets per channel", o["tickets_per_channel"]) + "</section>",
        "<section><h2>People</h2>"
        + _bars("Resolved", {name[p["person_id"]]: p["resolved"] for p in people})
        + _bars("Passed up", {name[p["person_id"]]: p["passed_up"] for p in people}) + "</section>",
        "<section><h2>Satisfaction</h2>"
        + _bars("By channel", o["satisfaction_by_channel"], _pct)
        + _bars("By person", {name[p["person_id"]]: p["satisfaction"] for p in people
                              if p["satisfaction"] is not None}, _pct)
        + _bars("By template", o["satisfaction_by_template"], _pct) + "</section>",
        "<section><h2>Repeat contacts</h2>"
        f"<p>{_pct(o['repeat_contact_rate'])} of resolved tickets came back within a week "
        f"(a thank-you does not count).</p></section>",
        "<section><h2>On call and pages</h2>"
        "<p>Time on call comes from the shift records (who really held the phone); a compensation day per "
        "week held, rounded.</p>"
        + _table(["Person", "On call", "Weekends", "Compensation days", "Pages", "Acknowledged",
                  "Median minutes to ACK"],
                 [[name[p["person_id"]], _held(p), p["weekends_held"], p["compensation_days"],
                   p["pages_received"], p["pages_acknowledged"],
                   "-" if p["median_minutes_to_ack"] is None else p["median_minutes_to_ack"]] for p in people])
        + "</section>",
        "<section><h2>Templates</h2>"
        + (_table(["Template", "Uses", "Solved without more", "Satisfaction", "Note"],
                  [[t["name"] or t["template_id"], t["uses"], _pct(t["resolved_without_further_message"]),
                    _pct(t["satisfaction"]), "ready to automate" if t["ready_to_automate"] else
                    "automation failing" if t["automation_failing"] else ""] for t in report["templates"]])
           if report["templates"] else "<p>No template was used.</p>") + "</section>",
    ]
    comments = "".join(f"<li>#{c['ticket_id']} ({html.escape(c['channel'])}): {html.escape(c['comment'])}</li>"
                       for c in report.get("survey_comments", []))
    parts.append("<section><h2>What customers said after a survey NO</h2>"
                 + (f"<ul>{comments}</ul>" if comments else "<p>No comments.</p>") + "</section>")
    month = html.escape(report["month"])
    return ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Friday Night report {month}</title><style>{_STYLE}</style></head>"
            f"<body><main><h1>Friday Night report {month}</h1>{''.join(parts)}</main></body></html>")
