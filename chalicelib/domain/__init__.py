"""Pure rules on plain data: no store, channels, notify, pynamodb, boto or twilio here.

Every function takes what it decides from (including `now`) as arguments and
returns new values; use cases (chalicelib/usecases) read, decide with these,
commit and dispatch.
"""
