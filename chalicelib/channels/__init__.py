"""Channels: adapters between a way customers reach us and the ticket domain.

Each module translates: a Twilio webhook or a chat request in, one use case called, TwiML or
JSON out. They decide nothing; answering a customer over the ticket's own channel is the use
case ``usecases.replies``. Adding e-mail later is a new module here.
"""
