"""An index of the live time each provider holds, covering what slot search reads (provider, held from, held
until, status), so the search's appointment scan never visits the table."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0002_no_double_booking")]

    operations = [
        migrations.AddIndex(
            model_name="appointment",
            index=models.Index(
                condition=models.Q(("status__in", ("scheduled", "confirmed", "arrived", "roomed", "with_provider", "completed"))),
                fields=["provider", "busy_from", "busy_until", "status"],
                name="appt_provider_live_busy_idx",
            ),
        ),
    ]
