from .accounts import (
    Account,
    AccountKind,
    AccountSource,
    BrandAccount,
    BrandDomain,
    BrandRole,
    MediaBrand,
    Platform,
    Post,
)
from .audit import AuditEvent
from .cases import (
    CaptureMethod,
    Case,
    CaseAccount,
    CaseStatus,
    Evidence,
    EvidenceFile,
    EvidenceKind,
    Priority,
)
from .jobs import Job, JobKind, JobStatus
from .review import (
    Assignment,
    AssignmentState,
    AttributionDecision,
    AttributionVote,
    Confidence,
    Label,
    Queue,
    QueueItem,
    Verdict,
)
from .similarity import SimilaritySuggestion, SuggestionStatus
from .taxonomy import Actor, ActorKind, Technique
from .teams import Membership, Role, Team
from .tokens import ApiToken

__all__ = [
    "Account",
    "AccountKind",
    "AccountSource",
    "Actor",
    "ActorKind",
    "ApiToken",
    "Assignment",
    "AssignmentState",
    "AttributionDecision",
    "AttributionVote",
    "AuditEvent",
    "BrandAccount",
    "BrandDomain",
    "BrandRole",
    "CaptureMethod",
    "Case",
    "CaseAccount",
    "CaseStatus",
    "Confidence",
    "Evidence",
    "EvidenceFile",
    "EvidenceKind",
    "Job",
    "JobKind",
    "JobStatus",
    "Label",
    "MediaBrand",
    "Membership",
    "Platform",
    "Post",
    "Priority",
    "Queue",
    "QueueItem",
    "Role",
    "SimilaritySuggestion",
    "SuggestionStatus",
    "Team",
    "Technique",
    "Verdict",
]
from .outcomes import AccountOutcome, Adjudication, Outcome  # lead console, review part

__all__ += ["AccountOutcome", "Adjudication", "Outcome"]
from .leads import CaseQueueStats, CaseQueueWatermark, QueueReviewer, SavedFilter  # noqa: E402

__all__ += ["CaseQueueStats", "CaseQueueWatermark", "QueueReviewer", "SavedFilter"]  # lead console
from .custody import CustodyAction, CustodyEvent  # noqa: E402  (browser capture, custody trail)

__all__ += ["CustodyAction", "CustodyEvent"]
