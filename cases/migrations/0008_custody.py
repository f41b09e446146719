"""Browser capture: custody events, capture metadata, signing keys."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("cases", "0007_lead_review")]

    operations = []
