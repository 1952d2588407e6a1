// Service worker of the check gate (first-party, no third-party code): it
// keeps the gate page, its scripts, the public keys and the revocation list,
// so that permits can be checked with no network. The page itself queues
// entries and exits and sends them when the network is back.
"use strict";
const CACHE = "ilp-gate-v1";
const SHELL = ["/permits/gate/", "/permits/gate/gate.js", "/permits/gate/ed25519.js",
  "/.well-known/jwks.json", "/api/v1/docs/revocations?type=ILP"];
// Fresh from the network when possible, from the cache otherwise.
const NETWORK_FIRST = ["/permits/gate/", "/.well-known/jwks.json", "/api/v1/docs/revocations"];

self.addEventListener("install", (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => Promise.all(SHELL.map((u) =>
    fetch(u, { credentials: "same-origin" }).then((r) => r.ok ? c.put(u, r) : null).catch(() => null)))));
  self.skipWaiting();
});

self.addEventListener("activate", (e) => {
  e.waitUntil(caches.keys().then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

function networkFirst(req, key) {
  return fetch(req).then((r) => {
    if (r.ok && r.type === "basic") {
      const copy = r.clone();
      caches.open(CACHE).then((c) => c.put(key, copy));
    }
    return r;
  }).catch(() => caches.match(key).then((hit) => hit || Response.error()));
}

function cacheFirst(req) {
  return caches.match(req).then((hit) => {
    const fresh = fetch(req).then((r) => {
      if (r.ok && r.type === "basic") {
        const copy = r.clone();
        caches.open(CACHE).then((c) => c.put(req, copy));
      }
      return r;
    });
    return hit || fresh;
  });
}

self.addEventListener("fetch", (e) => {
  const req = e.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin) return;
  const path = url.pathname;
  if (NETWORK_FIRST.some((p) => path === p || (p.endsWith("/") && path === p))) {
    // One cached copy per resource, whatever its query string says.
    const key = path === "/api/v1/docs/revocations" ? "/api/v1/docs/revocations?type=ILP" : path;
    e.respondWith(networkFirst(req, key));
    return;
  }
  if (path.startsWith("/static/") || path === "/permits/gate/gate.js" || path === "/permits/gate/ed25519.js") {
    e.respondWith(cacheFirst(req));
  }
});

// The page names what it needs beyond the shell (its versioned stylesheet
// and icon), so that it also looks right offline.
self.addEventListener("message", (e) => {
  const urls = (e.data && e.data.cache) || [];
  const same = urls.filter((u) => new URL(u, self.location.origin).origin === self.location.origin);
  e.waitUntil(caches.open(CACHE).then((c) => Promise.all(same.map((u) =>
    fetch(u).then((r) => r.ok ? c.put(u, r) : null).catch(() => null)))));
});
