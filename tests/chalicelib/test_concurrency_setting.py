"""The EMAIL_CONCURRENCY setting: 16 unless set, and refused outside 1 to 64."""

from __future__ import annotations

import pytest

from chalicelib.errors import ConfigurationError
from chalicelib.settings import DEFAULT_EMAIL_CONCURRENCY, Settings


def test_email_concurrency_defaults_to_16_and_is_bounded() -> None:
    assert DEFAULT_EMAIL_CONCURRENCY == 16
    sender = {"WELCOME_EMAIL_SENDER": "welcome@example.com"}
    assert Settings.from_environ(sender).email_concurrency == 16
    assert Settings.from_environ({**sender, "EMAIL_CONCURRENCY": "1"}).email_concurrency == 1
    assert Settings.from_environ({**sender, "EMAIL_CONCURRENCY": "64"}).email_concurrency == 64
    for bad in ("0", "65", "-3", "many"):
        with pytest.raises(ConfigurationError, match="EMAIL_CONCURRENCY"):
            Settings.from_environ({**sender, "EMAIL_CONCURRENCY": bad})
