from django.urls import path

from safestep.accounts import views

app_name = "accounts"

urlpatterns = [
    path("signin/", views.signin, name="signin"),
    path("signin/code/", views.second_factor, name="second-factor"),
    path("signin/enrol/", views.enrol, name="enrol"),
    path("signout/", views.signout, name="signout"),
    path("account/password/", views.password_change, name="password-change"),
    # The idle timer: how long is left (GET), and "Stay signed in" (POST).
    path("session/", views.session_status, name="session"),
]
