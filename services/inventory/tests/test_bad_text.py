"""A NUL or a lone surrogate in what a client sends is 400, never a 500 from the database (issue 12 item 10)."""

import json

import pytest

FIELDS = ["unit_number", "size", "dimensions", "description"]


def send(client, method, path, document, headers):
    return client.request(method, path, content=json.dumps(document),
                          headers={**headers, "content-type": "application/json"})


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("bad", ["A\u0000", "A\ud800"])
def test_unit_text_fields_refuse_bad_text(client, admin, new_unit, field, bad):
    body = {"unit_number": "N-1", "size": "small", "dimensions": "2x2 m", "monthly_price": 3000, field: bad}
    r = send(client, "POST", "/api/units", body, admin)
    assert r.status_code == 400, r.text
    assert r.json()["errors"][0]["field"] == field
    unit = new_unit()
    r = send(client, "PUT", f"/api/units/{unit['id']}", {field: bad}, admin)
    assert r.status_code == 400, r.text


@pytest.mark.parametrize("query", ["size=%00", "size=small%00", "size=%ED%A0%80"])
def test_the_size_filter_refuses_bad_text(client, query):
    r = client.get(f"/api/units?{query}")
    assert r.status_code == 400, r.text
    assert r.json()["errors"][0]["field"] == "size"
