"""One error shape under /api/ and /tus/, RFC 9457 problem+json, whoever answers: a DRF
view, a refused service call, a tus view, the lost-database middleware, or Django's own
400/404/500 handlers; the usual pages elsewhere; and the schema documents it."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.views import APIView

from config import urls as config_urls
from reports.api.errors import partner_exception_handler
from reports.services import ServiceError
from tests.factories.problems import assert_problem

pytestmark = pytest.mark.django_db

UNAVAILABLE_ES = (
    "No pudimos guardar esto en este momento. No se guardó nada de lo que envió; "
    "por favor, inténtelo de nuevo en un minuto."
)


class ExampleRefused(ServiceError):
    code: ClassVar[str] = "example_refused"
    status: ClassVar[int] = 423


class RefusingView(APIView):
    authentication_classes: list[type] = []
    permission_classes: list[type] = []
    refusal: ClassVar[type[Exception]] = ExampleRefused

    def get(self, request: Request) -> HttpResponse:
        raise self.refusal("The report is locked by another moderator.")


class RefusingPartnerView(RefusingView):
    def get_exception_handler(self) -> Any:
        return partner_exception_handler


def _boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("forced failure")


def _database_lost(request: HttpRequest) -> HttpResponse:
    raise OperationalError("server closed the connection unexpectedly")


# This module is also the URLconf of the tests that need views which fail on purpose.
urlpatterns = [
    path("api/test/refused/", RefusingView.as_view()),
    path("api/test/plain-refused/", RefusingView.as_view(refusal=ServiceError)),
    path("api/test/partner-forbidden/", RefusingPartnerView.as_view(refusal=PermissionDenied)),
    path("api/test/boom/", _boom),
    path("tus/test/boom/", _boom),
    path("test/boom/", _boom),
    path("api/test/database-lost/", _database_lost),
    path("tus/test/database-lost/", _database_lost),
    path("test/database-lost/", _database_lost),
    *config_urls.urlpatterns,
]
handler400 = config_urls.handler400
handler404 = config_urls.handler404
handler500 = config_urls.handler500


@pytest.fixture
def failing_urls(settings: Any) -> None:
    settings.ROOT_URLCONF = __name__


def test_unknown_paths_under_api_and_tus_answer_problem_404_and_a_page_elsewhere() -> None:
    for url in ("/api/v1/no-such-thing/", "/api/", "/tus/a/b/"):
        assert_problem(Client().get(url), status=404, code="not_found", detail="Not found.")
    page = Client().get("/no-such-page/")
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")


def test_wrong_method_answers_problem_405_from_drf_and_from_tus() -> None:
    response = Client().get("/api/v1/intake/reports/")
    assert_problem(
        response, status=405, code="method_not_allowed", detail='Method "GET" not allowed.'
    )
    assert "POST" in response["Allow"]
    tus = Client().get("/tus/", headers={"tus-resumable": "1.0.0"})
    assert_problem(
        tus,
        status=405,
        code="method_not_allowed",
        detail="The upload could not be understood. Please try again.",
    )
    assert tus["Tus-Resumable"] == "1.0.0"


def test_crash_answers_problem_500_under_api_and_tus_and_a_page_elsewhere(
    failing_urls: None,
) -> None:
    client = Client(raise_request_exception=False)
    for url in ("/api/test/boom/", "/tus/test/boom/"):
        response = client.get(url)
        assert_problem(
            response,
            status=500,
            code="server_error",
            detail="Something went wrong on our side.",
        )
        assert b"forced failure" not in response.content
    page = client.get("/test/boom/")
    assert page.status_code == 500
    assert page["Content-Type"].startswith("text/html")


def test_lost_database_answers_translated_problem_503_under_api_and_tus_and_a_page_elsewhere(
    failing_urls: None,
) -> None:
    client = Client(headers={"accept-language": "es"})
    for url in ("/api/test/database-lost/", "/tus/test/database-lost/"):
        response = client.get(url)
        assert_problem(response, status=503, code="service_unavailable", detail=UNAVAILABLE_ES)
        assert (response["Retry-After"], response["Cache-Control"]) == ("30", "no-store")
    page = client.get("/test/database-lost/")
    assert (page.status_code, page["Retry-After"]) == (503, "30")
    assert page["Content-Type"].startswith("text/html")


def test_service_error_answers_its_own_status_and_code(failing_urls: None) -> None:
    assert_problem(
        Client().get("/api/test/refused/"),
        status=423,
        code="example_refused",
        detail="The report is locked by another moderator.",
    )


def test_service_error_without_its_own_code_answers_the_base_refusal(failing_urls: None) -> None:
    # A kind of ServiceError that names no code and status of its own takes the base's.
    assert (ServiceError.status, ServiceError.code) == (400, "refused")
    assert_problem(
        Client().get("/api/test/plain-refused/"),
        status=400,
        code="refused",
        detail="The report is locked by another moderator.",
    )


def test_partner_handler_turns_403_into_404(failing_urls: None) -> None:
    assert_problem(
        Client().get("/api/test/partner-forbidden/"),
        status=404,
        code="not_found",
        detail="Not found.",
    )


@pytest.mark.parametrize(
    ("data", "status", "code", "detail"),
    [
        # Over DATA_UPLOAD_MAX_MEMORY_SIZE (2 MB) of fields.
        (
            {"description": "a" * (3 << 20)},
            413,
            "too_large",
            "The request body is larger than accepted.",
        ),
        # Over DATA_UPLOAD_MAX_NUMBER_FIELDS (200).
        (
            {f"f{i}": "x" for i in range(201)},
            400,
            "bad_request",
            "The request could not be understood.",
        ),
    ],
)
def test_request_refused_before_the_view_answers_problem(
    data: dict[str, str], status: int, code: str, detail: str
) -> None:
    response = Client().post("/api/v1/intake/reports/", data)
    assert_problem(response, status=status, code=code, detail=detail)


# What Django's own handlers say, in each witness language: (404, 500, 413, 400).
HANDLER_DETAILS = {
    "es": (
        "No encontrado.",
        "Algo salió mal de nuestro lado.",
        "La solicitud es más grande de lo que podemos aceptar.",
        "No pudimos entender la solicitud.",
    ),
    "pt-br": (
        "Não encontrado.",
        "Algo deu errado do nosso lado.",
        "A solicitação é maior do que podemos aceitar.",
        "Não conseguimos entender a solicitação.",
    ),
    "ht": (
        "Nou pa jwenn sa.",
        "Yon bagay mal mache bò kote pa nou.",
        "Demann nan twò gwo pou nou aksepte l.",
        "Nou pa t ka konprann demann nan.",
    ),
}


@pytest.mark.parametrize("language", sorted(HANDLER_DETAILS))
def test_handlers_answer_in_the_witness_language(failing_urls: None, language: str) -> None:
    not_found, crashed, too_large, not_understood = HANDLER_DETAILS[language]
    client = Client(headers={"accept-language": language}, raise_request_exception=False)
    assert_problem(client.get("/tus/a/b/"), status=404, code="not_found", detail=not_found)
    assert_problem(client.get("/api/test/boom/"), status=500, code="server_error", detail=crashed)
    intake = "/api/v1/intake/reports/"
    assert_problem(
        client.post(intake, {"description": "a" * (3 << 20)}),
        status=413,
        code="too_large",
        detail=too_large,
    )
    assert_problem(
        client.post(intake, {f"f{i}": "x" for i in range(201)}),
        status=400,
        code="bad_request",
        detail=not_understood,
    )


def test_unsupported_body_answers_problem_415() -> None:
    response = Client().post("/api/v1/intake/reports/", b"{}", content_type="application/json")
    assert_problem(
        response,
        status=415,
        code="unsupported_media_type",
        detail='Unsupported media type "application/json" in request.',
    )


def test_schema_documents_problem_responses_on_every_operation() -> None:
    schema = Client().get("/api/schema/", {"format": "json"}).json()
    problem = schema["components"]["schemas"]["Problem"]
    assert sorted(problem["required"]) == ["code", "detail", "status", "title", "type"]
    assert sorted(problem["properties"]) == ["code", "detail", "errors", "status", "title", "type"]
    documented: set[int] = set()
    for url, operations in schema["paths"].items():
        for method, operation in operations.items():
            errors = {int(s): r for s, r in operation["responses"].items() if int(s) >= 400}
            assert 503 in errors, (url, method)
            for status, response in errors.items():
                assert response["content"] == {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                }, (url, method, status)
            documented |= set(errors)
    assert documented >= {400, 401, 404, 409, 413, 415, 422, 429, 503}
    assert "application/problem+json" in schema["info"]["description"]
