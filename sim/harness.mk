# QKForge harness Makefile fragment.
#
# Wraps the Makefile that Verilator writes for one design (V<top>.mk, from
# `verilator --cc --exe <main>.cpp -o <target>`) and adds what the harness needs:
#   - run-time optimisation (-O2) instead of Verilator's compile-time default (-Os);
#   - -fPIC on every object, so the same objects link into a shared library, and
#     hidden visibility, so calls inside the library bind directly (no PLT) and only
#     the qk_* functions of the shim are exported;
#   - user overrides of vl_finish/vl_stop/vl_fatal (defined in qk_shim.cpp), so
#     that $finish, $stop or a Verilator fatal error never exit() the host process;
#   - libqkmodel.so linked with -shared;
#   - qk_bench, the native benchmark, linked from the same model archive.
#
# Run it from the Verilator output directory:
#   make -f harness.mk QK_PREFIX=Vcounter libqkmodel.so
#   make -f harness.mk QK_PREFIX=Vcounter QK_BENCH_OUT=/tmp/x/qk_bench bench
#   make -f harness.mk QK_PREFIX=Vcounter replay          (replay directory)

ifndef QK_PREFIX
$(error QK_PREFIX, the Verilated class name such as Vcounter, is required)
endif

include $(QK_PREFIX).mk

# These come after verilated.mk, so they win; recipes expand them late.
OPT_FAST = -O2
OPT_GLOBAL = -O2
CPPFLAGS += -fPIC -fvisibility=hidden -DVL_USER_FINISH -DVL_USER_STOP -DVL_USER_FATAL

libqkmodel.so: LDFLAGS += -shared

QK_BENCH_OUT ?= qk_bench

$(QK_BENCH_OUT).o: bench_main.cpp qk_shim.cpp $(QK_PREFIX).h
	$(CXX) $(CXXFLAGS) $(CPPFLAGS) $(OPT_FAST) -c -o $@ $<

$(QK_BENCH_OUT): $(QK_BENCH_OUT).o $(VK_GLOBAL_OBJS) $(VM_PREFIX)__ALL.a
	$(LINK) $(LDFLAGS) $^ $(LOADLIBES) $(LDLIBS) $(LIBS) -o $@

.PHONY: bench
bench: $(QK_BENCH_OUT)
