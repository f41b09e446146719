from django.contrib import admin
from django.urls import include, path

from frontend.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/", include("cases.api.urls")),
    path("", include("frontend.urls")),
]

# JSON errors in the API's shape on /api/ paths; the HTML pages everywhere else.
handler400 = "cases.api.exceptions.handler400"
handler403 = "cases.api.exceptions.handler403"
handler404 = "cases.api.exceptions.handler404"
handler500 = "cases.api.exceptions.handler500"
