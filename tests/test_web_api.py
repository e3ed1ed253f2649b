"""The HTTP API against a real uvicorn server on 127.0.0.1, with the real answering core."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bot.config import Settings
from tests.web_server import serve

ALLOWED = "http://allowed.example"
THREE_PUBLIC_TABLE = "一般公共预算“三公”经费支出情况表"
ANSWER_KEYS = {"status", "text", "figures", "citations", "suggestions", "options", "session_id", "id", "chart"}
CJK = re.compile(r"[\u4e00-\u9fff]")
GOLDEN = Path(__file__).parent / "data" / "questions.jsonl"


# `assistant` is conftest's session-wide real core over a database built in a temp dir.


@pytest.fixture(scope="module")
def web_settings():
    return Settings.from_env({"BUDGETBOT_ALLOWED_ORIGINS": ALLOWED, "BUDGETBOT_RATE_LIMIT": "100000"})


@pytest.fixture(scope="module")
def base(web_settings, assistant):
    with serve(web_settings, assistant) as url:
        yield url


@pytest.fixture
def client(base):
    with httpx.Client(base_url=base, timeout=10) as http:
        yield http


def ask(client: httpx.Client, question, session_id=None, **kwargs) -> httpx.Response:
    body = {"question": question} if session_id is None else {"question": question, "session_id": session_id}
    return client.post("/api/ask", json=body, **kwargs)


def figure_values(answer: dict) -> set[str]:
    return {figure["value"] for figure in answer["figures"]}


def assert_clean_error(response: httpx.Response, status: int, error: str) -> dict:
    """A 4xx/5xx the API promises: JSON {error, message}, the message in Chinese, nothing internal leaked."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "message"}
    assert body["error"] == error
    assert CJK.search(body["message"])
    for leak in ("Traceback", "File \"", "/work", ".py", "site-packages"):
        assert leak not in response.text
    return body


# --- answers -------------------------------------------------------------------------------------------


def test_three_public_expenses_answered_with_figure_and_citation(client):
    response = ask(client, "三公经费多少")
    assert response.status_code == 200
    answer = response.json()
    assert set(answer) == ANSWER_KEYS
    assert answer["status"] == "answered"
    assert "4.30" in answer["text"]
    assert "4.30" in figure_values(answer)
    assert THREE_PUBLIC_TABLE in {citation["table"] for citation in answer["citations"]}
    assert re.fullmatch(r"[A-Za-z0-9_-]{16,64}", answer["session_id"])


def test_response_is_exactly_the_core_answer(client, assistant):
    served = ask(client, "三公经费多少").json()
    direct = assistant.answer("三公经费多少", "direct-comparison").to_dict()
    direct["session_id"] = served["session_id"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", served["id"]) and served["id"] != direct["id"]  # each answer its own
    direct["id"] = served["id"]
    assert served == direct


def test_follow_up_uses_the_same_session_across_requests(client):
    first = ask(client, "局本级预算多少").json()
    assert first["status"] == "answered"
    follow_up = ask(client, "那大数据中心呢？", first["session_id"]).json()
    assert follow_up["session_id"] == first["session_id"]
    assert follow_up["status"] == "answered"
    assert "1,359.80" in follow_up["text"] or "1359.80" in follow_up["text"]
    assert figure_values(follow_up) & {"1,359.80", "1359.80"}


def test_golden_questions_over_http_match_the_core(client, assistant):
    """Every question of tests/data/questions.jsonl, after its context in one HTTP session, gets exactly the
    answer the core gives the same conversation directly (a blank question is the API's 422 instead)."""
    rows = [json.loads(line) for line in GOLDEN.read_text(encoding="utf-8").splitlines() if line.strip()]
    wrong = []
    for row in rows:
        if not row["question"].strip():
            assert_clean_error(ask(client, row["question"]), 422, "empty_question")
            continue
        session = None
        for question in row["context"]:
            session = ask(client, question, session).json()["session_id"]
            assistant.answer(question, f"golden-web:{row['id']}")
        served = ask(client, row["question"], session).json()
        expected = assistant.answer(row["question"], f"golden-web:{row['id']}").to_dict()
        expected["session_id"], expected["id"] = served["session_id"], served["id"]
        if served != expected:
            wrong.append((row["id"], row["question"]))
    assert not wrong


def test_each_request_without_session_starts_a_new_one(client):
    first = ask(client, "三公经费多少").json()["session_id"]
    second = ask(client, "三公经费多少").json()["session_id"]
    assert first != second


def test_client_chosen_session_id_is_kept(client):
    assert ask(client, "三公经费多少", "my-own_session-1").json()["session_id"] == "my-own_session-1"


def test_question_at_the_length_limit_is_accepted(client, web_settings):
    response = ask(client, "三公经费" + "多" * (web_settings.max_question_chars - 4))
    assert response.status_code == 200
    assert response.json()["status"] in {"answered", "clarify", "not_found"}


def test_suggestions_and_options_are_questions_the_api_accepts(client):
    answer = ask(client, "三公经费多少").json()
    for question in answer["suggestions"] + answer["options"]:
        follow_up = ask(client, question, answer["session_id"])
        assert follow_up.status_code == 200, question


# --- error paths ---------------------------------------------------------------------------------------

JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (b'{"question": ""}', 422, "empty_question"),
        (b'{"question": "   \\n "}', 422, "empty_question"),
        ('{"question": "%s"}' % ("预" * 501), 422, "question_too_long"),
        (b"this is not json", 400, "invalid_json"),
        (b'{"question": "\xff\xfe"}', 400, "invalid_json"),
        (b"[" * 10_000, 400, "invalid_json"),
        (b'{"question": "\\ud800\\u4e09\\u516c"}', 422, "invalid_question"),
        (b"", 400, "invalid_json"),
        ('["三公经费多少"]', 422, "invalid_request"),
        ('"三公经费多少"', 422, "invalid_request"),
        (b"{}", 422, "missing_question"),
        (b'{"question": 123}', 422, "invalid_question"),
        ('{"question": ["三公经费多少"]}', 422, "invalid_question"),
        ('{"question": "三公经费多少", "session_id": 5}', 422, "invalid_session_id"),
        ('{"question": "三公经费多少", "session_id": "../../etc/passwd"}', 422, "invalid_session_id"),
        ('{"question": "三公经费多少", "session_id": ""}', 422, "invalid_session_id"),
        ('{"question": "三公经费多少", "session_id": "abc\\n"}', 422, "invalid_session_id"),
    ],
    ids=[
        "empty", "blank", "too-long", "not-json", "not-utf8", "deep-nesting", "lone-surrogate", "no-body",
        "array", "string", "no-question", "question-number", "question-list", "session-number", "session-path", "session-empty",
        "session-newline",
    ],
)
def test_bad_requests_get_clear_chinese_errors(client, body, status, error):
    content = body.encode() if isinstance(body, str) else body
    assert_clean_error(client.post("/api/ask", content=content, headers=JSON), status, error)


def test_too_long_message_names_the_limit(client, web_settings):
    body = assert_clean_error(ask(client, "预" * 600), 422, "question_too_long")
    assert str(web_settings.max_question_chars) in body["message"]


def test_body_over_the_size_limit_is_refused(client):
    huge = b'{"question": "' + b"a" * 40_000 + b'"}'
    assert_clean_error(client.post("/api/ask", content=huge, headers=JSON), 413, "body_too_large")


def test_chunked_body_over_the_size_limit_is_refused(client):
    def chunks():
        yield b'{"question": "'
        for _ in range(50):
            yield b"a" * 1000
        yield b'"}'

    assert_clean_error(client.post("/api/ask", content=chunks(), headers=JSON), 413, "body_too_large")


def test_form_posts_are_refused(client):
    response = client.post("/api/ask", data={"question": "三公经费多少"})
    assert_clean_error(response, 415, "unsupported_media_type")


def test_unknown_path_and_wrong_method_are_json(client):
    assert_clean_error(client.get("/no/such/page"), 404, "not_found")
    wrong = client.get("/api/ask")
    assert_clean_error(wrong, 405, "method_not_allowed")
    assert "POST" in wrong.headers["allow"]


class Exploding:
    """A core that breaks its never-raise contract, with a path in the message that must not reach clients."""

    def answer(self, question, session_id):
        raise RuntimeError("/srv/secret/budget.sqlite is locked")

    def overview(self):
        return []


def test_internal_errors_expose_nothing(caplog):
    with serve(Settings.from_env({}), Exploding()) as url, httpx.Client(base_url=url) as http:
        response = ask(http, "三公经费多少")
    body = assert_clean_error(response, 500, "internal_error")
    assert "secret" not in response.text and "locked" not in body["message"]
    assert any("unhandled error" in record.message for record in caplog.records)


# --- origins (CORS) ------------------------------------------------------------------------------------


def test_requests_without_origin_are_served(client):
    """Programs (curl, servers) send no Origin: CORS is a browser matter."""
    response = ask(client, "三公经费多少")
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


def test_allowed_origin_gets_cors_headers(client):
    response = ask(client, "三公经费多少", headers={"Origin": ALLOWED})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "Origin" in response.headers["vary"]


def test_same_origin_is_allowed_by_default(client, base):
    assert ask(client, "三公经费多少", headers={"Origin": base}).status_code == 200


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://allowed.example.evil.example", "https://allowed.example"])
def test_disallowed_origin_is_refused(client, origin):
    response = ask(client, "三公经费多少", headers={"Origin": origin})
    assert_clean_error(response, 403, "origin_not_allowed")
    assert "access-control-allow-origin" not in response.headers
    assert_clean_error(client.get("/api/tables", headers={"Origin": origin}), 403, "origin_not_allowed")


def test_preflight(client):
    ok = client.options(
        "/api/ask",
        headers={"Origin": ALLOWED, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"},
    )
    assert ok.status_code == 204
    assert ok.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in ok.headers["access-control-allow-methods"]
    assert "content-type" in ok.headers["access-control-allow-headers"].lower()
    refused = client.options("/api/ask", headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
    assert_clean_error(refused, 403, "origin_not_allowed")


def test_default_settings_allow_only_the_same_origin(assistant):
    with serve(Settings.from_env({}), assistant) as url, httpx.Client(base_url=url) as http:
        assert ask(http, "三公经费多少", headers={"Origin": url}).status_code == 200
        assert ask(http, "三公经费多少", headers={"Origin": ALLOWED}).status_code == 403


def test_star_allows_any_origin(assistant):
    with serve(Settings.from_env({"BUDGETBOT_ALLOWED_ORIGINS": "*"}), assistant) as url, httpx.Client(base_url=url) as http:
        response = ask(http, "三公经费多少", headers={"Origin": "https://any.example"})
        assert response.headers["access-control-allow-origin"] == "https://any.example"
        assert ask(http, "三公经费多少", headers={"Origin": "null"}).status_code == 403


# --- rate limit ----------------------------------------------------------------------------------------


def test_rate_limit_answers_429_with_retry_after_per_client(assistant):
    with serve(Settings.from_env({"BUDGETBOT_RATE_LIMIT": "3"}), assistant) as url:
        with httpx.Client(base_url=url) as first:
            assert [ask(first, "三公经费多少").status_code for _ in range(3)] == [200, 200, 200]
            limited = ask(first, "三公经费多少")
            assert_clean_error(limited, 429, "rate_limited")
            assert int(limited.headers["retry-after"]) >= 1
            assert limited.headers["retry-after"] in limited.json()["message"]
        # Another client address (all of 127.0.0.0/8 is loopback) has its own allowance.
        other = httpx.HTTPTransport(local_address="127.0.0.2")
        with httpx.Client(base_url=url, transport=other) as second:
            assert ask(second, "三公经费多少").status_code == 200


# --- other endpoints -----------------------------------------------------------------------------------


def test_healthz(client):
    """Alive, with the version of the database it serves."""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["documents"] >= 1
    assert response.json()["version"] == client.get("/healthz").json()["version"]
    assert len(response.json()["version"]) == 12 and response.headers["cache-control"] == "no-store"


def test_tables_lists_the_loaded_disclosure(client):
    documents = client.get("/api/tables").json()["documents"]
    assert documents
    titles = {table["title"] for document in documents for table in document["tables"]}
    assert any("三公" in title for title in titles)
    first = documents[0]
    assert {"document", "department", "year", "kind", "tables"} <= set(first)


def test_openapi_describes_the_api(client, web_settings):
    spec = client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert {"/api/ask", "/api/tables", "/healthz"} <= set(spec["paths"])
    question = spec["components"]["schemas"]["Question"]["properties"]["question"]
    assert question["maxLength"] == web_settings.max_question_chars
    assert set(spec["components"]["schemas"]["Answer"]["required"]) == ANSWER_KEYS


def test_security_headers_on_the_demo_page(client, base):
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert f"script-src {base}/widget.js" in csp
    assert f"connect-src {base}/api/" in csp
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert f'<script src="{base}/widget.js" data-endpoint="{base}" defer></script>' in page.text


def test_demo_page_points_at_a_configured_endpoint(assistant):
    endpoint = "https://budget.example.org/qa"
    with serve(Settings.from_env({}), assistant, widget_endpoint=endpoint + "/") as url, httpx.Client(base_url=url) as http:
        page = http.get("/")
    assert f"script-src {endpoint}/widget.js" in page.headers["content-security-policy"]
    assert f'data-endpoint="{endpoint}"' in page.text


def test_security_headers_on_api_responses(client):
    for response in (ask(client, "三公经费多少"), client.get("/api/tables"), client.get("/nope")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
        assert "server" not in response.headers


def test_widget_script_is_embeddable_cross_origin(client):
    response = client.get("/widget.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cross-origin-resource-policy"] == "cross-origin"
    assert "adoptedStyleSheets" in response.text
    assert ".innerHTML" not in response.text


def test_extra_routes_and_lifespan_hooks(assistant):
    """How the Telegram webhook shares the app: its route is mounted, its hooks run at start and stop."""
    calls: list[str] = []

    async def hook(name):
        calls.append(name)

    async def webhook(request):
        return PlainTextResponse("ok")

    with serve(
        Settings.from_env({}),
        assistant,
        extra_routes=[Route("/telegram", webhook, methods=["POST"])],
        on_startup=[lambda: hook("init"), lambda: hook("start")],
        on_shutdown=[lambda: hook("shutdown"), lambda: hook("stop")],
    ) as url:
        assert calls == ["init", "start"]
        assert httpx.post(url + "/telegram").text == "ok"
    assert calls == ["init", "start", "stop", "shutdown"]


def test_rate_limiter_refills_over_time():
    """The token bucket itself, on a clock the test controls: a minute's allowance, refilled continuously."""
    from bot.rate_limits import RateLimiter

    now = [1000.0]
    limiter = RateLimiter(per_minute=6, clock=lambda: now[0])
    assert [limiter.retry_after("a") for _ in range(6)] == [0] * 6
    assert limiter.retry_after("a") == 10  # one token every 10 s
    assert limiter.retry_after("b") == 0
    now[0] += 9.5
    assert limiter.retry_after("a") == 1
    now[0] += 0.5
    assert limiter.retry_after("a") == 0
    assert RateLimiter(per_minute=0).retry_after("a") == 0  # 0 turns the limit off
