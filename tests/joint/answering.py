"""A department's verification system on 127.0.0.1: it checks the question's signature with the official Standard
Webhooks library, looks the subject up in its own records, and signs its answer over the same id."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from fastapi import FastAPI, Request, Response
from standardwebhooks import Webhook, WebhookVerificationError


@dataclass
class AnsweringSystem:
    secret: str
    records: dict[str, dict[str, object]]
    # Answers to give before the real one (HTTP statuses), and whether to sign with a key of its own.
    outages: list[int] = field(default_factory=list)
    forge: bool = False
    questions: list[dict[str, object]] = field(default_factory=list)
    # The question's field that names the subject (an ID number, a licence's credit code); None: any field.
    key: str | None = "id_number"

    def app(self) -> FastAPI:
        app = FastAPI()
        signer = Webhook(self.secret)
        forger = Webhook("whsec_" + "Zm9yZ2VkLWtleS1vZi1hbm90aGVyLXN5c3RlbSEhIQ==")

        @app.post("/verify")
        async def verify(request: Request) -> Response:
            body = await request.body()
            try:
                question = signer.verify(body, dict(request.headers))
            except WebhookVerificationError:
                return Response(status_code=401)
            self.questions.append(question)
            if self.outages:
                return Response(status_code=self.outages.pop(0))
            asked = question["question"]
            values = [asked.get(self.key)] if self.key is not None else list(asked.values())
            subject = next((self.records[str(value)] for value in values if str(value) in self.records), None)
            if subject is None:
                return Response(status_code=404)
            answer = json.dumps(subject, ensure_ascii=False).encode()
            call_id = request.headers["webhook-id"]
            now = datetime.now(UTC)
            signature = (forger if self.forge else signer).sign(call_id, now, answer.decode())
            return Response(
                content=answer,
                media_type="application/json",
                headers={
                    "webhook-id": call_id,
                    "webhook-timestamp": str(int(now.timestamp())),
                    "webhook-signature": signature,
                },
            )

        return app
