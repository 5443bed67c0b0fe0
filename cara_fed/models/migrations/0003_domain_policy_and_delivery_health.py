# Written by makemigrations; `generated=False` added by hand to the Snowflake primary keys (see 0001).

from tortoise import migrations
from tortoise.migrations import operations as ops
from cara_fed.ids import snowflake_id
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0002_pins_and_hidden_collections')]

    initial = False

    operations = [
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
    ]
