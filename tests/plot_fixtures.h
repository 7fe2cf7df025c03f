/* Fixtures shared by the figure and report tests (tests/test_plots_*.c): the
 * sample run folder and its expected figures, copies of it, a run with replicates,
 * file lookups in a plots/ folder, and readers of the scripts' ranges, bars, error
 * bars and line styles. */
#ifndef ZP_TESTS_PLOT_FIXTURES_H
#define ZP_TESTS_PLOT_FIXTURES_H

#include <stddef.h>

#define SAMPLE "tests/data/run_sample"

extern const char *const zp_tp_all_figs[];
extern const size_t zp_tp_n_figs;

int zp_tp_have_gnuplot(void);
const char *zp_tp_sample_copy(const char *tag);
long zp_tp_file_size(const char *dir, const char *name, const char *ext);
double zp_tp_bars_value(const char *dat, const char *series, size_t g);
char *zp_tp_plots_file(const char *dir, const char *file);
void zp_tp_write_in(const char *dir, const char *file, const char *text);
int zp_tp_nth_yrange(const char *gp, int n, double *lo, double *hi);
long zp_tp_inode_of(const char *dir, const char *file);
size_t zp_tp_line_styles(const char *gp, char styles[][64], size_t max);
/* A run folder with two replicates per cell, summary.csv and summary_pairs.csv
 * (the cells are listed in plot_fixtures.c); the folder's path. */
const char *zp_tp_replicate_run(const char *tag);
/* The error bar of group g in the block of the series titled `series` of a bars
 * .dat (NaN bounds when it has none); 0 when the row is not there. */
int zp_tp_bars_interval(const char *dat, const char *series, size_t g, double *lo, double *hi);
/* Point k of the series titled `title` of a lines .dat: x, y and its error bar. */
int zp_tp_line_point(const char *dat, const char *title, size_t k, double *x, double *y, double *lo, double *hi);

#endif
