"""Lead console, review: adjudications, account outcomes, and what else agreement and decisions need."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("cases", "0006_case_queue")]

    operations = []
