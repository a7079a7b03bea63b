"""payments: Paybill payments whose Transaction Status result token spells a word Safaricom refuses in a callback URL
(it was random base64: "exe", "cmd", "sql", ... for a few in a thousand) get a new, hex one: Daraja refused every
Transaction Status request naming the old one, so no result can ever come back to it, and the payment waited
unverified for good. New tokens are hex (payments.settings.new_callback_token).

Revision ID: 0016
Revises: 0015
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# payments.settings.FORBIDDEN_CALLBACK_WORDS, as they were when this ran.
REFUSED = "mpesa|m-pesa|safaricom|exe|cmd|sql|query"


def upgrade() -> None:
    # 48 hex digits from PostgreSQL's strong random source (gen_random_uuid), as secrets.token_hex(24) gives.
    op.execute(
        "UPDATE paybill_payments SET result_token = left(replace(gen_random_uuid()::text, '-', '') "
        f"|| replace(gen_random_uuid()::text, '-', ''), 48) WHERE lower(result_token) ~ '{REFUSED}'"
    )


def downgrade() -> None:
    pass  # the old tokens are not kept: a hex token works as well on the older code
