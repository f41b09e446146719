from django.db import migrations


def load(apps, schema_editor):
    from cases.taxonomy import read_kill_chain

    Technique = apps.get_model("cases", "Technique")
    for order, row in enumerate(read_kill_chain()):
        Technique.objects.update_or_create(
            procedure_code=row.procedure_code,
            defaults={
                "tactic_code": row.tactic_code,
                "tactic": row.tactic,
                "technique_code": row.technique_code,
                "technique": row.technique,
                "procedure": row.procedure,
                "order": order,
            },
        )


def unload(apps, schema_editor):
    apps.get_model("cases", "Technique").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("cases", "0002_immutable_rows")]

    operations = [migrations.RunPython(load, unload)]
