"""alliance: make the therapeutic relationship visible, session by session."""

__version__ = "0.1.0"
