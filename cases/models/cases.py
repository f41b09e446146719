from django.conf import settings
from django.db import models

from .accounts import Account, MediaBrand, Post
from .taxonomy import Technique
from .teams import Team


class CaseStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_REVIEW = "in_review", "In review"
    DECIDED = "decided", "Decided"
    CLOSED = "closed", "Closed"


class Priority(models.IntegerChoices):
    LOW = 1, "Low"
    NORMAL = 2, "Normal"
    HIGH = 3, "High"
    URGENT = 4, "Urgent"


class CaseQuerySet(models.QuerySet):
    def for_team(self, team):
        return self.filter(team=team)

    def for_user(self, user):
        return self.filter(team__memberships__user=user)

    def open(self):
        return self.exclude(status__in=[CaseStatus.DECIDED, CaseStatus.CLOSED])


class Case(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="cases")
    title = models.CharField(max_length=300)
    summary = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="led_cases"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Denormalised counts for list pages; recomputed by a job, so they may lag by seconds.
    account_count = models.PositiveIntegerField(default=0)
    evidence_count = models.PositiveIntegerField(default=0)
    labeled_account_count = models.PositiveIntegerField(default=0)
    counts_updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["-priority", "-updated_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in CaseStatus]), name="case_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(priority__gte=Priority.LOW, priority__lte=Priority.URGENT),
                name="case_priority_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["team", "status", "-priority"], name="case_team_status_priority"),
            models.Index(fields=["team", "-updated_at"], name="case_team_recent"),
        ]

    def __str__(self) -> str:
        return self.title


class CaseAccount(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="case_accounts")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="case_links")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField(blank=True)
    suggestion = models.ForeignKey(
        "cases.SimilaritySuggestion", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["added_at"]
        constraints = [models.UniqueConstraint(fields=["case", "account"], name="case_account_unique")]

    def __str__(self) -> str:
        return f"{self.account} in {self.case}"


class EvidenceKind(models.TextChoices):
    REPOST = "repost", "Repost (copy of a source post)"
    MEDIA_BRAND = "media_brand", "Fake media brand"
    SCREENSHOT = "screenshot", "Screenshot"
    PAGE_CAPTURE = "page_capture", "Page capture"
    LINK = "link", "Link"
    NOTE = "note", "Note"
    INDICATOR = "indicator", "Published indicator"
    RETRACTION = "retraction", "Retraction"


class CaptureMethod(models.TextChoices):
    UPLOAD = "upload", "Uploaded in the app"
    EXTENSION = "extension", "Browser extension"
    BOOKMARKLET = "bookmarklet", "Bookmarklet"
    IMPORT = "import", "Import"
    API = "api", "API"
    MANUAL = "manual", "Typed in the app"


class EvidenceQuerySet(models.QuerySet):
    def for_team(self, team):
        return self.filter(case__team=team)

    def active(self):
        """Evidence that stands: not retracted and not itself a retraction."""
        return self.exclude(kind=EvidenceKind.RETRACTION).filter(retracted_by__isnull=True)

    def update(self, **kwargs):
        raise TypeError("Evidence is immutable; record a retraction instead.")


class Evidence(models.Model):
    """One item of evidence. Immutable once stored (a database trigger refuses UPDATE).

    A correction is a new item that ``retracts`` the old one; the original stays as it was.
    """

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="evidence")
    kind = models.CharField(max_length=20, choices=EvidenceKind.choices)
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, null=True, blank=True, related_name="evidence"
    )
    post = models.ForeignKey(Post, on_delete=models.PROTECT, null=True, blank=True, related_name="evidence")
    brand = models.ForeignKey(
        MediaBrand, on_delete=models.PROTECT, null=True, blank=True, related_name="evidence"
    )
    title = models.CharField(max_length=500, blank=True)
    url = models.URLField(max_length=2000, blank=True)
    captured_text = models.TextField(blank=True)
    # For reposts: the real post that was copied.
    source_url = models.URLField(max_length=2000, blank=True)
    source_author = models.CharField(max_length=300, blank=True)
    source_text = models.TextField(blank=True)
    copy_similarity = models.FloatField(null=True, blank=True)
    techniques = models.ManyToManyField(Technique, blank=True, related_name="evidence")
    captured_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    captured_at = models.DateTimeField()
    capture_method = models.CharField(max_length=20, choices=CaptureMethod.choices)
    persona = models.CharField(max_length=200, blank=True, help_text="Research account used (OPSEC record)")
    user_agent = models.CharField(max_length=500, blank=True)
    # SHA-256 over the canonical JSON of the fields above and the hashes of every file.
    content_sha256 = models.CharField(max_length=64)
    retracts = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="retracted_by"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = EvidenceQuerySet.as_manager()

    class Meta:
        ordering = ["-captured_at", "-id"]
        verbose_name_plural = "evidence"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(copy_similarity__isnull=True)
                | models.Q(copy_similarity__gte=0, copy_similarity__lte=1),
                name="evidence_copy_similarity_0_1",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=[k.value for k in EvidenceKind]), name="evidence_kind_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(kind=EvidenceKind.RETRACTION) | models.Q(retracts__isnull=False),
                name="evidence_retraction_names_original",
            ),
        ]
        indexes = [models.Index(fields=["case", "-captured_at"], name="evidence_case_recent")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} on {self.case}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise TypeError("Evidence is immutable; record a retraction instead.")
        super().save(*args, **kwargs)

    @property
    def is_retracted(self) -> bool:
        return hasattr(self, "retracted_by")


class EvidenceFile(models.Model):
    """A stored artefact of an evidence item, with the SHA-256 of its bytes. Immutable."""

    class Role(models.TextChoices):
        SCREENSHOT = "screenshot", "Screenshot"
        PAGE_CAPTURE = "page_capture", "Page capture"
        LOGO = "logo", "Logo"
        ATTACHMENT = "attachment", "Attachment"

    evidence = models.ForeignKey(Evidence, on_delete=models.PROTECT, related_name="files")
    role = models.CharField(max_length=20, choices=Role.choices)
    file = models.FileField(upload_to="evidence/%Y/%m/")
    original_name = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    phash = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["sha256"], name="evidence_file_sha256")]

    def __str__(self) -> str:
        return f"{self.role} {self.sha256[:12]}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise TypeError("Evidence files are immutable.")
        super().save(*args, **kwargs)
