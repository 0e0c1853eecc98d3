"""Every JSON answer leaves masked: the app's JSON provider passes what a route returns through
``pii.masked`` (sealed values to their masked form, ID and mobile numbers inside text masked), so a
route that forgets to mask still shows nothing personal. The reads that show real values on
purpose (each an audited event) say so with ``reveal_personal_data()``."""
from __future__ import annotations

from typing import Any

from flask import g, has_request_context
from flask.json.provider import DefaultJSONProvider

from .pii import masked


class MaskedJSONProvider(DefaultJSONProvider):
    ensure_ascii = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if has_request_context() and not g.get("reveals_personal_data"):
            obj = masked(obj)
        return super().dumps(obj, **kwargs)


def reveal_personal_data() -> None:
    """This answer shows personal data on purpose (an audited read): leave it unmasked."""
    g.reveals_personal_data = True
