from django.urls import include, path

urlpatterns = [
    path("api/", include("safestep.api.urls")),
    path("audit/", include("safestep.audit.urls")),
    path("dashboard/", include("safestep.reports.urls")),
    path("reminders/", include("safestep.notify.urls")),
    path("", include("safestep.accounts.urls")),
    path("", include("safestep.web.urls")),
]

# A database that cannot be reached answers 503 (try again), not 500.
handler500 = "safestep.core.unavailable.server_error"
