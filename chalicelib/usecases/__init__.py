"""Use cases: one function per door or sweep.

Each reads what it needs, decides with the pure rules in chalicelib.domain,
commits the state change and its effects (outbox items, the page, counters)
in one conditional transaction through chalicelib.store, then dispatches
the outbox. Domain events become follow-ups here (resolve → survey, urgent
→ page, breach → page), so nothing below calls back up.
"""
