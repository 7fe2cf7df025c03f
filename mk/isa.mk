# ISA-specific flags, by file name suffix only: the rest of the build stays
# portable (no -march=native), and run-time dispatch (kernels/cpu.c) decides
# which variant runs. A kernel file named foo-avx512vnni.c gets the flags below.
ISA_FLAGS_avx2       := -mavx2 -mfma -mf16c -mbmi2
ISA_FLAGS_avx512     := $(ISA_FLAGS_avx2) -mavx512f -mavx512bw -mavx512dq -mavx512vl
ISA_FLAGS_avx512vnni := $(ISA_FLAGS_avx512) -mavx512vnni
ISA_FLAGS_avx512vpopcnt := $(ISA_FLAGS_avx512) -mavx512vpopcntdq -mavx512bitalg
ISA_FLAGS_avx512bf16 := $(ISA_FLAGS_avx512) -mavx512bf16
ISA_FLAGS_avx512vbmi := $(ISA_FLAGS_avx512) -mavx512vbmi -mavx512vnni
ISA_FLAGS_amx        := $(ISA_FLAGS_avx512vnni) -mamx-tile -mamx-int8

isa_flags = $(strip \
  $(if $(filter %-avx2.c,$(1)),$(ISA_FLAGS_avx2)) \
  $(if $(filter %-avx512.c,$(1)),$(ISA_FLAGS_avx512)) \
  $(if $(filter %-avx512vnni.c,$(1)),$(ISA_FLAGS_avx512vnni)) \
  $(if $(filter %-avx512vpopcnt.c,$(1)),$(ISA_FLAGS_avx512vpopcnt)) \
  $(if $(filter %-avx512bf16.c,$(1)),$(ISA_FLAGS_avx512bf16)) \
  $(if $(filter %-avx512vbmi.c,$(1)),$(ISA_FLAGS_avx512vbmi)) \
  $(if $(filter %-amx.c,$(1)),$(ISA_FLAGS_amx)))

# The emulated-ISA test build (make test-emulated; docs/kernels.md "Testing without
# the ISA"): with ZP_EMULATE_ISA=1 the AVX-512 files get only the AVX2 flags plus
# SIMDe through kernels/emulate_isa.h, so they run on a CPU without AVX-512, and
# kernels/cpu.c reports those levels present. -O1: at -O2 GCC spends minutes and
# over 1 GB inlining SIMDe's lane loops in the 4-bit / MX kernels. Never set it
# in a build whose results or timings are used.
ifeq ($(ZP_EMULATE_ISA),1)
ISA_FLAGS_emul       := $(ISA_FLAGS_avx2) -O1 -Wno-psabi -include kernels/emulate_isa.h
ISA_FLAGS_avx512     := $(ISA_FLAGS_emul)
ISA_FLAGS_avx512vnni := $(ISA_FLAGS_emul)
ISA_FLAGS_avx512vpopcnt := $(ISA_FLAGS_emul)
ISA_FLAGS_avx512bf16 := $(ISA_FLAGS_emul)
CPPFLAGS_ALL += -DZP_EMULATE_ISA=1
endif
