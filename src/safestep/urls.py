from django.urls import include, path

urlpatterns = [
    path("api/", include("safestep.api.urls")),
    path("", include("safestep.web.urls")),
]
