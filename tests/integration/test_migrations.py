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


async def test_every_later_migration_applies_to_a_database_that_already_has_rows(
        database_factory: DatabaseFactory) -> None:
    """Admins upgrade populated databases: a migration adding a NOT NULL column without a database default
    fails there (SQLite refuses it, PostgreSQL finds NULLs), though it passes on an empty schema."""
    from tortoise.migrations.executor import MigrationExecutor, MigrationTarget

    from cara_fed.services.accounts import create_local_account
    from cara_fed.models import Follow, Status

    first = migration_names()[0].split(".", 1)[1]
    url = await database_factory.empty_url()
    settings = DatabaseSettings(url=url)
    try:
        async with db.database(settings) as ctx:
            executor = MigrationExecutor(ctx.db(), db.tortoise_config(settings)["apps"])
            await executor.migrate([MigrationTarget(app_label="models", name=first)])
            # Rows in the main tables, written with raw SQL of the first schema (the models are newer).
            conn = ctx.db()
            await conn.execute_script(
                "INSERT INTO accounts (id, created_at, username, domain, acct_key, display_name, note, profile_fields,"
                " locked, bot, discoverable, indexable, actor_type, public_key_pem, updated_at) VALUES"
                " (1, '2026-01-01', 'old', NULL, 'old@', '', '', '[]', false, false, true, false, 'Person', '',"
                " '2026-01-01'), (2, '2026-01-01', 'far', 'b.example', 'far@b.example', '', '', '[]', false, false,"
                " true, false, 'Person', '', '2026-01-01');"
                "INSERT INTO statuses (id, created_at, account_id, local, text, content, spoiler_text, sensitive,"
                " visibility) VALUES (3, '2026-01-01', 1, true, 'x', '<p>x</p>', '', false, 'public');"
                "INSERT INTO follows (id, created_at, account_id, target_account_id, show_reblogs, notify) VALUES"
                " (4, '2026-01-01', 2, 1, true, false);")
            assert await db.migrate(ctx, settings) == migration_names()[1:]
            assert await Status.filter(id=3).count() == 1 and await Follow.filter(id=4).count() == 1
            await create_local_account("fresh", "fresh@example.org", "correct horse battery")
    finally:
        await database_factory.drop(url)
