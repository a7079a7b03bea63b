"""The local SMTP server keeps what it receives where a test or a developer can read it."""

from __future__ import annotations

import smtplib
import subprocess
import sys
from email.message import EmailMessage

from jeshstack.procs import free_port, port_open, stop_process
from jeshstack.testing import wait_for
from smtp_sim import read_mail


def test_mail_sent_over_smtp_is_kept_in_the_maildir(tmp_path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "smtp_sim", "--port", str(port), "--maildir", str(tmp_path / "m")])
    try:
        wait_for(lambda: port_open(port), timeout=20, what="the SMTP server")
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = "a@jesh.local", "b@example.co.ke", "Karibu"
        mail.set_content("Habari")
        mail.add_alternative("<p>Habari</p>", subtype="html")
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
            smtp.send_message(mail)
        kept = wait_for(lambda: read_mail(tmp_path / "m"), what="the mail kept")
        assert kept[0]["Subject"] == "Karibu" and kept[0]["To"] == "b@example.co.ke"
        assert kept[0].get_body(("plain",)).get_content().strip() == "Habari"
    finally:
        stop_process(proc)
