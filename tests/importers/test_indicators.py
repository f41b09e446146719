"""Meta's threat-indicator files, imported through the service and checked against counts this
test derives on its own, with plain regular expressions over the raw files."""

import csv
import hashlib
import io
import json
import re
from collections import Counter

import pytest

from cases.errors import InvalidInput
from cases.models import (
    Account,
    AuditEvent,
    BrandDomain,
    Case,
    CaseAccount,
    CaseStatus,
    Evidence,
    EvidenceFile,
    MediaBrand,
)
from cases.services.imports import import_indicator_files

from .conftest import FIXTURES

pytestmark = pytest.mark.django_db

ALL_FILES = sorted(p for p in FIXTURES.rglob("*") if p.is_file())
NETWORK_2022_09 = "2022_09_removing_coordinated_inauthentic_behavior_from_china_and_russia"

# --- the independent count ---------------------------------------------------------------------------

# One pattern per platform and site, over the refanged text of every file: a different way of
# reading the files from the importer's URL parsing, written from looking at the files.
MAIN_PATTERNS = {
    "x": [r"twitter\.com/([A-Za-z0-9_]+)"],
    "youtube": [r"youtube\.com/@([\w.-]+)"],
    "tiktok": [r"tiktok\.com/@([\w.-]+)"],
    "telegram": [r"//t\.me/(\w+)"],
    "reddit": [r"reddit\.com/(?:user|u)/([\w-]+)"],
    "facebook": [r"facebook\.com/([\w.]+)"],
    "instagram": [r"instagram\.com/([\w.]+)"],
}
NAME = r"([^/\s,\"?]+)"
SUB = r"(?:^|//)(?!www\.)([\w-]+)"  # a blog's own subdomain, at the start of a cell or after //
OTHER_PATTERNS = [
    (r"medium\.com/@" + NAME, "medium.com"),
    (SUB + r"\.medium\.com", "medium.com"),
    (r"pinterest\.com/(?!pin/)" + NAME, "pinterest.com"),
    (r"//(?:www\.)?tumblr\.com/" + NAME, "tumblr.com"),
    (SUB + r"\.tumblr\.com", "tumblr.com"),
    (r"quora\.com/profile/" + NAME, "quora.com"),
    (r"(?:^|//)(?!es\.|jp\.)(?!www\.)([\w-]+)\.quora\.com", "quora.com"),
    (SUB + r"\.blogspot\.com", "blogspot.com"),
    (SUB + r"\.livejournal\.com", "livejournal.com"),
    (SUB + r"\.wordpress\.com", "wordpress.com"),
    (SUB + r"\.skyrock\.com", "skyrock.com"),
    (SUB + r"\.livedoor\.blog", "livedoor.blog"),
    (r"vimeo\.com/(user\d+)", "vimeo.com"),
    (r"flickr\.com/photos/" + NAME, "flickr.com"),
    (r"soundcloud\.com/" + NAME, "soundcloud.com"),
    (r"github\.com/" + NAME, "github.com"),
    (r"steemit\.com/@" + NAME, "steemit.com"),
    (r"disqus\.com/by/" + NAME, "disqus.com"),
    (r"9gag\.com/u/" + NAME, "9gag.com"),
    (r"pixiv\.net/en/users/(\d+)", "pixiv.net"),
    (r"artstation\.com/" + NAME, "artstation.com"),
    (r"wattpad\.com/user/" + NAME, "wattpad.com"),
    (r"safechat\.com/u/" + NAME, "safechat.com"),
    (r"//vk\.com/" + NAME, "vk.com"),
    (r"ameblo\.jp/" + NAME, "ameblo.jp"),
    (r"cont\.ws/@" + NAME, "cont.ws"),
    (r"dzen\.ru/id/" + NAME, "dzen.ru"),
    (r"fanfiction\.net/u/(\d+)", "fanfiction.net"),
    (r"liveinternet\.ru/users/" + NAME, "liveinternet.ru"),
    # Sites only an account-acquiring row (0.9.x) makes into accounts.
    (r"molihua\.org/u/" + NAME, "molihua.org"),
    (r"nanyangmoney\.com/profile/" + NAME, "nanyangmoney.com"),
    (r"opendiary\.com/m/author/" + NAME, "opendiary.com"),
    (r"pakistan-forums\.com/members/" + NAME, "pakistan-forums.com"),
    (r"nulled\.to/user/" + NAME, "nulled.to"),
    (r"breached\.vc/" + NAME, "breached.vc"),
    (r"leakzone\.net/(User-[\w-]+)", "leakzone.net"),
    (r"cracked\.io/" + NAME, "cracked.io"),
    (r"backchina\.com/u/(\d+)", "backchina.com"),
    (r"backchina\.com/home\.php\?mod=space&uid=(\d+)", "backchina.com"),
    (r"thestudentroom\.co\.uk/member\.php\?u=(\d+)", "thestudentroom.co.uk"),
    (r"bastillepost\.com/hongkong/author/" + NAME, "bastillepost.com"),
    (r"nairaland\.com/" + NAME, "nairaland.com"),
]


def refanged_lines():
    """Every line of every file, refanged; of the Markdown reports only the indicator table."""
    for path in ALL_FILES:
        for line in path.read_text(encoding="utf-8-sig").replace("[.]", ".").splitlines():
            if path.suffix != ".md" or line.startswith("|"):
                yield line


def expected_accounts_per_platform() -> dict[str, int]:
    found: dict[str, set[str]] = {platform: set() for platform in [*MAIN_PATTERNS, "other"]}
    for line in refanged_lines():
        for platform, patterns in MAIN_PATTERNS.items():
            for pattern in patterns:
                found[platform].update(m.lower() for m in re.findall(pattern, line))
        for cell in re.split(r"[,|`\s\"]+", line):
            for pattern, site in OTHER_PATTERNS:
                found["other"].update(f"{m.lower()}@{site}" for m in re.findall(pattern, cell))
    return {platform: len(names) for platform, names in found.items() if names}


def expected_techniques() -> Counter:
    """How many files cite each kill-chain procedure: one evidence item per file carries them."""
    cited = Counter()
    for path in ALL_FILES:
        if path.suffix != ".csv":
            continue
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
        if rows[0][0].strip() != "Tactic":
            continue
        codes = {
            m.group() for row in rows[1:] if len(row) > 2 for m in [re.match(r"\d+\.\d+\.\d+", row[2])] if m
        }
        cited.update(codes)
    return cited


# --- tests ---------------------------------------------------------------------------------------------


def test_the_whole_fixture_folder_imports_with_the_counts_the_files_hold(team_a, lead):
    result = import_indicator_files(team=team_a, files=ALL_FILES, user=lead)

    assert result["totals"]["files"] == len(ALL_FILES) == 17
    assert result["totals"]["files_refused"] == 0
    platforms = dict(
        Counter(Account.objects.filter(team=team_a).values_list("platform", flat=True)).most_common()
    )
    assert platforms == expected_accounts_per_platform()
    # Facebook and Instagram appear only as prose counts ("7,704 Facebook accounts"): none invented.
    assert "facebook" not in platforms and "instagram" not in platforms

    techniques = Counter(
        Evidence.techniques.through.objects.filter(evidence__case__team=team_a).values_list(
            "technique__procedure_code", flat=True
        )
    )
    assert techniques == expected_techniques()

    # One case per network: the 2022-09 file comes as CSV and as JSON and is one network.
    assert Case.objects.filter(team=team_a).count() == len(ALL_FILES) - 1
    assert Evidence.objects.filter(case__team=team_a, kind="indicator", capture_method="import").count() == 17
    json_domains = {
        e["indicator_value"].lower()
        for e in json.loads((FIXTURES / "json" / f"{NETWORK_2022_09}.json").read_text())
        if e["indicator_type"] == "domain_name"
    }
    brand = MediaBrand.objects.get(team=team_a, name__startswith="Removing coordinated inauthentic behavior")
    assert set(brand.domains.values_list("domain", flat=True)) == json_domains
    assert {"bild.pics", "rrn.world"} <= json_domains

    # Nothing changes on a second import, down to the audit trail.
    snapshot = [
        model.objects.count() for model in (Account, Case, CaseAccount, Evidence, BrandDomain, AuditEvent)
    ]
    again = import_indicator_files(team=team_a, files=ALL_FILES, user=lead)
    assert again["totals"]["changed"] == 0
    assert {f["status"] for f in again["files"]} == {"unchanged"}
    assert snapshot == [
        model.objects.count() for model in (Account, Case, CaseAccount, Evidence, BrandDomain, AuditEvent)
    ]


def test_a_file_becomes_a_case_with_its_summary_accounts_domains_and_cited_evidence(team_a, lead):
    path = FIXTURES / "meta-h1-2026-china-based-cib-network.md"
    result = import_indicator_files(team=team_a, files=[path], user=lead)

    case = Case.objects.get(team=team_a)
    assert case.title == "China-Based Influence Operation Network Targeting Taiwan (H1 2026)"
    assert case.summary.startswith(
        "We disrupted a network originating in China that targeted audiences in Taiwan."
    )
    account = Account.objects.get(team=team_a)
    assert (account.platform, account.handle, account.source) == (
        "youtube",
        "NewGenerationRebellion",
        "indicators",
    )
    assert account.profile_url == "https://www.youtube.com/@NewGenerationRebellion"
    assert CaseAccount.objects.get(case=case, account=account).reason.startswith(
        "Named in Meta's threat-indicator file meta-h1-2026-china-based-cib-network.md, line"
    )
    # Stored refanged; the defanged form is only for display.
    assert sorted(BrandDomain.objects.values_list("domain", flat=True)) == [
        "newgenerationrebellion.com",
        "newgenreb.com",
        "ngrebellion.com",
        "twgossiping.com",
    ]
    evidence = Evidence.objects.get(case=case)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert (evidence.kind, evidence.capture_method, evidence.captured_by) == ("indicator", "import", lead)
    assert path.name in evidence.title and sha[:12] in evidence.title
    assert f"SHA-256: {sha}" in evidence.captured_text
    assert EvidenceFile.objects.get(evidence=evidence).sha256 == sha
    assert (
        evidence.url
        == "https://github.com/facebook/threat-research/blob/main/indicators/meta-h1-2026-china-based-cib-network.md"
    )
    assert result["files"][0]["accounts"]["by_platform"] == {"youtube": 1}


def test_killchain_rows_keep_prose_counts_as_notes_and_cite_their_procedures(team_a, lead):
    path = FIXTURES / "csv" / "Q2_2023_Spamouflage_China_based_CIB_updated.csv"
    import_indicator_files(team=team_a, files=[path], user=lead)

    case = Case.objects.get(team=team_a)
    assert case.title == "Spamouflage China based CIB (Q2 2023)"
    assert "7,704 Facebook accounts" in case.summary
    evidence = Evidence.objects.get(case=case)
    assert "7,704 Facebook accounts" in evidence.captured_text
    assert sorted(evidence.techniques.values_list("procedure_code", flat=True)) == [
        "0.9.1", "0.9.2", "0.9.4", "0.9.6", "0.9.8", "0.9.9", "6.1.3",
    ]  # fmt: skip
    garcia = Account.objects.get(team=team_a, handle_normalized="garciajasmyn1")
    assert (garcia.platform, garcia.profile_url) == ("x", "https://x.com/GarciaJasmyn1")
    assert "0.9.4 Acquiring X / Twitter accounts" in CaseAccount.objects.get(account=garcia).reason
    medium = Account.objects.get(team=team_a, handle_normalized="teamilk951@medium.com")
    assert (medium.platform, medium.profile_url) == ("other", "https://medium.com/@teamilk951")


def test_a_reimport_adds_to_an_existing_network_without_touching_what_people_wrote(team_a, lead):
    json_file = FIXTURES / "json" / f"{NETWORK_2022_09}.json"
    csv_file = FIXTURES / "csv" / f"{NETWORK_2022_09}.csv"
    import_indicator_files(team=team_a, files=[json_file], user=lead)
    case = Case.objects.get(team=team_a)
    Case.objects.filter(pk=case.pk).update(summary="Our own reading of the network.")

    result = import_indicator_files(team=team_a, files=[csv_file], user=lead)

    [item] = result["files"]
    assert item["case"] == {"id": case.pk, "title": case.title, "created": 0}
    assert item["accounts"]["created"] == 0 and item["domains"]["created"] == 0
    assert item["evidence"]["created"] == 1  # another file, another SHA-256: cited too
    assert Case.objects.get(pk=case.pk).summary == "Our own reading of the network."
    assert Evidence.objects.filter(case=case).count() == 2


def test_a_decided_case_takes_no_new_file_but_an_imported_one_stays_unchanged(team_a, lead):
    first = FIXTURES / "json" / f"{NETWORK_2022_09}.json"
    second = FIXTURES / "csv" / f"{NETWORK_2022_09}.csv"
    import_indicator_files(team=team_a, files=[first], user=lead)
    Case.objects.filter(team=team_a).update(status=CaseStatus.DECIDED)

    result = import_indicator_files(team=team_a, files=[first, second], user=lead)

    assert [f["status"] for f in result["files"]] == ["unchanged", "refused"]
    assert "is decided; reopen it" in result["files"][1]["reason"]
    assert Evidence.objects.count() == 1


def test_files_that_are_not_indicator_files_are_refused_and_the_others_import(team_a, lead, tmp_path):
    junk = tmp_path / "notes.csv"
    junk.write_text("name,value\na,b\n")
    good = FIXTURES / "meta-h2-2025-india-based-cib-network.md"
    result = import_indicator_files(team=team_a, files=[junk, good], user=lead)
    assert result["files"][0]["status"] == "refused"
    assert "Not a Meta threat-indicator file" in result["files"][0]["reason"]
    assert result["files"][1]["status"] == "imported"
    # A report without indicators still gives its network a case and its evidence.
    assert Case.objects.get().summary.startswith("We disrupted a coordinated inauthentic behavior network")


def test_bad_rows_are_reported_and_the_rest_imports(team_a, lead):
    content = json.dumps(
        [
            {"indicator_type": "domain_name", "indicator_value": "good[.]example", "comment": "", "ds": ""},
            {"indicator_type": "domain_name", "comment": "no value"},
            "not an object",
            {"indicator_type": "telegram_url", "indicator_value": "https://t.me/some_channel"},
        ]
    ).encode()
    result = import_indicator_files(team=team_a, files=[("2024_01_test_network.json", content)], user=lead)
    [item] = result["files"]
    assert item["rejected"] == {
        "total": 2,
        "reasons": [{"line": 2, "reason": "no indicator_value"}, {"line": 3, "reason": "not an object"}],
    }
    assert item["case"]["title"] == "Test network (2024-01)"
    assert list(BrandDomain.objects.values_list("domain", flat=True)) == ["good.example"]
    assert Account.objects.get().handle == "some_channel"


def test_an_import_needs_a_member_to_capture_the_evidence(team_a, outsider):
    path = FIXTURES / "meta-h2-2025-india-based-cib-network.md"
    with pytest.raises(InvalidInput, match="needs the person"):
        import_indicator_files(team=team_a, files=[path], user=None)
    from cases.errors import NotAllowed

    with pytest.raises(NotAllowed):
        import_indicator_files(team=team_a, files=[path], user=outsider)
    assert not Case.objects.exists()


def test_markdown_that_is_not_an_indicator_report_is_refused(team_a, lead, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# OSINT Annotator\n\nA web app.\n\n| a | b |\n| - | - |\n| 1 | 2 |\n")
    result = import_indicator_files(team=team_a, files=[readme], user=lead)
    assert result["files"][0]["status"] == "refused"
    assert not Case.objects.exists()
