"""Channels: adapters that carry the same drill engine to Telegram and to a terminal."""
