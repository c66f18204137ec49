"""What several suite modules check the same way; a module of its own so that no test module
imports another (pytest collects only ``test_*.py``, so nothing here is collected as a test)."""

from conformance.wire import notes
from conformance.wire.checks import error_body_problems


def finished(transcript):
    """The transcript of a stream that ended normally: no recording error, HTTP 200."""
    assert transcript.error is None, transcript.error
    assert transcript.status == 200, f"HTTP {transcript.status}: {transcript.body[:300]}"
    return transcript


def error_body(response, evidence):
    """The response's error body, valid against http-error.schema.json (ERROR-BODY-1); members
    it does not know are allowed, and noted."""
    body = response.json()
    assert error_body_problems(body) == [], body
    for member in body if isinstance(body, dict) else ():
        if member not in notes.ERROR_MEMBERS:
            evidence.note(
                notes.unknown_error_member(member, "ERROR-BODY-1"),
                f"HTTP {response.status_code} of {response.request.url.path}",
            )
    return body
