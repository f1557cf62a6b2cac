from django.urls import path

from safestep.reports import views

app_name = "reports"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]
