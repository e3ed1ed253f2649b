"""The widget in a real headless Chromium, embedded in the demo page served from another origin than the API."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from bot.config import Settings
from tests.web_server import base_url, free_socket, serve

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
XSS = "<img src=x onerror=alert(1)>"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.access(CHROMIUM, os.X_OK),
        reason=f"{CHROMIUM} is missing: install Debian's chromium and fonts-noto-cjk (apt-get install -y chromium fonts-noto-cjk)",
    ),
]


@pytest.fixture(scope="module")
def servers(assistant):
    """(demo page URL, API URL): two servers on different ports, so the widget's calls are cross-origin.

    `assistant` is conftest's session-wide real core.
    """
    demo_socket = free_socket()
    demo_url = base_url(demo_socket)
    api_settings = Settings.from_env({"BUDGETBOT_ALLOWED_ORIGINS": demo_url})
    with serve(api_settings, assistant) as api_url:
        with serve(Settings.from_env({}), assistant, sock=demo_socket, widget_endpoint=api_url):
            yield demo_url, api_url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page_and_problems(browser, servers):
    """A fresh page on the demo, plus the console errors and dialogs it produced (both must stay empty)."""
    demo_url, _ = servers
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(f"console: {message.text}") if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))

    def on_dialog(dialog):
        problems.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(demo_url + "/")
    yield page, problems
    context.close()


def widget(page):
    return page.locator("budgetbot-widget")


def bot_messages(page):
    return widget(page).locator(".msg.bot:not(.pending)")


def ask_by_keyboard(page, question: str):
    """Type into the widget's input and press Enter; wait until the reply (or error) has replaced the spinner."""
    count = bot_messages(page).count()
    box = page.get_by_label("输入您的问题")
    box.fill(question)
    box.press("Enter")
    reply = bot_messages(page).nth(count)
    reply.wait_for()
    return reply


def test_ask_follow_up_and_render_text_safely(page_and_problems, servers):
    page, problems = page_and_problems
    _, api_url = servers
    root = widget(page)
    launcher = page.get_by_role("button", name="打开预算问答助手")
    launcher.click()
    assert root.locator(".launcher").get_attribute("aria-expanded") == "true"
    panel = page.get_by_role("dialog", name="预算问答助手")
    assert panel.is_visible()
    box = page.get_by_label("输入您的问题")
    assert box.evaluate("el => el.getRootNode().activeElement === el"), "opening the panel focuses the input"

    # Styles come from a constructable stylesheet, not a <style> element (the demo page's CSP forbids inline styles).
    assert root.evaluate("h => h.shadowRoot.adoptedStyleSheets.length") == 1
    assert root.evaluate("h => h.shadowRoot.querySelectorAll('style').length") == 0

    reply = ask_by_keyboard(page, "三公经费多少")
    assert "4.30" in reply.locator("p").first.inner_text()
    citations = reply.locator(".cites li").all_inner_texts()
    assert any("一般公共预算“三公”经费支出情况表" in citation for citation in citations), citations
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "widget.png"))

    # A suggestion chip asks its question in the same session.
    chips = reply.locator(".chip")
    assert chips.count() >= 1, "the answer to 三公经费多少 offers follow-up questions"
    suggestion = chips.first.inner_text()
    before = bot_messages(page).count()
    chips.first.click()
    follow = bot_messages(page).nth(before)
    follow.wait_for()
    assert root.locator(".msg.user").last.inner_text() == suggestion
    assert "error" not in (follow.get_attribute("class") or "")
    assert follow.locator("p").first.inner_text().strip()

    # A follow-up that only makes sense with the previous question's context.
    ask_by_keyboard(page, "局本级预算多少")
    follow_up = ask_by_keyboard(page, "那大数据中心呢？").locator("p").first.inner_text()
    assert "1,359.80" in follow_up or "1359.80" in follow_up

    # Markup typed as a question is shown as text and never becomes an element.
    ask_by_keyboard(page, XSS)
    assert root.locator(".msg.user").last.inner_text() == XSS
    assert root.evaluate("h => h.shadowRoot.querySelectorAll('img').length") == 0
    assert page.locator("img").count() == 0

    page.screenshot(path=str(ARTIFACTS / "widget-conversation.png"))
    assert problems == []
    # Every call went cross-origin to the API server, not to the demo page's own origin.
    assert page.evaluate("() => window.BudgetBot.endpoint") == api_url


def test_clarify_options_are_chips_that_answer(page_and_problems):
    page, problems = page_and_problems
    page.get_by_role("button", name="打开预算问答助手").click()
    reply = ask_by_keyboard(page, "一般行政管理事务多少钱")
    options = reply.get_by_role("group", name="请选择：").get_by_role("button")
    assert options.count() >= 2
    choice = options.first.inner_text()
    before = bot_messages(page).count()
    options.first.press("Enter")  # chips are buttons: the keyboard works as well as a click
    answer = bot_messages(page).nth(before)
    answer.wait_for()
    assert widget(page).locator(".msg.user").last.inner_text() == choice
    assert re.search(r"\d+\.\d{2} 万元", answer.locator("p").first.inner_text())
    assert answer.locator(".cites li").count() >= 1
    assert problems == []


def test_keyboard_only_use(page_and_problems):
    page, problems = page_and_problems
    launcher = page.get_by_role("button", name="打开预算问答助手")
    launcher.focus()
    page.keyboard.press("Enter")
    box = page.get_by_label("输入您的问题")
    assert box.evaluate("el => el.getRootNode().activeElement === el")
    page.keyboard.type("三公经费多少")
    page.keyboard.press("Enter")
    bot_messages(page).filter(has_text="4.30").first.wait_for()
    page.keyboard.press("Tab")
    assert widget(page).evaluate("h => h.shadowRoot.activeElement.textContent") == "发送"
    page.keyboard.press("Escape")
    assert page.get_by_role("dialog", name="预算问答助手").is_hidden()
    assert launcher.evaluate("el => el.getRootNode().activeElement === el"), "closing returns focus to the launcher"
    assert problems == []


def test_host_page_example_buttons_ask_through_the_widget(page_and_problems):
    page, problems = page_and_problems
    page.get_by_role("main").get_by_role("button", name="三公经费多少").click()
    reply = bot_messages(page).filter(has_text="4.30").first
    reply.wait_for()
    assert problems == []


def test_phone_sized_screen(browser, servers):
    demo_url, _ = servers
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", has_touch=True, is_mobile=True)
    page = context.new_page()
    page.goto(demo_url + "/")
    page.get_by_role("button", name="打开预算问答助手").tap()
    ask_by_keyboard(page, "三公经费多少")
    panel = page.get_by_role("dialog", name="预算问答助手").bounding_box()
    assert panel is not None
    assert panel["x"] >= 0 and panel["x"] + panel["width"] <= 390
    assert panel["y"] >= 0 and panel["y"] + panel["height"] <= 844
    send = page.get_by_role("button", name="发送").bounding_box()
    assert send is not None and send["y"] + send["height"] <= 844, "the send button stays on screen"
    # No horizontal scrolling inside the conversation.
    log = widget(page).locator(".log")
    assert log.evaluate("el => el.scrollWidth <= el.clientWidth")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "widget-phone.png"))
    context.close()


def test_demo_page_snippet_matches_how_it_embeds_the_widget(page_and_problems, servers):
    page, _ = page_and_problems
    _, api_url = servers
    snippet = page.locator("pre code").inner_text()
    assert re.fullmatch(rf'<script src="{re.escape(api_url)}/widget.js" data-endpoint="{re.escape(api_url)}" defer></script>', snippet)


def test_same_origin_demo_needs_no_configuration(browser, servers):
    """`budgetbot serve` as shipped: the demo page and the API on one origin, no allowed origins set."""
    _, api_url = servers
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(api_url + "/")
    page.get_by_role("button", name="打开预算问答助手").click()
    assert "4.30" in ask_by_keyboard(page, "三公经费多少").inner_text()
    context.close()


def test_a_breakdown_draws_one_bar_per_figure_with_a_text_alternative(page_and_problems, assistant):
    page, problems = page_and_problems
    page.get_by_role("button", name="打开预算问答助手").click()
    reply = ask_by_keyboard(page, "三公经费分几块")
    expected = assistant.answer("三公经费分几块", "chart-check")
    bars = reply.locator("svg.chart rect.bar")
    assert bars.count() == len(expected.chart["bars"]) >= 3
    shown = [(bars.nth(n).get_attribute("data-label"), bars.nth(n).get_attribute("data-value")) for n in range(bars.count())]
    assert shown == [(b["label"], expected.figures[b["figure"]].value) for b in expected.chart["bars"]]
    label = reply.locator("svg.chart").get_attribute("aria-label")
    assert reply.locator("svg.chart").get_attribute("role") == "img"
    assert all(f"{name} {value}" in label for name, value in shown)
    assert "公务接待费：0.30 万元" in reply.locator("p").first.inner_text()  # the numbers stay in the text
    assert not problems


def test_thumbs_down_with_a_reason_reaches_the_log(page_and_problems, assistant):
    page, problems = page_and_problems
    page.get_by_role("button", name="打开预算问答助手").click()
    reply = ask_by_keyboard(page, "三公经费多少")
    reply.get_by_role("button", name="这个回答没用").click()
    reply.get_by_role("button", name="数字不对").click()
    reply.get_by_text("谢谢反馈！").wait_for()
    log = assistant.question_log
    assert log.flush()
    import sqlite3

    rows = sqlite3.connect(log.path).execute(
        "SELECT e.question, f.rating, f.comment, f.channel FROM feedback f JOIN entries e ON e.id = f.answer_id "
        "WHERE e.question = '三公经费多少' AND f.comment = '数字不对'").fetchall()
    assert rows and rows[-1][1:] == ("down", "数字不对", "web")
    links = reply.locator(".tools a")
    assert links.all_inner_texts() == ["CSV", "Excel"] and "/rows.csv" in links.first.get_attribute("href")
    assert not problems
