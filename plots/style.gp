# zeropoint figure style, loaded by every script in this folder.
# Edit it to restyle every figure of the run, then rerun `gnuplot NAME.gp` here
# (`harness plot RUN_DIR` keeps an existing style.gp; delete it to get the default).

# Output formats and sizes. Remove a format from zp_formats to skip it.
zp_formats = 'png svg pdf'
zp_font = 'DejaVu Sans,11'
zp_pdf_font = 'DejaVu Sans,8'
zp_png_size = '1100,620'
zp_svg_size = '1100,620'
zp_pdf_size = '7.5in,4.2in'
zp_terminal(fmt, name) = fmt eq 'png' ? \
  sprintf("set terminal pngcairo noenhanced size %s font '%s' background rgb 'white'; set output '%s.png'", zp_png_size, zp_font, name) : \
  fmt eq 'svg' ? \
  sprintf("set terminal svg noenhanced size %s font '%s' background rgb 'white'; set output '%s.svg'", zp_svg_size, zp_font, name) : \
  sprintf("set terminal pdfcairo noenhanced size %s font '%s'; set output '%s.pdf'", zp_pdf_size, zp_pdf_font, name)

# The data files beside the scripts are CSV, derived from ../*.csv.
set datafile separator ','
set datafile missing 'NaN'

# Axes and key.
set border 3 lw 1
set tics nomirror out
set grid ytics lt 1 lw 1 lc rgb '#d9d9d9'
set key outside right top vertical Left reverse samplen 2.5 spacing 1.1 noenhanced
set style fill solid 0.85 border lc rgb 'black'
set bars small
set offsets 0, 0, graph 0.05, 0

# One colour + marker per scheme, the same in every figure (Okabe-Ito palette).
set linetype 1  lc rgb '#000000' lw 2 pt 7  ps 1.2 dt 1  # float (f32 reference)
set linetype 2  lc rgb '#E69F00' lw 2 pt 5  ps 1.2 dt 1  # asymmetric
set linetype 3  lc rgb '#0072B2' lw 2 pt 9  ps 1.4 dt 1  # symmetric
set linetype 4  lc rgb '#56B4E9' lw 2 pt 11 ps 1.4 dt 1  # no-128
set linetype 5  lc rgb '#009E73' lw 2 pt 13 ps 1.4 dt 1  # linear4
set linetype 6  lc rgb '#D55E00' lw 2 pt 4  ps 1.2 dt 1  # lut4
set linetype 7  lc rgb '#CC79A7' lw 2 pt 6  ps 1.2 dt 1  # binary
set linetype 8  lc rgb '#999999' lw 2 pt 8  ps 1.2 dt 1  # openblas (anchor)
set linetype 9  lc rgb '#555555' lw 2 pt 12 ps 1.2 dt 1  # onednn (anchor)
set linetype 10 lc rgb '#882255' lw 2 pt 1  ps 1.2 dt 1  # other schemes, by first use
set linetype 11 lc rgb '#44AA99' lw 2 pt 2  ps 1.2 dt 1
set linetype 12 lc rgb '#332288' lw 2 pt 3  ps 1.2 dt 1
set linetype 13 lc rgb '#DDCC77' lw 2 pt 10 ps 1.2 dt 1
set linetype 14 lc rgb '#117733' lw 2 pt 14 ps 1.2 dt 1
# Reference lines (float accuracy, peaks, speedup 1x).
zp_ref_colour = '#444444'
