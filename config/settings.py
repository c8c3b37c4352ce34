"""Settings read from the environment (``LOUZHANG_*``) and an optional ``.env`` file."""

from __future__ import annotations

from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of louzhang; names are a public contract (see DESIGN.md)."""

    model_config = SettingsConfigDict(
        env_prefix="LOUZHANG_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = "sqlite://data/louzhang.sqlite3"
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    public_url: str | None = None
    timezone: str = "Asia/Shanghai"
    language: Literal["zh-CN", "en"] = "zh-CN"

    telegram_token: str | None = None
    telegram_api_url: str = "https://api.telegram.org"
    telegram_mode: Literal["polling", "webhook"] = "polling"
    telegram_webhook_secret: str | None = None

    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from: str | None = None
    twilio_api_url: str = "https://api.twilio.com"

    default_region: str = "CN"

    # Voice calls (Twilio Programmable Voice): on whenever Twilio is on. VOICE_TTS is the
    # zh-CN voice (Polly.Zhiyu, or a Google cmn-CN voice), VOICE_TTS_EN the English one.
    twilio_voice_from: str | None = None  # unset: LOUZHANG_TWILIO_FROM
    voice_tts: str = "Polly.Zhiyu"
    voice_tts_en: str = "Polly.Joanna"
    voice_calls_per_second: float = Field(default=1.0, gt=0)  # the account's CPS
    voice_max_concurrent: int = Field(default=10, ge=1)  # calls live at once
    voice_price_per_minute: float = 0.0158  # USD, shown to staff before a send
    voice_retries: int = Field(default=2, ge=0)  # after busy / no-answer / failed
    voice_retry_after: float = Field(default=300.0, gt=0)  # seconds between tries
    voice_callup_retry_after: float = Field(default=60.0, gt=0)  # the same for call-ups
    voice_ring_lead: float = Field(default=30.0, ge=0)  # call-ups are placed this early
    voice_call_timeout: float = Field(default=900.0, gt=0)  # a call with no final status

    # Rate limits. Telegram: ~30 msg/s per bot, 1 msg/s per chat.
    telegram_rate_per_second: float = Field(default=30.0, gt=0)
    telegram_rate_per_chat: float = Field(default=1.0, gt=0)
    # Twilio counts SMS segments per second per sender: 1 for a long code.
    sms_segments_per_second: float = Field(default=1.0, gt=0)
    sms_cost_per_segment: float = 0.0075  # USD, shown to staff before a send
    max_send_attempts: int = Field(default=8, ge=1)
    # Off only for load tests against fakes that answer at once: real providers need the limits.
    rate_limits: bool = True

    # Logistics works two 12-hour shifts: A from this local time (LOUZHANG_TIMEZONE), then B.
    shift_a_start: time = time(8, 0)
    # Web dashboard. The key signs staff session cookies; unset = generated once and
    # kept in the data folder (data/secret_key). METRICS_TOKEN: GET /metrics needs
    # "Authorization: Bearer TOKEN" when set; unset, it needs a staff login or a loopback client.
    secret_key: str | None = None
    session_hours: float = Field(default=12.0, gt=0)
    login_link_minutes: float = Field(default=15.0, gt=0)
    metrics_token: str | None = None

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_token)

    @property
    def sms_enabled(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token and self.twilio_from)

    @property
    def voice_from(self) -> str:
        """The number calls come from: TWILIO_VOICE_FROM, else TWILIO_FROM if it is a number
        (a Messaging Service SID cannot place calls)."""
        sender = self.twilio_voice_from or self.twilio_from or ""
        return sender if sender.startswith("+") else ""

    @property
    def voice_enabled(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token and self.voice_from)

    @property
    def data_dir(self) -> Path:
        """Where the SQLite file lives (``data/`` by default; ``data/`` for other databases):
        the secret key and the media store (``media/``) are kept there."""
        url = self.database_url
        if url.startswith("sqlite://") and url != "sqlite://:memory:":
            path = Path(url[len("sqlite://") :].split("?", 1)[0])
            if str(path.parent) not in ("", "."):
                return path.parent
        return Path("data")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
