"""E-mail through the operator's SMTP server (settings SMTP_* in core/config.py), for staff who
want deadline reminders by mail. The dispatcher sends `email` outbox rows with it, so mail has
the same retry and no-double-send rules as WeChat messages."""
from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from core.config import Config

TIMEOUT_SECONDS = 20


class MailNotSent(Exception):
    """Definitely not accepted by the server; `retryable` when a later try may work."""

    def __init__(self, text: str, retryable: bool) -> None:
        super().__init__(text)
        self.retryable = retryable


class MailOutcomeUnknown(Exception):
    """The connection broke after the message was handed over: it may have been accepted."""


def configured(config: Config) -> bool:
    return bool(config.smtp_host and config.smtp_from)


Attachment = tuple[str, bytes, str]  # file name, content, MIME type ("application/pdf")


def build(config: Config, to: str, subject: str, text: str, message_id: str | None = None,
          attachments: list[Attachment] | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = formataddr(("村务公开助手", config.smtp_from))
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or make_msgid(domain=config.smtp_from.rpartition("@")[2] or None)
    msg.set_content(text, charset="utf-8")
    for filename, content, mime in attachments or []:
        maintype, _, subtype = mime.partition("/")
        msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return msg


def send(config: Config, to: str, subject: str, text: str, message_id: str | None = None,
         attachments: list[Attachment] | None = None) -> None:
    """Hand one message to the SMTP server, classifying failures for the dispatcher."""
    if not configured(config):
        raise MailNotSent("没有配置发信服务器（SMTP_HOST、SMTP_FROM）", retryable=False)
    msg = build(config, to, subject, text, message_id, attachments)
    try:
        if config.smtp_security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(config.smtp_host, config.smtp_port, timeout=TIMEOUT_SECONDS,
                                                    context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=TIMEOUT_SECONDS)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailNotSent(f"连不上发信服务器：{exc.__class__.__name__}", retryable=True) from exc
    try:
        try:
            if config.smtp_security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if config.smtp_user:
                client.login(config.smtp_user, config.smtp_password)
        except smtplib.SMTPAuthenticationError as exc:
            raise MailNotSent("发信服务器的用户名或密码不对", retryable=False) from exc
        except OSError as exc:  # smtplib's errors are OSErrors; nothing was handed over yet
            raise MailNotSent(f"发信服务器连接出错：{exc.__class__.__name__}", retryable=True) from exc
        try:
            client.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            raise MailNotSent("收件地址被拒收，请检查邮箱地址", retryable=False) from exc
        except smtplib.SMTPResponseException as exc:
            raise MailNotSent(f"发信服务器拒绝（{exc.smtp_code}）", retryable=400 <= exc.smtp_code < 500) from exc
        except OSError as exc:
            raise MailOutcomeUnknown(f"发信时连接中断：{exc.__class__.__name__}") from exc
    finally:
        try:
            client.quit()
        except OSError:  # the message is already accepted (or already failed): just close
            client.close()
