"""Roster imports: a student remembers their sourcedId in the district's OneRoster export,
and the sex and ethnicity the SS 8572 asks for (sealed at rest)."""

from django.db import migrations, models

import safestep.core.crypto


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0006_part_versions"),
    ]

    operations = [
        migrations.AddField(
            model_name="student",
            name="ethnicity",
            field=safestep.core.crypto.EncryptedTextField(blank=True),
        ),
        migrations.AddField(
            model_name="student",
            name="sex",
            field=safestep.core.crypto.EncryptedTextField(blank=True),
        ),
        migrations.AddField(
            model_name="student",
            name="sourced_id",
            field=models.CharField(blank=True, default="", max_length=255),
        ),
        migrations.AddConstraint(
            model_name="student",
            constraint=models.UniqueConstraint(
                condition=models.Q(("sourced_id", ""), _negated=True),
                fields=("school", "sourced_id"),
                name="one_student_per_school_sourced_id",
            ),
        ),
    ]
