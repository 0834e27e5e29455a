"""Supervision orders' ids, one scheme for cases and hand-offs: `<subject id>.o<n>`, n counting from 1 within
the subject. (Hand-offs named theirs `<hand-off id>:order:<n>` before; those keep their ids.)"""

from __future__ import annotations


def order_number(number: int) -> str:
    """The order's id within its case or hand-off: o1, o2, …"""
    return f"o{number}"


def supervision_order_id(subject_id: str, local_id: str) -> str:
    """The order's id in the store and in pushes, unique across cases and hand-offs."""
    return f"{subject_id}.{local_id}"
