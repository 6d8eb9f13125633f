"""The process's one botocore session (issue 25), and its clients.

The tables' DynamoDB client (``store._base.Table``) and the SSM client that reads the secrets
(``config``) are both made from it, so botocore loads its shared data (endpoints, partitions,
retry rules, the SDK's defaults) once per cold start rather than once per client. Made on first
use: importing this costs nothing.
"""
from __future__ import annotations

import threading

_LOCK = threading.RLock()  # client() makes the session under it
_SESSION = None


def session():
    """The botocore session every client of this process is made from."""
    global _SESSION
    if _SESSION is None:
        with _LOCK:
            if _SESSION is None:
                from botocore.session import get_session

                _SESSION = get_session()
    return _SESSION


_CLIENTS: dict[str, object] = {}


def client(service: str):
    """One botocore client per service for the process, made from its session (SSM here; the
    tables' DynamoDB client is PynamoDB's, made from the same session)."""
    if service not in _CLIENTS:
        with _LOCK:
            if service not in _CLIENTS:
                _CLIENTS[service] = session().create_client(service)
    return _CLIENTS[service]
