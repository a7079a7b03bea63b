"""A local SMTP server that keeps every mail it receives in a Maildir folder (open it with any mail reader,
or `smtp_sim.read_mail(folder)`), so the notifications service sends real SMTP in development and tests."""

from __future__ import annotations

import mailbox
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path


def read_mail(folder: str | Path) -> list[EmailMessage]:
    """Every mail kept in the Maildir `folder`, oldest first."""
    path = Path(folder)
    if not (path / "new").is_dir():
        return []
    box = mailbox.Maildir(path, create=False)
    parser = BytesParser(policy=policy.default)
    mails = []
    for key in box.keys():
        with box.get_file(key) as raw:
            mails.append((box.get_date(key) if hasattr(box, "get_date") else 0, key, parser.parse(raw)))
    mails.sort(key=lambda item: (item[0], item[1]))
    return [mail for _, _, mail in mails]  # type: ignore[misc]
