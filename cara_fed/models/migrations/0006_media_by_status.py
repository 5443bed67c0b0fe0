from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0005_tombstones_by_account')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='MediaAttachment',
            index=Index(fields=['status_id', 'position']),
        ),
    ]
