// Check gate: verifies Inner Line Permits in the browser, with or without
// network. The QR code holds a compact JWS (EdDSA, Ed25519); the public keys
// come from /.well-known/jwks.json and are kept on the device. Signatures
// are checked with WebCrypto's Ed25519 where the browser has it, otherwise
// with noble-ed25519 (MIT, npm @noble/ed25519 3.2.0, vendored as
// ed25519.js; sha256 a4f631d1876b5d9e43a86cd71194ca27b5e1451edf4ba4db9a418f40a475569a).
// Entries and exits are queued on the device and sent when online. The page
// works without this script: the server then checks and records.

const root = document.getElementById("gate");
const form = document.getElementById("check-form");
const codeBox = document.getElementById("code");
const resultBox = document.getElementById("result");
const netBox = document.getElementById("net-status");
const queueBox = document.getElementById("queue-status");
const gateSelect = document.getElementById("gate");
const scanButton = document.getElementById("scan");
const video = document.getElementById("camera");
const KEYS = "ilp.gate.jwks", REVOKED = "ilp.gate.revoked", QUEUE = "ilp.gate.queue";

const L = (k) => root.dataset["l" + k.charAt(0).toUpperCase() + k.slice(1)] || k;

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/permits/gate/sw.js", { scope: "/permits/gate/" }).catch(() => {});
  navigator.serviceWorker.ready.then((reg) => {
    const assets = [...document.querySelectorAll("link[rel=stylesheet], link[rel=icon], script[src]")].map((e) => e.href || e.src);
    if (reg.active) reg.active.postMessage({ cache: assets });
  });
}

// --- keys and revocations -------------------------------------------------

const b64 = (s) => {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) throw new Error("malformed");
  const pad = s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4);
  const bin = atob(pad);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
};

let keys = new Map(); // kid → {raw, webcrypto}
let revoked = new Set();

async function importKeys(jwks) {
  const next = new Map();
  for (const k of jwks.keys || []) {
    if (k.kty !== "OKP" || k.crv !== "Ed25519" || !k.kid || (k.alg && k.alg !== "EdDSA")) continue;
    const raw = b64(k.x);
    if (raw.length !== 32) continue;
    let webcrypto = null;
    try {
      webcrypto = await crypto.subtle.importKey("jwk", { kty: "OKP", crv: "Ed25519", x: k.x }, { name: "Ed25519" }, false, ["verify"]);
    } catch (e) { webcrypto = null; }
    next.set(k.kid, { raw, webcrypto });
  }
  keys = next;
}

async function loadKeys() {
  try {
    const r = await fetch("/.well-known/jwks.json", { cache: "no-cache" });
    if (!r.ok) throw new Error(r.status);
    const jwks = await r.json();
    localStorage.setItem(KEYS, JSON.stringify({ at: Date.now(), jwks }));
    await importKeys(jwks);
  } catch (e) {
    const saved = JSON.parse(localStorage.getItem(KEYS) || "null");
    if (saved) await importKeys(saved.jwks);
  }
  try {
    const r = await fetch("/api/v1/docs/revocations?type=ILP", { cache: "no-cache" });
    if (!r.ok) throw new Error(r.status);
    const list = await r.json();
    localStorage.setItem(REVOKED, JSON.stringify(list.revoked.map((x) => x.jti)));
  } catch (e) { /* keep what we had */ }
  revoked = new Set(JSON.parse(localStorage.getItem(REVOKED) || "[]"));
}

// --- verification (the same rules as the server's) -------------------------

async function verifyLocally(token) {
  const parts = token.trim().split(".");
  if (parts.length < 3) return { result: "forged", reason: "truncated" };
  if (parts.length > 3) return { result: "forged", reason: "malformed" };
  let header, sig, payload;
  try {
    header = JSON.parse(new TextDecoder().decode(b64(parts[0])));
    sig = b64(parts[2]);
  } catch (e) { return { result: "forged", reason: "malformed" }; }
  if (sig.length < 64 && parts[2].length < 86) return { result: "forged", reason: "truncated" };
  if (sig.length !== 64) return { result: "forged", reason: "malformed" };
  if (header.alg !== "EdDSA") return { result: "forged", reason: "algorithm" };
  if (header.crit) return { result: "forged", reason: "malformed" };
  const key = keys.get(header.kid);
  if (!key) return { result: "forged", reason: "unknown_key" };
  const signed = new TextEncoder().encode(parts[0] + "." + parts[1]);
  let ok;
  if (key.webcrypto) {
    ok = await crypto.subtle.verify({ name: "Ed25519" }, key.webcrypto, sig, signed);
  } else {
    // Loaded only where WebCrypto lacks Ed25519 (the service worker keeps it for offline use).
    const noble = await import("./ed25519.js");
    ok = await noble.verifyAsync(sig, signed, key.raw, { zip215: false });
  }
  if (!ok) return { result: "forged", reason: "signature" };
  try { payload = JSON.parse(new TextDecoder().decode(b64(parts[1]))); } catch (e) { return { result: "forged", reason: "malformed" }; }
  if (payload.dtp !== "ILP" || !payload.sub || !payload.exp) return { result: "forged", reason: "not_a_permit" };
  const now = Date.now() / 1000;
  const out = { number: payload.sub, type: payload.ptp, holder_name: payload.name, id_masked: payload.idm,
    valid_from: new Date(payload.nbf * 1000), valid_to: new Date(payload.exp * 1000), offline: true };
  if (revoked.has(payload.jti)) return Object.assign(out, { result: "revoked", reason: "revoked" });
  if (now < payload.nbf) return Object.assign(out, { result: "not_yet_valid" });
  if (now >= payload.exp) return Object.assign(out, { result: "expired" });
  return Object.assign(out, { result: "valid" });
}

async function verifyOnServer(check) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), 4000);
  try {
    const r = await fetch("/api/v1/permits/gate/verify", { method: "POST", credentials: "same-origin", signal: ctl.signal,
      headers: { "Content-Type": "application/json", "Accept": "application/json" }, body: JSON.stringify(check) });
    if (!r.ok) return null;
    const res = await r.json();
    for (const k of ["valid_from", "valid_to"]) if (res[k]) res[k] = new Date(res[k]);
    return res;
  } catch (e) { return null; } finally { clearTimeout(timer); }
}

// --- rendering --------------------------------------------------------------

const fmt = (d) => d.toLocaleString(document.documentElement.lang === "lus" ? "en-IN" : "en-IN",
  { timeZone: "Asia/Kolkata", dateStyle: "medium", timeStyle: "short" });

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of kids) if (c !== null && c !== undefined) e.append(c);
  return e;
}

function render(res) {
  const sec = el("section", { class: "verdict v-" + res.result });
  sec.append(el("p", { class: "verdict-word" }, L(res.result)));
  if (res.offline) sec.append(el("p", { class: "verdict-why" }, L("checked_offline")));
  if (res.number) {
    const body = el("div", { class: "verdict-body" });
    if (res.photo_url) body.append(el("img", { src: res.photo_url, alt: res.holder_name || "", width: "120", height: "150" }));
    const dl = el("dl", { class: "summary" });
    const row = (k, v) => { if (v) dl.append(el("dt", {}, L(k)), el("dd", {}, v)); };
    row("holder", res.holder_name); row("id", res.id_masked); row("type", res.type);
    row("valid_from", res.valid_from && fmt(res.valid_from)); row("valid_to", res.valid_to && fmt(res.valid_to));
    dl.prepend(el("dt", {}, "#"), el("dd", {}, res.number));
    body.append(dl);
    sec.append(body);
    const actions = el("div", { class: "actions" });
    for (const kind of ["entry", "exit"]) {
      const b = el("button", { type: "button", class: kind === "exit" ? "secondary" : "" }, L("record_" + kind));
      b.addEventListener("click", () => record(res, kind, b));
      actions.append(b);
    }
    sec.append(actions);
  }
  resultBox.replaceChildren(sec);
  sec.setAttribute("tabindex", "-1");
  sec.focus();
}

// --- entries and exits: queued on the device, sent when online -------------

const queue = () => JSON.parse(localStorage.getItem(QUEUE) || "[]");
const saveQueue = (q) => { localStorage.setItem(QUEUE, JSON.stringify(q)); showQueue(); };

function showQueue() {
  const n = queue().length;
  queueBox.textContent = n ? L("queued").replace("{n}", n) : "";
}

function record(res, kind, button) {
  const gate = gateSelect.value;
  if (!gate) { gateSelect.focus(); return; }
  const q = queue();
  q.push({ event_id: crypto.randomUUID(), number: res.number, gate, kind, result: res.result,
    at: new Date().toISOString(), offline: !navigator.onLine });
  saveQueue(q);
  button.disabled = true;
  button.textContent = "✓ " + button.textContent;
  flush();
}

let flushing = false;
async function flush() {
  const q = queue();
  if (flushing || !q.length || !navigator.onLine) { showQueue(); return; }
  flushing = true;
  try {
    const batch = q.slice(0, 200);
    const r = await fetch("/api/v1/permits/gate/events", { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify({ events: batch }) });
    if (r.ok) {
      const done = new Set((await r.json()).results.map((x) => x.event_id));
      saveQueue(queue().filter((e) => !done.has(e.event_id)));
      if (!queue().length) queueBox.textContent = L("sent");
    }
  } catch (e) { /* still offline */ } finally { flushing = false; }
}

function showNet() {
  netBox.hidden = false;
  netBox.textContent = navigator.onLine ? L("online") : L("offline");
  netBox.className = "net-status " + (navigator.onLine ? "on" : "off");
}

// --- the check form -----------------------------------------------------------

form.addEventListener("submit", async (e) => {
  const code = codeBox.value.trim();
  if (!code) return; // the server explains
  e.preventDefault();
  const isToken = code.split(".").length >= 2 || code.length > 40;
  let res = null;
  if (isToken) {
    res = await verifyLocally(code);
    render(res);
  }
  if (navigator.onLine) {
    const server = await verifyOnServer(isToken ? { token: code } : { number: code });
    if (server) { render(server); return; }
  }
  if (!isToken) resultBox.replaceChildren(el("p", { class: "notice warn" }, L("need_network")));
});

// --- camera (where the browser can read QR codes) ----------------------------

if ("BarcodeDetector" in window && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
  BarcodeDetector.getSupportedFormats().then((formats) => {
    if (!formats.includes("qr_code")) return;
    scanButton.hidden = false;
    const detector = new BarcodeDetector({ formats: ["qr_code"] });
    scanButton.addEventListener("click", async () => {
      let stream;
      try { stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }); } catch (e) {
        resultBox.replaceChildren(el("p", { class: "notice warn" }, L("camera_none"))); return;
      }
      video.srcObject = stream; video.hidden = false; await video.play();
      const stop = () => { stream.getTracks().forEach((t) => t.stop()); video.hidden = true; };
      const tick = async () => {
        if (video.hidden) return;
        try {
          const found = await detector.detect(video);
          if (found.length) { stop(); codeBox.value = found[0].rawValue; form.requestSubmit(); return; }
        } catch (e) { /* next frame */ }
        setTimeout(tick, 200);
      };
      tick();
    });
  });
}

window.addEventListener("online", () => { showNet(); loadKeys(); flush(); });
window.addEventListener("offline", showNet);
showNet();
showQueue();
loadKeys().then(flush);
setInterval(flush, 30000);
