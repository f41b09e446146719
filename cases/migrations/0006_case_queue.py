"""Lead console, case queue: saved filters and anything else the case queue needs."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("cases", "0005_account_search_trigram")]

    operations = []
