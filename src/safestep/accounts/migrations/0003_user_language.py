"""The language each person chose for the pages ("My account"); English until they choose."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_credentials_at_rest"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="language",
            field=models.CharField(
                choices=[("en", "English"), ("es", "Español")], default="en", max_length=8
            ),
        ),
    ]
