"""What goes into a quarantine message's attributes."""

from __future__ import annotations

import pytest

from worker.dlq_message import attribute_text

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("raw", "sent"),
    [
        ("uploads/u1/plain.jpg", "uploads/u1/plain.jpg"),
        ("uploads/u1/tab\tand\nnewline.jpg", "uploads/u1/tab\tand\nnewline.jpg"),
        ("uploads/u1/bell\x07.jpg", "uploads/u1/bell\ufffd.jpg"),
        ("uploads/u1/nul\x00esc\x1b.jpg", "uploads/u1/nul\ufffdesc\ufffd.jpg"),
        ("uploads/u1/café-😀.jpg", "uploads/u1/café-😀.jpg"),
        ("uploads/u1/\ufffe.jpg", "uploads/u1/\ufffd.jpg"),
    ],
    ids=["plain", "allowed-whitespace", "bell", "nul-and-escape", "unicode", "non-character"],
)
def test_attribute_text_keeps_what_sqs_accepts_and_replaces_the_rest(raw: str, sent: str) -> None:
    assert attribute_text(raw) == sent
