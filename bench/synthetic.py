"""A seeded synthetic corpus for the similarity benchmarks: organic accounts with everything
ordinary people share (popular outlets, hashtags, stock bios, stock avatars, viral quotes, the
platform's default handle shape), and planted networks in the styles seen in public takedowns.

    corpus = generate(seed=2, organic=20_000)
    corpus.records      # list[AccountRecord], shuffled
    corpus.network      # account id -> planted network name (organic and reference absent)
    corpus.population   # account id -> population ("organic", "organic_default", "reference", style)

Same seed, same corpus: every draw comes from one ``random.Random(seed)``/``numpy`` generator pair.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np

from cases.similarity.features import AccountRecord, PostRecord

DAY = 86_400


def _split(text: str) -> list[str]:
    return text.split()


EPOCH_2009 = 1_230_768_000
EPOCH_2017 = 1_483_228_800
EPOCH_2020 = 1_577_836_800
WINDOW_START = 1_698_796_800  # 2023-11-01: the posts span the 60 days after it
WINDOW_DAYS = 60

FIRST = _split(
    "james mary john patricia robert jennifer michael linda william elizabeth david barbara richard "
    "susan joseph jessica thomas sarah charles karen christopher lisa daniel nancy matthew betty "
    "anthony sandra mark ashley donald kimberly steven emily paul donna andrew michelle joshua carol "
    "kenneth amanda kevin melissa brian deborah george stephanie timothy rebecca ronald sharon jason "
    "laura edward cynthia jeffrey kathleen ryan amy jacob angela gary shirley nicholas anna eric "
    "brenda jonathan pamela stephen emma larry nicole justin helen scott samantha brandon katherine "
    "benjamin christine samuel debra gregory rachel alexander carolyn frank janet patrick catherine "
    "raymond maria jack heather dennis diane jerry ruth tyler julie aaron olivia jose joyce adam "
    "virginia nathan victoria henry kelly douglas lauren zachary christina peter joan kyle evelyn "
    "ethan judith walter megan noah andrea jeremy cheryl christian hannah keith jacqueline roger "
    "martha terry gloria gerald teresa harold ann sean sara austin madison carl frances arthur kathryn "
    "lawrence janice dylan jean jesse abigail jordan alice bryan judy billy sophia joe grace bruce "
    "denise gabriel amber logan doris albert marilyn willie danielle alan beverly juan isabella wayne "
    "theresa elijah diana randy natalie roy brittany vincent charlotte ralph marie eugene kayla russell "
    "alexis bobby lori mason shannon philip"
)
LAST = _split(
    "smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez "
    "gonzalez wilson anderson thomas taylor moore jackson martin lee perez thompson white harris "
    "sanchez clark ramirez lewis robinson walker young allen king wright scott torres nguyen hill "
    "flores green adams nelson baker hall rivera campbell mitchell carter roberts gomez phillips evans "
    "turner diaz parker cruz edwards collins reyes stewart morris morales murphy cook rogers gutierrez "
    "ortiz morgan cooper peterson bailey reed kelly howard ramos kim cox ward richardson watson brooks "
    "chavez wood james bennett gray mendoza ruiz hughes price alvarez castillo sanders patel myers long "
    "ross foster jimenez powell jenkins perry russell sullivan bell coleman butler henderson barnes "
    "gonzales fisher vasquez simmons romero jordan patterson alexander hamilton graham reynolds griffin "
    "wallace moreno west cole hayes bryant herrera gibson ellis tran medina aguilar stevens murray ford "
    "castro marshall owens harrison fernandez mcdonald woods washington kennedy wells vargas henry chen "
    "freeman webb tucker guzman burns crawford olson simpson porter hunter gordon mendez silva shaw"
)
STOCK_BIOS = (
    "Patriot",
    "Proud American",
    "Mom. Wife. Christian.",
    "God, family, country",
    "Dog lover",
    "Retired teacher",
    "Just here for the news",
    "Love my family",
    "Truth seeker",
    "Opinions are my own",
    "Conservative",
    "Progressive",
    "Veteran",
    "Coffee addict",
    "Sports fan",
    "Living my best life",
    "Husband and father",
    "Nurse",
    "Small business owner",
    "MAGA",
)
OUTLETS = _split(
    "nytimes.com foxnews.com cnn.com bbc.co.uk washingtonpost.com breitbart.com youtube.com "
    "theguardian.com reuters.com apnews.com nbcnews.com dailymail.co.uk bild.de spiegel.de "
    "politico.com thehill.com npr.org wsj.com newsmax.com msn.com"
)
POPULAR_TAGS = _split(
    "news politics maga trump biden election2024 ukraine israel gaza economy inflation border "
    "breaking usa america freedom truth vote fakenews covid climate nfl football music love "
    "tbt mondaymotivation"
)
TYPOSQUATS = ("bild.pics", "spiegel.ltd", "faz.ltd", "welt.ws", "dailymail.top", "sueddeutsche.cc")


@dataclass
class Corpus:
    seed: int
    records: list[AccountRecord]
    network: dict[int, str] = field(default_factory=dict)
    population: dict[int, str] = field(default_factory=dict)

    def members(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for account_id, name in self.network.items():
            out.setdefault(name, []).append(account_id)
        return out


class _Generator:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.np = np.random.default_rng(seed)
        # A fixed vocabulary (the same for every seed), sampled with Zipf weights, so organic text
        # has common and rare words like real text does.
        vocab_rng = random.Random(7)
        syllables = [a + b for a in "bcdfghjklmnprstvwz" for b in "aeiou"] + ["st", "tr", "an", "er", "on"]
        vocab: set[str] = set()
        while len(vocab) < 8000:
            vocab.add("".join(vocab_rng.choice(syllables) for _ in range(vocab_rng.randint(1, 4))))
        self.vocab = np.array(sorted(vocab))
        weights = 1.0 / np.arange(1, len(self.vocab) + 1) ** 1.05
        self.vocab_p = weights / weights.sum()
        self._buffer: list[str] = []
        self._pos = 0
        self.next_id = 1
        self.records: list[AccountRecord] = []
        self.network: dict[int, str] = {}
        self.population: dict[int, str] = {}
        self.stock_avatars = [self.rng.getrandbits(64) for _ in range(8)]
        self.popular_articles = [
            f"https://www.{self.rng.choice(OUTLETS)}/2023/{self.rng.randint(1, 12)}/story-{i}"
            for i in range(400)
        ]
        self.small_sites = [
            f"{self._word()}{self._word()}.{self.rng.choice(('com', 'net', 'org', 'blog'))}"
            for _ in range(3000)
        ]
        self.viral = [self._sentence(10, 18) for _ in range(40)]
        self.stock_posts = [
            "Good morning everyone, have a blessed day",
            "This is so true and everyone knows it",
            "Thoughts and prayers to everyone affected",
            "Can't believe this is happening right now",
            "Happy Friday everyone enjoy the weekend",
            "Thank you for your service to our country",
            "Share if you agree with this",
        ]
        self.reference_posts: list[tuple[int, str]] = []  # (post id, text)
        self.next_post_id = 1

    # -- small helpers
    def _words(self, n: int) -> list[str]:
        # Zipf draws come from a pre-drawn buffer: one numpy call per 500k words, not per word.
        if self._pos + n > len(self._buffer):
            self._buffer = self.vocab[self.np.choice(len(self.vocab), size=500_000, p=self.vocab_p)].tolist()
            self._pos = 0
        out = self._buffer[self._pos : self._pos + n]
        self._pos += n
        return out

    def _word(self) -> str:
        return self._words(1)[0]

    def _sentence(self, lo: int, hi: int) -> str:
        return " ".join(self._words(self.rng.randint(lo, hi)))

    def _name(self) -> tuple[str, str]:
        return self.rng.choice(FIRST), self.rng.choice(LAST)

    def _default_handle(self, first: str, last: str) -> str:
        return f"{first}{last[0]}{self.rng.randint(10_000_000, 99_999_999)}"

    def _organic_handle(self, first: str, last: str) -> str:
        style = self.rng.random()
        if style < 0.25:
            return f"{first}{last}"
        if style < 0.45:
            return f"{first}_{last}{self.rng.randint(1, 99)}"
        if style < 0.6:
            return f"{first}.{last}"
        if style < 0.8:
            return f"{self._word()}{self._word()}{self.rng.randint(1, 999)}"
        return f"{first[0]}{last}{self.rng.randint(1950, 2005)}"

    def _time(self) -> float:
        # diurnal: more posts in the afternoon and evening
        day = self.rng.randrange(WINDOW_DAYS)
        hour = min(23.99, max(0.0, self.rng.gauss(16, 4)))
        return WINDOW_START + day * DAY + hour * 3600 + self.rng.random() * 60

    def _add(self, record: AccountRecord, population: str, network: str | None = None) -> None:
        self.records.append(record)
        self.population[record.id] = population
        if network:
            self.network[record.id] = network

    def _new_id(self) -> int:
        account_id = self.next_id
        self.next_id += 1
        return account_id

    # -- populations
    def reference_accounts(self, count: int = 60, posts: int = 40) -> None:
        for _ in range(count):
            first, last = self._name()
            account_id = self._new_id()
            account_posts = []
            for _ in range(posts):
                text = self._sentence(12, 28)
                post_id = self.next_post_id
                self.next_post_id += 1
                self.reference_posts.append((post_id, text))
                account_posts.append(PostRecord(text=text, posted_at=self._time()))
            record = AccountRecord(
                id=account_id,
                platform="x",
                handle=f"{first}{last}",
                display_name=f"{first.title()} {last.title()}",
                bio=f"Official account of {first.title()} {last.title()}",
                created_at=EPOCH_2009 + self.rng.random() * 5 * 365 * DAY,
                avatar_phash=self.rng.getrandbits(64),
                posts=account_posts,
                reference=True,
            )
            self._add(record, "reference")

    def organic(
        self, count: int, *, default_share: float = 0.2, population: str = "organic", post_mean: float = 9.0
    ) -> None:
        for _ in range(count):
            first, last = self._name()
            default = self.rng.random() < default_share
            handle = self._default_handle(first, last) if default else self._organic_handle(first, last)
            if default:
                created = EPOCH_2017 + self.rng.random() * 6.8 * 365 * DAY
            else:
                created = EPOCH_2009 + self.rng.random() * 14.8 * 365 * DAY
            roll = self.rng.random()
            if roll < 0.3:
                bio = ""
            elif roll < 0.6:
                bio = self.rng.choice(STOCK_BIOS)
            else:
                bio = self._sentence(4, 14)
            roll = self.rng.random()
            if roll < 0.25:
                avatar = None
            elif roll < 0.4:
                avatar = self.rng.choice(self.stock_avatars)
            else:
                avatar = self.rng.getrandbits(64)
            n_posts = max(1, min(60, int(self.rng.expovariate(1 / post_mean))))
            posts = [self._organic_post() for _ in range(n_posts)]
            display = f"{first.title()} {last.title()}" if self.rng.random() < 0.8 else first.title()
            record = AccountRecord(
                id=self._new_id(),
                platform="x",
                handle=handle,
                display_name=display,
                bio=bio,
                created_at=created,
                avatar_phash=avatar,
                posts=posts,
            )
            self._add(record, population)

    def _organic_post(self) -> PostRecord:
        roll = self.rng.random()
        copied_from = None
        if roll < 0.04:
            text = self.rng.choice(self.stock_posts)
        elif roll < 0.07:
            text = self.rng.choice(self.viral)
        elif roll < 0.08 and self.reference_posts:
            copied_from, text = self.rng.choice(self.reference_posts)  # people quote politicians too
        else:
            text = self._sentence(6, 26)
        links: tuple[str, ...] = ()
        roll = self.rng.random()
        if roll < 0.12:
            links = (self.rng.choice(self.popular_articles),)
        elif roll < 0.17:
            links = (f"https://{self.rng.choice(OUTLETS)}/article/{self.rng.getrandbits(32)}",)
        elif roll < 0.19:
            links = (f"https://{self.rng.choice(self.small_sites)}/p/{self.rng.getrandbits(20)}",)
        if self.rng.random() < 0.2:
            tags = self.rng.sample(POPULAR_TAGS, self.rng.randint(1, 2))
            text += " " + " ".join("#" + t for t in tags)
        if self.rng.random() < 0.05:
            text += f" #{self._word()}"
        if self.rng.random() < 0.08:
            first, last = self._name()
            text = f"@{first}{last} " + text
        return PostRecord(text=text, posted_at=self._time(), links=links, copied_from_id=copied_from)

    # -- planted networks
    def _burst(self, size: int, hours: float) -> list[float]:
        start = EPOCH_2020 + self.rng.random() * 3.5 * 365 * DAY
        return [start + self.rng.random() * hours * 3600 for _ in range(size)]

    def _edit(self, text: str) -> str:
        """A light edit the way operators disguise copies: an emoji, a hashtag, a prefix."""
        roll = self.rng.random()
        if roll < 0.3:
            return text
        if roll < 0.55:
            return text + " " + self.rng.choice(("🇺🇸", "!!", "👇", "🔥"))
        if roll < 0.75:
            return self.rng.choice(("BREAKING: ", "Must read: ", "So true: ")) + text
        words = text.split()
        i = self.rng.randrange(len(words))
        words[i] = self._word()
        return " ".join(words)

    def network_copy_default(self, name: str, size: int, *, unique_avatars: bool = False) -> None:
        """Spamouflage-style: default handles, created in one burst, copy-paste from reference posts,
        office-hours posting, a campaign hashtag."""
        pool = self.rng.sample(self.reference_posts, 40)
        created = self._burst(size, 6)
        tag = self._word() + self._word()
        avatars = [
            self.rng.choice(self.stock_avatars) if self.rng.random() < 0.3 else None for _ in range(size)
        ]
        if unique_avatars:
            avatars = [self.rng.getrandbits(64) for _ in range(size)]
        for i in range(size):
            first, last = self._name()
            posts = []
            for post_id, text in self.rng.sample(pool, self.rng.randint(8, 14)):
                day = self.rng.randrange(WINDOW_DAYS)
                t = WINDOW_START + day * DAY + self.rng.uniform(1, 9) * 3600  # office hours (UTC+8)
                body = self._edit(text) + (f" #{tag}" if self.rng.random() < 0.4 else "")
                # the importer knows the source of only some copies; the rest must be found by text
                source = post_id if self.rng.random() < 0.3 else None
                posts.append(PostRecord(text=body, posted_at=t, copied_from_id=source))
            bio = self.rng.choice(STOCK_BIOS) if self.rng.random() < 0.5 else ""
            record = AccountRecord(
                id=self._new_id(),
                platform="x",
                handle=self._default_handle(first, last),
                display_name=f"{first.title()} {last.title()}",
                bio=bio,
                created_at=created[i],
                avatar_phash=avatars[i],
                posts=posts,
            )
            self._add(record, "network_unique_avatars" if unique_avatars else "network_copy_default", name)

    def network_brand(self, name: str, size: int, brand_id: int) -> None:
        """Doppelganger-style: a fake brand with typosquatted domains, amplified in coordinated
        bursts; a handful of stolen photos reused as avatars."""
        domains = self.rng.sample(TYPOSQUATS, 3)
        photos = [self.rng.getrandbits(64) for _ in range(5)]
        articles = [
            f"https://{self.rng.choice(domains)}/{self._word()}-{self._word()}-{i}" for i in range(30)
        ]
        headlines = {a: self._sentence(8, 14) for a in articles}
        schedule: dict[int, list[PostRecord]] = {i: [] for i in range(size)}
        for article in articles:
            t0 = self._time()
            for i in self.rng.sample(range(size), self.rng.randint(4, 9)):
                t = t0 + self.rng.uniform(0, 45)
                schedule[i].append(PostRecord(text=headlines[article], posted_at=t, links=(article,)))
        for i in range(size):
            first, last = self._name()
            noise = sum(1 << self.rng.randrange(64) for _ in range(self.rng.randint(0, 2)))
            curated = self.rng.random() < 0.5
            record = AccountRecord(
                id=self._new_id(),
                platform="facebook",
                handle=self._organic_handle(first, last),
                display_name=f"{first.title()} {last.title()}",
                bio=self._sentence(4, 10) if self.rng.random() < 0.5 else "",
                created_at=EPOCH_2020 + self.rng.random() * 3 * 365 * DAY,
                avatar_phash=self.rng.choice(photos) ^ noise,
                posts=schedule[i] + [self._organic_post() for _ in range(self.rng.randint(0, 3))],
                brand_domains=frozenset(domains) if curated else frozenset(),
                brand_ids=frozenset({brand_id}) if curated else frozenset(),
            )
            self._add(record, "network_brand", name)

    def network_timing(self, name: str, size: int, *, randomized_bios: bool = False) -> None:
        """Coordinated waves: most members post a variant of the wave's message within a minute,
        with a campaign hashtag; handles follow one pattern; one bio for all (or random ones)."""
        stem = self._word()
        tag = self._word() + self._word()
        bio = self._sentence(8, 14)
        waves = []
        for _ in range(24):
            waves.append((self._time(), self._sentence(12, 20).split()))
        posts: dict[int, list[PostRecord]] = {i: [] for i in range(size)}
        for t0, words in waves:
            for i in self.rng.sample(range(size), int(size * 0.6)):
                variant = list(words)
                for _ in range(self.rng.randint(1, 3)):  # paraphrase: swap a few words
                    variant[self.rng.randrange(len(variant))] = self._word()
                text = " ".join(variant) + f" #{tag}"
                posts[i].append(PostRecord(text=text, posted_at=t0 + self.rng.uniform(0, 40)))
        for i in range(size):
            first, last = self._name()
            record = AccountRecord(
                id=self._new_id(),
                platform="x",
                handle=f"{stem}_{self._word()}_{self.rng.randint(10, 99)}",
                display_name=f"{first.title()} {last.title()}",
                bio=self._sentence(5, 12) if randomized_bios else bio,
                created_at=EPOCH_2020 + self.rng.random() * 3 * 365 * DAY,
                avatar_phash=self.rng.getrandbits(64),
                posts=posts[i] + [self._organic_post() for _ in range(self.rng.randint(0, 4))],
            )
            population = "network_timing_random_bios" if randomized_bios else "network_timing"
            self._add(record, population, name)

    def network_small_copy(self, name: str, size: int) -> None:
        """A small copy-paste cell: members repost each other's texts and share a rare blog."""
        texts = [self._sentence(10, 20) for _ in range(15)]
        blog = self.rng.choice(self.small_sites)
        for _ in range(size):
            first, last = self._name()
            chosen = self.rng.sample(texts, 7)
            posts = [
                PostRecord(
                    text=self._edit(t),
                    posted_at=self._time(),
                    links=(f"https://{blog}/p/{self.rng.randint(1, 12)}",) if self.rng.random() < 0.4 else (),
                )
                for t in chosen
            ]
            record = AccountRecord(
                id=self._new_id(),
                platform="x",
                handle=self._organic_handle(first, last),
                display_name=f"{first.title()} {last.title()}",
                bio=self.rng.choice(STOCK_BIOS) if self.rng.random() < 0.5 else "",
                created_at=EPOCH_2009 + self.rng.random() * 14 * 365 * DAY,
                avatar_phash=self.rng.getrandbits(64) if self.rng.random() < 0.7 else None,
                posts=posts + [self._organic_post() for _ in range(self.rng.randint(0, 5))],
            )
            self._add(record, "network_small_copy", name)


def generate(
    seed: int,
    *,
    organic: int = 20_000,
    default_heavy: int = 5_000,
    networks: bool = True,
    network_scale: float = 1.0,
    post_mean: float = 9.0,
) -> Corpus:
    """Organic accounts (20 % with the default handle shape; about ``post_mean`` posts each), a
    default-handle-heavy organic population (90 %), reference accounts, and, with ``networks``,
    the planted networks (sizes times ``network_scale``)."""
    g = _Generator(seed)
    g.reference_accounts()
    g.organic(organic, default_share=0.2, population="organic", post_mean=post_mean)
    g.organic(default_heavy, default_share=0.9, population="organic_default", post_mean=post_mean)
    if networks:

        def n(size: int) -> int:
            return max(3, round(size * network_scale))

        g.network_copy_default("copy_default_a", n(60))
        g.network_copy_default("copy_default_b", n(25))
        g.network_copy_default("unique_avatars", n(40), unique_avatars=True)
        g.network_brand("brand_doppelganger", n(40), brand_id=7)
        g.network_brand("brand_small", n(12), brand_id=8)
        g.network_timing("timing_waves", n(45))
        g.network_timing("timing_random_bios", n(30), randomized_bios=True)
        for i in range(6):
            g.network_small_copy(f"small_copy_{i}", n(6 + i))
    records = g.records
    g.rng.shuffle(records)
    return Corpus(seed=seed, records=records, network=g.network, population=g.population)
