"""The monthly report: JSON, CSV and the signed page."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import clock, lazy
from chalicelib.api.edge import _PAGE_HEADERS, query, staff
from chalicelib.errors import BadRequest

auth = lazy.module("chalicelib.auth")
report_pages = lazy.module("chalicelib.usecases.report_pages")
reports = lazy.module("chalicelib.usecases.reports")

bp = Blueprint(__name__)


@bp.route("/reports/monthly", methods=["GET"])
@staff("admin")
def monthly_report(principal):
    q = query()
    report = reports.monthly(q.get("month"), clock.now())
    fmt = q.get("format", "json")
    if fmt == "csv":
        return Response(report_pages.to_csv(report), headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="friday-night-{report["month"]}.csv"'})
    if fmt != "json":
        raise BadRequest("format", "must be json or csv")
    return dict(report, html_url=reports.html_link(report["month"], clock.now()))


@bp.route("/reports/monthly.html", methods=["GET"])
def monthly_report_html():
    """A browser opens it through the short-lived signed link the JSON report carries
    (`html_url`); a bearer admin key works too."""
    q, now = query(), clock.now()
    if "sig" in q:
        reports.check_link(q, now)
    else:
        auth.require(auth.authenticate(bp.current_request.headers.get("authorization")), "admin")
    return Response(report_pages.to_html(reports.monthly(q.get("month"), now)),
                    headers={"Content-Type": "text/html; charset=utf-8", "Cache-Control": "private, no-store",
                             "Referrer-Policy": "no-referrer", **_PAGE_HEADERS,
                             # No script at all, and no site may frame the signed page.
                             "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                                        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
                             "X-Frame-Options": "DENY"})
