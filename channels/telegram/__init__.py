"""The Telegram adapter: python-telegram-bot handlers, keyboards and callback data."""
