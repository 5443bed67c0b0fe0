from tortoise import migrations
from tortoise.migrations import operations as ops
from cara_fed.ids import snowflake_id
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0003_client_api')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DomainAllow',
            fields=[
                ('id', fields.BigIntField(primary_key=True, default=snowflake_id, unique=True, db_index=True, generated=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('domain', fields.CharField(unique=True, max_length=255)),
            ],
            options={'table': 'domain_allows', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Allow-list mode (registrations issue 7 point 4): only these domains federate.'},
            bases=['SnowflakeModel'],
        ),
        ops.CreateModel(
            name='InstanceSetting',
            fields=[
                ('id', fields.BigIntField(primary_key=True, default=snowflake_id, unique=True, db_index=True, generated=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('key', fields.CharField(unique=True, max_length=64)),
                ('value', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'instance_settings', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One admin-editable setting (registration mode, title, description, AI-signal defaults...), which'},
            bases=['SnowflakeModel'],
        ),
        ops.CreateModel(
            name='Invite',
            fields=[
                ('id', fields.BigIntField(primary_key=True, default=snowflake_id, unique=True, db_index=True, generated=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('code', fields.CharField(unique=True, max_length=64)),
                ('created_by', fields.ForeignKeyField('models.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='invites', on_delete=OnDelete.SET_NULL)),
                ('max_uses', fields.IntField(null=True)),
                ('uses', fields.IntField(default=0)),
                ('expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('autofollow', fields.BooleanField(default=False)),
            ],
            options={'table': 'invites', 'app': 'models', 'pk_attr': 'id'},
            bases=['SnowflakeModel'],
        ),
        ops.CreateModel(
            name='RateLimitBucket',
            fields=[
                ('id', fields.BigIntField(primary_key=True, default=snowflake_id, unique=True, db_index=True, generated=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('key', fields.CharField(unique=True, max_length=255)),
                ('count', fields.IntField(default=0)),
                ('reset_at_ms', fields.BigIntField()),
            ],
            options={'table': 'rate_limit_buckets', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A fixed-window counter (key = limit name + client identity) shared by every process.'},
            bases=['SnowflakeModel'],
        ),
        ops.CreateModel(
            name='ReportNote',
            fields=[
                ('id', fields.BigIntField(primary_key=True, default=snowflake_id, unique=True, db_index=True, generated=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('report', fields.ForeignKeyField('models.Report', source_field='report_id', db_constraint=True, to_field='id', related_name='notes', on_delete=OnDelete.CASCADE)),
                ('author', fields.ForeignKeyField('models.Account', source_field='author_id', db_constraint=True, to_field='id', related_name='report_notes', on_delete=OnDelete.CASCADE)),
                ('content', fields.TextField(unique=False)),
            ],
            options={'table': 'report_notes', 'app': 'models', 'pk_attr': 'id'},
            bases=['SnowflakeModel'],
        ),
        ops.CreateModel(
            name='Rule',
            fields=[
                ('id', fields.BigIntField(primary_key=True, default=snowflake_id, unique=True, db_index=True, generated=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('text', fields.TextField(unique=False)),
                ('hint', fields.TextField(default='', unique=False)),
                ('position', fields.IntField(default=0)),
            ],
            options={'table': 'rules', 'app': 'models', 'pk_attr': 'id'},
            bases=['SnowflakeModel'],
        ),
        ops.CreateModel(
            name='Series',
            fields=[
                ('id', fields.BigIntField(primary_key=True, default=snowflake_id, unique=True, db_index=True, generated=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='series', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=255)),
                ('description', fields.TextField(default='', unique=False)),
                ('position', fields.IntField(default=0)),
                ('uri', fields.CharField(null=True, unique=True, max_length=2048)),
            ],
            options={'table': 'series', 'app': 'models', 'unique_together': (('account', 'name'),), 'pk_attr': 'id'},
            bases=['SnowflakeModel'],
        ),
        ops.CreateModel(
            name='Work',
            fields=[
                ('id', fields.BigIntField(primary_key=True, default=snowflake_id, unique=True, db_index=True, generated=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='works', on_delete=OnDelete.CASCADE)),
                ('status', fields.OneToOneField('models.Status', source_field='status_id', db_constraint=True, to_field='id', related_name='work', on_delete=OnDelete.CASCADE)),
                ('title', fields.CharField(default='', max_length=255)),
                ('description', fields.TextField(default='', unique=False)),
                ('medium', fields.CharField(default='', max_length=255)),
                ('year', fields.IntField(null=True)),
                ('licence', fields.CharField(default='all-rights-reserved', max_length=32)),
                ('series', fields.ForeignKeyField('models.Series', source_field='series_id', null=True, db_constraint=True, to_field='id', related_name='works', on_delete=OnDelete.SET_NULL)),
                ('position', fields.IntField(default=0)),
                ('series_position', fields.IntField(default=0)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'works', 'app': 'models', 'indexes': [Index(fields=['account_id', 'position'])], 'pk_attr': 'id'},
            bases=['SnowflakeModel'],
        ),
        ops.AddField(
            model_name='Account',
            name='sensitized_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='DomainBlock',
            name='obfuscate',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='Report',
            name='action_taken_by_account',
            field=fields.ForeignKeyField('models.Account', source_field='action_taken_by_account_id', null=True, db_constraint=True, to_field='id', related_name='resolved_reports', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='Report',
            name='assigned_account',
            field=fields.ForeignKeyField('models.Account', source_field='assigned_account_id', null=True, db_constraint=True, to_field='id', related_name='assigned_reports', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='Report',
            name='rule_ids',
            field=fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddField(
            model_name='Report',
            name='updated_at',
            field=fields.DatetimeField(null=True, auto_now=True, auto_now_add=False),
        ),
        ops.AddField(
            model_name='User',
            name='commissions',
            field=fields.CharField(default='closed', db_default='closed', max_length=16),
        ),
        ops.AddField(
            model_name='User',
            name='invite_code',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='User',
            name='must_change_password',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='User',
            name='sign_up_reason',
            field=fields.TextField(default='', db_default='', unique=False),
        ),
    ]
