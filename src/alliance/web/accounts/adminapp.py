"""Installed in place of ``django.contrib.admin``, so ``admin.site`` is the platform site.

Kept apart from ``adminsite`` because app configs load before models are ready."""

from django.contrib.admin.apps import AdminConfig


class PlatformAdminConfig(AdminConfig):
    default_site = "alliance.web.accounts.adminsite.PlatformAdminSite"
