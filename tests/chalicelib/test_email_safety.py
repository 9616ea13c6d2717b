"""What a user typed cannot break out of the welcome email, and never reaches a log line.

* HTML: whatever the name holds, the HTML part has exactly the template's elements, and its
  greeting reads exactly as the plain-text part's;
* headers: no line break of any kind reaches the subject or the recipient; an address with a
  line break or a second address is refused; the message, built into MIME as SES does, has
  only the headers we set;
* logs: no email address and no value of a redacted attribute from any input, including the
  error messages of a failing dependency, appears in any log line.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import io
import json
import unicodedata
from email.message import EmailMessage as MimeMessage
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.adapters.ses import SesEmailSender
from chalicelib.errors import BatchFailedError, PermanentEmailError
from chalicelib.ports import NoLedger
from chalicelib.service import UsersStream
from chalicelib.welcome import EmailMessage, compose_welcome
from devtools.stream_events import FakeStream
from tests.chalicelib.conftest import SENDER, LogLines
from tests.chalicelib.strategies import PROPERTY

HOSTILE_NAMES = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "<!-- comment --><![CDATA[x]]>",
    "&lt;b&gt; &amp; &#60;",
    "Ada\r\nBcc: evil@attacker.test",
    "Ada\nContent-Type: text/html\n\n<h1>x</h1>",
    "Ada\u2028Subject: hijacked",
    "Ada\x85Bcc: evil@attacker.test",
    "Ada\x00\x1b[31m",
    "=?utf-8?q?Bcc=3A_evil=40attacker=2Etest?=",
]
names = st.one_of(st.sampled_from(HOSTILE_NAMES), st.text(max_size=120))
INJECTIONS = [
    "\r\nBcc: evil@attacker.test",
    "\nBcc: evil@attacker.test",
    "\rTo: evil@attacker.test",
    ",evil@attacker.test",
    ", evil@attacker.test",
    ";evil@attacker.test",
    " evil@attacker.test",
    ">, <evil@attacker.test",
    "\u2028Bcc: evil@attacker.test",
    "\x85Bcc: evil@attacker.test",
    "\x00evil@attacker.test",
]


class Markup(HTMLParser):
    """Every element, attribute, comment and declaration of a document; text per <p>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.structure: list[Any] = []
        self.paragraphs: list[str] = []
        self._in_p = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.structure.append((tag, attrs))
        if tag == "p":
            self.paragraphs.append("")
            self._in_p = True

    def handle_endtag(self, tag: str) -> None:
        self.structure.append(f"/{tag}")
        self._in_p = self._in_p and tag != "p"

    def handle_data(self, data: str) -> None:
        if self._in_p:
            self.paragraphs[-1] += data

    def handle_comment(self, data: str) -> None:
        self.structure.append(("comment", data))

    def handle_decl(self, decl: str) -> None:
        self.structure.append(("decl", decl))

    def unknown_decl(self, data: str) -> None:
        self.structure.append(("unknown", data))

    def handle_pi(self, data: str) -> None:
        self.structure.append(("pi", data))


def markup(document: str) -> Markup:
    parser = Markup()
    parser.feed(document)
    parser.close()
    return parser


TEMPLATE = markup(compose_welcome({"email": "a@example.com", "name": "Ada"}, SENDER).html)


@PROPERTY
@given(names)
def test_a_name_cannot_add_markup_to_the_html_email(name):
    message = compose_welcome({"email": "ada@example.com", "name": name}, SENDER)
    parsed = markup(message.html)
    assert parsed.structure == TEMPLATE.structure  # the same elements, no attributes, no comments
    assert parsed.paragraphs[1:] == TEMPLATE.paragraphs[1:]
    assert parsed.paragraphs[0] == message.text.splitlines()[0]  # the greeting, as typed


def single_line(text: str) -> bool:
    """No line break of any kind, and no control character."""
    return text.splitlines() == [text] and not any(unicodedata.category(c) == "Cc" for c in text)


@PROPERTY
@given(names)
def test_a_name_never_breaks_a_header_line(name):
    message = compose_welcome({"email": "ada@example.com", "name": name}, SENDER)
    assert single_line(message.subject)
    assert message.recipient == "ada@example.com"
    assert_mime_headers_are_only_ours(message)


def assert_mime_headers_are_only_ours(message: EmailMessage) -> None:
    """Build the message into MIME as SES does, parse it back: our headers, and no others."""
    mime = MimeMessage(policy=email.policy.SMTP)
    mime["From"] = message.sender
    mime["To"] = message.recipient
    mime["Subject"] = message.subject
    mime.set_content(message.text)
    mime.add_alternative(message.html, subtype="html")
    parsed = email.message_from_bytes(mime.as_bytes(), policy=email.policy.default)
    assert sorted(parsed.keys()) == ["Content-Type", "From", "MIME-Version", "Subject", "To"]
    assert single_line(parsed["Subject"])
    # (Its text is not compared: RFC 2047 encoding may fold or join whitespace, and decodes an
    # encoded word a user typed, for display - inside the Subject, where it stays.)
    assert parsed["To"] == message.recipient
    assert parsed.get_all("Bcc") is None


@PROPERTY
@given(st.emails(), st.sampled_from(INJECTIONS), st.booleans())
def test_an_address_with_a_line_break_or_a_second_address_is_refused(address, injection, before):
    hostile = injection + address if before else address + injection
    with pytest.raises(PermanentEmailError):
        compose_welcome({"email": hostile, "name": "Ada"}, SENDER)


@PROPERTY
@given(st.one_of(st.emails(), st.text(max_size=40), st.emails().map(lambda a: f" {a}\r\n")))
def test_an_accepted_recipient_is_one_plain_address(value):
    try:
        message = compose_welcome({"email": value}, SENDER)
    except PermanentEmailError:
        return
    recipient = message.recipient
    assert single_line(recipient)
    assert recipient.count("@") == 1
    assert not any(c.isspace() or c in ',;<>()"\\' for c in recipient)
    assert recipient == value.strip()


def test_hostile_text_goes_to_ses_escaped_and_to_one_recipient(ses, logs):
    stream = FakeStream()
    name = "Ada\r\nBcc: evil@attacker.test <script>alert(1)</script>"
    service = UsersStream(
        environ={"WELCOME_EMAIL_SENDER": SENDER},
        sender=SesEmailSender(ses.new_client),
        ledger=NoLedger(),
        log_stream=logs,
    )
    users = [
        {"id": "u1", "email": "ada@example.com", "name": name},
        {"id": "u2", "email": "bob@example.com\r\nBcc: evil@attacker.test", "name": "Bob"},
        {"id": "u3", "email": "carol@example.com, evil@attacker.test", "name": "Carol"},
    ]
    response = service.handle(FakeStream.event([stream.insert(user) for user in users]))

    assert response == {"batchItemFailures": []}
    (request,) = ses.wire  # only the first user's address is sendable
    recipients = {k: v for k, v in request.items() if k.startswith("Destination.")}
    assert recipients == {"Destination.ToAddresses.member.1": "ada@example.com"}
    subject = request["Message.Subject.Data"]
    assert single_line(subject)
    assert "<script>" not in request["Message.Body.Html.Data"]
    assert "&lt;script&gt;" in request["Message.Body.Html.Data"]
    (sent,) = ses.sent()
    assert sent.destinations == {"ToAddresses": ["ada@example.com"]}
    rejected = logs.with_message("welcome_email_rejected")
    assert [line["keys"] for line in rejected] == [{"id": "u2"}, {"id": "u3"}]
    assert "attacker" not in logs.getvalue()
    assert "example.com" not in logs.getvalue()


# -- no personal data in any log line -------------------------------------------------------

MARK = "\u2603"  # a snowman: planted values are recognisable, and appear nowhere else
secrets = st.text(max_size=12).map(lambda t: f"{MARK}{t}{MARK}")
planted_emails = st.emails()
plain_values = st.one_of(st.text(max_size=8), st.integers(-5, 5), st.booleans())


@st.composite
def personal_items(draw: st.DrawFn, user_id: str) -> tuple[dict[str, Any], set[str], set[str]]:
    """An item with addresses and redacted values planted anywhere; and what was planted."""
    addresses: set[str] = set()
    redacted: set[str] = set()

    def address() -> str:
        found = draw(planted_emails)
        addresses.add(found)
        return draw(st.sampled_from(["{}", "mailto:{}", "<{}>", "x {} y", "{}\n"])).format(found)

    def secret() -> str:
        found = draw(secrets)
        redacted.add(found)
        return found

    item: dict[str, Any] = {"id": user_id, "email": address(), "name": secret()}
    if draw(st.booleans()):
        item["phone"] = secret()
    if draw(st.booleans()):
        item["profile"] = {"name": secret(), "contacts": [address(), {"email": address()}]}
    if draw(st.booleans()):
        item["notes"] = f"write to {address()} or {address()}"
    if draw(st.booleans()):
        item[address()] = draw(plain_values)  # an address as an attribute name
    if draw(st.booleans()):
        item["aliases"] = {address(), address()}
    return item, addresses, redacted


class ChattySender:
    """A sender that sometimes fails with an error quoting the address (as SES's messages do)."""

    def __init__(self, fail: list[bool]) -> None:
        self.fail = fail

    def send(self, message: EmailMessage) -> str:
        if self.fail and self.fail.pop(0):
            raise RuntimeError(
                "Email address is not verified. The following identities failed the check "
                f"in region US-EAST-1: {message.recipient}, {message.sender}"
            )
        return "msg-1"


def strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *strings_in(v))]
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]
    return []


@PROPERTY
@given(st.data(), st.lists(st.booleans(), max_size=6), st.booleans())
def test_no_address_or_redacted_value_reaches_any_log_line(data, failures, report):
    stream = FakeStream()
    planted_addresses: set[str] = set()
    planted_secrets: set[str] = set()
    records = []
    for number in range(data.draw(st.integers(1, 4))):
        before, a1, s1 = data.draw(personal_items(f"u{number}"))
        after, a2, s2 = data.draw(personal_items(f"u{number}"))
        if data.draw(st.booleans()):  # the id itself may be an address
            address = data.draw(planted_emails)
            before["id"] = after["id"] = address
            planted_addresses.add(address)
        planted_addresses |= a1 | a2
        planted_secrets |= s1 | s2
        records += [stream.insert(before), stream.modify(before, after), stream.remove(after)]
    environ = {"WELCOME_EMAIL_SENDER": SENDER, "REDACT_ATTRIBUTES": "email,name,phone"}
    if report:
        environ["REPORT_BATCH_ITEM_FAILURES"] = "true"
    logs = LogLines()
    service = UsersStream(
        environ=environ, sender=ChattySender(failures), ledger=NoLedger(), log_stream=logs
    )
    with contextlib.suppress(BatchFailedError):  # a failed send fails the batch; it is logged
        service.handle(FakeStream.event(records))

    logged = [s for line in logs.entries() for s in strings_in(line)]
    assert logged
    for text in logged:
        for address in planted_addresses | {SENDER}:
            assert address not in text
        for secret in planted_secrets:
            assert secret not in text
        assert MARK not in text


def test_the_log_line_checks_can_fail():
    """The leak checks above look at parsed lines: an unredacted setup does leak."""
    logs = io.StringIO()
    service = UsersStream(
        environ={"WELCOME_EMAIL_SENDER": SENDER, "REDACT_ATTRIBUTES": ""},
        sender=ChattySender([]),
        ledger=NoLedger(),
        log_stream=logs,
    )
    stream = FakeStream()
    service.handle(FakeStream.event([stream.insert({"id": "u1", "name": f"{MARK}Ada{MARK}"})]))
    lines = [json.loads(line) for line in logs.getvalue().splitlines()]
    assert any(f"{MARK}Ada{MARK}" in s for line in lines for s in strings_in(line))


@pytest.mark.parametrize(
    "note",
    ["line1\nada@example.com", "\x1f@0", 'say "ada@example.com"', "C:\\ada@example.com", "\t@x"],
)
def test_an_address_right_after_a_json_escape_is_masked_and_the_line_stays_json(note):
    logs = LogLines()
    service = UsersStream(environ={"WELCOME_EMAIL_SENDER": SENDER}, log_stream=logs)
    stream = FakeStream()
    service.handle(FakeStream.event([stream.modify({"id": "u1"}, {"id": "u1", "note": note})]))
    (line,) = logs.entries()  # parses: no "\<email>" left behind
    assert all("@" not in text for text in strings_in(line))
