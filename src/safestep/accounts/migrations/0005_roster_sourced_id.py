"""Roster imports: schools and accounts remember their sourcedId in the district's OneRoster
export, so that the next import finds them (blank for those made by hand)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_draft"),
    ]

    operations = [
        migrations.AddField(
            model_name="school",
            name="sourced_id",
            field=models.CharField(blank=True, default="", max_length=255),
        ),
        migrations.AddField(
            model_name="user",
            name="sourced_id",
            field=models.CharField(blank=True, default="", max_length=255),
        ),
        migrations.AddConstraint(
            model_name="school",
            constraint=models.UniqueConstraint(
                condition=models.Q(("sourced_id", ""), _negated=True),
                fields=("sourced_id",),
                name="school_sourced_id_unique",
            ),
        ),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.UniqueConstraint(
                condition=models.Q(("sourced_id", ""), _negated=True),
                fields=("sourced_id",),
                name="user_sourced_id_unique",
            ),
        ),
    ]
