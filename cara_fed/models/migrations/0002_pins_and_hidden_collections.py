# Written by makemigrations; `generated=False` added by hand to the Snowflake primary key (see 0001).

from tortoise import migrations
from tortoise.migrations import operations as ops
from cara_fed.ids import snowflake_id
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
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
            field=fields.BooleanField(default=False),
        ),
    ]
