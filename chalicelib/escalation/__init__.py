"""Escalation: the rota (who holds the phone), paging, and the support tiers."""
