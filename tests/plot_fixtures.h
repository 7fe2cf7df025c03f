/* Fixtures shared by the figure and report tests (tests/test_plots_*.c): the
 * sample run folder and its expected figures, copies of it, file lookups in a
 * plots/ folder, and readers of the scripts' ranges, bars and line styles. */
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

#endif
