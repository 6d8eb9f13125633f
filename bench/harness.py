"""An in-process app on moto, with every DynamoDB call counted by operation."""
from __future__ import annotations

import json
import os

os.environ.update({
    "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "eu-central-1",
    "TABLE_PREFIX": "bench-", "ADMIN_API_KEY": "bench-admin-key", "FRIDAY_STAGE": "test",
    "SUPPORT_NUMBER": "+4930901820", "EMERGENCY_NUMBER": "+4930901821",
    "PUBLIC_BASE_URL": "https://friday.example/api", "TWILIO_AUTH_TOKEN": "bench-token",
    "PAGES_PER_HOUR": "1000", "AUTO_REPLY_LIMIT": "1000", "AUTO_REPLY_BUDGET": "100000",  # the path, not the guards
})
os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
os.environ.pop("TWILIO_ACCOUNT_SID", None)

from bench.counting import CALLS, counted, fmt  # noqa: E402,F401


def call(http, method: str, path: str, payload=None, key: str = "bench-admin-key"):
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    body = json.dumps(payload) if payload is not None else None
    return getattr(http, method)(path, headers=headers, body=body)


