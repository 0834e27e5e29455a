"""An Idempotency-Key names one request: what counts as the same request, and what does not."""

from __future__ import annotations

from workers.door.idempotency import fingerprint

PATH = "/v1/cases/case-SQ-FGW-XM-1/accept"


def test_key_order_spacing_and_null_fields_are_the_same_request() -> None:
    curl = fingerprint("POST", PATH, b'{"role": "coordinator"}')
    assert fingerprint("POST", PATH, b'{"reason":null,"role":"coordinator"}') == curl
    assert fingerprint("POST", PATH, b'{\n  "role": "coordinator",\n  "actor_department": null\n}') == curl


def test_another_value_path_or_method_is_another_request() -> None:
    curl = fingerprint("POST", PATH, b'{"role": "coordinator"}')
    assert fingerprint("POST", PATH, b'{"role": "coordinator", "reason": "urgent"}') != curl
    assert fingerprint("POST", PATH.replace("accept", "reject"), b'{"role": "coordinator"}') != curl
    assert fingerprint("PUT", PATH, b'{"role": "coordinator"}') != curl
    assert fingerprint("POST", PATH, b'{"role": "coordinator", "evidence": []}') != curl, "an empty list is a value"
