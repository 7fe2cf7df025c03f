/* The "Configuration and machine" section of the report, from run.json: the one
 * place plots/ reads JSON. It uses cJSON directly until store/ offers a run.json
 * reader (issue 10: cJSON only in config/ and store/); then only this file changes. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plots/report.h"

/* ---- run.json: machine facts and the whole configuration ---- */

/* Which table a run.json field belongs to: 1 machine (CPU, compiler, revision,
 * timing), 0 configuration, -1 left out (the plan lists every cell: too long). */
static int field_kind(const char *path)
{
    if (!strncmp(path, "plan", 4))
        return -1;
    if (!strncmp(path, "machine.", 8) || strstr(path, "time") || strstr(path, "wall") ||
        strstr(path, "cpu") || strstr(path, "compiler") || strstr(path, "git") ||
        !strncmp(path, "phase_seconds.", 14))
        return 1;
    return 0;
}

static void field_rows(const cJSON *node, const char *prefix, int depth, int kind,
                       struct zp_sbuf *md, struct zp_sbuf *h, size_t *n)
{
    for (const cJSON *c = node ? node->child : NULL; c && *n < 80; c = c->next) {
        if (!c->string)
            continue;
        char path[256];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", c->string);
        if (cJSON_IsObject(c)) {
            if (depth < 2)
                field_rows(c, path, depth + 1, kind, md, h, n);
            continue;
        }
        if (field_kind(path) != kind)
            continue;
        char *val = NULL;
        if (cJSON_IsString(c)) {
            val = strdup(c->valuestring);
        } else if (cJSON_IsNumber(c)) {
            char num[64];
            double v = c->valuedouble;
            if (v == floor(v) && fabs(v) < 1e15)
                snprintf(num, sizeof num, "%.0f", v);
            else
                snprintf(num, sizeof num, "%.4g", v);
            val = strdup(num);
        } else if (cJSON_IsBool(c) || cJSON_IsArray(c) || cJSON_IsNull(c)) {
            val = cJSON_PrintUnformatted(c);
        }
        if (!val)
            continue;
        if (strlen(val) > 300)
            strcpy(val + 296, "...");
        zp_sbuf_printf(md, "| %s | ", path);
        zp_report_md_cell(md, val);
        zp_sbuf_printf(md, " |\n");
        zp_sbuf_printf(h, "<tr><th>");
        zp_report_html_esc(h, path);
        zp_sbuf_printf(h, "</th><td>");
        zp_report_html_esc(h, val);
        zp_sbuf_printf(h, "</td></tr>\n");
        (*n)++;
        free(val);
    }
}

void zp_report_run_json(const struct zp_plot_run *r, struct zp_sbuf *md, struct zp_sbuf *h)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/run.json", r->dir);
    FILE *f = fopen(path, "rb");
    zp_sbuf_printf(md, "## Configuration and machine\n\n");
    zp_sbuf_printf(h, "<h2 id=\"config\">Configuration and machine</h2>\n");
    if (!f) {
        zp_sbuf_printf(md, "No run.json in this folder.\n\n");
        zp_sbuf_printf(h, "<p>No run.json in this folder.</p>\n");
        return;
    }
    struct zp_sbuf text = {0};
    char buf[8192];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf - 1, f)) > 0) {
        buf[got] = '\0';
        zp_sbuf_printf(&text, "%s", buf);
    }
    fclose(f);
    cJSON *root = text.s ? cJSON_ParseWithLength(text.s, text.len) : NULL;
    if (!root) {
        zp_sbuf_printf(md, "run.json could not be parsed as JSON; shown as is.\n\n```\n%s\n```\n\n",
                       text.s ? text.s : "");
        zp_sbuf_printf(h, "<p>run.json could not be parsed as JSON; shown as is.</p><pre>");
        zp_report_html_esc(h, text.s ? text.s : "");
        zp_sbuf_printf(h, "</pre>\n");
        zp_sbuf_free(&text);
        return;
    }
    static const char *const heads[2] = {"Configuration", "Machine"};
    for (int kind = 0; kind < 2; kind++) {
        size_t n = 0;
        zp_sbuf_printf(md, "### %s\n\n| field | value |\n|---|---|\n", heads[kind]);
        zp_sbuf_printf(h, "<h3>%s</h3>\n<table class=\"kv\">\n", heads[kind]);
        field_rows(root, "", 0, kind, md, h, &n);
        zp_sbuf_printf(h, "</table>\n");
        if (!n)
            zp_sbuf_printf(md, "| (none in run.json) | |\n");
        zp_sbuf_printf(md, "\n");
    }
    char *pretty = cJSON_Print(root);
    zp_sbuf_printf(md, "\nThe whole run.json:\n\n```json\n%s\n```\n\n", pretty ? pretty : "");
    zp_sbuf_printf(h, "<details><summary>The whole run.json</summary><pre>");
    zp_report_html_esc(h, pretty ? pretty : "");
    zp_sbuf_printf(h, "</pre></details>\n");
    free(pretty);
    cJSON_Delete(root);
    zp_sbuf_free(&text);
}

