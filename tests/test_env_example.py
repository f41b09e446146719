"""`.env.example` promises to list every variable the settings read; hold it to that."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
READS = re.compile(
    r"""(?:env_\w+|os\.environ\.get|os\.getenv|os\.environ\[)\(?\s*["']([A-Z][A-Z0-9_]*)["']"""
)


def test_every_variable_the_settings_read_is_documented_in_env_example():
    read = set(READS.findall((ROOT / "annotator" / "settings.py").read_text()))
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M))
    assert len(read) > 20, "the pattern no longer finds the settings' variables"
    assert sorted(read - documented) == []


def test_compose_passes_every_variable_to_web_worker_and_beat():
    import yaml

    read = set(READS.findall((ROOT / "annotator" / "settings.py").read_text()))
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    # Fixed in the Dockerfile: static files are collected at build time into the image.
    fixed_in_image = {"STATIC_ROOT", "VAR_DIR"}
    assert sorted(read - set(compose["x-app-env"]) - fixed_in_image) == []
