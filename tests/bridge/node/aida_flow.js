// The AIDA document's sample flow, with the official `phoenix` client, against atlas.
//
//   node aida_flow.js BASE_URL BOT_ID TOKEN VSN IMAGE_FILE
//
// Joins bot:<id> (and once with a wrong token), opens a session with data, chats,
// answers a choice, puts data, uploads and sends an image, deletes the session and
// tries it again. Prints one JSON report on the last line of stdout.
"use strict";

const fs = require("fs");
const { Socket } = require("phoenix");
const WebSocket = require("ws");

const [base, botId, accessToken, vsn, imageFile] = process.argv.slice(2);
const STEP_TIMEOUT = 20000;
const report = { vsn, steps: [] };

function options() {
  const opts = { transport: WebSocket, heartbeatIntervalMs: 1000, reconnectAfterMs: () => 200 };
  if (vsn === "1.0.0") {
    // Phoenix 1.3's JSON serializer, which AIDA's server spoke: object frames.
    opts.vsn = "1.0.0";
    opts.encode = (msg, callback) => callback(JSON.stringify(msg));
    opts.decode = (raw, callback) => callback(JSON.parse(raw));
  }
  return opts;
}

function pushed(channel, event, payload) {
  return new Promise((resolve, reject) => {
    channel.push(event, payload, STEP_TIMEOUT)
      .receive("ok", (resp) => resolve({ status: "ok", resp }))
      .receive("error", (resp) => resolve({ status: "error", resp }))
      .receive("timeout", () => reject(new Error(`${event}: no reply`)));
  });
}

function joined(channel) {
  return new Promise((resolve) => {
    channel.join(STEP_TIMEOUT)
      .receive("ok", (resp) => resolve({ status: "ok", resp }))
      .receive("error", (resp) => resolve({ status: "error", resp }))
      .receive("timeout", () => resolve({ status: "timeout" }));
  });
}

async function main() {
  const socket = new Socket(`${base.replace(/^http/, "ws")}socket`, options());
  socket.connect();

  const refused = socket.channel(`bot:${botId}`, { access_token: "not the token" });
  report.wrong_token = await joined(refused);
  refused.leave();

  const channel = socket.channel(`bot:${botId}`, { access_token: accessToken });
  report.join = await joined(channel);

  // btu_msg of our session only, as the document's sample filters them.
  let sessionId = null;
  const inbox = [];
  const waiting = [];
  channel.on("btu_msg", (payload) => {
    if (payload.session !== sessionId) return;
    inbox.push(payload);
    while (waiting.length && inbox.length) waiting.shift()(inbox.shift());
  });
  const next = () => new Promise((resolve, reject) => {
    if (inbox.length) return resolve(inbox.shift());
    const timer = setTimeout(() => reject(new Error("no btu_msg")), STEP_TIMEOUT);
    waiting.push((message) => { clearTimeout(timer); resolve(message); });
  });

  const created = await pushed(channel, "new_session", { data: { first_name: "Ada" } });
  sessionId = created.resp.session;
  report.session = sessionId;
  report.welcome = await next();

  const say = async (text) => {
    channel.push("utb_msg", { session: sessionId, text });
    return next();
  };
  report.weather = await say("what is the weather");
  report.timer_ask = await say("set a timer");
  report.timer_yes = await say("yes");

  report.put_data = await pushed(channel, "put_data",
    { session: sessionId, data: { last_name: "Lovelace" } });
  report.whoami = await say("who am i");

  // Images: the two-step upload, then utb_img (and utb_msg with an image, as the
  // document's sample pushes it).
  const form = new FormData();
  form.append("file", new Blob([fs.readFileSync(imageFile)]), "picture.png");
  const upload = await fetch(`${base}content/image/${botId}/${sessionId}`,
    { method: "POST", body: form });
  report.upload = { status: upload.status, body: await upload.json() };
  const imageId = report.upload.body.id;
  const fetched = await fetch(`${base}content/image/${imageId}`);
  report.download = { status: fetched.status, type: fetched.headers.get("content-type"),
    bytes: (await fetched.arrayBuffer()).byteLength };
  report.image_reply = await pushed(channel, "utb_img", { session: sessionId, image: imageId });
  report.image = await next();
  report.image_by_msg_reply = await pushed(channel, "utb_msg",
    { session: sessionId, image: imageId });
  report.image_by_msg = await next();

  // Another socket (a reloaded page) goes on with the same session.
  const other = new Socket(`${base.replace(/^http/, "ws")}socket`, options());
  other.connect();
  const again = other.channel(`bot:${botId}`, { access_token: accessToken });
  report.rejoin = await joined(again);
  const resumed = new Promise((resolve) => again.on("btu_msg", (p) => {
    if (p.session === sessionId) resolve(p);
  }));
  again.push("utb_msg", { session: sessionId, text: "who am i" });
  report.resumed = await Promise.race([resumed,
    new Promise((_, reject) => setTimeout(() => reject(new Error("no resume")), STEP_TIMEOUT))]);
  other.disconnect();

  report.delete = await pushed(channel, "delete_session", { session: sessionId });
  report.after_delete = await pushed(channel, "utb_msg", { session: sessionId, text: "hello" });
  const gone = await fetch(`${base}content/image/${imageId}`);
  report.image_after_delete = gone.status;

  report.leave = await new Promise((resolve) => {
    channel.leave(STEP_TIMEOUT).receive("ok", () => resolve("ok"))
      .receive("timeout", () => resolve("timeout"));
  });
  socket.disconnect();
}

main().then(() => {
  console.log(JSON.stringify(report));
  process.exit(0);
}).catch((error) => {
  report.error = String(error && error.stack || error);
  console.log(JSON.stringify(report));
  process.exit(1);
});
