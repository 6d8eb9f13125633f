"""Web chat: the customer's chat page (the full widget comes with its issue)."""
from __future__ import annotations

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Chat with us</title>
</head>
<body>
<main>
<h1>Chat with us</h1>
<p>The web chat is being built. Meanwhile, text our support number and a person will answer.</p>
</main>
</body>
</html>
"""


def page() -> str:
    return _PAGE
