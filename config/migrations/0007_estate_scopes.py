from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0006_recordings')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Drive',
            name='estate_id',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Faq',
            name='estate_id',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Round',
            name='estate_id',
            field=fields.IntField(null=True),
        ),
        # Earlier simulators stored a made-up negative chat id on staff members: their alerts
        # then went nowhere. A staff member's Telegram chat is a private chat (positive id).
        ops.RunSQL(
            "UPDATE staff SET telegram_chat_id = NULL WHERE telegram_chat_id < 0",
            reverse_sql="SELECT 1",
        ),
    ]
