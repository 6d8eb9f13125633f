"""Which conversation a message belongs to, and what it means there (pure rules)."""
from __future__ import annotations

import re

_THANKS = re.compile(r"^(ok(ay)?[,!. ]*)?(many |great,? |super,? )?(thanks?( (you|so much|a lot|a million))?|thank you|"
                     r"thx|ty|cheers|danke( schön| sehr)?|merci( beaucoup)?|gracias|perfect|great|awesome|"
                     r"👍|🙏|❤️)[ !.,:)🙂😊👍🙏]*$", re.IGNORECASE)


def is_thanks(text: str | None) -> bool:
    """A short thank-you after a resolve: stored on the ticket, but not a customer who had to come back."""
    t = " ".join((text or "").split())
    return bool(t) and len(t) <= 60 and "?" not in t and bool(_THANKS.match(t))


def forward_line(ticket_id: int, who: str | None, text: str) -> str:
    """What the working person's phone shows: '#42 Mike: ...' (kept to two SMS segments)."""
    line = f"#{ticket_id} {who or 'Customer'}: {' '.join(text.split())}"
    return line if len(line) <= 300 else line[:297] + "..."
