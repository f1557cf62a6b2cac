from django.urls import include, path

urlpatterns = [
    path("api/", include("safestep.api.urls")),
    path("audit/", include("safestep.audit.urls")),
    path("dashboard/", include("safestep.reports.urls")),
    path("reminders/", include("safestep.notify.urls")),
    path("", include("safestep.accounts.urls")),
    path("", include("safestep.web.urls")),
]
