import json

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class StrictJSONParser(JSONParser):
    """JSON that the database can store: lone UTF-16 surrogates (``"\\ud800"``) parse in Python
    but cannot be encoded to UTF-8, so they are refused here as a 400 instead of failing later."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ParseError(
                "JSON parse error - the body contains invalid Unicode (lone surrogates)."
            ) from None
        return data
