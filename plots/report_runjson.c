/* The "Configuration and machine" section of the report, from run.json as the
 * store reads it back (store/run_info.h): plots/ parses no JSON itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plots/report.h"
#include "store/run_info.h"

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

static void field_row(const char *path, const char *value, struct zp_strbuf *md, struct zp_strbuf *h)
{
    char val[300];
    snprintf(val, sizeof val, "%s", value);
    if (strlen(value) >= sizeof val)
        strcpy(val + sizeof val - 4, "...");
    zp_strbuf_printf(md, "| %s | ", path);
    zp_report_md_cell(md, val);
    zp_strbuf_printf(md, " |\n");
    zp_strbuf_printf(h, "<tr><th>");
    zp_report_html_esc(h, path);
    zp_strbuf_printf(h, "</th><td>");
    zp_report_html_esc(h, val);
    zp_strbuf_printf(h, "</td></tr>\n");
}

void zp_report_run_json(const struct zp_plot_run *r, struct zp_strbuf *md, struct zp_strbuf *h)
{
    struct zp_run_info ri;
    struct zp_err err = {0};
    zp_strbuf_printf(md, "## Configuration and machine\n\n");
    zp_strbuf_printf(h, "<h2 id=\"config\">Configuration and machine</h2>\n");
    if (zp_run_info_read(r->dir, &ri, &err) != ZP_OK) {
        zp_strbuf_printf(md, "run.json could not be read: %s\n\n", err.msg);
        zp_strbuf_printf(h, "<p>run.json could not be read: ");
        zp_report_html_esc(h, err.msg);
        zp_strbuf_printf(h, "</p>\n");
        return;
    }
    if (!ri.present) {
        zp_strbuf_printf(md, "No run.json in this folder.\n\n");
        zp_strbuf_printf(h, "<p>No run.json in this folder.</p>\n");
    } else if (!ri.parsed) {
        zp_strbuf_printf(md, "run.json could not be parsed as JSON; shown as is.\n\n```\n%s\n```\n\n",
                       ri.raw ? ri.raw : "");
        zp_strbuf_printf(h, "<p>run.json could not be parsed as JSON; shown as is.</p><pre>");
        zp_report_html_esc(h, ri.raw ? ri.raw : "");
        zp_strbuf_printf(h, "</pre>\n");
    } else {
        static const char *const heads[2] = {"Configuration", "Machine"};
        for (int kind = 0; kind < 2; kind++) {
            size_t n = 0;
            zp_strbuf_printf(md, "### %s\n\n| field | value |\n|---|---|\n", heads[kind]);
            zp_strbuf_printf(h, "<h3>%s</h3>\n<table class=\"kv\">\n", heads[kind]);
            for (size_t i = 0; i < ri.n && n < 80; i++)
                if (field_kind(ri.fields[i].path) == kind) {
                    field_row(ri.fields[i].path, ri.fields[i].value, md, h);
                    n++;
                }
            zp_strbuf_printf(h, "</table>\n");
            if (!n)
                zp_strbuf_printf(md, "| (none in run.json) | |\n");
            zp_strbuf_printf(md, "\n");
        }
        zp_strbuf_printf(md, "\nThe whole run.json:\n\n```json\n%s\n```\n\n", ri.pretty ? ri.pretty : "");
        zp_strbuf_printf(h, "<details><summary>The whole run.json</summary><pre>");
        zp_report_html_esc(h, ri.pretty ? ri.pretty : "");
        zp_strbuf_printf(h, "</pre></details>\n");
    }
    zp_run_info_free(&ri);
}
