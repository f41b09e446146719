from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination


class ApiPagination(PageNumberPagination):
    """``{"count", "next", "previous", "results"}``; ``?page_size=`` from 1 to 500 (larger values
    are capped at 500). A page that is not a whole number is a 400; one past the end a 404."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            value = int(raw)
        except ValueError:
            raise ValidationError({self.page_size_query_param: ["A whole number is required."]}) from None
        if value < 1:
            raise ValidationError({self.page_size_query_param: ["Must be at least 1."]})
        return min(value, self.max_page_size)

    def get_page_number(self, request, paginator):
        raw = request.query_params.get(self.page_query_param)
        if raw is None:
            return 1
        if raw in self.last_page_strings:
            return paginator.num_pages
        try:
            value = int(raw)
        except ValueError:
            raise ValidationError({self.page_query_param: ["A whole number is required."]}) from None
        if value < 1:
            raise ValidationError({self.page_query_param: ["Must be at least 1."]})
        return value

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = (
                    f"Results per page, default {self.page_size}; values above {self.max_page_size} "
                    f"are capped at {self.max_page_size}."
                )
            elif parameter["name"] == self.page_query_param:
                parameter["description"] = "Page number, from 1. A page past the last one is a 404."
        return parameters
