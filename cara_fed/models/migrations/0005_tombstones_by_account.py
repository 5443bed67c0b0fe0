from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.migrations.constraints import UniqueConstraint

class Migration(migrations.Migration):
    dependencies = [('models', '0004_portfolio_and_admin')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='ActivityTombstone',
            name='uri',
            field=fields.CharField(max_length=2048),
        ),
        ops.AddField(
            model_name='ActivityTombstone',
            name='account',
            field=fields.ForeignKeyField('models.Account', source_field='account_id', null=True, db_constraint=True, to_field='id', related_name='activity_tombstones', on_delete=OnDelete.CASCADE),
        ),
        ops.AddConstraint(
            model_name='ActivityTombstone',
            constraint=UniqueConstraint(fields=('uri', 'account'), name=None),
        ),
    ]
