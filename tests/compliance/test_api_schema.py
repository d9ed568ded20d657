"""schemathesis over the served OpenAPI document, in-process (WSGI): every operation, bounded examples.

Each operation is called with a supervisor's token over a street with a real case, notices and evidence; the
checks: no 5xx, every status and content type documented, every body matching its schema. Generated ids are
mostly absent (404); tests/compliance/test_api.py asks for real ids in and out of scope.
"""
from __future__ import annotations

import collections
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, negative_data_rejection,
                                               response_headers_conformance, response_schema_conformance,
                                               status_code_conformance)

from compliance.clock import business_date
from compliance.testing import VISIT, refuse_after_visit, serve_issued

#: Examples per operation: bounded so `make test` stays fast (COMPLIANCE_API_FUZZ_EXAMPLES to explore more).
EXAMPLES = int(os.environ.get("COMPLIANCE_API_FUZZ_EXAMPLES", "12"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
#: negative_data_rejection only where the request is really invalid as sent: in negative mode schemathesis may
#: "break" the Authorization header (from the security scheme), which these tests always send, so a request it
#: counts as invalid can arrive valid. Negative requests are checked for 5xx and for documented answers.
POSITIVE_CHECKS = [*CHECKS, negative_data_rejection]


@pytest.fixture
def fuzz_world(app, session, supervisor, make_case, now, send_letters):
    """A supervisor's token, a case with an issued and served letter and a draft; throttling out of the way."""
    from compliance.api.auth import Throttle
    from compliance.operations import tokens
    from compliance.operations.cases import fire_trigger
    import datetime as dt
    case = make_case()
    fire_trigger(session, case.id, "record_visit", VISIT, actor=supervisor, now=now)
    send_letters(case.id, now)
    # The visit letter served: GET /notices/{id} then carries a real service record for the schema check.
    serve_issued(session, case.id, actor=supervisor, served_on=business_date(now), now=now)
    refuse_after_visit(session, case.id, actor=supervisor, now=now)   # the opinion may go out before the period lapses
    fire_trigger(session, case.id, "issue_opinion", {}, actor=supervisor, now=now)
    _token, secret = tokens.create_token(session, actor=supervisor, name="fuzz", now=dt.datetime.now(dt.timezone.utc))
    session.commit()
    original = app.extensions["compliance.api.throttle"]
    app.extensions["compliance.api.throttle"] = Throttle(type("C", (), {"config": {
        "API_RATE_LIMIT": "100000/minute", "API_FAILED_AUTH_LIMIT": "100000/minute"}})())
    yield {"Authorization": f"Bearer {secret}"}
    app.extensions["compliance.api.throttle"] = original


def _ids(session, supervisor):
    """Real ids of the fuzz world's rows, by path parameter name."""
    from sqlalchemy import select

    from compliance.models import Case, Notice
    case = session.scalars(select(Case).order_by(Case.id.desc()).limit(1)).first()
    notice = session.scalars(select(Notice).where(Notice.case_id == case.id).order_by(Notice.id)).first()
    return {"case_id": case.id, "enterprise_id": case.enterprise_id, "notice_id": notice.id}


def _draft_id(session):
    from sqlalchemy import select

    from compliance.models import Notice
    return session.scalar(select(Notice.id).where(Notice.status == "draft").order_by(Notice.id.desc()).limit(1))


def _describe(exc: BaseException) -> str:
    parts = [f"{type(exc).__name__}: {exc}"]
    for sub in getattr(exc, "exceptions", ()):
        parts.append(_describe(sub))
    return "\n".join(parts)[:4000]


def _run(app, headers, mode, path_parameters=None):
    """Every operation of the served document: EXAMPLES generated requests each; the failures, by operation."""
    from hypothesis import given

    api = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures, statuses = {}, collections.Counter()
    for result in api.get_all_operations():
        operation = result.ok()
        wanted = {k: v for k, v in (path_parameters or {}).items()
                  if any(p.name == k for p in operation.path_parameters)}
        if path_parameters is not None and not wanted:
            continue
        strategy = operation.as_strategy(generation_mode=mode, path_parameters=wanted or None)

        @given(strategy)
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            response = case.call_and_validate(headers=headers, checks=POSITIVE_CHECKS if mode.is_positive else CHECKS)
            statuses[(operation.label, response.status_code)] += 1

        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:   # noqa: BLE001 - reported below, with the operation
            failures[operation.label] = _describe(exc)
    return failures, statuses


@pytest.mark.slow
@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE],
                         ids=str)
def test_every_operation_matches_the_document(app, fuzz_world, mode):
    failures, statuses = _run(app, fuzz_world, mode)
    assert not failures, "\n\n".join(f"{k}\n{v}" for k, v in failures.items())


@pytest.mark.slow
def test_every_operation_on_real_rows_matches_the_document(app, session, supervisor, fuzz_world):
    failures, statuses = _run(app, fuzz_world, schemathesis.GenerationMode.POSITIVE, _ids(session, supervisor))
    assert not failures, "\n\n".join(f"{k}\n{v}" for k, v in failures.items())
    # The real rows were reached: every read of them answered 200 at least once.
    for label in ("GET /api/v1/cases/{case_id}", "GET /api/v1/cases/{case_id}/transitions",
                  "GET /api/v1/cases/{case_id}/events", "GET /api/v1/notices/{notice_id}",
                  "GET /api/v1/enterprises/{enterprise_id}"):
        assert statuses[(label, 200)] > 0, (label, statuses)
    # The notice actions reached the operation on the issued letter (its refusals, or a change): never only 404.
    for label in ("POST /api/v1/notices/{notice_id}/service", "PUT /api/v1/notices/{notice_id}/service",
                  "POST /api/v1/notices/{notice_id}/withdraw", "POST /api/v1/notices/{notice_id}/return"):
        answered = {code for (op, code) in statuses if op == label}
        assert answered - {404}, (label, answered)


@pytest.mark.slow
def test_every_notice_operation_on_a_real_draft_matches_the_document(app, session, fuzz_world):
    """Draft edits with generated facts (text, numbers, lists of rows) reach the drafts' own checks: never a 5xx."""
    failures, statuses = _run(app, fuzz_world, schemathesis.GenerationMode.POSITIVE,
                              {"notice_id": _draft_id(session)})
    assert not failures, "\n\n".join(f"{k}\n{v}" for k, v in failures.items())
    assert statuses[("GET /api/v1/notices/{notice_id}", 200)] > 0, statuses
