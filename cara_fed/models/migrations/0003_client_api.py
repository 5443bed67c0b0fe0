from tortoise import migrations
from tortoise.migrations import operations as ops
from cara_fed.ids import snowflake_id
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0002_federation')]

    initial = False

    operations = [
        ops.CreateModel(
            name='IdempotencyKey',
            fields=[
                ('id', fields.BigIntField(primary_key=True, default=snowflake_id, unique=True, db_index=True, generated=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='idempotency_keys', on_delete=OnDelete.CASCADE)),
                ('key', fields.CharField(max_length=255)),
                ('status', fields.ForeignKeyField('models.Status', source_field='status_id', db_constraint=True, to_field='id', related_name='idempotency_keys', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'idempotency_keys', 'app': 'models', 'unique_together': (('account', 'key'),), 'pk_attr': 'id', 'table_description': "A client's Idempotency-Key for a post: a retried request gets the same status back (Mastodon keeps"},
            bases=['SnowflakeModel'],
        ),
        ops.CreateModel(
            name='Marker',
            fields=[
                ('id', fields.BigIntField(primary_key=True, default=snowflake_id, unique=True, db_index=True, generated=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='markers', on_delete=OnDelete.CASCADE)),
                ('timeline', fields.CharField(max_length=32)),
                ('last_read_id', fields.BigIntField(default=0)),
                ('version', fields.IntField(default=0)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'markers', 'app': 'models', 'unique_together': (('user', 'timeline'),), 'pk_attr': 'id', 'table_description': 'Where a user stopped reading a timeline (``home`` or ``notifications``), shared across clients.'},
            bases=['SnowflakeModel'],
        ),
        ops.CreateModel(
            name='Mute',
            fields=[
                ('id', fields.BigIntField(primary_key=True, default=snowflake_id, unique=True, db_index=True, generated=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='muting_rows', on_delete=OnDelete.CASCADE)),
                ('target_account', fields.ForeignKeyField('models.Account', source_field='target_account_id', db_constraint=True, to_field='id', related_name='muted_by_rows', on_delete=OnDelete.CASCADE)),
                ('hide_notifications', fields.BooleanField(default=True)),
                ('expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'mutes', 'app': 'models', 'unique_together': (('account', 'target_account'),), 'pk_attr': 'id'},
            bases=['SnowflakeModel'],
        ),
        ops.CreateModel(
            name='StatusEdit',
            fields=[
                ('id', fields.BigIntField(primary_key=True, default=snowflake_id, unique=True, db_index=True, generated=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('status', fields.ForeignKeyField('models.Status', source_field='status_id', db_constraint=True, to_field='id', related_name='edits', on_delete=OnDelete.CASCADE)),
                ('content', fields.TextField(default='', unique=False)),
                ('spoiler_text', fields.TextField(default='', unique=False)),
                ('sensitive', fields.BooleanField(default=False)),
                ('media', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
            ],
            options={'table': 'status_edits', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One earlier version of an edited status (``GET /api/v1/statuses/:id/history``).'},
            bases=['SnowflakeModel'],
        ),
        ops.AddField(
            model_name='Account',
            name='note_source',
            field=fields.TextField(default='', db_default='', unique=False),
        ),
        ops.AddField(
            model_name='MediaAttachment',
            name='files',
            field=fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddField(
            model_name='MediaAttachment',
            name='pixels_untouched',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='User',
            name='default_language',
            field=fields.CharField(null=True, max_length=16),
        ),
        ops.AddField(
            model_name='User',
            name='default_sensitive',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='User',
            name='default_visibility',
            field=fields.CharField(default='public', db_default='public', max_length=16),
        ),
        ops.AddField(
            model_name='User',
            name='pixels_untouched',
            field=fields.BooleanField(default=False, db_default=False),
        ),
    ]
