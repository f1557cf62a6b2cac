from django.urls import path

from safestep.audit import views

app_name = "audit"

urlpatterns = [path("", views.audit_page, name="trail")]
