/* Frame-source URIs: scheme://path?key=value&key=value (no percent-decoding: paths are taken as
 * written). A bare /dev/... path means v4l2. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camera/source.h"

static hatch_status bad(hatch_error *err, const char *uri, const char *why) {
  if (err) snprintf(err->message, sizeof err->message, "camera URI \"%.120s\": %s", uri, why);
  return HATCH_ERR_INVALID_ARGUMENT;
}

hatch_status hatch_uri_parse(const char *text, hatch_uri *out, hatch_error *err) {
  if (!text || !out) return HATCH_ERR_INVALID_ARGUMENT;
  memset(out, 0, sizeof *out);
  if (strlen(text) >= 2048) return bad(err, text, "longer than 2047 characters");
  const char *rest = text;
  const char *sep = strstr(text, "://");
  if (sep) {
    size_t n = (size_t)(sep - text);
    if (n == 0 || n >= sizeof out->scheme) return bad(err, text, "missing or overlong scheme");
    memcpy(out->scheme, text, n);
    rest = sep + 3;
  } else if (strncmp(text, "/dev/", 5) == 0) {
    strcpy(out->scheme, "v4l2");
  } else {
    return bad(err, text, "expected v4l2://, fake://, file:// or a /dev/videoN path");
  }
  const char *q = strchr(rest, '?');
  size_t plen = q ? (size_t)(q - rest) : strlen(rest);
  if (plen == 0) return bad(err, text, "empty path");
  if (plen >= sizeof out->path) return bad(err, text, "path too long");
  memcpy(out->path, rest, plen);
  if (!q) return HATCH_OK;
  const char *p = q + 1;
  while (*p) {
    const char *amp = strchr(p, '&');
    size_t len = amp ? (size_t)(amp - p) : strlen(p);
    const char *eq = memchr(p, '=', len);
    size_t klen = eq ? (size_t)(eq - p) : len;
    size_t vlen = eq ? len - klen - 1 : 0;
    if (klen == 0) return bad(err, text, "empty parameter name");
    if (out->n_params == HATCH_URI_MAX_PARAMS) return bad(err, text, "too many parameters");
    if (klen >= sizeof out->keys[0] || vlen >= sizeof out->values[0]) return bad(err, text, "parameter too long");
    for (int i = 0; i < out->n_params; i++)
      if (strlen(out->keys[i]) == klen && memcmp(out->keys[i], p, klen) == 0)
        return bad(err, text, "repeated parameter");
    memcpy(out->keys[out->n_params], p, klen);
    if (eq) memcpy(out->values[out->n_params], eq + 1, vlen);
    out->n_params++;
    p += len;
    if (*p == '&') p++;
  }
  return HATCH_OK;
}

const char *hatch_uri_param(const hatch_uri *uri, const char *key) {
  for (int i = 0; i < uri->n_params; i++)
    if (strcmp(uri->keys[i], key) == 0) return uri->values[i];
  return NULL;
}

hatch_status hatch_uri_param_int(const hatch_uri *uri, const char *key, long lo, long hi, long *out,
                                 hatch_error *err) {
  const char *v = hatch_uri_param(uri, key);
  if (!v) return HATCH_OK;
  char *end = NULL;
  errno = 0;
  long x = strtol(v, &end, 10);
  if (!*v || *end || errno || x < lo || x > hi) {
    if (err) snprintf(err->message, sizeof err->message, "camera URI %s://%.100s: %s=%.40s is not an integer in %ld..%ld",
                      uri->scheme, uri->path, key, v, lo, hi);
    return HATCH_ERR_INVALID_ARGUMENT;
  }
  *out = x;
  return HATCH_OK;
}

hatch_status hatch_uri_check_keys(const hatch_uri *uri, const char *const *allowed, hatch_error *err) {
  for (int i = 0; i < uri->n_params; i++) {
    bool ok = false;
    for (const char *const *a = allowed; *a; a++) ok = ok || strcmp(*a, uri->keys[i]) == 0;
    if (!ok) {
      if (err) snprintf(err->message, sizeof err->message, "camera URI %s://%.100s: unknown parameter \"%s\"",
                        uri->scheme, uri->path, uri->keys[i]);
      return HATCH_ERR_INVALID_ARGUMENT;
    }
  }
  return HATCH_OK;
}
