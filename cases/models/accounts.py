from django.db import models

from .teams import Team


class Platform(models.TextChoices):
    X = "x", "X / Twitter"
    FACEBOOK = "facebook", "Facebook"
    INSTAGRAM = "instagram", "Instagram"
    TIKTOK = "tiktok", "TikTok"
    YOUTUBE = "youtube", "YouTube"
    TELEGRAM = "telegram", "Telegram"
    REDDIT = "reddit", "Reddit"
    OTHER = "other", "Other"


class AccountKind(models.TextChoices):
    SUSPECT = "suspect", "Suspect"
    REFERENCE = "reference", "Reference (real source)"


class AccountSource(models.TextChoices):
    MANUAL = "manual", "Entered by hand"
    IMPORT = "import", "Imported"
    INDICATORS = "indicators", "Threat-indicator file"
    CAPTURE = "capture", "Browser capture"
    SUGGESTION = "suggestion", "Similarity suggestion"
    API = "api", "API"
    DEMO = "demo", "Demo data"


class AccountQuerySet(models.QuerySet):
    def for_team(self, team):
        return self.filter(team=team)

    def suspects(self):
        return self.filter(kind=AccountKind.SUSPECT)


class Account(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="accounts")
    platform = models.CharField(max_length=20, choices=Platform.choices)
    handle = models.CharField(max_length=255, help_text="As the platform shows it.")
    # Lower-cased, without '@' or URL parts: the key that makes an account unique in a team.
    handle_normalized = models.CharField(max_length=255, editable=False)
    external_id = models.CharField(max_length=100, blank=True)
    display_name = models.CharField(max_length=500, blank=True)
    bio = models.TextField(blank=True)
    profile_url = models.URLField(max_length=2000, blank=True)
    created_on_platform = models.DateTimeField(null=True, blank=True)
    followers = models.BigIntegerField(null=True, blank=True)
    following = models.BigIntegerField(null=True, blank=True)
    language = models.CharField(max_length=20, blank=True)
    avatar = models.ImageField(upload_to="avatars/", blank=True)
    avatar_phash = models.CharField(max_length=16, blank=True, help_text="64-bit perceptual hash, hex")
    kind = models.CharField(max_length=20, choices=AccountKind.choices, default=AccountKind.SUSPECT)
    source = models.CharField(max_length=20, choices=AccountSource.choices, default=AccountSource.MANUAL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AccountQuerySet.as_manager()

    class Meta:
        ordering = ["platform", "handle_normalized"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "platform", "handle_normalized"], name="account_unique_handle_per_team"
            ),
            models.CheckConstraint(
                condition=models.Q(followers__isnull=True) | models.Q(followers__gte=0),
                name="account_followers_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(following__isnull=True) | models.Q(following__gte=0),
                name="account_following_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(platform__in=[p.value for p in Platform]), name="account_platform_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(handle_normalized=""), name="account_handle_not_empty"
            ),
            # A stored avatar always has its perceptual hash (cases.services.avatars).
            models.CheckConstraint(
                condition=models.Q(avatar="") | ~models.Q(avatar_phash=""), name="account_avatar_has_phash"
            ),
        ]
        indexes = [
            models.Index(fields=["team", "kind"], name="account_team_kind"),
            models.Index(fields=["team", "external_id"], name="account_team_external_id"),
        ]

    def __str__(self) -> str:
        return f"{self.get_platform_display()} @{self.handle}"


class Post(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="posts")
    external_id = models.CharField(max_length=100, blank=True)
    url = models.URLField(max_length=2000, blank=True)
    text = models.TextField(blank=True)
    posted_at = models.DateTimeField(null=True, blank=True)
    is_repost = models.BooleanField(default=False)
    links = models.JSONField(default=list, blank=True)
    copied_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="copies"
    )
    copy_similarity = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-posted_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "external_id"],
                condition=~models.Q(external_id=""),
                name="post_unique_external_id_per_account",
            ),
            models.CheckConstraint(
                condition=models.Q(copy_similarity__isnull=True)
                | models.Q(copy_similarity__gte=0, copy_similarity__lte=1),
                name="post_copy_similarity_0_1",
            ),
        ]
        indexes = [models.Index(fields=["account", "-posted_at"], name="post_account_recent")]

    def __str__(self) -> str:
        return f"{self.account}: {self.text[:60]}"


class MediaBrand(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="media_brands")
    name = models.CharField(max_length=300)
    impersonates = models.CharField(max_length=300, blank=True, help_text="The real outlet it copies.")
    description = models.TextField(blank=True)
    logo = models.ImageField(upload_to="logos/", blank=True)
    logo_phash = models.CharField(max_length=16, blank=True)
    accounts = models.ManyToManyField(Account, through="BrandAccount", related_name="media_brands")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["team", "name"], name="brand_unique_name_per_team")]

    def __str__(self) -> str:
        return self.name


class BrandDomain(models.Model):
    brand = models.ForeignKey(MediaBrand, on_delete=models.CASCADE, related_name="domains")
    # Stored refanged and lower-cased ("bild.pics"); shown defanged ("bild[.]pics").
    domain = models.CharField(max_length=253)
    first_seen = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["domain"]
        constraints = [models.UniqueConstraint(fields=["brand", "domain"], name="brand_domain_unique")]
        indexes = [models.Index(fields=["domain"], name="brand_domain_domain")]

    def __str__(self) -> str:
        return self.domain


class BrandRole(models.TextChoices):
    RUNS = "runs", "Runs"
    AMPLIFIES = "amplifies", "Amplifies"


class BrandAccount(models.Model):
    brand = models.ForeignKey(MediaBrand, on_delete=models.CASCADE)
    account = models.ForeignKey(Account, on_delete=models.CASCADE)
    role = models.CharField(max_length=20, choices=BrandRole.choices, default=BrandRole.AMPLIFIES)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["brand", "account"], name="brand_account_unique")]

    def __str__(self) -> str:
        return f"{self.account} {self.role} {self.brand}"
