"""The printable invoice: a monthly tenant opens an overdue invoice from the rental panel and sees it as a document
(number, status, dates, lines, total, amount paid and balance, to whom it is made out, where to pay it); printed, the
site's header, navigation, footer and buttons are gone; another customer is refused it; the operator opens the same
invoice from the console's invoices page and sees whose it is."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from jeshstack.testing import wait_for
from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    admin_logs_in,
    assert_no_sideways_scroll,
    logs_in,
    overdue_rental,
    register_customer,
)

A4 = {"width": 794, "height": 1123}  # a sheet of paper at 96 dpi, for the printed page's screenshot


def kes(amount: int) -> str:
    return f"KES {amount:,}"


def test_an_invoice_is_a_printable_document_for_its_owner_and_the_operator(
    new_page: Any, check_page: Any, admin_api: Any, portal: str, output_dir: Path
) -> None:
    customer = register_customer(portal, name="Njeri Wambui")
    booking_id, invoice, first = overdue_rental(portal, admin_api, customer)
    number, invoice_id = invoice["number"], invoice["id"]

    # The tenant opens the overdue invoice from the rental panel.
    page = new_page(PHONE)
    logs_in(page, customer["email"], customer["password"])
    page.goto(f"/bookings/{booking_id}")
    page.locator(f'li[data-invoice="{number}"]').get_by_role("link", name=number).click()
    expect(page).to_have_url(re.compile(rf"/invoices/{invoice_id}$"))
    document = page.locator("article.invoice-doc")
    expect(document.get_by_role("heading", name=f"Invoice {number}", level=1)).to_be_visible()
    expect(document).to_contain_text("Jesh Storage")
    expect(document).to_contain_text("Mombasa Road, Nairobi")
    expect(document.locator(".invoice-standing")).to_have_text(f"Status: {invoice['days_overdue']} days overdue")
    billed = document.locator("address")
    expect(billed).to_contain_text("Njeri Wambui")
    expect(billed).to_contain_text(customer["email"])
    expect(billed).to_contain_text("0712 345 678")
    expect(document.get_by_role("link", name=f"Booking #{booking_id}")).to_have_attribute(
        "href", f"/bookings/{booking_id}")
    lines = document.locator("table.invoice-lines tbody tr")
    expect(lines).to_have_count(len(invoice["lines"]))
    for line in invoice["lines"]:
        row = document.locator(f'tbody tr[data-line-kind="{line["kind"]}"]')  # in the reader's words, not billing's
        expect(row).to_contain_text(kes(line["amount"]))
    footer = document.locator("table.invoice-lines tfoot")
    expect(footer.locator("tr").filter(has_text="Total")).to_contain_text(kes(invoice["total"]))
    expect(footer.locator("tr").filter(has_text="Amount paid")).to_contain_text(kes(invoice["amount_paid"]))
    expect(footer.locator("tr").filter(has_text="Balance due")).to_contain_text(kes(invoice["balance"]))
    assert invoice["balance"] == invoice["total"] > 5200  # the rent and the late fee, nothing paid yet
    pay = page.get_by_role("link", name="Pay on the rental's page")
    expect(pay).to_have_attribute("href", f"/bookings/{booking_id}")
    assert_no_sideways_scroll(page)
    check_page(page, "60-invoice-phone")

    # "Print or save as PDF" opens the browser's print dialog; printed, only the invoice is on the page.
    page.evaluate("() => { window.printed = 0; window.print = () => { window.printed += 1; }; }")
    page.get_by_role("button", name="Print or save as PDF").click()
    assert page.evaluate("() => window.printed") == 1
    page.emulate_media(media="print")
    expect(page.locator("header.topbar")).to_be_hidden()
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    expect(page.get_by_role("group", name="Language")).to_be_hidden()
    expect(page.locator("footer.footer")).to_be_hidden()
    expect(page.get_by_role("button", name="Print or save as PDF")).to_be_hidden()
    expect(pay).to_be_hidden()
    expect(document.get_by_role("heading", name=f"Invoice {number}")).to_be_visible()
    expect(footer.locator("tr").filter(has_text="Balance due")).to_be_visible()
    colours = document.evaluate(
        "(el) => [getComputedStyle(el).color, getComputedStyle(el.querySelector('.badge')).color]")
    assert colours == ["rgb(0, 0, 0)", "rgb(0, 0, 0)"], colours
    page.set_viewport_size(A4)
    page.screenshot(path=str(output_dir / "61-invoice-print.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.emulate_media(media="screen")
    expect(page.locator("header.topbar")).to_be_visible()

    # In Kiswahili too.
    page.get_by_role("button", name="Kiswahili").click()
    expect(document.get_by_role("heading", name=f"Ankara {number}", level=1)).to_be_visible()
    expect(footer.locator("tr").filter(has_text="Salio la kulipa")).to_contain_text(kes(invoice["balance"]))
    expect(page.get_by_role("button", name="Chapisha au hifadhi kama PDF")).to_be_visible()
    page.get_by_role("button", name="English").click()

    # The first month's invoice, paid: how, the receipt, nothing left to pay.
    page.goto(f"/invoices/{first['id']}")
    expect(document.get_by_role("heading", name=f"Invoice {first['number']}", level=1)).to_be_visible()
    expect(document.locator(".invoice-standing")).to_have_text("Status: Paid")
    receipt = first["payments"][0]["receipt"]
    expect(document.get_by_role("region", name="Payments received")).to_contain_text(f"M-PESA · Receipt {receipt}")
    expect(footer.locator("tr").filter(has_text="Balance due")).to_contain_text("KES 0")
    expect(page.get_by_role("link", name="Pay on the rental's page")).to_have_count(0)

    # Another customer is refused it; an invoice that does not exist is not found.
    stranger = register_customer(portal, phone="0722000111", name="Otieno Ouma")
    other = new_page(PHONE)
    logs_in(other, stranger["email"], stranger["password"])
    other.goto(f"/invoices/{invoice_id}")
    expect(other.get_by_role("alert")).to_have_text("This invoice is not on your account.")
    expect(other.locator("article.invoice-doc")).to_have_count(0)
    other.goto("/invoices/999999999")
    expect(other.get_by_role("alert")).to_have_text("This invoice was not found.")

    # The operator opens the same invoice from the console's invoices page: made out to the customer, no payment.
    desk = new_page(DESKTOP)
    admin_logs_in(desk)
    desk.get_by_role("link", name="Invoices").click()
    desk.get_by_label("Overdue only").click()
    expect(desk.get_by_label("Overdue only")).to_be_checked()
    desk.locator(f'tr[data-invoice-id="{invoice_id}"]').get_by_role("link", name=number).click()
    expect(desk).to_have_url(re.compile(rf"/invoices/{invoice_id}$"))
    console_doc = desk.locator("article.invoice-doc")
    expect(console_doc.get_by_role("heading", name=f"Invoice {number}", level=1)).to_be_visible()
    expect(console_doc.locator("address")).to_contain_text("Njeri Wambui")
    expect(console_doc.locator("address")).to_contain_text(customer["email"])
    expect(console_doc.locator("table.invoice-lines tfoot")).to_contain_text(kes(invoice["balance"]))
    expect(desk.get_by_role("link", name="Pay on the rental's page")).to_have_count(0)
    expect(desk.get_by_role("link", name="Invoices")).to_have_attribute(
        "href", f"/admin/invoices?user_id={customer['user']['id']}")
    check_page(desk, "62-console-invoice-desktop")

    # The operator cancels the rental and pays its refund (in full): the first month's invoice says so, to both.
    booking_id = first["booking_id"]
    assert admin_api.client.post(f"/api/bookings/{booking_id}/cancel").status_code == 200

    def refund() -> dict[str, Any] | None:
        rows = admin_api.client.get("/api/payments/refunds").json()["data"]
        return next((r for r in rows if r["booking_id"] == booking_id), None)

    owed = wait_for(refund, timeout=30, what="the refund of the cancelled rental")
    assert owed["amount"] == first["amount_paid"]
    assert admin_api.client.post(f"/api/payments/refunds/{owed['id']}/approve").status_code == 200
    wait_for(lambda: admin_api.client.get(f"/api/invoices/{first['id']}").json()["data"]["amount_refunded"],
             timeout=30, what="billing to hear of the refund")
    for viewer in (page, desk):
        viewer.goto(f"/invoices/{first['id']}")
        paid_doc = viewer.locator("article.invoice-doc")
        refunded = paid_doc.locator("table.invoice-lines tfoot tr").filter(has_text="Refunded to the payer")
        expect(refunded).to_contain_text(kes(first["amount_paid"]))
        expect(paid_doc.get_by_role("region", name="Payments received")).to_contain_text(
            f"{kes(first['amount_paid'])} refunded")
    desk.goto(f"/admin/invoices?user_id={customer['user']['id']}")
    row = desk.locator(f'tr[data-invoice-id="{first["id"]}"]')
    expect(row).to_contain_text(f"{kes(first['amount_paid'])} refunded")
