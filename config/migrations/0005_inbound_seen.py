from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0004_web')]

    initial = False

    operations = [
        ops.CreateModel(
            name='InboundSeen',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('provider', fields.CharField(max_length=16)),
                ('key', fields.CharField(max_length=64)),
                ('seen_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'inbound_seen', 'app': 'models', 'unique_together': (('provider', 'key'),), 'pk_attr': 'id', 'table_description': 'A provider message that has been handled: each has at most one effect, however often the'},
            bases=['Model'],
        ),
    ]
