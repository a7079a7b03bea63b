"""Links to the portal in the messages, and the one that is a secret: the password reset link.

The reset link is {PORTAL_URL}/reset-password#token=<token>: the token rides in the fragment, so the browser
never sends it to a server (no access log, no Referer). Whoever holds the link until it expires can choose the
account's password, so only the email itself carries it: the sender scrubs the token from the stored body once the
email is sent or has failed for good (delivery.py), and the listing (GET /api/notifications) never shows a link
with a token to anybody, its owner or an admin, whatever the message and its status.
"""

from __future__ import annotations

import re
from urllib.parse import quote

# The gateway of the local stack (./jesh up), which serves the portal too: PORTAL_URL / PUBLIC_BASE_URL unless told.
LOCAL_GATEWAY = "http://127.0.0.1:5000"
RESET_PATH = "/reset-password"
TOKEN_MARK = "#token="
# A link with a token, whatever it is glued to (the words around it are the editable templates'); the token is
# quoted, so it has no whitespace.
_SECRET_LINK = re.compile(r"\S*" + re.escape(TOKEN_MARK) + r"\S*")


def reset_link(portal_url: str, token: str) -> str:
    """The portal's page that sets a new password with `token` (auth's secret, single use)."""
    return portal_url.rstrip("/") + RESET_PATH + TOKEN_MARK + quote(token, safe="")


def without_secret_links(body: str, hidden: str) -> str:
    """`body` with every link carrying a token replaced by `hidden` (a phrase in the message's language)."""
    return _SECRET_LINK.sub(hidden, body) if TOKEN_MARK in body else body
