import io
import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from cases.models import AuditEvent, Membership, Team

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_team_and_add_members():
    assert "Created team osint" in run("create_team", "osint", "--name", "OSINT desk")
    run("add_member", "osint", "alice", "--role", "lead", "--password", "a-long-enough-passphrase")
    alice = get_user_model().objects.get(username="alice")
    assert alice.check_password("a-long-enough-passphrase")
    assert Membership.objects.get(user=alice).role == "lead"
    # An existing user keeps their password and gets the new role.
    run("add_member", "osint", "alice", "--role", "admin")
    assert Membership.objects.get(user=alice).role == "admin"
    assert list(AuditEvent.objects.order_by("id").values_list("verb", flat=True)) == [
        "team.created",
        "user.created",
        "member.added",
        "member.role_changed",
    ]


def test_add_member_prints_a_generated_password_when_not_on_a_terminal(monkeypatch):
    Team.objects.create(slug="osint", name="OSINT")
    monkeypatch.setattr(sys, "stdin", io.StringIO())
    output = run("add_member", "osint", "bob", "--role", "moderator")
    password = output.split("Generated password (shown once): ")[1].strip()
    assert get_user_model().objects.get(username="bob").check_password(password)


def test_add_member_refuses_a_weak_password_and_creates_nothing():
    Team.objects.create(slug="osint", name="OSINT")
    with pytest.raises(CommandError, match=r"too common|too short"):
        run("add_member", "osint", "carol", "--role", "moderator", "--password", "password")
    assert not get_user_model().objects.filter(username="carol").exists()


def test_commands_refuse_unknown_teams_and_taken_slugs():
    with pytest.raises(CommandError, match="No team"):
        run("add_member", "nope", "dave", "--role", "lead", "--password", "a-long-enough-passphrase")
    run("create_team", "osint", "--name", "x")
    with pytest.raises(CommandError, match="already exists"):
        run("create_team", "osint", "--name", "y")


def test_deploy_check_is_clean_with_production_settings(tmp_path):
    """DEBUG=0 SECRET_KEY=… manage.py check --deploy prints no warnings."""
    env = {
        "PATH": "/usr/bin:/bin",
        "DEBUG": "0",
        "SECRET_KEY": "x" * 20 + "a-long-random-production-secret-key-0123456789",
        "ALLOWED_HOSTS": "annotator.example.org",
        "VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_settings_refuse_to_start_without_a_secret_key_in_production(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "DEBUG": "0", "VAR_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr
