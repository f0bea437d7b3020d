from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

admin.site.site_header = _("Yantai Housing Provident Fund: flexible-employment pilot")
admin.site.site_title = _("Housing fund back office")
admin.site.index_title = _("Counter and back office")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(url_name="api-schema"),
        name="api-docs",
    ),
    path("api/v1/", include("banks.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
]
