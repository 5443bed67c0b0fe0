# Written by makemigrations; `generated=False` added by hand to the Snowflake primary keys (see 0001).

from tortoise import migrations
from tortoise.migrations import operations as ops
from cara_fed.ids import snowflake_id
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ActivityTombstone',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=snowflake_id, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('uri', fields.CharField(unique=True, max_length=2048)),
            ],
            options={'table': 'activity_tombstones', 'app': 'models', 'pk_attr': 'id', 'table_description': 'An activity undone before it arrived (Undo{Follow} overtaking its Follow): when it comes, it is'},
            bases=['SnowflakeModel'],
        ),
        ops.CreateModel(
            name='Block',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=snowflake_id, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='blocking_rows', on_delete=OnDelete.CASCADE)),
                ('target_account', fields.ForeignKeyField('models.Account', source_field='target_account_id', db_constraint=True, to_field='id', related_name='blocked_by_rows', on_delete=OnDelete.CASCADE)),
                ('uri', fields.CharField(null=True, unique=True, max_length=2048)),
            ],
            options={'table': 'blocks', 'app': 'models', 'unique_together': (('account', 'target_account'),), 'pk_attr': 'id'},
            bases=['SnowflakeModel'],
        ),
        ops.CreateModel(
            name='DeliveryHost',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=snowflake_id, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('domain', fields.CharField(unique=True, max_length=255)),
                ('failure_days', fields.IntField(default=0)),
                ('last_failure_day', fields.CharField(null=True, max_length=10)),
                ('last_error', fields.TextField(null=True, unique=False)),
                ('unreachable_since', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_success_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'delivery_hosts', 'app': 'models', 'pk_attr': 'id'},
            bases=['SnowflakeModel'],
        ),
        ops.CreateModel(
            name='DomainBlock',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=snowflake_id, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('domain', fields.CharField(unique=True, max_length=255)),
                ('severity', fields.CharField(default='suspend', max_length=16)),
                ('reject_media', fields.BooleanField(default=False)),
                ('reject_reports', fields.BooleanField(default=False)),
                ('private_comment', fields.TextField(default='', unique=False)),
                ('public_comment', fields.TextField(default='', unique=False)),
            ],
            options={'table': 'domain_blocks', 'app': 'models', 'pk_attr': 'id'},
            bases=['SnowflakeModel'],
        ),
        ops.CreateModel(
            name='Report',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=snowflake_id, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='reports_made', on_delete=OnDelete.CASCADE)),
                ('target_account', fields.ForeignKeyField('models.Account', source_field='target_account_id', db_constraint=True, to_field='id', related_name='reports_received', on_delete=OnDelete.CASCADE)),
                ('status_ids', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('comment', fields.TextField(default='', unique=False)),
                ('category', fields.CharField(default='other', max_length=32)),
                ('uri', fields.CharField(null=True, unique=True, max_length=2048)),
                ('forwarded', fields.BooleanField(default=False)),
                ('action_taken_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'reports', 'app': 'models', 'pk_attr': 'id'},
            bases=['SnowflakeModel'],
        ),
        ops.CreateModel(
            name='StatusPin',
            fields=[
                ('id', fields.BigIntField(primary_key=True, generated=False, default=snowflake_id, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='pins', on_delete=OnDelete.CASCADE)),
                ('status', fields.ForeignKeyField('models.Status', source_field='status_id', db_constraint=True, to_field='id', related_name='pins', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'status_pins', 'app': 'models', 'unique_together': (('account', 'status'),), 'pk_attr': 'id', 'table_description': "A status pinned to its author's profile (ActivityPub ``featured``)."},
            bases=['SnowflakeModel'],
        ),
        ops.AddField(
            model_name='Account',
            name='hide_collections',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='Account',
            name='moved_to',
            field=fields.ForeignKeyField('models.Account', source_field='moved_to_id', null=True, db_constraint=True, to_field='id', related_name='moved_from', on_delete=OnDelete.SET_NULL),
        ),
    ]
