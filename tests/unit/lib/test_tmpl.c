#include <criterion/criterion.h>
#include <string.h>

#include "tmpl.h"

static char err[256];

static const char *
upper_tr(const void *arg, const char *msgid)
{
	(void)arg;
	if (strcmp(msgid, "Hello {name}") == 0)
		return "HELLO {name}, {missing} {";
	return msgid;
}

/* Render `text` as template "t" with `ctx` (JSON text); return the output. */
static char *
render(const char *text, const char *ctx_json)
{
	static char out[4096];
	struct tmpl_set *s = tmpl_add(NULL, "t", text, strlen(text), err, sizeof(err));
	cr_assert(s != NULL, "%s", err);
	json_t *ctx = json_loads(ctx_json, 0, NULL);
	cr_assert(ctx != NULL);
	struct buf b;
	buf_init(&b, 4096);
	cr_assert_eq(tmpl_render(s, "t", ctx, upper_tr, NULL, &b), 0);
	snprintf(out, sizeof(out), "%.*s", (int)b.len, (const char *)b.data);
	buf_free(&b);
	json_decref(ctx);
	tmpl_free(s);
	return out;
}

Test(tmpl, values_are_escaped)
{
	cr_assert_str_eq(render("<p>{{x}}</p>", "{\"x\":\"<a href='x'>&\\\"\"}"),
	                 "<p>&lt;a href=&#39;x&#39;&gt;&amp;&quot;</p>");
	cr_assert_str_eq(render("{{n}}/{{missing}}/{{a.b}}", "{\"n\":42,\"a\":{\"b\":\"deep\"}}"),
	                 "42//deep");
}

Test(tmpl, translations_fill_placeholders_escaped)
{
	cr_assert_str_eq(render("{{_ \"Hello {name}\"}}", "{\"name\":\"<b>\"}"),
	                 "HELLO &lt;b&gt;, {missing} {");
	cr_assert_str_eq(render("{{_ \"a \\\"q\\\" <\"}}", "{}"), "a &quot;q&quot; &lt;");
}

Test(tmpl, if_else_each_and_scopes)
{
	cr_assert_str_eq(
		render("{{#if a}}y{{else}}n{{/if}}{{#if b}}y{{else}}n{{/if}}{{#if c}}y{{/if}}"
	               "{{#if d}}y{{else}}n{{/if}}",
	               "{\"a\":true,\"b\":\"\",\"c\":[1],\"d\":[]}"),
		"ynyn");
	cr_assert_str_eq(render("{{#each xs}}[{{id}}:{{top}}]{{/each}}{{#each ss}}{{.}},{{/each}}",
	                        "{\"top\":\"T\",\"xs\":[{\"id\":1},{\"id\":2,\"top\":\"inner\"}],"
	                        "\"ss\":[\"a\",\"<\"]}"),
	                 "[1:T][2:inner]a,&lt;,");
}

Test(tmpl, malformed_templates_are_refused_at_load)
{
	const char *bad[] = { "{{#if x}}open",
		              "{{/if}}",
		              "{{#each x}}{{else}}{{/each}}",
		              "{{x",
		              "{{#if x}}{{/each}}",
		              "{{_ \"\"}}",
		              "{{_ unquoted}}",
		              "{{ bad name! }}",
		              "{{{raw}}}" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct tmpl_set *s = tmpl_add(NULL, "t", bad[i], strlen(bad[i]), err, sizeof(err));
		cr_assert(s == NULL, "accepted %s", bad[i]);
		cr_assert(strstr(err, "t.html line") != NULL, "%s", err);
	}
}

Test(tmpl, partials_are_checked_and_bounded)
{
	struct tmpl_set *s = tmpl_add(NULL, "a", "A{{> b}}", 8, err, sizeof(err));
	cr_assert(s != NULL);
	cr_assert_eq(tmpl_check(s, err, sizeof(err)), -1);
	cr_assert(strstr(err, "\"b\"") != NULL, "%s", err);
	s = tmpl_add(s, "b", "B{{> a}}", 8, err, sizeof(err)); /* a loop */
	cr_assert(s != NULL);
	cr_assert_eq(tmpl_check(s, err, sizeof(err)), 0);
	struct buf b;
	buf_init(&b, 1 << 16);
	json_t *ctx = json_object();
	cr_assert_eq(tmpl_render(s, "a", ctx, NULL, NULL, &b), -1, "endless partials must stop");
	buf_free(&b);
	buf_init(&b, 4);
	s = tmpl_add(s, "c", "too long for four bytes", 23, err, sizeof(err));
	cr_assert_eq(tmpl_render(s, "c", ctx, NULL, NULL, &b), -1, "a full buffer must fail");
	cr_assert_eq(tmpl_render(s, "nope", ctx, NULL, NULL, &b), -1);
	buf_free(&b);
	json_decref(ctx);
	tmpl_free(s);
}

Test(tmpl, the_shipped_templates_load)
{
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/server/web/templates", getenv("TIPLINE_SOURCE_DIR"));
	struct tmpl_set *s = tmpl_load_dir(dir, err, sizeof(err));
	cr_assert(s != NULL, "%s", err);
	cr_assert(tmpl_has(s, "report") && tmpl_has(s, "head_open"));
	tmpl_free(s);
}
