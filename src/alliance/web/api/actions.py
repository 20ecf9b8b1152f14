"""The audit action names the API adds (the pages' own names are reused where the API does the
same thing: ``view``, ``alert_ack``, ``outcomes_view``)."""

#: A bearer token was refused (unknown, expired, revoked) or ran into the rate limit.
AUTH = "api_auth"
#: A list endpoint; the object id is what was listed (e.g. ``client`` or ``client:7``).
LIST = "api_list"
#: A call refused before it ran (invalid parameters).
REFUSED = "api_call"
TOKEN_CREATE = "token_create"
TOKEN_REVOKE = "token_revoke"
