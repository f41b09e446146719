import pytest

from cases.handles import defang, normalize_handle, refang


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("AtlantaOnline", "atlantaonline"),
        ("@AtlantaOnline", "atlantaonline"),
        (" @AtlantaOnline ", "atlantaonline"),
        ("https://x.com/AtlantaOnline", "atlantaonline"),
        ("https://twitter.com/AtlantaOnline/status/123?s=20", "atlantaonline"),
        ("https://twitter[.]com/GarciaJasmyn1/", "garciajasmyn1"),
        ("mobile.twitter.com/Someone", "someone"),
        ("https://www.reddit.com/user/throwaway_42/", "throwaway_42"),
        ("youtube.com/@NewGenerationRebellion", "newgenerationrebellion"),
        ("https://m.facebook.com/profile.name", "profile.name"),
    ],
)
def test_normalize_handle(raw, expected):
    assert normalize_handle(raw) == expected


def test_refang_and_defang_round_trip():
    assert refang("hxxps://bild[.]pics/a") == "https://bild.pics/a"
    assert defang("https://bild.pics/a") == "hxxps://bild[.]pics/a"
    assert refang(defang("dailymail.top")) == "dailymail.top"
