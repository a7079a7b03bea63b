"""Billing settings: the shared base plus this service's own knobs (the ladder's days, the daily job)."""

from pydantic import Field, model_validator

from jeshkit.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "billing"

    # An invoice is issued this many days before its period starts (and is due on the period's first day).
    billing_invoice_lead_days: int = Field(default=7, ge=0, le=27)
    # A reminder this many days before the due date (another one on the due date).
    billing_reminder_days_before: int = Field(default=3, ge=1, le=27)
    # Days past due before the late fee (once per invoice) and stage `late`; the fee in KES. 0: on the due date.
    billing_grace_days: int = Field(default=5, ge=0)
    billing_late_fee_kes: int = Field(default=500, ge=0)
    # Days past due before access is suspended (`locked_out`), and before the `lien` stage.
    billing_lockout_days: int = Field(default=10, ge=0)
    billing_lien_days: int = Field(default=45, ge=0)
    # A second autopay push this many days after the first (on the due date) if still unpaid.
    billing_autopay_retry_days: int = Field(default=2, ge=1)
    # The daily job bills day D from this hour (Nairobi time) on; it looks every interval seconds.
    billing_run_hour: int = Field(default=6, ge=0, le=23)
    billing_job_interval_seconds: float = Field(default=60.0, gt=0)
    billing_job_batch_size: int = Field(default=50, gt=0)

    @model_validator(mode="after")
    def _ladder_in_order(self) -> "Settings":
        if not self.billing_grace_days <= self.billing_lockout_days <= self.billing_lien_days:
            raise ValueError("BILLING_GRACE_DAYS <= BILLING_LOCKOUT_DAYS <= BILLING_LIEN_DAYS is required")
        return self
