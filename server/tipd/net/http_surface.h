/*
 * http_surface: which surface a listener serves. Its own header so that tls
 * (below http: http makes each connection's SSL from a tls_ctx) can take a
 * surface without including http.h.
 */
#ifndef TIPD_HTTP_SURFACE_H
#define TIPD_HTTP_SURFACE_H

/* Which surface a listener serves: decides HSTS and the TLS session policy. */
enum http_surface { HTTP_SURFACE_SOURCE, HTTP_SURFACE_REVIEW };

#endif
