/*
 * web.c - the web dashboard (issue 16): GET / answers its page, GET
 * /ui/NAME its scripts and styles (/ serves them within the page: one
 * request before it can paint, not three), from the files built into jobringd
 * (daemon/web/assets.h). The page calls the same API as everyone else,
 * with the rights of whoever opened it. The page comes with /health's
 * answer within it (a JSON script element the script reads first), so
 * that the counts are painted without a round trip after the script
 * runs.
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

/* /health's answer, for the page: the same JSON as GET /health, '<'
 * written as \u003c so that nothing in it can end the element. */
static void boot_health(struct api *a, const struct api_call *c, struct buf *out)
{
	struct response health = { 0 };
	struct api_call call = *c;

	call.res = &health;
	api_health(a, &call);
	buf_puts(out, "<script id=\"boot-health\" type=\"application/json\">");
	for (size_t i = 0; i < health.body.len; i++) {
		if (health.body.p[i] == '<')
			buf_puts(out, "\\u003c");
		else
			buf_append(out, &health.body.p[i], 1);
	}
	buf_puts(out, "</script>\n");
	buf_free(&health.body);
}

void api_web_page(struct api *a, struct api_call *c)
{
	static const char script[] = "<script>";
	const struct web_asset *page = asset_named("page.html");	/* index.html, its styles and script within */
	const unsigned char *at = page ? memmem(page->data, page->len, script, sizeof(script) - 1) : NULL;

	if (!at) {
		serve(c, "page.html");
		return;
	}
	c->res->status = 200;
	c->res->content_type = page->content_type;
	buf_append(&c->res->body, page->data, (size_t)(at - page->data));
	boot_health(a, c, &c->res->body);
	buf_append(&c->res->body, at, page->len - (size_t)(at - page->data));
}

void api_web_asset(struct api *a, struct api_call *c)
{
	(void)a;
	serve(c, c->param);
}
