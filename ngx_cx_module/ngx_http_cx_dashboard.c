
/*
 * Copyright (C) ngx_cx authors
 *
 * The page cx_metrics serves with ?format=html: self-contained, its
 * script reads location.pathname + "?format=json".
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <ngx_http_cx_module.h>


ngx_str_t  ngx_http_cx_dashboard_html = ngx_string(
"<!DOCTYPE html>\n"
"<html lang=\"en\"><head><meta charset=\"utf-8\">"
"<title>ngx_cx metrics</title></head>\n"
"<body><h1>ngx_cx metrics</h1><pre id=\"m\">loading</pre>\n"
"<script>\n"
"fetch(location.pathname + \"?format=json\")\n"
"  .then(function (r) { return r.json(); })\n"
"  .then(function (j) {\n"
"    document.getElementById(\"m\").textContent =\n"
"      JSON.stringify(j, null, 2);\n"
"  });\n"
"</script></body></html>\n");
