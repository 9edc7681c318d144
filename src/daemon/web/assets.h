/*
 * assets.h - the web dashboard's files (index.html, app.js, app.css in
 * this folder), built into jobringd: tools/embed_web.sh turns them into a
 * generated C file at build time (see the Makefile's "web dashboard"
 * block). Served by src/daemon/api/web.c at / and /ui/NAME.
 */
#ifndef JR_WEB_ASSETS_H
#define JR_WEB_ASSETS_H

#include <stddef.h>

struct web_asset {
	const char *name;		/* the file's base name: "app.js" */
	const char *content_type;
	const unsigned char *data;
	size_t len;
};

extern const struct web_asset web_assets[];
extern const unsigned web_assets_count;

#endif
