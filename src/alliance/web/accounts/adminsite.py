"""Django admin for platform operators only, with every view audited.

Admin sees across clinics, so it is closed to every clinic user whatever their flags; clinic
admins manage their own clinic in the app (``alliance.web.accounts.staff``). The permission is
decided here, in one place, and each admin view is wrapped so reads (lists, change forms),
password changes and deletions land in the audit trail with ids only.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import update_wrapper
from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse

from alliance.web.audit.log import record

View = Callable[..., HttpResponse]

#: Admin view method -> audit action, for reads (GET) and for writes (POST).
READS = {
    "changelist_view": "admin_list",
    "change_view": "admin_read",
    "history_view": "admin_history",
    "add_view": "admin_add_form",
    "delete_view": "admin_delete_form",
    "user_change_password": "admin_password_form",
    "autocomplete_view": "admin_autocomplete",
    "index": "admin_index",
    "app_index": "admin_index",
    "password_change": "admin_own_password_form",
}
WRITES = {
    "change_view": "admin_change",
    "add_view": "admin_add",
    "delete_view": "admin_delete",
    "user_change_password": "admin_password_change",
    "password_change": "admin_own_password_change",
}
UNAUDITED = {"i18n_javascript", "logout"}


class PlatformAdminSite(admin.AdminSite):
    site_header = "alliance platform administration"

    def has_permission(self, request: HttpRequest) -> bool:
        return bool(getattr(request.user, "is_platform_operator", False))

    def admin_view(self, view: View, cacheable: bool = False) -> View:
        inner = super().admin_view(view, cacheable)
        name = getattr(view, "__name__", "")
        model_admin = getattr(view, "__self__", None)
        if name in UNAUDITED or (not hasattr(model_admin, "opts") and name not in READS):
            return inner

        def audited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not self.has_permission(request):
                if request.user.is_authenticated:
                    record(request, "admin_access", object_type="admin", outcome="denied")
                return inner(request, *args, **kwargs)
            targets = _targets(request, model_admin, kwargs)  # before the view: it may delete
            response = inner(request, *args, **kwargs)
            _record(request, name, model_admin, targets, response)
            return response

        return update_wrapper(audited, inner)


def _targets(request: HttpRequest, model_admin: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The objects a view acts on, by id: its ``object_id``, or a bulk action's selection."""
    if not hasattr(model_admin, "opts"):
        return {}
    object_id = kwargs.get("object_id", kwargs.get("id"))  # UserAdmin's password view: ``id``
    if object_id is not None:
        ids = [unquote(object_id)]
    elif request.method == "POST":
        ids = request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME)
    else:
        return {}
    found: dict[str, Any] = dict.fromkeys(ids)
    try:
        for obj in model_admin.model._default_manager.filter(pk__in=ids):
            found[str(obj.pk)] = obj
    except (ValueError, TypeError, ValidationError):
        pass  # a malformed id: admin itself answers 404
    return found


def _record(
    request: HttpRequest, name: str, model_admin: Any, targets: dict[str, Any], response: Any
) -> None:
    object_type = model_admin.opts.model_name if hasattr(model_admin, "opts") else "admin"
    done = response.status_code in (301, 302, 303)
    if request.method != "POST":
        action = READS.get(name, f"admin_{name}"[:40])
    elif name == "changelist_view":
        action = "admin_bulk_" + re.sub(r"[^a-z_]", "", request.POST.get("action", "edit"))[:29]
    else:
        action = WRITES.get(name, f"admin_{name}"[:40])
    # a POST that re-shows its page (errors, or a confirmation step) saved nothing
    outcome = "ok" if request.method != "POST" or done else "unsaved"
    if not targets:
        record(request, action, object_type=object_type, outcome=outcome)
    for object_id, obj in targets.items():
        record(request, action, obj, object_type=object_type, object_id=object_id, outcome=outcome)
