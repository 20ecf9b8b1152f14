"""Draft answers move from the link (shared by every browser that opened it) to each browser's
own session; answers half-given on a link at upgrade time are dropped, and the client answers
those pages again."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('feedback', '0001_initial'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='feedbacklink',
            name='draft',
        ),
    ]
