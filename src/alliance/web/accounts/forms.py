"""Forms for clinic administration. None has a field for Django's staff or superuser flags, so a
clinic admin cannot grant them whatever is posted."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator

from alliance.web.accounts.models import Clinic, Role, Team, User


class TeamChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name)  # the clinic is the admin's own


def _teams(clinic: Clinic) -> forms.ModelChoiceField:
    return TeamChoiceField(
        queryset=Team.objects.filter(clinic=clinic).order_by("name"),
        required=False,
        empty_label="(no team)",
        help_text="Counselors and supervisors belong to a team.",
    )


def _require_team(form: forms.Form) -> None:
    """Counselors and supervisors need a team of this clinic; admins may have none."""
    role, team = form.cleaned_data.get("role"), form.cleaned_data.get("team")
    if role in (Role.COUNSELOR, Role.SUPERVISOR) and team is None:
        form.add_error("team", "Counselors and supervisors belong to a team; choose one.")


def _check_passwords(form: forms.Form, user: User | None) -> None:
    """Two matching entries, checked with the site's password validators."""
    first, second = form.cleaned_data.get("password1"), form.cleaned_data.get("password2")
    if not first or not second:
        return
    if first != second:
        form.add_error("password2", "The two passwords differ.")
        return
    try:
        validate_password(first, user)
    except forms.ValidationError as exc:
        form.add_error("password1", exc)


def _password_fields() -> tuple[forms.CharField, forms.CharField]:
    widget = forms.PasswordInput(attrs={"autocomplete": "new-password"})
    return (
        forms.CharField(label="New password", strip=False, widget=widget),
        forms.CharField(label="New password again", strip=False, widget=widget),
    )


class StaffCreateForm(forms.Form):
    username = forms.CharField(
        label="Login name",
        max_length=150,
        validators=[UnicodeUsernameValidator()],
        help_text="Letters, digits and @ . + - _ only.",
    )
    first_name = forms.CharField(label="First name", max_length=150, required=False)
    last_name = forms.CharField(label="Last name", max_length=150, required=False)
    email = forms.EmailField(
        label="Email (optional)",
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "email", "autocomplete": "off"}),
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.COUNSELOR)

    def __init__(self, clinic: Clinic, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"] = _teams(clinic)
        self.fields["password1"], self.fields["password2"] = _password_fields()
        self.fields["password1"].label = "Initial password"
        self.fields["password2"].label = "Initial password again"

    def clean_username(self) -> str:
        username: str = self.cleaned_data["username"].strip()
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("That login name is taken.")
        return username

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        _require_team(self)
        probe = User(username=cleaned.get("username", ""), email=cleaned.get("email", ""))
        _check_passwords(self, probe)
        return cleaned

    def account(self) -> dict[str, Any]:
        """The cleaned fields as ``services.create_staff`` takes them."""
        fields = ("username", "first_name", "last_name", "email", "role", "team")
        return {
            **{k: self.cleaned_data[k] for k in fields},
            "password": self.cleaned_data["password1"],
        }


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)

    def __init__(self, clinic: Clinic, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"] = _teams(clinic)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        _require_team(self)
        return cleaned


class PasswordResetForm(forms.Form):
    def __init__(self, target: User, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.target = target
        self.fields["password1"], self.fields["password2"] = _password_fields()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        _check_passwords(self, self.target)
        return cleaned


class TeamForm(forms.Form):
    name = forms.CharField(label="Team name", max_length=100, strip=True)
