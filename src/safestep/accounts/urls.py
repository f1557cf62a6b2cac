from django.urls import path

from safestep.accounts import passkeys, views

app_name = "accounts"

urlpatterns = [
    path("signin/", views.signin, name="signin"),
    path("signin/code/", views.second_factor, name="second-factor"),
    path("signin/enrol/", views.enrol, name="enrol"),
    # Single sign-on through the district's identity provider (404 when not configured).
    path("signin/oidc/", views.sso_start, name="sso-start"),
    path("signin/oidc/callback/", views.sso_callback, name="sso-callback"),
    # Passkeys (accounts/passkeys.py): the second step of a sign-in, a first set-up's
    # backup codes, adding one (at first set-up or from "My account"), the user's list.
    path(
        "signin/passkey/begin/", passkeys.PasskeySigninBegin.as_view(), name="passkey-signin-begin"
    ),
    path(
        "signin/passkey/complete/",
        passkeys.PasskeySigninComplete.as_view(),
        name="passkey-signin-complete",
    ),
    path("signin/enrol/codes/", passkeys.passkey_codes, name="passkey-codes"),
    path(
        "passkeys/register/begin/",
        passkeys.PasskeyRegisterBegin.as_view(),
        name="passkey-register-begin",
    ),
    path(
        "passkeys/register/complete/",
        passkeys.PasskeyRegisterComplete.as_view(),
        name="passkey-register-complete",
    ),
    path("passkeys/i18n/", passkeys.javascript_catalog, name="passkey-i18n"),
    path("account/passkeys/", passkeys.passkeys, name="passkeys"),
    path("account/passkeys/remove/", passkeys.passkey_remove, name="passkey-remove"),
    path("signout/", views.signout, name="signout"),
    path("account/password/", views.password_change, name="password-change"),
    # The idle timer: how long is left (GET), and "Stay signed in" (POST).
    path("session/", views.session_status, name="session"),
]
