"""What every activity that calls a department's system holds: the store, the HTTP client, the secrets and the
webhook policy (pushes, verification calls and delivery pulls alike)."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.gateway.endpoints import WebhookPolicy, current_policy
from activities.gateway.webhook_secrets import SecretResolver


class OutboundActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        http: httpx.AsyncClient,
        secrets: SecretResolver,
        policy: WebhookPolicy | None = None,
    ) -> None:
        self._sessions = sessions
        self._http = http
        self._secrets = secrets
        # None: the process's settings (CASELOOP_ENVIRONMENT, CASELOOP_WEBHOOK_ALLOW_HOSTS, ...) on every attempt.
        self._policy = policy

    @property
    def policy(self) -> WebhookPolicy:
        return self._policy or current_policy()
