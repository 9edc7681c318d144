/*
 * web.c - the web dashboard (issue 16): GET / answers its page, GET
 * /ui/NAME its scripts and styles (/ serves them within the page: one
 * request before it can paint, not three), from the files built into jobringd
 * (daemon/web/assets.h). The page calls the same API as everyone else,
 * with the rights of whoever opened it.
 */
#include <string.h>

#include "daemon/api/api.h"
#include "daemon/api/handlers.h"
#include "daemon/net/reply.h"
#include "daemon/web/assets.h"

static const struct web_asset *asset_named(const char *name)
{
	for (unsigned i = 0; i < web_assets_count; i++)
		if (strcmp(web_assets[i].name, name) == 0)
			return &web_assets[i];
	return NULL;
}

static void serve(struct api_call *c, const char *name)
{
	const struct web_asset *a = asset_named(name);

	if (!a) {
		reply_error(c->res, 404, "not_found", "no such file of the dashboard");
		return;
	}
	c->res->status = 200;
	c->res->content_type = a->content_type;
	buf_append(&c->res->body, a->data, a->len);
}

void api_web_page(struct api *a, struct api_call *c)
{
	(void)a;
	serve(c, "page.html");	/* index.html, its styles and script within */
}

void api_web_asset(struct api *a, struct api_call *c)
{
	(void)a;
	serve(c, c->param);
}
