"""Who may read ``GET /metrics`` (bot/web/dashboard/auth.py).

Promises:
- without LOUZHANG_METRICS_TOKEN, a loopback client is trusted only when no proxy header of any
  kind is present: a reverse proxy on the same host relays the world from 127.0.0.1 and adds
  X-Forwarded-For, X-Real-IP, Forwarded, X-Forwarded-Host/Proto, Via … (any one of them, any
  case, any value, even empty, makes the request "relayed": 401);
- with the token set, "Authorization: Bearer TOKEN" is what counts, proxy headers or not;
- a staff session reads the metrics either way.
"""

from __future__ import annotations

import pytest

from tests.bot.web.test_dashboard_auth import _staff, site

RELAYED = [
    {"X-Forwarded-For": "203.0.113.9"},
    {"X-Real-IP": "203.0.113.9"},
    {"Forwarded": "for=203.0.113.9;proto=https"},
    {"X-Forwarded-Host": "lz.example.org"},
    {"X-Forwarded-Proto": "https"},
    {"X-Forwarded-Port": "443"},
    {"x-real-ip": ""},
    {"Via": "1.1 nginx"},
    {"True-Client-IP": "203.0.113.9"},
    {"CF-Connecting-IP": "203.0.113.9"},
    {"X-Client-IP": "203.0.113.9"},
    {"X-Original-Forwarded-For": "203.0.113.9"},
]


@pytest.mark.parametrize("headers", RELAYED, ids=lambda h: next(iter(h)))
async def test_a_request_with_any_proxy_header_is_not_loopback(
    db: str, headers: dict[str, str]
) -> None:
    async with site() as made:
        assert (await made.client.get("/metrics")).status == 200  # direct, on loopback
        relayed = await made.client.get("/metrics", headers=headers)
        assert relayed.status == 401
        assert await relayed.text() == "login or metrics token needed"
        await made.login(await _staff())
        assert (await made.client.get("/metrics", headers=headers)).status == 200


async def test_behind_a_proxy_the_token_is_what_counts(db: str) -> None:
    async with site(metrics_token="s3cret") as made:
        proxy = {"X-Real-IP": "203.0.113.9", "X-Forwarded-Proto": "https"}
        assert (await made.client.get("/metrics", headers=proxy)).status == 401
        assert (await made.client.get("/metrics")).status == 401  # loopback is not enough
        bearer = {**proxy, "Authorization": "Bearer s3cret"}
        assert (await made.client.get("/metrics", headers=bearer)).status == 200
