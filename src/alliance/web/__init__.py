"""The clinic web app (Django): sits on alliance.core and holds no clinical logic."""
