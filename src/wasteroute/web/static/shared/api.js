// The public API, with the caller's key in the X-API-Key header. Errors arrive in the API's envelope
// {"error": {"code", "message", "details"}} and become ApiError; a dropped network becomes
// NetworkError (status 0), so callers can tell "try again later" from "the server said no".

export class ApiError extends Error {
  constructor(status, code, message, details = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export class NetworkError extends Error {
  constructor(message) {
    super(message);
    this.status = 0;
  }
}

export class Api {
  constructor(getKey) {
    this.getKey = getKey;
    this.inflight = 0;
  }

  // <body data-busy="true"> while a request is under way (a spinner hook, and what tests wait for)
  busy(delta) {
    this.inflight += delta;
    document.body.dataset.busy = this.inflight > 0 ? "true" : "false";
  }

  async request(method, path, body, accept = "application/json") {
    if (!navigator.onLine) throw new NetworkError("offline");
    const headers = { Accept: accept, "X-API-Key": this.getKey() || "" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    this.busy(1);
    try {
      return await this.send(method, path, headers, body, accept);
    } finally {
      this.busy(-1);
    }
  }

  async send(method, path, headers, body, accept) {
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
      });
    } catch (err) {
      throw new NetworkError(String(err && err.message ? err.message : err));
    }
    if (!response.ok) {
      let code = "http_" + response.status;
      let message = response.statusText || code;
      let details = null;
      try {
        const env = await response.json();
        if (env && env.error) {
          code = env.error.code || code;
          message = env.error.message || message;
          details = env.error.details ?? null;
        }
      } catch (ignored) {
        // not the envelope (a proxy's page): keep the status text
      }
      throw new ApiError(response.status, code, message, details);
    }
    if (accept === "application/json") return response.json();
    return response.text();
  }

  get(path) {
    return this.request("GET", path);
  }

  post(path, body) {
    return this.request("POST", path, body);
  }

  async getAllPages(path, pageSize = 1000) {
    // GeoJSON or list pages: follow offset until total is reached.
    const sep = path.includes("?") ? "&" : "?";
    let offset = 0;
    let first = null;
    for (;;) {
      const page = await this.get(`${path}${sep}limit=${pageSize}&offset=${offset}`);
      const items = page.features || page.items || [];
      if (first === null) first = page;
      else (first.features || first.items).push(...items);
      offset += items.length;
      if (items.length === 0 || offset >= page.total) return first;
    }
  }
}

// crypto.randomUUID only exists in secure contexts (https, localhost); a tablet that reaches the
// server over plain http on a private network still needs unique event ids.
export function newUuid() {
  if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
  const b = window.crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}
