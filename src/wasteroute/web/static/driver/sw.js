// The driver page as an app that opens without network. The page and its assets are fetched from the
// network first (a new release reaches the tablet at once) and kept in a cache that answers when the
// network is gone; the tour and its GPX likewise (the page also keeps the tour in its own store). Stop
// reports are never cached or replayed here: the page's outbox sends them, exactly once by their id.

const SHELL_CACHE = "wasteroute-driver-shell-v1";
const TOUR_CACHE = "wasteroute-driver-tour";
const SHELL = [
  "./",
  "driver.js",
  "driver.css",
  "manifest.webmanifest",
  "../shared/api.js",
  "../shared/i18n.js",
  "../shared/base.css",
  "../shared/icon.svg",
];
const TOUR_PATHS = new Set(["/api/v1/driver/tour", "/api/v1/driver/tour.gpx"]);

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL_CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n !== SHELL_CACHE && n !== TOUR_CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

async function networkFirst(request, cacheName, key) {
  try {
    const response = await fetch(request);
    if (response.ok) {
      const cache = await caches.open(cacheName);
      await cache.put(key, response.clone());
    }
    return response;
  } catch (err) {
    const cached = await caches.match(key, { ignoreSearch: true });
    if (cached) return cached;
    throw err;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (TOUR_PATHS.has(url.pathname)) {
    event.respondWith(networkFirst(request, TOUR_CACHE, url.pathname));
  } else if (request.mode === "navigate" && url.pathname.startsWith(new URL("./", self.location).pathname)) {
    event.respondWith(networkFirst(request, SHELL_CACHE, new URL("./", self.location).href));
  } else if (url.pathname.startsWith("/ui/")) {
    event.respondWith(networkFirst(request, SHELL_CACHE, url.href));
  }
});
