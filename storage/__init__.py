"""Storage: SQLAlchemy 2 models, the repository the bot uses, and Alembic migrations.

SQLite (aiosqlite) by default, PostgreSQL (asyncpg) through the same code and migrations.
"""
