"""Small objects keep their bytes in their row."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("s3", "0002_usage"),
    ]

    operations = [
        migrations.AddField(
            model_name="object",
            name="data",
            field=models.BinaryField(blank=True, null=True),
        ),
    ]
