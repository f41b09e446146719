"""Import through the browser: upload a bundle, watch the job's progress bar finish on a real worker."""

import json
import re

import pytest
from playwright.sync_api import expect

from cases.models import Account, Post

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def test_upload_a_bundle_and_watch_it_import(
    page, live_server, log_in, screenshot, moderator, tmp_path, celery_worker
):
    lines = [
        {"type": "account", "platform": "x", "handle": f"jordanl6118{i:04d}", "bio": "Patriot"}
        for i in range(40)
    ]
    lines += [
        {
            "type": "post",
            "platform": "x",
            "account": f"jordanl6118{i:04d}",
            "external_id": str(i),
            "text": "Same words",
        }
        for i in range(40)
    ]
    lines.append({"type": "post", "platform": "x", "account": "nobody-here", "text": "orphan"})
    bundle = tmp_path / "network.jsonl"
    bundle.write_text("\n".join(json.dumps(line) for line in lines) + "\n{not json\n")

    log_in(moderator)
    page.goto("/imports/")
    expect(page.get_by_role("heading", name="Import")).to_be_visible()
    page.get_by_label("File(s)").set_input_files(str(bundle))
    screenshot("import")
    page.get_by_role("button", name="Start import").click()

    expect(page).to_have_url(re.compile(r"/jobs/\d+/$"))
    expect(page.locator("#job-progress")).to_have_attribute("data-status", "succeeded", timeout=30_000)
    expect(page.locator(".import-counts")).to_contain_text("40")
    expect(page.locator(".rejected-lines")).to_contain_text("line 81")
    expect(page.locator(".rejected-lines")).to_contain_text("line 82")
    screenshot("import-finished")
    assert Account.objects.filter(team__slug="team-a").count() == 40
    assert Post.objects.filter(account__team__slug="team-a").count() == 40
