"""A moderator's day in a real browser, on the demo investigations: sign in, open My work, claim
with the keyboard, read the account, accept a similar account, attach a repost and a screenshot,
label with keys, vote and see the tally — and a second moderator, in another browser context,
who labels blind and is never handed the item the first one holds."""

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from cases.demo import seed_demo
from cases.models import (
    Account,
    AccountKind,
    Assignment,
    AssignmentState,
    AttributionVote,
    Case,
    CaseAccount,
    Evidence,
    EvidenceKind,
    Label,
    Queue,
    Technique,
)
from cases.review_selectors import claimable_items
from cases.services.accounts import create_account, create_post
from cases.services.queues import create_queue_from_case
from cases.services.suggestions import upsert_suggestion
from cases.taxonomy import read_kill_chain

pytestmark = [pytest.mark.browser]

CHINA_QUEUE = "Spamouflage Q2 2023: suspect accounts"
# Sorts after the China queue, so "n" on My work claims from the China queue first.
RUSSIA_QUEUE = "Telegram channels: Doppelganger (one label each)"


def ensure_kill_chain() -> None:
    """The taxonomy is loaded by a data migration; a transactional test before this one may have
    flushed it. Load it the same way when it is missing."""
    if Technique.objects.exists():
        return
    Technique.objects.bulk_create(
        Technique(order=order, **row.__dict__) for order, row in enumerate(read_kill_chain())
    )


@pytest.fixture
def demo(transactional_db):
    ensure_kill_chain()
    seed_demo()
    users = {
        u.username: u
        for u in get_user_model().objects.filter(username__in=["lead", "moderator1", "moderator2"])
    }
    china = Queue.objects.get(name=CHINA_QUEUE)
    russia_case = Case.objects.get(title__startswith="Doppelganger")
    russia = create_queue_from_case(
        case=russia_case, name=RUSSIA_QUEUE, created_by=users["lead"], labels_per_item=1, lease_minutes=20
    )
    # The account moderator1's first claim will be, with a look-alike the sweep found off the case.
    first = claimable_items(queue=china, user=users["moderator1"], now=timezone.now()).first().account
    lookalike = create_account(
        team=china.team,
        platform=first.platform,
        handle="jordanl61185831",
        kind=AccountKind.SUSPECT,
        display_name="Jordan Lee",
        bio=first.bio,
    )
    create_post(account=lookalike, text="Love peace and truth. #USA")
    upsert_suggestion(
        team=china.team,
        account_a=first,
        account_b=lookalike,
        score=0.91,
        signals=[
            {"signal": "bio", "score": 1.0, "detail": "identical bio, shared by 6 accounts"},
            {
                "signal": "handle_shape",
                "score": 0.8,
                "detail": "handle shape name + 8 digits, like 31 others",
            },
            {"signal": "timing", "score": 0.7, "detail": "posts in the same minute 4 times"},
        ],
    )
    return {"users": users, "china": china, "russia": russia, "first": first, "lookalike": lookalike}


def small_png() -> bytes:
    image = Image.new("RGB", (320, 180), (245, 247, 250))
    draw = ImageDraw.Draw(image)
    draw.rectangle((12, 12, 308, 60), fill=(52, 81, 178))
    draw.text((20, 28), "@GarciaJasmyn1 · copied post", fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def sign_in_with_the_form(page, username: str, password: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Cases")).to_be_visible()


def test_a_moderators_day(page, another_page, log_in, live_server, screenshot, demo):
    users, first, lookalike = demo["users"], demo["first"], demo["lookalike"]
    mod1, mod2 = users["moderator1"], users["moderator2"]

    # --- sign in, open My work ------------------------------------------------------------------
    sign_in_with_the_form(page, "moderator1", "demo-mod1-pass")
    page.get_by_role("link", name="My work").click()
    expect(page.get_by_role("heading", name="My work")).to_be_visible()
    queues = page.get_by_role("table")
    expect(queues).to_contain_text(CHINA_QUEUE)
    expect(queues).to_contain_text(RUSSIA_QUEUE)
    expect(page.get_by_test_id("left-for-you")).to_have_text(str(38 + 8))
    screenshot("my-work")

    # --- claim with "n" --------------------------------------------------------------------------
    page.keyboard.press("n")
    expect(page).to_have_url(re.compile(r"/work/assignments/\d+/$"))
    lease = Assignment.objects.get(user=mod1, state=AssignmentState.ACTIVE)
    assert lease.item.account == first
    expect(page.locator(".review-h1")).to_contain_text(f"@{first.handle}")
    expect(page.locator(".profile")).to_contain_text(first.get_platform_display())
    expect(page.locator(".lease-chip")).to_contain_text("min left")
    expect(page.locator("#posts")).to_contain_text("Posts")
    if first.posts.filter(copied_from__isnull=False).exists():
        expect(page.locator(".copy-pair mark").first).to_be_visible()
    # The common case fits on one 1366 by 768 screen: the page itself does not scroll.
    assert page.evaluate("document.documentElement.scrollHeight <= window.innerHeight + 1")
    screenshot("review", full_page=False)

    # --- the help overlay -------------------------------------------------------------------------
    page.keyboard.press("?")
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_dialog).to_be_visible()
    expect(help_dialog).to_contain_text("Ctrl+Enter")
    screenshot("keys-help", full_page=False)
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()

    # --- accept the similar account, without a reload ---------------------------------------------
    page.evaluate("window.__sameDocument = true")
    suggestion = page.locator("[data-suggestion]").first
    expect(suggestion).to_contain_text("@jordanl61185831")
    expect(suggestion).to_contain_text("identical bio, shared by 6 accounts")
    page.keyboard.press("a")  # the first press picks the first suggestion
    expect(suggestion).to_be_focused()
    page.keyboard.press("a")
    expect(page.locator(f"#{suggestion.get_attribute('id')}")).to_contain_text("Added to the case")
    assert page.evaluate("window.__sameDocument === true")
    assert CaseAccount.objects.filter(case=lease.item.case, account=lookalike).exists()

    # Once the swapped row has settled (htmx has finished with it, focus restoring included),
    # focus is back on it (the next open suggestion, if any).
    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added")).to_have_count(0)
    expect(page.locator("[data-suggestion]").first).to_be_focused()
    # j / k walk the lists in page order: from the suggestion to the item after it and back.
    walk = page.locator("[data-list-item]:visible")
    at = walk.evaluate_all("(items) => items.indexOf(document.activeElement)")
    assert at >= 0, "the focused suggestion is not a list item"
    page.keyboard.press("j")
    focused = "document.activeElement ? document.activeElement.outerHTML.slice(0, 200) : null"
    try:
        expect(walk.nth(at + 1)).to_be_focused()
    except AssertionError as error:
        raise AssertionError(f"after j the focus is on {page.evaluate(focused)}") from error
    page.keyboard.press("k")
    expect(walk.nth(at)).to_be_focused()

    # --- attach a repost with "e" and Ctrl+Enter ---------------------------------------------------
    page.keyboard.press("e")
    dialog = page.get_by_role("dialog", name=re.compile("Attach evidence"))
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Repost")).to_be_checked()
    dialog.get_by_label("Copied post text").fill(
        "Seniors on Medicare now pay no more than $35 a month for insulin!!"
    )
    dialog.get_by_label("Source post text").fill(
        "Seniors on Medicare now pay no more than $35 a month for insulin. That is real relief for families."
    )
    dialog.get_by_label("Source author").fill("Chuck Schumer (@SenSchumer)")
    dialog.get_by_label("Source post URL").fill("hxxps://x[.]com/SenSchumer/status/1650000000000000000")
    screenshot("evidence-dialog", full_page=False)
    dialog.get_by_label("Source post URL").press("Control+Enter")
    expect(page.locator(".messages")).to_contain_text("recorded (repost")
    repost = Evidence.objects.get(kind=EvidenceKind.REPOST, captured_text__endswith="for insulin!!")
    assert 0 < repost.copy_similarity < 1
    expect(page.locator(f'[data-evidence="{repost.pk}"]')).to_contain_text(repost.content_sha256[:12])

    # --- attach a screenshot by mouse ----------------------------------------------------------------
    page.get_by_role("button", name="Attach evidence").click()
    dialog = page.get_by_role("dialog", name=re.compile("Attach evidence"))
    dialog.locator("label.seg", has_text="Screenshot").click()
    dialog.get_by_label("Title").fill("Profile page with the copied post")
    dialog.locator("#ev-screenshot").set_input_files(
        files=[{"name": "profile.png", "mimeType": "image/png", "buffer": small_png()}]
    )
    dialog.get_by_role("button", name="Record evidence").click()
    expect(page.locator(".messages")).to_contain_text("recorded (screenshot)")
    shot = Evidence.objects.get(kind=EvidenceKind.SCREENSHOT, title="Profile page with the copied post")
    stored = shot.files.get()
    expect(page.locator(f'[data-evidence="{shot.pk}"]')).to_contain_text(stored.sha256[:12])

    # --- label with keys: 1, t + search, Ctrl+Enter = submit and next --------------------------------
    page.keyboard.press("1")
    expect(page.locator("#verdict-inauthentic")).to_be_checked()
    page.keyboard.press("t")
    expect(page.locator("#lbl-tech-q")).to_be_focused()
    page.keyboard.type("copying authentic")  # "n", "t", "i"… typed here are text, not shortcuts
    option = page.locator("#lbl-tech-options").get_by_label(
        re.compile("Copying authentic social media posts")
    )
    expect(option).to_be_visible()
    option.check()
    expect(page.locator("#lbl-tech-options")).to_contain_text("Chosen")
    expect(page.locator("#lbl-t-5-4-2")).to_be_checked()
    expect(page).to_have_url(re.compile(rf"/work/assignments/{lease.pk}/$"))
    page.locator("#label-note").fill("Copies a senator word for word, same bio as the network.")
    screenshot("review-labelled", full_page=False)
    page.keyboard.press("Control+Enter")
    expect(page).not_to_have_url(re.compile(rf"/work/assignments/{lease.pk}/$"))
    expect(page).to_have_url(re.compile(r"/work/assignments/\d+/$"))
    label = Label.objects.get(annotator=mod1, account=first)
    assert label.verdict == "inauthentic"
    assert list(label.techniques.values_list("procedure_code", flat=True)) == ["5.4.2"]
    assert label.seconds_spent >= 0
    expect(page.locator(".messages")).to_contain_text(f"Labelled @{first.handle} inauthentic")

    # --- a second moderator, in another browser: blind labelling -------------------------------------
    page2 = another_page()
    log_in(mod2, page2)
    page2.goto("/work/")
    page2.get_by_role("row", name=re.compile(re.escape(CHINA_QUEUE))).get_by_role(
        "button", name="Claim next"
    ).click()
    expect(page2).to_have_url(re.compile(r"/work/assignments/\d+/$"))
    lease2 = Assignment.objects.get(user=mod2, state=AssignmentState.ACTIVE)
    assert lease2.item.account == first, "two labels per item: the second reviewer gets the same account"
    blind = page2.locator(".label-panel")
    expect(blind).to_contain_text("1 other label on this account — hidden until you submit yours.")
    expect(blind.locator(".verdict-count")).to_have_count(0)
    expect(page2.get_by_test_id("agreement")).to_have_count(0)
    screenshot_page(page2, "review-blind")
    page2.keyboard.press("2")
    page2.get_by_role("button", name="Submit", exact=True).click()
    expect(page2.get_by_test_id("agreement")).to_contain_text("2 labels so far, agreement 0%")

    # --- one label per item: never the same item to both --------------------------------------------
    page.goto("/work/")
    expect(page.locator(".lease-list")).to_contain_text("min left")
    screenshot("my-work-in-progress")
    page.get_by_role("row", name=re.compile(re.escape(RUSSIA_QUEUE))).get_by_role(
        "button", name="Claim next"
    ).click()
    expect(page).to_have_url(re.compile(r"/work/assignments/\d+/$"))
    page2.goto("/work/")
    page2.get_by_role("row", name=re.compile(re.escape(RUSSIA_QUEUE))).get_by_role(
        "button", name="Claim next"
    ).click()
    expect(page2).to_have_url(re.compile(r"/work/assignments/\d+/$"))
    held = Assignment.objects.filter(item__queue=demo["russia"], state=AssignmentState.ACTIVE)
    assert held.count() == 2
    assert held.values("item").distinct().count() == 2
    handles = [a.item.account.handle for a in held.order_by("user__username")]
    expect(page.locator(".review-h1")).to_contain_text(f"@{handles[0]}")
    expect(page2.locator(".review-h1")).to_contain_text(f"@{handles[1]}")
    expect(page.locator(".brand-list")).to_be_visible()
    screenshot("review-brands", full_page=False)

    # --- vote, then see the tally ---------------------------------------------------------------------
    page2.goto(f"/cases/{lease.item.case_id}/")
    page2.get_by_label("Who is behind it").select_option(label="Spamouflage")
    page2.get_by_label("High — almost certain").check()
    page2.get_by_label("Rationale").fill(
        "Office-hours bursts copying US politicians, as in Meta's Q2 2023 report."
    )
    page2.get_by_role("button", name="Cast my vote").click()
    expect(page2.get_by_test_id("tally")).to_contain_text("Spamouflage")

    page.goto(f"/cases/{lease.item.case_id}/")
    tally = page.get_by_test_id("tally")
    expect(tally).to_contain_text("1 vote cast. How others voted stays hidden until you vote")
    expect(tally).not_to_contain_text("Spamouflage")
    # The account this moderator labelled shows how both labelled it; one not labelled hides it.
    first_row = page.locator("tr").filter(
        has=page.locator("td.mono.nowrap", has_text=re.compile(rf"^@{re.escape(first.handle)}$"))
    )
    expect(first_row).to_contain_text("Inauthentic")
    expect(first_row).to_contain_text("split")
    page.get_by_label("Who is behind it").select_option(label="HaiEnergy")
    page.get_by_label("Moderate — likely").check()
    page.get_by_label("Rationale").fill("Same copy-paste pattern as the HaiEnergy news sites.")
    page.locator(".cite-list").get_by_label(re.compile(f"#{repost.pk} ")).check()
    screenshot("case-vote", full_page=False)
    page.get_by_label("Rationale").press("Control+Enter")
    expect(page.locator(".messages")).to_contain_text(
        "Your vote is recorded: HaiEnergy, moderate confidence."
    )
    expect(tally).to_contain_text("2 votes")
    expect(tally).to_contain_text("Spamouflage")
    expect(tally).to_contain_text("HaiEnergy")
    expect(tally).to_contain_text("60% of weight")
    vote = AttributionVote.objects.get(voter=mod1)
    assert list(vote.cited_evidence.all()) == [repost]
    page.evaluate("window.scrollTo(0, 0)")
    screenshot("case")

    # --- the evidence, as it will stand in a report ----------------------------------------------------
    page.goto(f"/evidence/{repost.pk}/")
    expect(page.locator(".copy-pair mark").first).to_be_visible()
    expect(page.locator(".hash-full").first).to_have_text(repost.content_sha256)
    screenshot("evidence-repost")
    page.goto(f"/evidence/{shot.pk}/")
    image = page.locator("img.ev-image")
    expect(image).to_be_visible()
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    assert page.evaluate("(img) => img.naturalWidth", image.element_handle()) == 320
    expect(page.get_by_role("link", name="Download")).to_have_attribute("download", "")
    screenshot("evidence-screenshot")

    # Nothing here changed who leads the account list: the look-alike joined through the suggestion.
    assert Account.objects.filter(handle="jordanl61185831", case_links__case=lease.item.case).exists()


def screenshot_page(page, name: str) -> None:
    """A viewport screenshot of a page that is not the fixture's."""
    from tests.e2e.conftest import SCREENSHOTS

    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), caret="initial")
