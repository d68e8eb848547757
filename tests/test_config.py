"""Configuration: defaults, parsing, and errors that name the variable and the value (never the token)."""

import pytest

from config import ConfigError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_API_URL", "DATABASE_URL", "ADMIN_IDS", "DEFAULT_LANGUAGE",
                 "EARLY_WINDOW"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults():
    settings = load_settings()
    assert settings.token is None
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert settings.database_url.startswith("sqlite+aiosqlite:///") and settings.database_url.endswith("var/hotbutton.db")
    assert settings.default_language == "zh" and settings.early_window == 3 and settings.admin_ids == ()


def test_values_from_environment(monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("TELEGRAM_API_URL", "http://127.0.0.1:9000/")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@localhost/db")
    monkeypatch.setenv("ADMIN_IDS", "1, 22,333")
    monkeypatch.setenv("DEFAULT_LANGUAGE", "EN")
    monkeypatch.setenv("EARLY_WINDOW", "4")
    settings = load_settings()
    assert settings.token == "123:abc"
    assert settings.telegram_api_url == "http://127.0.0.1:9000"
    assert settings.database_url == "postgresql+asyncpg://u:p@localhost/db"
    assert settings.admin_ids == (1, 22, 333)
    assert (settings.default_language, settings.early_window) == ("en", 4)


def test_env_file_is_read(tmp_path):
    (tmp_path / ".env").write_text("EARLY_WINDOW=5\n", encoding="utf-8")
    assert load_settings().early_window == 5


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("EARLY_WINDOW", "abc", "EARLY_WINDOW='abc'"),
    ("EARLY_WINDOW", "0", "EARLY_WINDOW='0'"),
    ("DEFAULT_LANGUAGE", "fr", "DEFAULT_LANGUAGE='fr': must be zh or en"),
    ("ADMIN_IDS", "12,bob", "ADMIN_IDS='12,bob': must be Telegram user ids"),
    ("DATABASE_URL", "mysql://x", "DATABASE_URL='mysql://x': must be a sqlite:/// or postgresql:// URL"),
    ("TELEGRAM_API_URL", "ftp://x", "TELEGRAM_API_URL='ftp://x': must start with http:// or https://"),
])
def test_bad_values_name_variable_and_value(monkeypatch, name, value, expected):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert expected in str(error.value)


def test_bad_token_is_not_echoed(monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "secret value with spaces")
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert "TELEGRAM_BOT_TOKEN=<hidden>" in str(error.value)
    assert "secret" not in str(error.value)
