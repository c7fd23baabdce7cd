"""The page in a real browser: Debian's Chromium driven by Playwright, against the real
bridge, daemon, broker and skill. Screenshots are kept under ``artifacts/``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from .conftest import Person
from .helpers import Bridge, eventually, http

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


@pytest.fixture
def broker_name() -> str:
    # The page does not care which broker carries its messages; the protocol tests
    # cover both. This one is what `atlas up` runs.
    return "amqtt"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            yield browser
        finally:
            await browser.close()


async def sign_in_by_keyboard(page: Page, person: Person) -> None:
    # The username field has focus on arrival; the whole form works from the keyboard.
    await expect(page.locator("#username")).to_be_focused()
    await page.keyboard.type(person.name)
    await page.keyboard.press("Tab")
    await page.keyboard.type(person.password)
    await page.keyboard.press("Enter")
    await expect(page.locator("#status")).to_have_text("connected")
    await expect(page.locator("#message")).to_be_focused()


async def say(page: Page, text: str) -> None:
    await page.locator("#message").fill(text)
    await page.keyboard.press("Enter")


async def test_sign_in_chat_card_choice_and_reload(stack: Bridge, alice: Person,
                                                   browser: Browser) -> None:
    page = await browser.new_page(viewport={"width": 1100, "height": 800})
    await page.goto(stack.url)
    await page.locator("#username").fill(alice.name)
    await page.locator("#password").fill("wrong password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#sign-in-error")).to_have_text("invalid username or password")
    await page.locator("#password").fill("")
    await page.locator("#username").fill("")
    await page.locator("#username").focus()
    await sign_in_by_keyboard(page, alice)

    await say(page, "what is the weather")
    log = page.get_by_role("log")
    await expect(log.locator(".bubble.user").last).to_have_text("You: what is the weather")
    answer = log.locator(".bubble.assistant").last
    await expect(answer.locator("p").first).to_have_text("It is sunny in Paris.")
    await expect(answer.locator("strong")).to_have_text("sunny")
    card = answer.locator(".card")
    await expect(card.locator("h3")).to_have_text("Paris")
    await expect(card.locator("h3 a")).to_have_attribute("href", "https://example.org/paris")
    await expect(card.locator(".subhead")).to_have_text("Sunny, 21°C")
    await expect(card.locator("img")).to_have_count(1)
    await expect(page.locator("#thinking")).to_be_hidden()

    await say(page, "go to the kitchen")
    await expect(page.locator("#context")).to_have_text("in kitchen")
    await say(page, "leave the kitchen")
    await expect(page.locator("#context")).to_be_hidden()

    await say(page, "start a timer")
    question = log.get_by_text("Start a 5 minute timer?")
    await expect(question).to_have_count(1)
    await expect(page.get_by_role("group", name="Choices").get_by_role("button")) \
        .to_have_text(["yes", "no"])
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "bridge-desktop.png"))

    # Reload mid-question: the conversation and the question are still there, once.
    sent: list[str] = []
    page.on("websocket", lambda socket: socket.on("framesent", lambda frame: sent.append(frame)))
    await page.reload()
    await expect(page.locator("#status")).to_have_text("connected")
    await expect(log.get_by_text("It is sunny in Paris.")).to_have_count(1)
    yes = page.get_by_role("group", name="Choices").get_by_role("button", name="yes")
    await expect(yes).to_be_visible()
    await expect(question).to_have_count(1)
    await yes.click()
    await expect(log.locator(".bubble.user").last).to_have_text("You: yes")
    done = log.locator(".bubble.assistant").last
    await expect(done.locator("p").first).to_have_text("Timer started.")
    await expect(done.locator(".card h3")).to_have_text("Timer")
    await expect(page.get_by_role("group", name="Choices")).to_be_hidden()
    # The button sent the value clicked as structured input, not retyped text.
    assert {"type": "data", "data": {"choice": "yes"}} in [json.loads(f) for f in sent]


async def test_message_content_is_never_markup(stack: Bridge, alice: Person,
                                               browser: Browser) -> None:
    page = await browser.new_page()
    await page.goto(stack.url)
    await sign_in_by_keyboard(page, alice)
    await say(page, "show me some markup")
    answer = page.get_by_role("log").locator(".bubble.assistant").last
    shown = '<img src=x onerror="window.pwned=1"> bold'
    await expect(answer.locator("p").first).to_have_text(shown)
    await expect(answer.locator(".card h3")).to_have_text("<b>h</b>")
    assert await answer.locator("img").count() == 0        # javascript: media refused
    assert await answer.locator(".card h3 a").count() == 0  # javascript: link refused
    assert await page.evaluate("window.pwned") is None


async def test_settings_and_operator_panels_on_a_phone(stack: Bridge, alice: Person,
                                                       browser: Browser,
                                                       skill_name: str) -> None:
    page = await browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True)
    await page.goto(stack.url)
    await sign_in_by_keyboard(page, alice)
    await say(page, "what is the weather")
    await expect(page.get_by_role("log").locator(".card h3")).to_have_text("Paris")
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "bridge-phone.png"))

    await page.get_by_role("button", name="Skills").click()
    operator = page.get_by_role("dialog", name="Live skills")
    await expect(operator).to_be_visible()
    await expect(operator.get_by_role("heading", name=f"{skill_name} 1.2.3")).to_be_visible()
    await expect(operator.get_by_text("kitchen/leave")).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(operator).to_be_hidden()

    await page.get_by_role("button", name="Settings").click()
    settings = page.get_by_role("dialog", name="Settings")
    await expect(settings.get_by_label("Language")).to_have_value("en")
    await settings.get_by_label("DEMO_CITY").fill("Lyon")
    await settings.get_by_label("DEMO_API_KEY").fill("s3cr3t")
    await page.screenshot(path=str(ARTIFACTS / "bridge-phone-settings.png"))
    await settings.get_by_label("Language").fill("fr")
    await settings.get_by_role("button", name="Save").click()
    # The page speaks French at once (the dialog is now named "Réglages").
    await expect(page.locator("#settings")).to_be_hidden()
    await expect(page.locator("html")).to_have_attribute("lang", "fr")
    user = stack.store.user(alice.name)
    assert user is not None
    assert (user.lang, user.env) == ("fr", {"DEMO_CITY": "Lyon", "DEMO_API_KEY": "s3cr3t"})
    # The language change reached the channel: French is understood now.
    await say(page, "quel temps fait-il")
    await expect(page.get_by_role("log").locator(".bubble.assistant").last.locator("p").first) \
        .to_have_text("Il fait beau à Paris.")

    # The secret is never sent back in clear: the field shows it is set, empty.
    await page.get_by_role("button", name="Réglages").click()
    key = page.get_by_role("dialog", name="Réglages").get_by_label("DEMO_API_KEY")
    await expect(key).to_have_value("")
    await expect(key).to_have_attribute("placeholder", "défini (saisir pour remplacer)")
    assert "s3cr3t" not in await page.content()


async def test_page_recovers_from_a_rejected_token(stack: Bridge, alice: Person,
                                                   browser: Browser) -> None:
    page = await browser.new_page()
    await page.goto(stack.url)
    await sign_in_by_keyboard(page, alice)
    await say(page, "what is the weather")
    await expect(page.get_by_role("log").locator(".card h3")).to_have_text("Paris")
    # An access token the bridge refuses (not expired, badly signed): the socket is closed
    # with 4003, the page gets a new access token with its refresh token and carries on.
    await page.evaluate("""() => {
        const tokens = JSON.parse(localStorage.getItem("atlas.tokens"));
        tokens.access = tokens.access.slice(0, -4) + "AAAA";
        localStorage.setItem("atlas.tokens", JSON.stringify(tokens));
    }""")
    await page.reload()
    await expect(page.locator("#status")).to_have_text("connected")
    await expect(page.get_by_role("log").locator(".card h3")).to_have_text("Paris")
    await say(page, "start a timer")
    await page.get_by_role("button", name="no").click()
    await expect(page.get_by_role("log").locator(".bubble.assistant").last) \
        .to_have_text("atlas: No timer then.")

    # Signing out revokes the refresh token: the page is back to the sign-in form.
    refresh = await page.evaluate("JSON.parse(localStorage.getItem('atlas.tokens')).refresh")
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.locator("#username")).to_be_focused()
    assert await page.evaluate("localStorage.getItem('atlas.tokens')") is None

    async def revoked() -> bool:
        status, _ = await http("POST", stack.url + "api/token/refresh", {"refresh": refresh})
        return status == 401

    await eventually(revoked)


@pytest.mark.parametrize("access_ttl", [3])
async def test_page_reconnects_when_its_access_token_expires(stack: Bridge, alice: Person,
                                                             browser: Browser) -> None:
    # The bridge ends a socket when its access token expires (4003); the page
    # refreshes the token and reconnects, and the conversation carries on.
    page = await browser.new_page()
    sockets: list[object] = []
    page.on("websocket", lambda socket: sockets.append(socket))
    await page.goto(stack.url)
    await sign_in_by_keyboard(page, alice)
    await say(page, "what is the weather")
    await expect(page.get_by_role("log").locator(".card h3")).to_have_text("Paris")

    async def reconnected() -> bool:
        return len(sockets) >= 2

    await eventually(reconnected)
    await expect(page.locator("#status")).to_have_text("connected")
    await say(page, "start a timer")
    await page.get_by_role("button", name="no").click()
    await expect(page.get_by_role("log").locator(".bubble.assistant").last) \
        .to_have_text("atlas: No timer then.")
    await expect(page.get_by_role("log").locator(".card h3")).to_have_text("Paris")


async def test_the_page_speaks_the_users_language(stack: Bridge, bob: Person,
                                                  browser: Browser) -> None:
    page = await browser.new_page(locale="en-US", viewport={"width": 390, "height": 844},
                                  is_mobile=True, has_touch=True)
    await page.goto(stack.url)
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()  # the browser's
    await page.locator("#username").fill(bob.name)
    await page.locator("#password").fill(bob.password)
    await page.keyboard.press("Enter")
    # bob speaks French: once the bridge says so, the page's own words follow.
    await expect(page.locator("#status")).to_have_text("connecté")
    assert await page.evaluate("document.documentElement.lang") == "fr"
    await expect(page.get_by_role("button", name="Réglages")).to_be_visible()
    await expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()
    await expect(page.locator("#message")).to_have_attribute("placeholder",
                                                             "Votre message…")
    await say(page, "quelle est la météo")
    await expect(page.get_by_role("log").locator(".bubble.assistant").last) \
        .to_contain_text("Il fait beau à Paris.")
    await expect(page.get_by_role("log").locator(".bubble.user").last) \
        .to_have_text("Vous : quelle est la météo")
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "bridge-phone-fr.png"))
    await page.get_by_role("button", name="Réglages").click()
    await expect(page.get_by_role("heading", name="Réglages")).to_be_visible()
    await page.get_by_role("button", name="Fermer").click()

    # Before anyone signs in, the page follows the browser's language.
    french = await browser.new_page(locale="fr-FR")
    await french.goto(stack.url)
    await expect(french.get_by_role("button", name="Se connecter")).to_be_visible()
    await expect(french.get_by_label("Mot de passe")).to_be_visible()



async def test_settings_are_described_and_skills_open_at_the_top(
        stack: Bridge, bob: Person, browser: Browser, skill_name: str) -> None:
    page = await browser.new_page(viewport={"width": 390, "height": 300}, is_mobile=True)
    await page.goto(stack.url)
    await page.locator("#username").fill(bob.name)
    await page.locator("#password").fill(bob.password)
    await page.keyboard.press("Enter")
    await expect(page.locator("#status")).to_have_text("connecté")

    # The setting as the skill describes it, in the page's language (bob's: French).
    await page.get_by_role("button", name="Réglages").click()
    settings = page.get_by_role("dialog", name="Réglages")
    units = settings.get_by_label("Unités de température")
    await expect(units).to_have_attribute("placeholder", "par défaut : metric")
    await expect(settings.get_by_text("ex. : imperial")).to_be_visible()
    await expect(settings.get_by_text("string", exact=True)).to_have_count(0)
    await page.screenshot(path=str(ARTIFACTS / "bridge-settings-described.png"))
    await settings.get_by_role("button", name="Fermer").click()

    # The skills dialog opens at its top, however long its list.
    await page.get_by_role("button", name="Compétences").click()
    operator = page.get_by_role("dialog", name="Compétences en ligne")
    await expect(operator.get_by_text("Démo du pont")).to_be_visible()
    sizes = await operator.evaluate("d => [d.scrollTop, d.scrollHeight, d.clientHeight]")
    assert sizes[1] > sizes[2], "the list should need scrolling"
    assert sizes[0] == 0
    await expect(operator.get_by_role("heading", name=f"{skill_name} 1.2.3")).to_be_in_viewport()


@pytest.mark.parametrize("stored", [
    pytest.param("{access: 'a.b.c', refresh: 'd.e.f'}", id="damaged"),
    # signed by nobody, but well formed and expired: the page can tell by itself
    pytest.param("{access: 'x.eyJleHAiOjF9.y', refresh: 'x.eyJleHAiOjF9.y'}", id="expired"),
])
async def test_no_401_before_sign_in(stack: Bridge, alice: Person, browser: Browser,
                                     stored: str) -> None:
    page = await browser.new_page()
    failures: list[str] = []
    page.on("console", lambda message: failures.append(message.text)
            if message.type == "error" else None)
    page.on("response", lambda response: failures.append(f"{response.status} {response.url}")
            if response.status >= 400 else None)
    await page.goto(stack.url)
    await expect(page.locator("#username")).to_be_focused()
    # Tokens left by an earlier session that cannot work any more.
    await page.evaluate(f"() => localStorage.setItem('atlas.tokens', JSON.stringify({stored}))")
    await page.reload()
    await expect(page.locator("#username")).to_be_focused()
    assert await page.evaluate("localStorage.getItem('atlas.tokens')") is None
    await sign_in_by_keyboard(page, alice)
    assert failures == []
