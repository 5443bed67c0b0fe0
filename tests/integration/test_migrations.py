"""The schema comes from tortoise's built-in migrations, the same files on SQLite and PostgreSQL."""

from __future__ import annotations

from tortoise.context import TortoiseContext
from tortoise.migrations.autodetector import MigrationAutodetector

from cara_fed import db
from cara_fed.models import Account, Job
from cara_fed.settings import DatabaseSettings
from tests.support.databases import DatabaseFactory, migration_names


async def test_migrate_builds_the_schema_on_an_empty_database_once(database_factory: DatabaseFactory) -> None:
    url = await database_factory.empty_url()
    settings = DatabaseSettings(url=url)
    try:
        async with db.database(settings) as ctx:
            assert await db.migrate(ctx, settings) == migration_names()
            assert migration_names()[0] == "models.0001_initial"
            assert await db.migrate(ctx, settings) == []
            account = await Account.create(username="mira")
            assert await Job.all().count() == 0
            assert (await Account.get(username="mira")).id == account.id
    finally:
        await database_factory.drop(url)


async def test_the_models_have_no_changes_missing_from_the_migrations() -> None:
    """Fails when a model changed without `python -m tortoise -c cara_fed.db.TORTOISE_ORM makemigrations`."""
    config = db.TORTOISE_ORM
    async with TortoiseContext() as ctx:
        await ctx.init(config=config, init_connections=False)
        assert ctx.apps is not None
        writers = await MigrationAutodetector(ctx.apps, config["apps"]).changes()
    assert [w.name for w in writers] == []
