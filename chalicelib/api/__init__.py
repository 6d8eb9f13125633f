"""The doors: one Chalice blueprint per door (Twilio, chat, sign-in, console, tickets, people, rota,
templates, reports, status), registered by app.py. A route authenticates, parses, calls one use case
and shapes the answer."""
