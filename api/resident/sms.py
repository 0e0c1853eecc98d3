"""The SMS gateway the resident channel sends through: one-time codes and milestone updates.

An interface with two implementations, chosen by ``RESIDENT_SMS_GATEWAY``:

* ``console`` (the default; demo mode): the message is written to the server log, and the resident
  page says the code is shown there. Nothing leaves the machine.
* an ``http://`` or ``https://`` URL: each message is POSTed as JSON ``{to, kind, message}`` with an
  ``Idempotency-Key`` header, for an operator's SMS platform.
"""
from __future__ import annotations

import json
import logging
import os
import urllib.request
from typing import Protocol

log = logging.getLogger("cunliao.sms")


class SmsGateway(Protocol):
    demo: bool  # the page tells the resident where a demo code is shown

    def send(self, phone: str, kind: str, message: str, key: str) -> bool:
        """Send one text; False when the gateway refused it (the caller says so or retries)."""


class ConsoleGateway:
    """Demo: the text goes to the server log (the console of `make run`)."""

    demo = True

    def send(self, phone: str, kind: str, message: str, key: str) -> bool:
        log.warning("[短信·演示] 发往 %s（%s）：%s", phone, kind, message)
        return True


class WebhookGateway:
    demo = False

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url, self.timeout = url, timeout

    def send(self, phone: str, kind: str, message: str, key: str) -> bool:
        body = json.dumps({"to": phone, "kind": kind, "message": message}, ensure_ascii=False).encode()
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8", "Idempotency-Key": key})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return 200 <= response.status < 300
        except (OSError, ValueError) as exc:
            log.warning("SMS gateway refused %s: %s", key, exc)
            return False


def gateway_from_env(environ: dict[str, str] | None = None) -> SmsGateway:
    value = (os.environ if environ is None else environ).get("RESIDENT_SMS_GATEWAY", "").strip()
    if value.startswith(("http://", "https://")):
        return WebhookGateway(value)
    if value not in ("", "console"):
        raise RuntimeError(f"RESIDENT_SMS_GATEWAY must be 'console' or an http(s) URL, not {value!r}")
    return ConsoleGateway()
