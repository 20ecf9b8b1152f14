"""Nothing of this app is edited in Django admin: client data is audited in the app."""
