from rest_framework.negotiation import DefaultContentNegotiation


class FirstRendererNegotiation(DefaultContentNegotiation):
    """The API speaks JSON (the export also CSV, chosen by its ``format`` parameter), so the
    ``Accept`` header selects nothing and can never turn a request into a 406."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type
