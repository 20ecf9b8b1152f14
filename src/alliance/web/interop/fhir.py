"""The web app's records as FHIR R4 bundles, read through ``alliance.web.clinic.access``.

Rows become the core's plain records here and ``alliance.core.fhir`` builds the resources, so
the FHIR shapes live in one place. These functions read and do not audit: the caller (the REST
API's views, ``alliance export fhir``) writes the audit event for the request it serves, with
``EXPORT_ACTION`` for an export.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, cast

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from alliance.core.fhir import (
    AdministrationRecord,
    PatientRecord,
    build_bundle,
    build_questionnaire,
    build_questionnaire_response,
    record_resources,
)
from alliance.core.instruments import Instrument
from alliance.core.registry import Registry
from alliance.web.accounts.http import AuthenticatedHttpRequest
from alliance.web.accounts.models import User
from alliance.web.audit.log import record
from alliance.web.clinic.access import clients_visible_to, get_for
from alliance.web.clinic.models import Administration, AdministrationStatus, Client
from alliance.web.clinic.services import registry

#: The audit action of a FHIR export (one event per export, against the client or the clinic).
EXPORT_ACTION = "fhir_export"
#: Clients read at a time by the whole-clinic export.
CHUNK = 200


def fhir_base() -> str:
    """Where the app serves FHIR (``ALLIANCE_BASE_URL`` + ``/fhir/R4``): bundles' fullUrls."""
    return f"{settings.ALLIANCE_BASE_URL.rstrip('/')}/fhir/R4"


def client_bundle(user: User, client: Client) -> dict[str, Any]:
    """A collection: the client's Patient, QuestionnaireResponses and Observations."""
    client = _visible(user, client)
    resources = _client_resources(client, _completed([client.pk]), registry())
    return build_bundle(resources, "collection", fhir_base())


def clinic_bundle(user: User) -> dict[str, Any]:
    """A collection of every client ``user`` may see, each as in :func:`client_bundle`."""
    return build_bundle(clinic_resources(user), "collection", fhir_base())


def clinic_resources(user: User) -> Iterator[dict[str, Any]]:
    """The resources of every client ``user`` may see, read ``CHUNK`` clients at a time so
    that memory stays flat however large the clinic (two queries per chunk)."""
    visible = clients_visible_to(user)
    ids = list(visible.order_by("pk").values_list("pk", flat=True))
    reg = registry()
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        by_client: dict[int, list[Administration]] = {pk: [] for pk in chunk}
        for administration in _completed(chunk):
            by_client[administration.session.episode.client_id].append(administration)
        for client in visible.filter(pk__in=chunk).order_by("pk"):
            yield from _client_resources(client, by_client[client.pk], reg)


def questionnaire_responses_bundle(user: User, client: Client) -> dict[str, Any]:
    """A searchset of the client's QuestionnaireResponses (``QuestionnaireResponse?patient=``)."""
    client = _visible(user, client)
    records = _records(client, _completed([client.pk]), registry())
    resources = [build_questionnaire_response(r) for r in records]
    return build_bundle(resources, "searchset", fhir_base())


def questionnaires_bundle() -> dict[str, Any]:
    """A searchset of every instrument's Questionnaire, with the site's licensed wording only."""
    resources = [build_questionnaire(instrument) for instrument in registry().all()]
    return build_bundle(resources, "searchset", fhir_base())


def export_resources(user: User, client_id: int | None = None) -> Iterator[dict[str, Any]]:
    """What ``alliance export fhir`` writes (with ``write_bundle``): one client's resources or,
    without ``client_id``, those of every client ``user`` may see. Access is checked and the
    one ``EXPORT_ACTION`` audit event written now, before any resource is read; a client
    ``user`` may not see is audited as denied and raises 404, as on the web."""
    request = _acting(user)
    if client_id is None:
        record(request, EXPORT_ACTION, object_type="clinic", object_id=user.clinic_id or "")
        return clinic_resources(user)
    client = get_for(request, Client, client_id, action=EXPORT_ACTION)
    return iter(_client_resources(client, _completed([client.pk]), registry()))


def _acting(user: User) -> AuthenticatedHttpRequest:
    """A request standing for ``user`` outside the web (the command line), for the audit log."""
    request = HttpRequest()
    request.user = user
    return cast(AuthenticatedHttpRequest, request)


def _visible(user: User, client: Client) -> Client:
    """The client again, if the access layer lets ``user`` read it; else 404, as for any
    client the user may not see (so ids reveal nothing)."""
    found = clients_visible_to(user).filter(pk=client.pk).first()
    if found is None:
        raise Http404("No such client")
    return found


def _completed(client_ids: Sequence[int]) -> QuerySet[Administration]:
    return (
        Administration.objects.filter(
            status=AdministrationStatus.COMPLETED, session__episode__client_id__in=client_ids
        )
        .select_related("session__episode")
        .order_by("session__episode__client_id", "completed_at", "pk")
    )


def _client_resources(
    client: Client, administrations: Iterable[Administration], reg: Registry
) -> list[dict[str, Any]]:
    return record_resources(_patient(client), _records(client, administrations, reg))


def _patient(client: Client) -> PatientRecord:
    return PatientRecord(
        id=str(client.pk),
        clinic_id=str(client.clinic_id),
        display_name=client.display_name,
        external_id=client.external_id,
        active=client.active,
    )


def _records(
    client: Client, administrations: Iterable[Administration], reg: Registry
) -> Iterator[AdministrationRecord]:
    instruments: dict[str, Instrument] = {}
    for administration in administrations:
        if administration.instrument not in instruments:
            instruments[administration.instrument] = reg.get(administration.instrument)
        yield _record(client, administration, instruments[administration.instrument])


def _record(
    client: Client, administration: Administration, instrument: Instrument
) -> AdministrationRecord:
    score = administration.score or {}
    return AdministrationRecord(
        id=str(administration.pk),
        patient_id=str(client.pk),
        instrument=instrument,
        authored=administration.completed_at or administration.created_at,
        answers=administration.answers,
        total=administration.total,
        severity=score.get("severity"),
        severity_label=score.get("severity_label"),
    )
