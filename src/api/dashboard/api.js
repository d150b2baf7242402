// Fetches from the daemon's JSON API, with the bearer token when one was given.
const TOKEN_KEY = 'dattss.token';

/** The API answered 401: the daemon has a token and we have none, or the wrong one. */
export class AuthRequired extends Error {}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function storedToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function storeToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

/** GET `api/<path>` relative to the page, so the dashboard also works behind a proxy's sub-path. */
export async function getJson(path, params = {}) {
  const url = new URL(`api/${path}`, document.baseURI);
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined) url.searchParams.set(key, String(value));
  }
  const token = storedToken();
  const response = await fetch(url, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });
  if (response.status === 401) throw new AuthRequired('token required');
  const body = await response.json().catch(() => ({}));
  // /api/health answers 503 with a normal body when the daemon is down or degraded.
  if (!response.ok && body.error !== undefined) {
    throw new ApiError(response.status, body.error.code, body.error.message);
  }
  return body;
}
