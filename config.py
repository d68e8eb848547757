"""All configuration in one place: environment variables, optionally a .env file.

`load_settings()` returns validated `Settings` or raises `ConfigError`, whose message names the
variable and the bad value (never the token's value). Nothing else in the code reads os.environ.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ROOT = Path(__file__).resolve().parent
DEFAULT_DATABASE_URL = f"sqlite+aiosqlite:///{ROOT / 'var' / 'hotbutton.db'}"
SECRET_FIELDS = {"telegram_bot_token", "webhook_secret"}
# What Telegram allows in a webhook's secret_token (1-256 of these); we ask for at least 32 of them.
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{32,256}")


class ConfigError(ValueError):
    """A configuration value is wrong; the message names the variable and the value."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    database_url: str = DEFAULT_DATABASE_URL
    admin_ids: Annotated[tuple[int, ...], NoDecode] = ()
    default_language: str = "zh"
    early_window: int = Field(default=3, ge=1, le=10)
    weekly_sweep_seconds: int = Field(default=60, ge=1, le=3600)
    # Webhook mode (set WEBHOOK_URL, or `bot.py run --webhook --url ...`): see docs/deploy.md.
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_lock_retry_seconds: int = Field(default=15, ge=1, le=600)
    # the per-user flood limit: more than FLOOD_MESSAGES updates within FLOOD_SECONDS get one polite reply
    flood_messages: int = Field(default=20, ge=1, le=10_000)
    flood_seconds: int = Field(default=30, ge=1, le=3600)

    @field_validator("telegram_bot_token", mode="before")
    @classmethod
    def _token(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return None
            if ":" not in value or any(ch.isspace() for ch in value):
                raise ValueError("must look like 123456:ABC... as BotFather gives it")
        return value

    @field_validator("webhook_url", mode="before")
    @classmethod
    def _webhook_url(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return None
            if not value.startswith("https://") or len(value) <= len("https://") or any(c.isspace() for c in value):
                raise ValueError("must be an https:// URL (Telegram calls webhooks over HTTPS only)")
        return value

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _webhook_secret(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return None
            if not WEBHOOK_SECRET.fullmatch(value):
                raise ValueError("must be 32 to 256 characters of A-Z, a-z, 0-9, _ and - "
                                 "(for example the output of `openssl rand -hex 32`)")
        return value

    @field_validator("webhook_listen")
    @classmethod
    def _webhook_listen(cls, value: str) -> str:
        value = value.strip()
        if value != "localhost":
            try:
                ipaddress.ip_address(value)
            except ValueError:
                raise ValueError("must be an IP address to listen on, e.g. 127.0.0.1") from None
        return value

    @field_validator("telegram_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        value = value.strip()
        for plain, driver in (("sqlite://", "sqlite+aiosqlite://"), ("postgresql://", "postgresql+asyncpg://"),
                              ("postgres://", "postgresql+asyncpg://")):
            if value.startswith(plain):
                return driver + value[len(plain):]
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _admin_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
            if not all(part.lstrip("-").isdigit() for part in parts):
                raise ValueError("must be Telegram user ids separated by commas, e.g. 12345,67890")
            return tuple(int(part) for part in parts)
        return value

    @field_validator("default_language")
    @classmethod
    def _language(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in ("zh", "en"):
            raise ValueError("must be zh or en")
        return value

    @property
    def token(self) -> str | None:
        return self.telegram_bot_token.get_secret_value() if self.telegram_bot_token else None

    @property
    def webhook_secret_token(self) -> str | None:
        return self.webhook_secret.get_secret_value() if self.webhook_secret else None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment (and .env); raise ConfigError naming variable and value."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "?"
            shown = "<hidden>" if field in SECRET_FIELDS else repr(error.get("input"))
            reason = str(error["msg"]).removeprefix("Value error, ")
            lines.append(f"{field.upper()}={shown}: {reason}")
        raise ConfigError("invalid configuration: " + "; ".join(lines)) from None
