// The atlas page: sign in, then chat over the bridge's WebSocket (pytlas-server protocol).
// Message content only ever reaches the page through textContent and safe attributes.
"use strict";

(() => {
  const TOKENS = "atlas.tokens";        // localStorage: survives a closed tab
  const HISTORY = "atlas.history";      // sessionStorage: this tab's conversation
  const MAX_HISTORY = 200;

  const $ = (id) => document.getElementById(id);
  const view = {
    signIn: $("sign-in-view"), chat: $("chat-view"), menu: $("menu"), log: $("log"),
    thinking: $("thinking"), choices: $("choices"), composer: $("composer"),
    message: $("message"), status: $("status"), context: $("context"),
  };

  // -- the page's own words, in the user's language -------------------------------------
  // Keyed by the English text; what is missing stays in English. The language is the
  // browser's until the bridge says the conversation's (ready), then that one.

  const WORDS = {
    fr: {
      "Skip to the message box": "Aller au champ de message", "Account": "Compte",
      "Settings": "Réglages", "Skills": "Compétences", "Sign out": "Se déconnecter",
      "Sign in": "Se connecter", "Username": "Nom d’utilisateur", "Password": "Mot de passe",
      "Conversation": "Conversation", "Thinking…": "Réflexion…", "Choices": "Choix",
      "Message": "Message", "Ask something…": "Votre message…", "Send": "Envoyer",
      "Language": "Langue", "Close": "Fermer", "Save": "Enregistrer",
      "Live skills": "Compétences en ligne", "offline": "hors ligne", "connected": "connecté",
      "connecting…": "connexion…", "reconnecting…": "reconnexion…",
      "You: ": "Vous : ", "Notice: ": "Note : ", "in %s": "dans %s",
      "Not connected yet; try again in a moment.": "Pas encore connecté ; réessayez dans un instant.",
      "Your session has ended; please sign in again.": "Votre session a pris fin ; reconnectez-vous.",
      "Enter your username and password.": "Saisissez votre nom d’utilisateur et votre mot de passe.",
      "Sign-in failed.": "La connexion a échoué.",
      "The assistant cannot be reached.": "L’assistant est injoignable.",
      "set (type to replace)": "défini (saisir pour remplacer)", "not set": "non défini",
      "default": "par défaut", "No skill is live.": "Aucune compétence en ligne.",
      "default: %s": "par défaut : %s", "e.g. %s": "ex. : %s",
      "separated by commas": "séparés par des virgules",
    },
  };
  let language = "en";

  function t(english, ...values) {
    const text = (WORDS[language] && WORDS[language][english]) || english;
    // A function replacement: "$&" in a value stays "$&".
    return values.reduce((result, value) => result.replace("%s", () => String(value)), text);
  }

  function translatePage() {
    for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
    for (const node of document.querySelectorAll("[data-t-label]")) node.setAttribute("aria-label", t(node.dataset.tLabel));
    for (const node of document.querySelectorAll("[data-t-placeholder]")) node.placeholder = t(node.dataset.tPlaceholder);
    view.status.textContent = t(view.status.dataset.text || "offline");
  }

  function setLanguage(code) {
    const tag = String(code || "en").replace("_", "-");
    document.documentElement.lang = tag;
    language = tag.slice(0, 2).toLowerCase();
    translatePage();
  }

  let socket = null;
  let retries = 0;
  let reconnectTimer = null;
  let lastAsk = null;

  // -- tokens ---------------------------------------------------------------------------

  function tokens() {
    try { return JSON.parse(localStorage.getItem(TOKENS)) || null; } catch { return null; }
  }

  function saveTokens(value) {
    if (value) localStorage.setItem(TOKENS, JSON.stringify(value));
    else localStorage.removeItem(TOKENS);
  }

  function expiresSoon(token) {
    try {
      const body = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      const claims = JSON.parse(atob(body));
      return claims.exp * 1000 < Date.now() + 15000;
    } catch { return true; }
  }

  // Stored tokens that cannot work (damaged, or the refresh token expired) are dropped
  // without asking the bridge, which would only answer 401.
  function usableTokens() {
    const current = tokens();
    if (current && typeof current.refresh === "string" && !expiresSoon(current.refresh)) return current;
    saveTokens(null);
    return null;
  }

  async function refreshAccess() {
    const current = tokens();
    if (!current || !current.refresh) throw new Error("signed out");
    const response = await fetch("/api/token/refresh", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh: current.refresh }),
    });
    if (response.status === 401) { signedOut(t("Your session has ended; please sign in again.")); throw new Error("signed out"); }
    if (!response.ok) throw new Error(`refresh failed (${response.status})`);
    const { access } = await response.json();
    saveTokens({ ...current, access });
    return access;
  }

  async function accessToken() {
    const current = tokens();
    if (!current) throw new Error("signed out");
    return expiresSoon(current.access) ? refreshAccess() : current.access;
  }

  async function api(path, options = {}) {
    const call = async (token) => fetch(path, {
      ...options,
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    });
    let response = await call(await accessToken());
    if (response.status === 401) response = await call(await refreshAccess());
    const body = response.status === 204 ? null : await response.json();
    if (!response.ok) throw new Error((body && body.error) || `HTTP ${response.status}`);
    return body;
  }

  // -- the conversation log ---------------------------------------------------------------

  function history() {
    try { return JSON.parse(sessionStorage.getItem(HISTORY)) || []; } catch { return []; }
  }

  function remember(entry) {
    const entries = history();
    entries.push(entry);
    sessionStorage.setItem(HISTORY, JSON.stringify(entries.slice(-MAX_HISTORY)));
  }

  // A tiny, safe subset of markdown: **bold**, *italic*, `code` and [links](https://…).
  function rich(text) {
    const fragment = document.createDocumentFragment();
    const pattern = /\*\*(.+?)\*\*|`([^`]+)`|\[([^\]]+)\]\((https?:\/\/[^)\s]+)\)|(?<![\w*])\*(?!\s)(.+?)\*(?!\w)/g;
    let last = 0;
    for (const match of text.matchAll(pattern)) {
      fragment.append(text.slice(last, match.index));
      let node;
      if (match[1] !== undefined) { node = document.createElement("strong"); node.textContent = match[1]; }
      else if (match[2] !== undefined) { node = document.createElement("code"); node.textContent = match[2]; }
      else if (match[3] !== undefined) { node = link(match[4], match[3]); }
      else { node = document.createElement("em"); node.textContent = match[5]; }
      fragment.append(node);
      last = match.index + match[0].length;
    }
    fragment.append(text.slice(last));
    return fragment;
  }

  function safeUrl(value, kinds = ["http:", "https:"]) {
    if (typeof value !== "string" || !value) return null;
    try {
      const url = new URL(value, location.href);
      if (kinds.includes(url.protocol)) return url.href;
      if (kinds.includes("data:") && url.protocol === "data:" && /^data:image\//.test(value)) return value;
    } catch { /* not a URL */ }
    return null;
  }

  function link(href, label) {
    const url = safeUrl(href);
    if (!url) { const span = document.createElement("span"); span.textContent = label; return span; }
    const anchor = document.createElement("a");
    anchor.href = url; anchor.textContent = label; anchor.target = "_blank"; anchor.rel = "noopener noreferrer";
    return anchor;
  }

  function card(data) {
    const article = document.createElement("article");
    article.className = "card";
    const media = safeUrl(data.media, ["http:", "https:", "data:"]);
    if (media) {
      const image = document.createElement("img");
      image.src = media; image.alt = ""; image.loading = "lazy";
      article.append(image);
    }
    if (data.header) {
      const header = document.createElement("h3");
      header.append(data.header_link ? link(data.header_link, String(data.header)) : String(data.header));
      article.append(header);
    }
    if (data.subhead) {
      const subhead = document.createElement("p");
      subhead.className = "subhead"; subhead.textContent = String(data.subhead);
      article.append(subhead);
    }
    if (data.text) {
      const body = document.createElement("p");
      body.append(rich(String(data.text)));
      article.append(body);
    }
    return article;
  }

  function bubble(entry) {
    const item = document.createElement("li");
    item.className = `bubble ${entry.who}`;
    const who = document.createElement("span");
    who.className = "visually-hidden";
    who.textContent = { user: t("You: "), assistant: "atlas: ", system: t("Notice: ") }[entry.who] || "";
    item.append(who);
    if (entry.text) {
      const text = document.createElement("p");
      text.append(entry.who === "assistant" ? rich(entry.text) : entry.text);
      item.append(text);
    }
    for (const data of entry.cards || []) {
      if (data && typeof data === "object") item.append(card(data));
    }
    view.log.append(item);
    item.scrollIntoView({ block: "end" });
  }

  function show(entry) {
    remember(entry);
    bubble(entry);
  }

  function setChoices(choices) {
    view.choices.replaceChildren();
    view.choices.hidden = !choices || choices.length === 0;
    for (const choice of choices || []) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "choice";
      button.textContent = choice;
      // The value clicked goes as structured input: nothing to guess from retyped text.
      button.addEventListener("click", () => send(choice, { choice }));
      view.choices.append(button);
    }
    // The buttons take room under the log: keep the question in sight.
    view.log.scrollTop = view.log.scrollHeight;
  }

  function setContext(name) {
    view.context.hidden = !name;
    view.context.textContent = name ? t("in %s", name) : "";
  }

  function setStatus(state, text) {
    view.status.dataset.state = state;
    view.status.dataset.text = text;
    view.status.textContent = t(text);
  }

  // -- the WebSocket --------------------------------------------------------------------

  const handlers = {
    ready(message) {
      retries = 0;
      setStatus("online", "connected");
      setLanguage(message.language);
    },
    answer(message) {
      const data = message.data || {};
      show({ who: "assistant", text: String(data.text || ""), cards: Array.isArray(data.cards) ? data.cards : [] });
    },
    ask(message) {
      const data = message.data || {};
      const key = JSON.stringify([data.text, data.choices]);
      // A resumed question (after a reload or reconnection) is shown once.
      const entries = history();
      const previous = entries[entries.length - 1];
      if (!(previous && previous.ask === key)) {
        show({ who: "assistant", text: String(data.text || ""), ask: key });
      }
      lastAsk = data;
      setChoices(Array.isArray(data.choices) ? data.choices.map(String) : []);
    },
    thinking() { view.thinking.hidden = false; },
    done(message) {
      view.thinking.hidden = true;
      if (!message.require_input) { lastAsk = null; setChoices([]); }
    },
    context(message) { setContext(message.name); },
    error(message) { show({ who: "system", text: String(message.message || "error") }); },
  };

  async function connect() {
    clearTimeout(reconnectTimer);
    if (socket) return;
    let token;
    try { token = await accessToken(); } catch { return; }
    setStatus("connecting", "connecting…");
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}/ws/assistant/`);
    socket = ws;
    // welcome: a new conversation (the daemon does not know this device yet) is greeted.
    ws.addEventListener("open", () => ws.send(JSON.stringify(
      { type: "authenticate", token, welcome: true })));
    ws.addEventListener("message", (event) => {
      let message;
      try { message = JSON.parse(event.data); } catch { return; }
      const handler = message && handlers[message.type];
      if (handler) handler(message);
    });
    ws.addEventListener("close", async (event) => {
      if (socket === ws) socket = null;
      view.thinking.hidden = true;
      if (!tokens()) return;                              // signed out on purpose
      if (event.code === 4003) {                          // expired or revoked token
        try { await refreshAccess(); } catch { return; }
      }
      setStatus("offline", "reconnecting…");
      const delay = Math.min(500 * 2 ** retries, 10000);
      retries += 1;
      reconnectTimer = setTimeout(connect, delay);
    });
  }

  function send(text, data) {
    const value = text.trim();
    if (!value) return false;
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      show({ who: "system", text: t("Not connected yet; try again in a moment.") });
      return false;
    }
    socket.send(JSON.stringify(data ? { type: "data", data } : { type: "message", message: value }));
    show({ who: "user", text: value });
    setChoices([]);
    view.message.focus();
    return true;
  }

  // -- views ----------------------------------------------------------------------------

  function signedIn() {
    view.signIn.hidden = true;
    view.chat.hidden = false;
    view.menu.hidden = false;
    view.log.replaceChildren();
    for (const entry of history()) bubble(entry);
    view.message.focus();
    connect();
  }

  function signedOut(reason) {
    saveTokens(null);
    sessionStorage.removeItem(HISTORY);
    if (socket) { const ws = socket; socket = null; ws.close(1000, "signed out"); }
    clearTimeout(reconnectTimer);
    view.chat.hidden = true;
    view.menu.hidden = true;
    view.signIn.hidden = false;
    setContext(null);
    setStatus("offline", "offline");
    $("sign-in-error").textContent = reason || "";
    $("username").focus();
  }

  $("sign-in").addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $("sign-in-error");
    error.textContent = "";
    const username = $("username").value.trim();
    const password = $("password").value;
    if (!username || !password) { error.textContent = t("Enter your username and password."); return; }
    try {
      const response = await fetch("/api/token", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ username, password }),
      });
      const body = await response.json();
      if (!response.ok) { error.textContent = body.error || t("Sign-in failed."); return; }
      saveTokens(body);
      $("password").value = "";
      sessionStorage.removeItem(HISTORY);
      signedIn();
    } catch {
      error.textContent = t("The assistant cannot be reached.");
    }
  });

  view.composer.addEventListener("submit", (event) => {
    event.preventDefault();
    if (send(view.message.value)) view.message.value = "";
  });

  $("sign-out").addEventListener("click", async () => {
    const current = tokens();
    saveTokens(null);
    if (current) {
      fetch("/api/token/revoke", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh: current.refresh }),
      }).catch(() => {});
    }
    signedOut();
  });

  // -- settings ---------------------------------------------------------------------------

  function field(entry) {
    const id = `env-${entry.key}`;
    const wrapper = document.createElement("div");
    wrapper.className = "field";
    const label = document.createElement("label");
    label.htmlFor = id;
    // What the skill says of the setting, in the page's language (else English); the
    // bare key only when it says nothing.
    const described = inLanguage(entry.description);
    label.textContent = described || entry.key;
    label.className = described ? "described" : "";
    label.title = entry.key;
    const input = document.createElement("input");
    input.id = id;
    input.name = entry.key;
    input.dataset.secret = entry.secret ? "1" : "";
    input.dataset.initial = entry.secret ? "" : (entry.value == null ? "" : String(entry.value));
    if (entry.secret) {
      input.type = "password";
      input.autocomplete = "off";
      input.placeholder = entry.set ? t("set (type to replace)") : t("not set");
    } else {
      input.value = input.dataset.initial;
      input.placeholder = entry.default != null ? t("default: %s", shown(entry.default))
        : entry.has_default ? t("default") : "";
    }
    wrapper.append(label, input);
    const hints = [];
    if (entry.example != null) hints.push(t("e.g. %s", shown(entry.example)));
    else if (entry.type === "list") hints.push(t("separated by commas"));
    if (hints.length) {
      const hint = document.createElement("span");
      hint.className = "hint";
      hint.textContent = hints.join(" · ");
      wrapper.append(hint);
    }
    return wrapper;
  }

  function shown(value) {
    return Array.isArray(value) ? value.join(", ") : String(value);
  }

  // A {lang: text} object's text for the page's language, else the English one.
  function inLanguage(texts) {
    if (!texts || typeof texts !== "object") return "";
    return String(texts[language] || texts.en || "");
  }

  async function openSettings() {
    const dialog = $("settings");
    $("settings-error").textContent = "";
    const container = $("env");
    container.replaceChildren();
    try {
      const [me, env] = await Promise.all([api("/api/me"), api("/api/me/env")]);
      $("language").value = me.language;
      $("language").dataset.initial = me.language;
      const list = $("languages");
      list.replaceChildren(...me.languages.map((code) => { const o = document.createElement("option"); o.value = code; return o; }));
      for (const skill of env.skills) {
        if (!skill.env.length) continue;
        const group = document.createElement("fieldset");
        const legend = document.createElement("legend");
        legend.textContent = skill.name;
        group.append(legend, ...skill.env.map(field));
        container.append(group);
      }
    } catch (error) {
      $("settings-error").textContent = error.message;
    }
    dialog.showModal();
    $("language").focus();
  }

  $("settings-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $("settings-error");
    error.textContent = "";
    const chosen = $("language");
    try {
      if (chosen.value !== chosen.dataset.initial) {
        await api("/api/me", { method: "PUT", body: JSON.stringify({ language: chosen.value }) });
        setLanguage(chosen.value);
      }
      const changes = {};
      for (const input of $("env").querySelectorAll("input")) {
        if (input.dataset.secret) { if (input.value) changes[input.name] = input.value; }
        else if (input.value !== input.dataset.initial) changes[input.name] = input.value || null;
      }
      if (Object.keys(changes).length) {
        await api("/api/me/env", { method: "PUT", body: JSON.stringify(changes) });
      }
      $("settings").close();
      view.message.focus();
    } catch (problem) {
      error.textContent = problem.message;
    }
  });

  // -- operator panel -------------------------------------------------------------------------

  async function openOperator() {
    const container = $("skills");
    container.replaceChildren();
    try {
      const body = await api("/api/skills");
      if (!body.skills.length) container.textContent = t("No skill is live.");
      for (const skill of body.skills) {
        const section = document.createElement("section");
        section.className = "skill";
        const title = document.createElement("h3");
        title.textContent = `${skill.name} ${skill.version || ""}`.trim();
        const meta = document.createElement("p");
        meta.className = "subhead";
        meta.textContent = [skill.author, (skill.languages || []).join(", ")].filter(Boolean).join(" · ");
        const intents = document.createElement("ul");
        for (const [intent, slots] of Object.entries(skill.intents || {})) {
          const item = document.createElement("li");
          const name = document.createElement("code");
          name.textContent = intent;
          item.append(name, slots.length ? ` (${slots.join(", ")})` : "");
          intents.append(item);
        }
        section.append(title, meta);
        const description = inLanguage({ en: skill.description, ...(skill.descriptions || {}) });
        if (description) { const d = document.createElement("p"); d.textContent = description; section.append(d); }
        section.append(intents);
        container.append(section);
      }
    } catch (error) {
      container.textContent = error.message;
    }
    const dialog = $("operator");
    dialog.showModal();
    // Focus the close button without scrolling to it: the list opens at its top.
    $("operator-close").focus({ preventScroll: true });
    dialog.scrollTop = 0;
  }

  $("open-settings").addEventListener("click", openSettings);
  $("open-operator").addEventListener("click", openOperator);
  $("settings-cancel").addEventListener("click", () => $("settings").close());
  $("operator-close").addEventListener("click", () => $("operator").close());
  for (const id of ["settings", "operator"]) {
    $(id).addEventListener("close", () => view.message.focus());
  }

  window.addEventListener("online", () => { retries = 0; connect(); });

  setLanguage(navigator.language);
  if (usableTokens()) signedIn(); else signedOut();
})();
