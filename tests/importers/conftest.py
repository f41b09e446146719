import json
import threading
from pathlib import Path

import pytest
from celery.signals import task_postrun

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "meta-threat-indicators" / "indicators"


def bundle_text(lines) -> str:
    """JSON Lines from dicts (dumped) and strings (written as they are, for broken lines)."""
    return "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)


@pytest.fixture
def write_bundle(tmp_path):
    """Write lines to a bundle file and return its path."""
    counter = iter(range(10**6))

    def write(lines, *, name: str | None = None, raw: bytes | None = None) -> Path:
        path = tmp_path / (name or f"bundle-{next(counter)}.jsonl")
        path.write_bytes(raw if raw is not None else bundle_text(lines).encode())
        return path

    return write


@pytest.fixture
def sample_lines():
    """Two accounts (one given as a twitter URL), three posts, a media brand."""
    return [
        {
            "type": "account",
            "platform": "twitter",
            "handle": "https://twitter.com/AtlantaOnline",
            "external_id": "2944766250",
            "display_name": "Atlanta Online",
            "bio": "News from Atlanta",
            "profile_url": "https://x.com/AtlantaOnline",
            "created_at": "2014-12-01T00:00:00Z",
            "followers": 12000,
            "following": 300,
            "language": "en",
        },
        {"type": "account", "platform": "telegram", "handle": "@News_Freies_Deutschland", "followers": 1240},
        {
            "type": "post",
            "platform": "x",
            "account": "atlantaonline",
            "external_id": "123",
            "url": "https://x.com/AtlantaOnline/status/123",
            "text": "First post",
            "posted_at": "2016-01-01T10:00:00",
            "is_repost": False,
            "links": ["https://bild[.]pics/artikel"],
        },
        {
            "type": "post",
            "platform": "x",
            "account": "@AtlantaOnline",
            "external_id": "124",
            "text": "Second",
        },
        {
            "type": "post",
            "platform": "telegram",
            "account": "https://t.me/News_Freies_Deutschland/42",
            "external_id": "42",
            "text": "Teilen!",
            "posted_at": "2022-08-17T09:12:00+02:00",
        },
        {
            "type": "media_brand",
            "name": "Bild (clone)",
            "impersonates": "Bild",
            "domains": ["bild[.]pics", "bild.asia"],
        },
    ]


@pytest.fixture
def finished_tasks():
    """An event set when the worker has finished running a task: wait on it, never sleep."""
    done = threading.Event()

    def on_postrun(**kwargs):
        done.set()

    task_postrun.connect(on_postrun, weak=False)
    yield done
    task_postrun.disconnect(on_postrun)
