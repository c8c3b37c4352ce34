from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0005_inbound_seen')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Recording',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('household', fields.ForeignKeyField('models.Household', source_field='household_id', db_constraint=True, to_field='id', related_name='recordings', on_delete=OnDelete.CASCADE)),
                ('response', fields.ForeignKeyField('models.Response', source_field='response_id', null=True, db_constraint=True, to_field='id', related_name='recordings', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(default='answer', max_length=10)),
                ('path', fields.CharField(default='', max_length=100)),
                ('call_sid', fields.CharField(max_length=40)),
                ('sid', fields.CharField(unique=True, max_length=40)),
                ('url', fields.CharField(max_length=500)),
                ('duration', fields.IntField(default=0)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'survey_recording', 'app': 'models', 'indexes': [Index(fields=['response_id', 'path'])], 'pk_attr': 'id', 'table_description': 'A resident\'s voice recorded on a call: an answer said aloud (``kind = "answer"``, with'},
            bases=['Model'],
        ),
    ]
