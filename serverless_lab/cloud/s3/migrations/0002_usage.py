"""A per-sandbox S3 usage counter, back-filled from the objects and parts that exist."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Sum


def backfill(apps, schema_editor):
    """One Usage row per sandbox that holds anything: its object versions plus its upload parts."""
    Object = apps.get_model("s3", "Object")
    Part = apps.get_model("s3", "Part")
    Usage = apps.get_model("s3", "Usage")
    totals: dict[int, int] = {}
    for model in (Object, Part):
        for row in model.objects.order_by().values("sandbox").annotate(total=Sum("size")):
            totals[row["sandbox"]] = totals.get(row["sandbox"], 0) + (row["total"] or 0)
    Usage.objects.bulk_create([Usage(sandbox_id=sandbox, bytes=total) for sandbox, total in totals.items()])


class Migration(migrations.Migration):
    dependencies = [
        ("s3", "0001_initial"),
        ("sandboxes", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="Usage",
            fields=[
                (
                    "sandbox",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="s3_usage",
                        serialize=False,
                        to="sandboxes.sandbox",
                    ),
                ),
                ("bytes", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
