"""Typed aiohttp application keys shared by the web modules."""

from __future__ import annotations

from aiohttp import web

from bot.app import Services

SERVICES = web.AppKey("services", Services)
