"""E-mail over SMTP, for reminders and escalations.

Configured by environment variables: ALERTFLOW_SMTP_HOST (unset: no e-mail is sent, and
reminders wait until it is set), ALERTFLOW_SMTP_PORT (default 25), ALERTFLOW_SMTP_USER and
ALERTFLOW_SMTP_PASSWORD (optional login), ALERTFLOW_SMTP_STARTTLS=1, ALERTFLOW_MAIL_FROM.
"""
import os
import smtplib
from email.message import EmailMessage


def configured() -> bool:
    return bool(os.environ.get("ALERTFLOW_SMTP_HOST"))


def send(*, to: list[str], subject: str, body: str) -> None:
    """Send one message to these addresses; raises if the server refuses it."""
    message = EmailMessage()
    message["From"] = os.environ.get("ALERTFLOW_MAIL_FROM", "alertflow@localhost")
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message.set_content(body)
    host = os.environ["ALERTFLOW_SMTP_HOST"]
    port = int(os.environ.get("ALERTFLOW_SMTP_PORT", "25"))
    with smtplib.SMTP(host, port, timeout=30) as smtp:
        if os.environ.get("ALERTFLOW_SMTP_STARTTLS") == "1":
            smtp.starttls()
        if os.environ.get("ALERTFLOW_SMTP_USER"):
            smtp.login(os.environ["ALERTFLOW_SMTP_USER"], os.environ.get("ALERTFLOW_SMTP_PASSWORD", ""))
        smtp.send_message(message)
