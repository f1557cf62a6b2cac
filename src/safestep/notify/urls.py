from django.urls import path

from safestep.notify import views

app_name = "notify"

urlpatterns = [
    path("", views.preferences, name="preferences"),
]
