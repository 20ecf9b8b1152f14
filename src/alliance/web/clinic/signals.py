"""What the clinic app announces to the apps above it (alerts), which it must not import."""

from django.dispatch import Signal

#: Sent with ``clinic_id`` when an episode closes: the alerts app refits the clinic's
#: expected-response reference, which is fitted from closed episodes.
episode_closed = Signal()
