from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from cases.models import ApiToken


class TokenRateThrottle(SimpleRateThrottle):
    """A request budget per API token (``DEFAULT_THROTTLE_RATES["token"]``, e.g. ``600/min``).

    Scripts are what can hammer the server; browser sessions are people and are not counted.
    Counts live in Django's default cache, so they are per process unless a shared cache
    (Redis) is configured.
    """

    scope = "token"

    def get_rate(self):
        # Read on every request rather than once at import, so a changed setting applies.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, ApiToken):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}
