from django.contrib.auth import views as auth_views
from django.urls import path

from safestep.web import views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "signin/",
        auth_views.LoginView.as_view(
            template_name="web/signin.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("signout/", auth_views.LogoutView.as_view(), name="logout"),
    path("concerns/new/", views.concern_new, name="concern-new"),
    path("cases/<int:case_id>/", views.case_detail, name="case"),
    path("healthz", views.healthz, name="healthz"),
]
